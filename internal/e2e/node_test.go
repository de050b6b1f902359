package e2e

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// nodeTimeout bounds each npm step: `npm ci` on a fresh clone downloads the
// packages, and the tests compile with tsc first.
const nodeTimeout = 5 * time.Minute

var (
	npmOnce sync.Once
	npmErr  error
	// nodeBuilt says dist/ holds this run's compiled client, so later tests
	// need not compile it again.
	nodeBuilt bool
)

// TestNodeClient runs the TypeScript client's tests (examples/node-client,
// `npm test`) against the running system.
func TestNodeClient(t *testing.T) {
	s := systemFor(t)
	dir := nodeClient(t)
	s.restoreBreakersAtEnd(t)
	out, err := s.npm(t, dir, nil, "test")
	if err != nil {
		t.Fatalf("npm test in examples/node-client: %v\n%s", err, out)
	}
	nodeBuilt = true
	t.Logf("npm test: %s", nodeSummary(out))

	// The tour the README shows (`npm start -- --break`), compiled above.
	out, err = s.run(t, dir, nil, "node", "dist/examples/node-client/src/main.js", "--break")
	if err != nil {
		t.Fatalf("the example program: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Products:", "Recommended with ", "Degraded: ",
		"(same id: no duplicate)", "review.overall: must be",
		"adprovider/postgres: CLOSED, mode AUTO", "recommender/postgres: CLOSED, mode AUTO",
		"rejected by breaker adprovider/postgres; retry in ",
		"Degraded: adprovider failed", "served house_ads", "back to AUTO",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("the example program's output has no %q:\n%s", want, out)
		}
	}

	// Flags: --help explains; an unknown flag (a typo of --break, say) is an
	// error with the usage, not a tour that silently ignores it.
	out, err = s.run(t, dir, nil, "node", "dist/examples/node-client/src/main.js", "--help")
	if err != nil || !bytes.Contains(out, []byte("usage: npm start -- [--break]")) {
		t.Errorf("--help: %v\n%s", err, out)
	}
	out, err = s.run(t, dir, nil, "node", "dist/examples/node-client/src/main.js", "--brake")
	if err == nil || !bytes.Contains(out, []byte("unknown argument: --brake")) || bytes.Contains(out, []byte("Products:")) {
		t.Errorf("an unknown flag: want exit status 2 and the usage, got %v\n%s", err, out)
	}
}

// nodeClient returns the example's directory once its packages are
// installed, or skips the test when node or npm is not installed.
func nodeClient(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the Node client's tests need Node.js 20 or later (CI installs it)", tool)
		}
	}
	dir := filepath.Join(sys.root, "examples", "node-client")
	npmOnce.Do(func() {
		if !npmStale(dir) {
			return
		}
		var out []byte
		if out, npmErr = sys.npm(t, dir, nil, "ci", "--no-audit", "--no-fund", "--loglevel=error"); npmErr != nil {
			npmErr = &npmError{err: npmErr, out: out}
		}
	})
	if npmErr != nil {
		t.Fatalf("npm ci in examples/node-client: %v", npmErr)
	}
	return dir
}

// npmStale says whether node_modules is missing or older than the lock file
// (npm records what it installed in node_modules/.package-lock.json).
func npmStale(dir string) bool {
	installed, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json"))
	if err != nil {
		return true
	}
	lock, err := os.Stat(filepath.Join(dir, "package-lock.json"))
	return err != nil || lock.ModTime().After(installed.ModTime())
}

// npm runs npm in dir with the system's addresses and token in its
// environment, plus extra.
func (s *system) npm(t *testing.T, dir string, extra []string, args ...string) ([]byte, error) {
	t.Helper()
	return s.run(t, dir, extra, "npm", args...)
}

// run runs a program in dir with the system's addresses and token in its
// environment, plus extra, and returns its output.
func (s *system) run(t *testing.T, dir string, extra []string, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), nodeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(),
		"RECOMMENDER_ADDR="+s.recAddr,
		"ADPROVIDER_ADDR="+s.adAddr,
		"ADMIN_TOKEN="+adminToken,
		"NO_COLOR=1",
		"npm_config_update_notifier=false",
	), extra...)
	return cmd.CombinedOutput()
}

// nodeSummary picks node --test's totals: "ℹ tests 41" from the spec
// reporter, "# tests 41" from TAP.
func nodeSummary(out []byte) string {
	var parts []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		line = strings.TrimPrefix(strings.TrimPrefix(line, "ℹ "), "# ")
		for _, k := range []string{"tests ", "pass ", "fail ", "skipped "} {
			if strings.HasPrefix(line, k) {
				parts = append(parts, line)
			}
		}
	}
	return strings.Join(parts, ", ")
}

type npmError struct {
	err error
	out []byte
}

func (e *npmError) Error() string { return e.err.Error() + "\n" + string(e.out) }
