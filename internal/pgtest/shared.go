package pgtest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// TestingM is what TestMain receives; *testing.M satisfies it.
type TestingM interface {
	Run() int
}

// M runs a test binary's tests with the package-level state of pgtest: the
// shared server and the template data directory. Create it with [Wrap].
type M struct {
	m TestingM
}

// Wrap returns m wrapped so that [Shared] works and servers from [Start] are
// copied from a template instead of initialised. Its Run stops the shared
// server and removes the template after the tests, before goleak looks for
// leaks:
//
//	func TestMain(m *testing.M) {
//		goleak.VerifyTestMain(pgtest.Wrap(m))
//	}
//
// Without goleak: os.Exit(pgtest.Wrap(m).Run()).
func Wrap(m TestingM) *M { return &M{m: m} }

// Run runs the tests, then stops the shared server and removes the template.
// A failure to clean up turns a passing run into a failing one.
func (w *M) Run() int {
	state.mu.Lock()
	state.wrapped = true
	state.mu.Unlock()

	code := w.m.Run()

	if err := teardown(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: clean-up: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

var state struct {
	mu        sync.Mutex
	wrapped   bool
	tmplDir   string // root of the template; its data is in tmplDir/data
	tmplBin   string
	tmplCred  *syscall.Credential
	tmplError error

	sharedMu sync.Mutex
	shared   *Server
}

// Shared returns the server shared by all tests of the binary, starting it on
// first use. Tests take their own database with [Server.NewDatabase] and must
// not stop or kill it (those methods fail the test). It needs [Wrap] in
// TestMain, which stops it after the last test.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	state.mu.Lock()
	wrapped := state.wrapped
	state.mu.Unlock()
	if !wrapped {
		tb.Fatal("pgtest: Shared needs TestMain to run the tests through pgtest.Wrap(m)")
	}
	state.sharedMu.Lock()
	defer state.sharedMu.Unlock()
	if state.shared == nil {
		s, err := newServer(newConfig(nil))
		if err != nil {
			tb.Fatalf("pgtest: shared server: %v", err)
		}
		s.shared = true
		state.shared = s
	}
	return state.shared
}

// template returns the data directory of a fresh initdb to copy, or "" when
// there is none to use (not wrapped, other binaries, or initdb failed there;
// the caller then runs initdb itself and reports its error).
func template(binDir string, cred *syscall.Credential) string {
	state.mu.Lock()
	defer state.mu.Unlock()
	if !state.wrapped || state.tmplError != nil {
		return ""
	}
	if state.tmplDir == "" {
		dir, err := makeDir(cred)
		if err == nil {
			if err = initdb(binDir, filepath.Join(dir, "data"), cred); err != nil {
				_ = os.RemoveAll(dir)
			}
		}
		if err != nil {
			state.tmplError = err
			return ""
		}
		state.tmplDir, state.tmplBin, state.tmplCred = dir, binDir, cred
	}
	if state.tmplBin != binDir || !sameCred(state.tmplCred, cred) {
		return ""
	}
	return filepath.Join(state.tmplDir, "data")
}

func sameCred(a, b *syscall.Credential) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Uid == b.Uid && a.Gid == b.Gid
}

func teardown() error {
	state.sharedMu.Lock()
	s := state.shared
	state.shared = nil
	state.sharedMu.Unlock()
	var err error
	if s != nil {
		err = s.close()
	}
	state.mu.Lock()
	defer state.mu.Unlock()
	if state.tmplDir != "" {
		if rmErr := os.RemoveAll(state.tmplDir); rmErr != nil && err == nil {
			err = rmErr
		}
		state.tmplDir = ""
	}
	return err
}
