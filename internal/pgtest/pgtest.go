package pgtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	envURL      = "TEST_DATABASE_URL"
	envBinDir   = "PG_BINDIR"
	dirPrefix   = "pgtest-"
	stopTimeout = 30 * time.Second
)

// errPortInUse marks a start that lost the race for the free port it picked.
var errPortInUse = errors.New("port already in use")

// A Server is a PostgreSQL server for tests: either a private one that this
// package started and owns, or the external one named by TEST_DATABASE_URL.
type Server struct {
	cfg      config
	external bool
	shared   bool
	url      string
	port     int

	// Private servers only.
	binDir  string
	cred    *syscall.Credential // nil: run as the current user
	dir     string              // temporary root, removed at clean-up
	dataDir string
	logPath string

	mu      sync.Mutex
	proc    *postmaster // nil while stopped
	paused  bool
	standby bool // started by HoldInStartup

	seq atomic.Uint64
}

// postmaster is one run of the postgres process.
type postmaster struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has been waited for
	err  error         // the result of Wait, valid after done
}

// Start starts a private PostgreSQL server, or returns the external one when
// TEST_DATABASE_URL is set. The server is stopped and its directory removed
// when tb's test ends.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := New(opts...)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return s
}

// New is [Start] for code that has no testing.TB, such as examples or a
// TestMain: the caller must call [Server.Close].
func New(opts ...Option) (*Server, error) {
	return newServer(newConfig(opts))
}

// Close stops a private server and removes its directory; for an external
// server it does nothing. The shared server is closed by [Wrap] only.
func (s *Server) Close() error {
	if s.shared {
		return errors.New("the shared server is closed by pgtest.Wrap, not by tests")
	}
	return s.close()
}

// URL returns the connection URL of the server's "postgres" database, as
// superuser "postgres" (for an external server: TEST_DATABASE_URL).
func (s *Server) URL() string { return s.url }

// Port returns the TCP port the server listens on; it survives restarts.
func (s *Server) Port() int { return s.port }

// LogPath returns the file postgres writes its log to; empty for an external
// server.
func (s *Server) LogPath() string { return s.logPath }

