package pgtest_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/goleak"

	"github.com/breakwater/breakwater/internal/pgtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Wrap(m))
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryInt(t *testing.T, conn *pgx.Conn, sql string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestStartQuery(t *testing.T) {
	t.Parallel()
	s := pgtest.Start(t)
	if s.Port() == 0 {
		t.Fatal("port is 0")
	}
	conn := connect(t, s.URL())
	if got := queryInt(t, conn, "SELECT 40 + 2"); got != 42 {
		t.Fatalf("got %d, want 42", got)
	}
	var fsync string
	if err := conn.QueryRow(context.Background(), "SHOW fsync").Scan(&fsync); err != nil {
		t.Fatal(err)
	}
	if fsync != "off" && os.Getenv("TEST_DATABASE_URL") == "" {
		t.Errorf("fsync = %s, want off", fsync)
	}
}

func TestKillRestart(t *testing.T) {
	t.Parallel()
	s := pgtest.Start(t)
	conn := connect(t, s.URL())
	if _, err := conn.Exec(context.Background(), "SET synchronous_commit = on; CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	port := s.Port()
	backend := queryInt(t, conn, "SELECT pg_backend_pid()")

	s.Kill(t)
	if alive(backend) {
		t.Errorf("backend %d survived Kill", backend)
	}
	if _, err := conn.Exec(context.Background(), "SELECT 1"); err == nil {
		t.Fatal("query on a killed server succeeded")
	}
	c, err := pgx.Connect(context.Background(), s.URL())
	if err == nil {
		c.Close(context.Background())
		t.Fatal("connect to a killed server succeeded")
	}
	var ce *pgconn.ConnectError
	if !errors.As(err, &ce) {
		t.Fatalf("connect error %T %v, want *pgconn.ConnectError", err, err)
	}

	s.Restart(t)
	if s.Port() != port {
		t.Fatalf("port after restart = %d, want %d", s.Port(), port)
	}
	// Committed with synchronous_commit on before the crash: the WAL reached
	// the OS (fsync is off, but postgres was killed, not the machine), so
	// crash recovery keeps it.
	if got := queryInt(t, connect(t, s.URL()), "SELECT n FROM kept"); got != 7 {
		t.Fatalf("after restart got %d, want 7", got)
	}
}

// alive reports whether pid runs; a zombie waiting for its new parent to
// reap it does not.
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

func TestStopRestart(t *testing.T) {
	t.Parallel()
	s := pgtest.Start(t)
	s.Stop(t)
	if c, err := pgx.Connect(context.Background(), s.URL()); err == nil {
		c.Close(context.Background())
		t.Fatal("connect to a stopped server succeeded")
	}
	s.Stop(t) // stopping a stopped server is a no-op
	s.Restart(t)
	if got := queryInt(t, connect(t, s.URL()), "SELECT 1"); got != 1 {
		t.Fatalf("got %d", got)
	}
}

func TestHoldInStartup(t *testing.T) {
	t.Parallel()
	s := pgtest.Start(t)
	s.HoldInStartup(t)
	_, err := pgx.Connect(context.Background(), s.URL())
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57P03" {
		t.Fatalf("connect while starting up: %v, want SQLSTATE 57P03", err)
	}
	t.Logf("held in start-up: %s (%s)", pgErr.Message, pgErr.Detail)
	s.Restart(t)
	if got := queryInt(t, connect(t, s.URL()), "SELECT 1"); got != 1 {
		t.Fatalf("got %d", got)
	}
}

func TestPauseResume(t *testing.T) {
	t.Parallel()
	s := pgtest.Start(t)
	conn := connect(t, s.URL())
	s.Pause(t)
	// The deadline is how the hang is seen; nothing here measures time.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := conn.Exec(ctx, "SELECT 1"); !errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err) {
		t.Fatalf("query on a paused server: %v, want a timeout", err)
	}
	s.Resume(t)
	if got := queryInt(t, connect(t, s.URL()), "SELECT 1"); got != 1 {
		t.Fatalf("got %d", got)
	}
}

func TestNewDatabaseIsolation(t *testing.T) {
	t.Parallel()
	s := pgtest.Shared(t)
	a, b := s.NewDatabase(t), s.NewDatabase(t)
	if a == b {
		t.Fatalf("two databases share the URL %s", a)
	}
	ca, cb := connect(t, a), connect(t, b)
	if _, err := ca.Exec(context.Background(), "CREATE TABLE only_in_a (n int)"); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.Exec(context.Background(), "SELECT * FROM only_in_a"); err == nil {
		t.Fatal("table of database a is visible in database b")
	}
	if got := queryInt(t, cb, "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'"); got != 0 {
		t.Fatalf("database b has %d tables named only_in_a", got)
	}
}

func TestCleanup(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") != "" {
		t.Skip("TEST_DATABASE_URL is set: no private server to clean up")
	}
	var dir string
	var backend int
	t.Run("server", func(t *testing.T) {
		s := pgtest.Start(t)
		dir = filepath.Dir(s.LogPath())
		backend = queryInt(t, connect(t, s.URL()), "SELECT pg_backend_pid()")
		s.NewDatabase(t)
	})
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory %s still there after clean-up: %v", dir, err)
	}
	if alive(backend) {
		t.Errorf("postgres backend %d still running after clean-up", backend)
	}
}
