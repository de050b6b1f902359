package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// goPackage is what `go list -json` says of a package.
type goPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	Module     *struct{ Path string }
	GoFiles    []string
	EmbedFiles []string
	Error      *struct{ Err string }
}

// TestDockerignore: the build context .dockerignore leaves holds every file
// the Dockerfile's `go build` reads (asked of `go list`, as the image builds
// them: linux, CGO_ENABLED=0), and none of the local state.
func TestDockerignore(t *testing.T) {
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	excluded := func(rel string) bool {
		t.Helper()
		ex, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil {
			t.Fatal(err)
		}
		return ex
	}

	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	needed := []string{"go.mod", "go.sum"}
	for _, p := range goListDeps(t, root) {
		if p.Error != nil {
			t.Errorf("%s: %s", p.ImportPath, p.Error.Err)
		}
		if p.Standard || p.Module == nil || p.Module.Path != "github.com/breakwater/breakwater" {
			continue // from the module cache, which go mod download fills
		}
		rel, err := filepath.Rel(root, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range append(p.GoFiles, p.EmbedFiles...) {
			needed = append(needed, filepath.Join(rel, name))
		}
	}
	if len(needed) < 10 {
		t.Fatalf("go list found only %v", needed)
	}
	for _, rel := range needed {
		if excluded(rel) {
			t.Errorf("%s is needed to build and .dockerignore excludes it", rel)
		}
	}

	for _, rel := range []string{
		".git/config", ".run/postgres/PG_VERSION", ".build/protovalidate/x.proto",
		"node_modules/x/index.js", "bin/adprovider", "deploy/compose.yaml",
		"services/adprovider/cmd/adprovider/adprovider", "services/adprovider/server_test.go",
		"interceptors/breaker/testdata/breakers.json", "gen/ts/x.ts", "README.md",
	} {
		if !excluded(rel) {
			t.Errorf("%s is in the build context; .dockerignore should exclude it", rel)
		}
	}
}

// goListDeps lists the packages the two commands are built from.
func goListDeps(t *testing.T, root string) []goPackage {
	t.Helper()
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command to ask")
		}
	}
	cmd := exec.Command(gobin, "list", "-deps", "-e", "-json=ImportPath,Dir,Standard,Module,GoFiles,EmbedFiles,Error",
		"./services/adprovider/cmd/adprovider", "./services/recommender/cmd/recommender")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOFLAGS=-mod=readonly", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []goPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(p.ImportPath) != "" {
			pkgs = append(pkgs, p)
		}
	}
	return pkgs
}
