package e2e

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// defaultPython is Debian's interpreter, the one python3-grpcio and
// python3-protobuf install into (.ci/run installs them). It is named in full
// because another python3 (pyenv, a virtualenv) may come first on PATH
// without them. BREAKWATER_PYTHON names another.
const defaultPython = "/usr/bin/python3"

// pythonEnv is added to the system's environment for every Python run: no
// __pycache__ left in gen/python or the example.
var pythonEnv = []string{"PYTHONDONTWRITEBYTECODE=1"}

// TestPythonClient runs the Python client's tests (examples/python-client,
// `python3 -m unittest`) against the running system, then the tour with
// --break, and checks what it prints.
func TestPythonClient(t *testing.T) {
	s := systemFor(t)
	py := pythonInterpreter(t)
	dir := pythonClientDir(s)
	s.restoreBreakersAtEnd(t)

	out, err := s.run(t, dir, pythonEnv, py, "-m", "unittest", "-v")
	if err != nil {
		t.Fatalf("python3 -m unittest in examples/python-client: %v\n%s", err, out)
	}
	checkUnittest(t, out, "needs a database outage")
	t.Logf("python3 -m unittest: %s", unittestSummary(out))

	// The Python snippets of both READMEs, as they are.
	for _, readme := range []struct{ path, heading string }{
		{filepath.Join(s.root, "README.md"), "### Python"},
		{filepath.Join(dir, "README.md"), ""},
	} {
		blocks := markdownBlocks(t, readme.path, readme.heading, "python")
		if len(blocks) == 0 {
			t.Errorf("%s %s has no python block", readme.path, readme.heading)
		}
		for _, code := range blocks {
			if out, err := s.run(t, dir, pythonEnv, py, "-c", code); err != nil {
				t.Errorf("a python block of %s: %v\n%s\n%s", readme.path, err, code, out)
			}
		}
	}

	// The tour the README shows (`python3 tour.py --break`).
	out, err = s.run(t, dir, pythonEnv, py, "tour.py", "--break")
	if err != nil {
		t.Fatalf("tour.py --break: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Products:", "Recommended with ", "Degraded: ",
		"(same id: no duplicate)", "A review with 9 stars: INVALID_ARGUMENT", "review.overall: must be",
		"adprovider/postgres: CLOSED, mode AUTO", "recommender/postgres: CLOSED, mode AUTO",
		"AdProvider GetAds: rejected by breaker adprovider/postgres; retry in ",
		"Degraded: adprovider failed", "served house_ads", "adprovider/postgres is back to AUTO.",
	} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("tour.py's output has no %q:\n%s", want, out)
		}
	}
	// Flags: --help explains; an unknown flag is an error with the usage.
	out, err = s.run(t, dir, pythonEnv, py, "tour.py", "--help")
	if err != nil || !bytes.Contains(out, []byte("usage: tour.py [-h] [--break]")) {
		t.Errorf("tour.py --help: %v\n%s", err, out)
	}
	out, err = s.run(t, dir, pythonEnv, py, "tour.py", "--brake")
	if err == nil || !bytes.Contains(out, []byte("unrecognized arguments: --brake")) || bytes.Contains(out, []byte("Products:")) {
		t.Errorf("tour.py --brake: want exit status 2 and the usage, got %v\n%s", err, out)
	}
}

// pythonOutage runs the Python client's outage tests while the database is
// down (TestDatabaseOutage calls it between the kill and the restart).
func (s *system) pythonOutage(t *testing.T) {
	t.Helper()
	py := pythonInterpreter(t)
	out, err := s.run(t, pythonClientDir(s), append([]string{"BREAKWATER_DATABASE_DOWN=1"}, pythonEnv...),
		py, "-m", "unittest", "-v", "tests.test_outage")
	if err != nil {
		t.Fatalf("python3 -m unittest tests.test_outage: %v\n%s", err, out)
	}
	checkUnittest(t, out, "")
	t.Logf("python3 -m unittest tests.test_outage: %s", unittestSummary(out))
}

func pythonClientDir(s *system) string { return filepath.Join(s.root, "examples", "python-client") }

// pythonInterpreter returns the Python that has grpcio and protobuf, or
// skips the test when there is none, saying what to install. Under CI
// (CI set, as .ci/run does) a missing runtime fails instead: .ci/run
// installs it, so its absence is a broken setup, not a choice.
func pythonInterpreter(t *testing.T) string {
	t.Helper()
	py := os.Getenv("BREAKWATER_PYTHON")
	if py == "" {
		py = defaultPython
	}
	out, err := exec.Command(py, "-c", "import grpc, google.protobuf").CombinedOutput()
	if err != nil {
		msg := py + " cannot import grpc and google.protobuf (apt-get install python3-grpcio python3-protobuf, or set BREAKWATER_PYTHON): " +
			err.Error() + "\n" + string(out)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return py
}

// checkUnittest fails the test when unittest's verbose output shows a
// skipped test whose reason does not contain allowSkip (empty: none may be
// skipped), or no test at all.
func checkUnittest(t *testing.T, out []byte, allowSkip string) {
	t.Helper()
	ran := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		_, result, ok := strings.Cut(line, " ... ")
		if !ok {
			continue
		}
		ran++
		if strings.HasPrefix(result, "skipped") && (allowSkip == "" || !strings.Contains(result, allowSkip)) {
			t.Errorf("a Python test was skipped: %s", line)
		}
	}
	if ran == 0 {
		t.Errorf("no Python test ran:\n%s", out)
	}
}

// unittestSummary picks unittest's totals: "Ran 41 tests in 0.4s; OK (skipped=3)".
func unittestSummary(out []byte) string {
	var parts []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "Ran ") || strings.HasPrefix(line, "OK") || strings.HasPrefix(line, "FAILED") {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}
