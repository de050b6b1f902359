package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// TestREADMEPybreakerConfig checks that the BREAKER_CONFIG README.md's
// "Coming from pybreaker" section gives for CircuitBreaker(fail_max=5,
// reset_timeout=60) parses and gives AdProvider's breakers pybreaker's
// rules: 5 failures in a row, no failure-rate rule, a fixed 60 s open
// period, and one trial call that closes the breaker.
func TestREADMEPybreakerConfig(t *testing.T) {
	blocks := markdownBlocks(t, filepath.Join("..", "..", "README.md"), "## Coming from pybreaker", "json")
	if len(blocks) != 1 {
		t.Fatalf("README.md's pybreaker section has %d json blocks, want 1", len(blocks))
	}
	cfg, err := breaker.ParseConfig([]byte(blocks[0]))
	if err != nil {
		t.Fatalf("the README's pybreaker config: %v\n%s", err, blocks[0])
	}
	set := breaker.NewSet(breaker.WithConfig(cfg))
	defer set.Close()
	got := set.MethodBreaker("adprovider", "/adprovider.v1.AdProviderService/GetAds").Settings()
	if got.ConsecutiveFailures != 5 || got.FailureRateThreshold != 0 ||
		got.OpenTimeout != 60*time.Second || got.MaxOpenTimeout != 60*time.Second ||
		got.HalfOpenMaxProbes != 1 || got.HalfOpenSuccesses != 1 {
		t.Errorf("settings from the README's pybreaker config = %+v, want pybreaker's fail_max=5, reset_timeout=60", got)
	}
}

// markdownBlocks returns the bodies of the fenced code blocks of one
// language in the section of a Markdown file that starts at the heading
// (up to the next heading of the same level); the whole file for "".
func markdownBlocks(t *testing.T, path, heading, lang string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if heading != "" {
		i := strings.Index(text, "\n"+heading+"\n")
		if i < 0 {
			t.Fatalf("%s has no heading %q", path, heading)
		}
		text = text[i+1+len(heading):]
		level := heading[:strings.IndexByte(heading, ' ')+1]
		if j := strings.Index(text, "\n"+level); j >= 0 {
			text = text[:j]
		}
	}
	var blocks []string
	var cur *strings.Builder
	for _, line := range strings.Split(text, "\n") {
		switch {
		case cur == nil && line == "```"+lang:
			cur = &strings.Builder{}
		case cur != nil && line == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks
}
