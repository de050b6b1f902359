package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// LocalOptions describe a [RunLocal] server.
type LocalOptions struct {
	DataDir  string    // the cluster; initialised when it holds none
	Port     int       // on 127.0.0.1
	Database string    // created when missing
	BinDir   string    // PostgreSQL's binaries; found as for tests when empty
	Log      io.Writer // initdb's and postgres' output
}

// RunLocal runs the private PostgreSQL of `make run-all`: the same server
// logic as the tests' (finding the binaries, running them as the postgres
// user when root, initdb as superuser postgres with trust), without the
// tests' tuning: its data directory outlives it, it keeps fsync, and it
// listens on a fixed port. It initialises opts.DataDir when it holds no
// cluster, starts postgres, waits until postmaster.pid says "ready" (a
// connection before that would leave a FATAL "starting up" line in the
// log), creates opts.Database, calls ready with its URL, and runs until ctx
// ends; then it stops the server with a fast shutdown (clients
// disconnected, a checkpoint written) and returns nil. It returns an error
// when the server cannot start or exits by itself.
func RunLocal(ctx context.Context, opts LocalOptions, ready func(url string)) error {
	bin, err := findBinDir(opts.BinDir)
	if err != nil {
		return fmt.Errorf("no PostgreSQL server binaries found: install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@15), or set PG_BINDIR: %w", err)
	}
	cred, err := runAs()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(opts.DataDir, "PG_VERSION")); err != nil {
		if err := localInitDB(bin, opts, cred); err != nil {
			return err
		}
	}
	_ = os.Remove(filepath.Join(opts.DataDir, "postmaster.pid")) // a stale one from a killed run
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", opts.DataDir, "-p", strconv.Itoa(opts.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=")
	cmd.Env = cleanEnv()
	cmd.Dir = filepath.Dir(opts.DataDir)
	cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	cmd.SysProcAttr = sysProcAttr(cred)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	if err := waitPostmasterReady(ctx, opts.DataDir, exited); err != nil {
		stop()
		return err
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", opts.Port, opts.Database)
	if err := ensureDatabase(ctx, opts.Port, opts.Database); err != nil {
		stop()
		return err
	}
	ready(url)
	select {
	case <-ctx.Done():
		stop()
		return nil
	case err := <-exited:
		return fmt.Errorf("postgres exited on its own: %v", err)
	}
}

// localInitDB creates the data directory, owned by the user that runs
// postgres (as root: postgres), and runs initdb in it.
func localInitDB(bin string, opts LocalOptions, cred *syscall.Credential) error {
	if err := os.RemoveAll(opts.DataDir); err != nil {
		return err
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return err
	}
	if cred != nil {
		if err := os.Chown(opts.DataDir, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	cmd := exec.Command(filepath.Join(bin, "initdb"), "-D", opts.DataDir, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C")
	cmd.Env = cleanEnv()
	cmd.Dir = filepath.Dir(opts.DataDir)
	cmd.Stdout, cmd.Stderr = opts.Log, opts.Log
	cmd.SysProcAttr = sysProcAttr(cred)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initdb: %w (its output is in the log)", err)
	}
	return nil
}

// waitPostmasterReady waits until the status line of postmaster.pid (its
// 8th) says "ready", for at most a minute.
func waitPostmasterReady(ctx context.Context, dataDir string, exited <-chan error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		b, _ := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
		if lines := strings.Split(string(b), "\n"); len(lines) >= 8 && strings.TrimSpace(lines[7]) == "ready" {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("postgres exited while starting: %v (its output is in the log)", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("postgres was not ready within a minute (its output is in the log)")
		}
	}
}

// ensureDatabase creates name unless it exists.
func ensureDatabase(ctx context.Context, port int, name string) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(cctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return err
		}
	}
	return nil
}
