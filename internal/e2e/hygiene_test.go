package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepositoryHygiene: no built binary is tracked, build output is
// ignored wherever `go build` or make puts it, `make build` builds both
// services into bin/, and `make clean` removes run-all's state too.
func TestRepositoryHygiene(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Skipf("git %s: %v (not a git checkout?)", strings.Join(args, " "), err)
		}
		return out
	}

	// Executables by their magic numbers (ELF, Mach-O, PE), and size.
	magics := [][]byte{{0x7f, 'E', 'L', 'F'}, {0xcf, 0xfa, 0xed, 0xfe}, {0xfe, 0xed, 0xfa, 0xcf}, []byte("MZ")}
	for _, f := range strings.Split(strings.TrimSpace(string(git("ls-files"))), "\n") {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue // deleted in the working tree
		}
		for _, m := range magics {
			if bytes.HasPrefix(b, m) {
				t.Errorf("%s is a committed executable: remove it and let .gitignore cover it", f)
			}
		}
		if len(b) > 1<<20 {
			t.Errorf("%s is %d bytes: build output or data that belongs elsewhere?", f, len(b))
		}
	}

	// Where build output lands is ignored; the sources beside it are not.
	cmd := exec.Command("git", "check-ignore", "--no-index", "-v", "--non-matching",
		"services/adprovider/cmd/adprovider/adprovider", "services/recommender/cmd/recommender/recommender",
		"adprovider", "recommender", "bin/adprovider", ".run/bin/grpcurl", ".build/x",
		"services/adprovider/cmd/adprovider/main.go")
	cmd.Dir = root
	out, _ := cmd.Output() // exit status 1 when some path is not ignored
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// "source:line:pattern<TAB>path"; "::<TAB>path" when nothing
		// matched; a matching "!pattern" re-includes the path.
		spec, _, _ := strings.Cut(line, "\t")
		parts := strings.SplitN(spec, ":", 3)
		ignored := len(parts) == 3 && parts[2] != "" && !strings.HasPrefix(parts[2], "!")
		source := strings.HasSuffix(line, ".go")
		if ignored == source {
			t.Errorf("git check-ignore: %s (build output must be ignored, sources must not)", line)
		}
	}

	// The Makefile's build and clean, as make would run them.
	dry := func(target string) string {
		t.Helper()
		cmd := exec.Command("make", "-n", target)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		return string(out)
	}
	if b := dry("build"); !strings.Contains(b, "-o bin/ ./services/adprovider/cmd/adprovider ./services/recommender/cmd/recommender") {
		t.Errorf("make build does not build both services into bin/:\n%s", b)
	}
	if c := dry("clean"); !strings.Contains(c, " .run") || !strings.Contains(c, " bin") {
		t.Errorf("make clean leaves .run/ or bin/:\n%s", c)
	}
}
