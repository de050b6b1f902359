package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestDemo runs `make demo` (deploy/local/demo.sh) to its end and checks
// what it promises: every line fits 100 columns; each step is narrated in
// one line; one of three AdProvider replicas killed degrades no call; the hang shows slow calls at the GetAds deadline before the
// breaker opens and fast house ads after, and a measured recovery; the
// database outage and its recovery are measured too; it ends with every
// breaker in AUTO and closed, and stops in order. The README's copy of the
// output must have the same narration as the real one.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the whole system")
	}
	ports := replicaPorts(t) // the demo runs three AdProvider replicas
	sc, out, runDir := runAll(t, ports, runAllOptions{script: "deploy/local/demo.sh"})
	tr, _ := transcript(out, "\x00")
	select {
	case <-sc.done:
	case <-time.After(6 * time.Minute):
		t.Fatalf("the demo still runs after 6 minutes:\n%s", tr.since(0))
	}
	text := strings.ReplaceAll(tr.since(0), "run-all | ", "")
	if sc.err != nil {
		t.Fatalf("the demo failed: %v\n%s", sc.err, text)
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n > 100 {
			t.Errorf("line %d is %d columns wide, more than 100:\n%s", i+1, n, l)
		}
	}
	steps := demoNarration(lines)
	if len(steps) < 7 || !strings.HasPrefix(steps[0], "0. ") {
		t.Errorf("want steps 0 to 6, each a line of its own; got %q\n%s", steps, text)
	}

	for _, want := range []*regexp.Regexp{
		// One replica of three killed: nothing degrades, and it comes back.
		regexp.MustCompile(`-> 30 calls, 0 degraded: the other replicas answered every one`),
		regexp.MustCompile(`-> restarted: it answers calls again \d+\.\d s after it was SERVING`),
		// The hang: slow house ads while G is closed, then fast ones once it is open.
		regexp.MustCompile(`rec\.GetAds +\d+ ms +house ads \(deadline_exceeded\) +G:c`),
		regexp.MustCompile(`rec\.GetAds +\d+ ms +house ads \(G open\) +G:O`),
		regexp.MustCompile(`-> until G opened: \d+ calls, \d+ ms on average; then house ads in \d+ ms`),
		regexp.MustCompile(`-> real ads again \d+\.\d s after SIGCONT`),
		// The database.
		regexp.MustCompile(`ad\.GetAds +\d+ ms +error Unavailable CIRCUIT_OPEN +G:. R:. A:O`),
		regexp.MustCompile(`rec\.ListRecs +\d+ ms +\d+ last-good recs`),
		regexp.MustCompile(`-> every breaker closed, full answers \d+\.\d s after PostgreSQL was back`),
		// The operator, and the end.
		regexp.MustCompile(`force G open +\d+ ms +mode FORCED_OPEN, state OPEN +G:O\*`),
		regexp.MustCompile(`The end: all \d+ breakers of both services are in AUTO and closed\.`),
		regexp.MustCompile(`stopped recommender\n.*stopped adprovider-3\n.*stopped adprovider-2\n.*stopped adprovider\n.*stopped PostgreSQL\n` +
			`.*demo stopped \(recommender, adprovider-3, adprovider-2, adprovider, PostgreSQL\)`),
	} {
		if !want.MatchString(text) {
			t.Errorf("the demo's output has no match for %s:\n%s", want, text)
		}
	}
	if left := processesUsing(runDir); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}

	// The README shows a real run: the same narration, in the same width.
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var pasted []string
	for _, b := range readmeBlocks(t) {
		if b.info == "text" && strings.Contains(b.text, "breakwater demo.") {
			pasted = strings.Split(b.text, "\n")
		}
	}
	if pasted == nil {
		t.Fatalf("README.md has no ```text block with the demo's output:\n%.300s", readme)
	}
	for i, l := range pasted {
		if n := utf8.RuneCountInString(l); n > 100 {
			t.Errorf("README demo line %d is %d columns wide:\n%s", i+1, n, l)
		}
	}
	if got, want := demoNarration(pasted), steps; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the README's demo output narrates\n%s\nbut the demo says\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// demoNarration picks the demo's step lines ("1. AdProvider hangs ...").
func demoNarration(lines []string) []string {
	var steps []string
	for _, l := range lines {
		if regexp.MustCompile(`^\d(-\d)?\. `).MatchString(l) {
			steps = append(steps, l)
		}
	}
	return steps
}