// NewDatabase creates an empty database with a unique name and returns its
// URL. The database is dropped when tb's test ends, so tests can share one
// server and still not see each other's tables.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("pgtest_%s_%d_%d", identifier(tb.Name()), os.Getpid(), s.seq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
	defer cancel()
	if err := s.admin(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if !s.external && !s.running() {
			return // the whole data directory goes anyway
		}
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		err := s.admin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		if err != nil && s.external {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(s.url)
	if err != nil {
		tb.Fatalf("pgtest: parse server url: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Stop shuts the server down (fast shutdown: sessions are disconnected,
// a checkpoint is written) and waits until every postgres process is gone.
func (s *Server) Stop(tb testing.TB) {
	tb.Helper()
	s.mustOwn(tb, "Stop")
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.stopLocked(syscall.SIGINT); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
}

// Kill sends SIGKILL to the postmaster and all its children and waits until
// they are gone: a crash, with no shutdown checkpoint. Connections see their
// sockets close; new connections are refused.
func (s *Server) Kill(tb testing.TB) {
	tb.Helper()
	s.mustOwn(tb, "Kill")
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.killLocked(); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
}

// Restart starts the server again on the same port and data directory (after
// a crash, PostgreSQL runs recovery first) and waits until it accepts
// connections. A running server is stopped first.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.mustOwn(tb, "Restart")
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.restartLocked(false); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
}

// HoldInStartup restarts the server so that it stays in recovery: the
// postmaster accepts TCP connections and answers each with FATAL SQLSTATE
// 57P03 (cannot_connect_now), the code of a database that is starting up.
// It is a real postmaster in recovery (a standby with hot_standby off), so
// the message reads "the database system is not accepting connections"
// rather than "… is starting up", a window too short to hold reliably. It
// returns once a connection has seen 57P03. [Server.Restart] brings the
// server back to normal.
func (s *Server) HoldInStartup(tb testing.TB) {
	tb.Helper()
	s.mustOwn(tb, "HoldInStartup")
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.restartLocked(true); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
}

// Pause freezes the postmaster and its children with SIGSTOP. The kernel
// still accepts TCP connections on the port, but nothing answers: queries
// hang until their deadline. [Server.Resume] continues them.
func (s *Server) Pause(tb testing.TB) {
	tb.Helper()
	s.mustOwn(tb, "Pause")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		tb.Fatal("pgtest: Pause: server is not running")
	}
	if !s.paused {
		s.signalAll(syscall.SIGSTOP)
		s.paused = true
	}
}

// Resume continues a server frozen by [Server.Pause].
func (s *Server) Resume(tb testing.TB) {
	tb.Helper()
	s.mustOwn(tb, "Resume")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil && s.paused {
		s.signalAll(syscall.SIGCONT)
		s.paused = false
	}
}

func (s *Server) mustOwn(tb testing.TB, op string) {
	tb.Helper()
	switch {
	case s.external:
		tb.Skipf("pgtest: %s needs a private server; TEST_DATABASE_URL is set, so this test is skipped", op)
	case s.shared:
		tb.Fatalf("pgtest: %s on the shared server would break other tests; use pgtest.Start", op)
	}
}

func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil && !s.paused && !s.standby
}

// admin runs one statement on the server's maintenance database.
func (s *Server) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

func newServer(cfg config) (*Server, error) {
	if u := os.Getenv(envURL); u != "" {
		return newExternal(cfg, u)
	}
	sweepOnce.Do(sweepStale)
	binDir, err := findBinDir(cfg.binDir)
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := makeDir(cred)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		binDir:  binDir,
		cred:    cred,
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "postgres.log"),
	}
	if err := s.initData(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			break
		}
		s.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
		s.mu.Lock()
		err = s.startLocked(false)
		s.mu.Unlock()
		if err == nil {
			return s, nil
		}
		// Another process may take the port between freePort and postgres'
		// bind; pick another one rather than fail the test.
		if !errors.Is(err, errPortInUse) || attempt == 3 {
			break
		}
	}
	_ = os.RemoveAll(dir)
	return nil, err
}

func newExternal(cfg config, rawURL string) (*Server, error) {
	pc, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", envURL, err)
	}
	if _, err := url.Parse(rawURL); err != nil || !strings.Contains(rawURL, "://") {
		return nil, fmt.Errorf("%s must be a postgres:// URL", envURL)
	}
	return &Server{cfg: cfg, external: true, url: rawURL, port: int(pc.Port)}, nil
}

// close stops a private server and removes its directory.
func (s *Server) close() error {
	if s.external {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Immediate shutdown: nothing of the data needs to survive, and unlike
	// SIGKILL it lets the postmaster release its System V shared memory.
	err := s.stopLocked(syscall.SIGQUIT)
	removeStaleShm(s.dataDir)
	if rmErr := os.RemoveAll(s.dir); rmErr != nil && err == nil {
		err = rmErr
	}
	return err
}

func (s *Server) restartLocked(standby bool) error {
	if err := s.stopLocked(syscall.SIGINT); err != nil {
		return err
	}
	signal := filepath.Join(s.dataDir, "standby.signal")
	if standby {
		if err := writeOwned(signal, s.cred); err != nil {
			return err
		}
	} else if err := os.Remove(signal); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return s.startLocked(standby)
}

// startLocked runs postgres and waits until it is ready (or, for standby,
// until it answers 57P03).
func (s *Server) startLocked(standby bool) error {
	logf, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy of the descriptor
	args := []string{
		"-D", s.dataDir,
		"-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "shared_buffers=16MB",
		"-c", "max_connections=60",
		"-c", "autovacuum=off", // short-lived data; saves a process and CPU
	}
	if standby {
		args = append(args, "-c", "hot_standby=off")
	}
	for _, kv := range s.cfg.settings {
		args = append(args, "-c", kv[0]+"="+kv[1])
	}
	cmd := exec.Command(filepath.Join(s.binDir, "postgres"), args...)
	cmd.Dir = s.dir
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = sysProcAttr(s.cred)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	p := &postmaster{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.proc, s.paused, s.standby = p, false, standby
	if err := s.waitReady(p, standby); err != nil {
		_ = s.killLocked()
		return err
	}
	return nil
}

func (s *Server) waitReady(p *postmaster, want57P03 bool) error {
	deadline := time.Now().Add(s.cfg.startTimeout)
	poll := time.NewTimer(0)
	defer poll.Stop()
	var last error
	for {
		select {
		case <-p.done:
			return s.exitError(p)
		case <-poll.C:
		}
		last = s.ping(want57P03)
		if last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %v: %w%s", s.cfg.startTimeout, last, s.logTail())
		}
		poll.Reset(20 * time.Millisecond)
	}
}

// ping connects once. While the server starts it answers 57P03
// (the database system is starting up) or refuses the connection.
func (s *Server) ping(want57P03 bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url)
	if err == nil {
		conn.Close(ctx)
		if want57P03 {
			return errors.New("server in standby accepted a connection; expected 57P03")
		}
		return nil
	}
	var pgErr *pgconn.PgError
	if want57P03 && errors.As(err, &pgErr) && pgErr.Code == "57P03" {
		return nil
	}
	return err
}

