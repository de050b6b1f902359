package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// StandbyName is the application_name the standby of [StartReplicated]
// connects to its primary with, and so the name the primary's
// synchronous_standby_names waits for.
const StandbyName = "pgtest_standby"

// Replicated is a primary and a hot standby that streams from it
// synchronously: the primary acknowledges a commit only once the standby has
// applied it (synchronous_commit = remote_apply, synchronous_standby_names
// naming the standby), so a commit a client saw succeed survives the
// primary's death and a promotion of the standby, and is visible to the
// standby's readers as soon as it is acknowledged.
type Replicated struct {
	Primary *Server
	Standby *Server
}

// StartReplicated starts a primary, makes a standby of it with
// pg_basebackup, starts the standby streaming from it, turns synchronous
// replication on and waits until the primary reports the standby as
// synchronous. opts apply to both servers. Both are stopped and removed
// when tb's test ends. With TEST_DATABASE_URL set it skips the test: an
// external server cannot be given a standby. Creating the pair takes about
// a second.
func StartReplicated(tb testing.TB, opts ...Option) *Replicated {
	tb.Helper()
	if os.Getenv(envURL) != "" {
		tb.Skip("pgtest: replication needs private servers; TEST_DATABASE_URL is set")
	}
	// Commits must wait for the standby to apply them: pgtest's default is off.
	primary := Start(tb, append(opts, WithSetting("synchronous_commit", "remote_apply"))...)
	standby, err := newStandby(primary, newConfig(append(opts,
		WithSetting("synchronous_commit", "remote_apply"),
		WithSetting("primary_conninfo", fmt.Sprintf("host=127.0.0.1 port=%d user=postgres application_name=%s", primary.port, StandbyName)),
	)))
	if err != nil {
		tb.Fatalf("pgtest: standby: %v", err)
	}
	tb.Cleanup(func() {
		if err := standby.close(); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), primary.cfg.startTimeout)
	defer cancel()
	// Only now, with the standby streaming: a primary that waits for an
	// absent standby blocks every commit, pg_basebackup's included.
	for _, sql := range []string{
		"ALTER SYSTEM SET synchronous_standby_names = '" + StandbyName + "'",
		"SELECT pg_reload_conf()",
	} {
		if err := primary.admin(ctx, sql); err != nil {
			tb.Fatalf("pgtest: %s: %v", sql, err)
		}
	}
	if err := waitSync(ctx, primary.url); err != nil {
		tb.Fatalf("pgtest: %v%s", err, standby.logTail())
	}
	return &Replicated{Primary: primary, Standby: standby}
}

// newStandby copies primary's data with pg_basebackup (WAL streamed
// alongside, fast checkpoint) into a new directory, marks it a standby and
// starts it with hot_standby on, waiting until it accepts connections.
func newStandby(primary *Server, cfg config) (*Server, error) {
	dir, err := makeDir(primary.cred)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		binDir:  primary.binDir,
		cred:    primary.cred,
		dir:     dir,
		dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "postgres.log"),
	}
	cmd := exec.Command(filepath.Join(s.binDir, "pg_basebackup"),
		"-D", s.dataDir, "-h", "127.0.0.1", "-p", strconv.Itoa(primary.port), "-U", "postgres",
		"-X", "stream", "-c", "fast", "--no-sync")
	cmd.Env = cleanEnv()
	cmd.Dir = dir
	cmd.SysProcAttr = sysProcAttr(s.cred)
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("pg_basebackup: %w\n%s", err, out)
	}
	if err := writeOwned(filepath.Join(s.dataDir, "standby.signal"), s.cred); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			break
		}
		s.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
		s.mu.Lock()
		err = s.startLocked(false) // hot standby: it answers reads once consistent
		s.mu.Unlock()
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errPortInUse) || attempt == 3 {
			break
		}
	}
	_ = os.RemoveAll(dir)
	return nil, err
}

// waitSync waits until the primary at rawURL has a synchronous standby.
func waitSync(ctx context.Context, rawURL string) error {
	for {
		conn, err := pgx.Connect(ctx, rawURL)
		if err == nil {
			var n int
			err = conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_replication WHERE application_name = $1 AND sync_state = 'sync' AND state = 'streaming'", StandbyName).Scan(&n)
			conn.Close(context.Background())
			if err == nil && n == 1 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("standby not synchronous: %w (last: %v)", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// NewDatabase creates an empty database on the primary (and so, through
// replication, on the standby) and returns a URL that names both servers,
// primary first, with target_session_attrs=read-write: a client connecting
// with it reaches whichever of the two takes writes, which after
// [Server.Promote] is the former standby.
func (r *Replicated) NewDatabase(tb testing.TB) string {
	tb.Helper()
	one, err := url.Parse(r.Primary.NewDatabase(tb))
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	one.Host = fmt.Sprintf("127.0.0.1:%d,127.0.0.1:%d", r.Primary.port, r.Standby.port)
	q := one.Query()
	q.Set("target_session_attrs", "read-write")
	one.RawQuery = q.Encode()
	return one.String()
}

// Promote makes a standby the primary (pg_promote, waiting until it is
// done). A server that is already primary fails the test.
func (s *Server) Promote(tb testing.TB) {
	tb.Helper()
	s.mustOwn(tb, "Promote")
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.startTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.url)
	if err != nil {
		tb.Fatalf("pgtest: promote: %v", err)
	}
	defer conn.Close(context.Background())
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_promote(true, $1)", int(s.cfg.startTimeout/time.Second)).Scan(&ok); err != nil || !ok {
		tb.Fatalf("pgtest: promote: %v (done: %v)%s", err, ok, s.logTail())
	}
}