func (s *Server) exitError(p *postmaster) error {
	tail := s.logTail()
	err := fmt.Errorf("postgres exited during start-up: %v%s", p.err, tail)
	s.proc = nil
	if strings.Contains(tail, "Address already in use") || strings.Contains(tail, "could not bind") {
		return fmt.Errorf("%w: %w", errPortInUse, err)
	}
	return err
}

// logTail returns the end of postgres' log, formatted for a failure message.
func (s *Server) logTail() string {
	f, err := os.Open(s.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 4 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		_, _ = f.Seek(fi.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return "\n--- " + s.logPath + " (tail) ---\n" + string(b)
}

// stopLocked asks the postmaster to shut down with sig (SIGINT fast,
// SIGQUIT immediate) and waits; if it does not stop in time it is killed.
func (s *Server) stopLocked(sig syscall.Signal) error {
	p := s.proc
	if p == nil {
		return nil
	}
	if s.paused {
		s.signalAll(syscall.SIGCONT)
		s.paused = false
	}
	_ = p.cmd.Process.Signal(sig)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
		s.proc = nil
		return nil
	case <-t.C:
		if err := s.killLocked(); err != nil {
			return err
		}
		return fmt.Errorf("postgres did not stop within %v after %v; killed it", stopTimeout, sig)
	}
}

// killLocked kills the postmaster and its children and waits until they are
// gone. PostgreSQL's children call setsid, so the postmaster's process group
// does not hold them: they are found through /proc while the postmaster is
// frozen and cannot fork new ones.
func (s *Server) killLocked() error {
	p := s.proc
	if p == nil {
		return nil
	}
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	kids := children(pid)
	for _, k := range kids {
		_ = syscall.Kill(k, syscall.SIGKILL)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		return fmt.Errorf("postmaster %d still running %v after SIGKILL", pid, stopTimeout)
	}
	s.proc, s.paused = nil, false
	return waitGone(kids, stopTimeout)
}

// signalAll signals the postmaster and its children. The postmaster goes
// first on SIGSTOP so that it cannot start a replacement for a frozen child.
func (s *Server) signalAll(sig syscall.Signal) {
	pid := s.proc.cmd.Process.Pid
	if sig == syscall.SIGSTOP {
		_ = syscall.Kill(pid, sig)
	}
	for _, k := range children(pid) {
		_ = syscall.Kill(k, sig)
	}
	if sig != syscall.SIGSTOP {
		_ = syscall.Kill(pid, sig)
	}
}

func (s *Server) initData() error {
	if tmpl := template(s.binDir, s.cred); tmpl != "" {
		return copyTree(tmpl, s.dataDir, s.cred)
	}
	return initdb(s.binDir, s.dataDir, s.cred)
}

func initdb(binDir, dataDir string, cred *syscall.Credential) error {
	cmd := exec.Command(filepath.Join(binDir, "initdb"),
		"-D", dataDir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C")
	cmd.Env = cleanEnv()
	cmd.Dir = filepath.Dir(dataDir)
	cmd.SysProcAttr = sysProcAttr(cred)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// findBinDir picks the directory of initdb and postgres: the option,
// PG_BINDIR, pg_config --bindir, the usual install places (Debian's
// /usr/lib/postgresql/<version>/bin, newest first; /usr/local/pgsql/bin;
// Homebrew's postgresql@<version>), then $PATH.
func findBinDir(opt string) (string, error) {
	if opt != "" {
		return opt, nil
	}
	if d := os.Getenv(envBinDir); d != "" {
		return d, nil
	}
	has := func(d string) bool {
		_, errI := os.Stat(filepath.Join(d, "initdb"))
		_, errP := os.Stat(filepath.Join(d, "postgres"))
		return errI == nil && errP == nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); has(d) {
			return d, nil
		}
	}
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin",
		"/opt/homebrew/opt/postgresql@*/bin", "/usr/local/opt/postgresql@*/bin"} {
		dirs, _ := filepath.Glob(pattern)
		slices.SortFunc(dirs, func(a, b string) int { return compareVersionDirs(b, a) })
		for _, d := range dirs {
			if has(d) {
				return d, nil
			}
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("initdb not found: install PostgreSQL, set PG_BINDIR, or set TEST_DATABASE_URL")
}

// compareVersionDirs orders ".../15/bin" before ".../9/bin" by the number
// in the path, so the newest server wins.
func compareVersionDirs(a, b string) int {
	num := func(s string) int {
		n, _ := strconv.Atoi(strings.TrimLeft(filepath.Base(filepath.Dir(s)), "postgresql@"))
		return n
	}
	return num(a) - num(b)
}

// runAs returns the credentials of the postgres user when running as root,
// because initdb and postgres refuse to run as root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a postgres user: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// makeDir makes a private directory under os.TempDir, owned by the user that
// runs postgres. Not t.TempDir: its parents are 0700 and owned by root.
func makeDir(cred *syscall.Credential) (string, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", dirPrefix, os.Getpid()))
	if err != nil {
		return "", err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			_ = os.RemoveAll(dir)
			return "", err
		}
	}
	return dir, nil
}

func writeOwned(path string, cred *syscall.Credential) error {
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		return err
	}
	if cred != nil {
		return os.Chown(path, int(cred.Uid), int(cred.Gid))
	}
	return nil
}

// copyTree copies an initdb'd data directory, keeping modes (postgres insists
// on 0700) and giving every entry to cred's user.
func copyTree(src, dst string, cred *syscall.Credential) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			err = os.Mkdir(target, info.Mode().Perm())
		case d.Type().IsRegular():
			err = copyFile(path, target, info.Mode().Perm())
		default:
			return fmt.Errorf("copy %s: unexpected file type %v", path, d.Type())
		}
		if err == nil && cred != nil {
			err = os.Lchown(target, int(cred.Uid), int(cred.Gid))
		}
		return err
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// cleanEnv drops PG* variables (PGDATA, PGPORT, …) that would change what
// initdb and postgres do.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return append(env, "LC_ALL=C")
}

// identifier turns a test name into something safe and short for a database
// name (PostgreSQL cuts identifiers at 63 bytes).
func identifier(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if b.Len() >= 30 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

var sweepOnce sync.Once

// sweepStale removes directories left by test processes that died before
// their clean-up ran; their postmasters died with them (parent-death signal).
func sweepStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		rest := strings.TrimPrefix(filepath.Base(d), dirPrefix)
		pidStr, _, ok := strings.Cut(rest, "-")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			removeStaleShm(filepath.Join(d, "data"))
			_ = os.RemoveAll(d)
		}
	}
}
