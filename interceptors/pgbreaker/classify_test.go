package pgbreaker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/internal/pgtest"
)

func TestClassifySQLState(t *testing.T) {
	for code, want := range map[string]breaker.Outcome{
		"08006": breaker.Failure, "08001": breaker.Failure,
		"53300": breaker.Failure, "53100": breaker.Failure,
		"57P01": breaker.Failure, "57P02": breaker.Failure, "57P03": breaker.Failure,
		"57014": breaker.Failure,
		"58030": breaker.Failure, "XX000": breaker.Failure, "XX001": breaker.Failure,
		"25006": breaker.Failure,
		"22012": breaker.Success, "22P02": breaker.Success,
		"23505": breaker.Success, "23503": breaker.Success,
		"42601": breaker.Success, "42P01": breaker.Success,
		"40001": breaker.Success, "40P01": breaker.Success,
		"55P03": breaker.Success, "P0001": breaker.Success,
		"": breaker.Failure, "bogus": breaker.Success,
	} {
		if got := pgbreaker.ClassifySQLState(code); got != want {
			t.Errorf("ClassifySQLState(%q) = %v, want %v", code, got, want)
		}
	}
}

// TestClassifyErrorShapes covers errors that need no server: wrapping, and
// the Go-side errors pgx passes through.
func TestClassifyErrorShapes(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want breaker.Outcome
	}{
		{"nil", nil, breaker.Success},
		{"no rows wrapped", fmt.Errorf("get ad: %w", pgx.ErrNoRows), breaker.Success},
		{"canceled", context.Canceled, breaker.Neutral},
		{"canceled wrapped", fmt.Errorf("list: %w", context.Canceled), breaker.Neutral},
		{"deadline", context.DeadlineExceeded, breaker.Failure},
		{"eof", io.EOF, breaker.Failure},
		{"unexpected eof", fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), breaker.Failure},
		{"net op error", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, breaker.Failure},
		{"conn closed", pgconn.ErrConnClosed, breaker.Failure},
		{"pg error wrapped", fmt.Errorf("insert: %w", &pgconn.PgError{Code: "23505"}), breaker.Success},
		{"open breaker elsewhere", &breaker.OpenError{Breaker: "other"}, breaker.Neutral},
		{"store's own error", errors.New("ad not found"), breaker.Success},
	} {
		if got := pgbreaker.Classify(tc.err); got != tc.want {
			t.Errorf("%s: Classify(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

// classifyCase produces one real error from PostgreSQL.
type classifyCase struct {
	name string
	code string // SQLSTATE the error must carry, if any
	want breaker.Outcome
	run  func(t *testing.T, url string) error
}

// TestClassifyRealErrors is the classification table, one real error per
// row, on a database of the shared server.
func TestClassifyRealErrors(t *testing.T) {
	t.Parallel()
	url := pgtest.Shared(t).NewDatabase(t)
	setup := connect(t, url)
	mustExec(t, setup, "CREATE TABLE u (k int PRIMARY KEY)")
	mustExec(t, setup, "INSERT INTO u VALUES (1)")
	ctx := context.Background()

	raise := func(code string) func(*testing.T, string) error {
		return func(t *testing.T, url string) error {
			_, err := connect(t, url).Exec(ctx,
				fmt.Sprintf("DO $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = '%s'; END $$", code))
			return err
		}
	}
	cases := []classifyCase{
		{name: "no rows", want: breaker.Success, run: func(t *testing.T, url string) error {
			var n int
			return connect(t, url).QueryRow(ctx, "SELECT 1 WHERE false").Scan(&n)
		}},
		{name: "unique violation", code: "23505", want: breaker.Success, run: func(t *testing.T, url string) error {
			_, err := connect(t, url).Exec(ctx, "INSERT INTO u VALUES (1)")
			return err
		}},
		{name: "division by zero", code: "22012", want: breaker.Success, run: func(t *testing.T, url string) error {
			_, err := connect(t, url).Exec(ctx, "SELECT 1/0")
			return err
		}},
		{name: "syntax error", code: "42601", want: breaker.Success, run: func(t *testing.T, url string) error {
			_, err := connect(t, url).Exec(ctx, "SELEC 1")
			return err
		}},
		{name: "statement timeout", code: "57014", want: breaker.Failure, run: func(t *testing.T, url string) error {
			conn := connect(t, url)
			mustExec(t, conn, "SET statement_timeout = 1")
			_, err := conn.Exec(ctx, "SELECT pg_sleep(60)")
			return err
		}},
		{name: "pg_terminate_backend", code: "57P01", want: breaker.Failure, run: func(t *testing.T, url string) error {
			victim, killer := connect(t, url), connect(t, url)
			var ok bool
			if err := killer.QueryRow(ctx, "SELECT pg_terminate_backend($1)", victim.PgConn().PID()).Scan(&ok); err != nil || !ok {
				t.Fatalf("pg_terminate_backend: %v %v", ok, err)
			}
			_, err := victim.Exec(ctx, "SELECT 1")
			return err
		}},
		{name: "too many connections", code: "53300", want: breaker.Failure, run: func(t *testing.T, url string) error {
			role := fmt.Sprintf("limited_%d", os.Getpid())
			admin := connect(t, url)
			if _, err := admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN CONNECTION LIMIT 1"); err != nil {
				t.Skipf("cannot create a role here: %v", err)
			}
			t.Cleanup(func() { _, _ = admin.Exec(ctx, "DROP ROLE "+role) })
			limited := withUser(t, url, role)
			connect(t, limited) // takes the role's only connection
			c, err := pgx.Connect(ctx, limited)
			if err == nil {
				c.Close(ctx)
			}
			return err
		}},
		{name: "read-only transaction", code: "25006", want: breaker.Failure, run: func(t *testing.T, url string) error {
			conn := connect(t, url)
			tx, err := conn.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			_, err = tx.Exec(ctx, "INSERT INTO u VALUES (2)")
			return err
		}},
		{name: "caller cancellation mid-query", want: breaker.Neutral, run: func(t *testing.T, url string) error {
			conn, watcher := connect(t, url), connect(t, url)
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			go func() {
				defer cancel()
				waitForSleep(watcher, conn.PgConn().PID())
			}()
			_, err := conn.Exec(ctx, "SELECT pg_sleep(60)")
			return err
		}},
		{name: "deadline mid-query", want: breaker.Failure, run: func(t *testing.T, url string) error {
			ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			_, err := connect(t, url).Exec(ctx, "SELECT pg_sleep(60)")
			return err
		}},
		{name: "serialization failure (raised)", code: "40001", want: breaker.Success, run: raise("40001")},
		{name: "disk full (raised)", code: "53100", want: breaker.Failure, run: raise("53100")},
		{name: "io error (raised)", code: "58030", want: breaker.Failure, run: raise("58030")},
		{name: "internal error (raised)", code: "XX000", want: breaker.Failure, run: raise("XX000")},
		{name: "closed pool", want: breaker.Neutral, run: func(t *testing.T, url string) error {
			pool := newPool(t, url)
			pool.Close()
			_, err := pool.Exec(ctx, "SELECT 1")
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkClassify(t, tc, tc.run(t, url))
		})
	}
}

// TestClassifyServerDown covers what only a private server can show: the
// server killed, and starting up.
func TestClassifyServerDown(t *testing.T) {
	t.Parallel()
	s := pgtest.Start(t)
	ctx := context.Background()
	conn := connect(t, s.URL())
	s.Kill(t)

	t.Run("killed: open connection", func(t *testing.T) {
		_, err := conn.Exec(ctx, "SELECT 1")
		checkClassify(t, classifyCase{want: breaker.Failure}, err)
	})
	t.Run("killed: new connection", func(t *testing.T) {
		_, err := pgx.Connect(ctx, s.URL())
		var ce *pgconn.ConnectError
		if !errors.As(err, &ce) {
			t.Errorf("error %T %v, want *pgconn.ConnectError", err, err)
		}
		checkClassify(t, classifyCase{want: breaker.Failure}, err)
	})
	t.Run("starting up", func(t *testing.T) {
		s.HoldInStartup(t)
		_, err := pgx.Connect(ctx, s.URL())
		checkClassify(t, classifyCase{code: "57P03", want: breaker.Failure}, err)
	})
}

func checkClassify(t *testing.T, tc classifyCase, err error) {
	t.Helper()
	if tc.code != "" {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != tc.code {
			t.Fatalf("error %v, want SQLSTATE %s", err, tc.code)
		}
	} else if err == nil && tc.want != breaker.Success {
		t.Fatal("no error")
	}
	if got := pgbreaker.Classify(err); got != tc.want {
		t.Errorf("Classify(%v) = %v, want %v", err, got, tc.want)
	}
}

// waitForSleep returns once the backend pid is inside pg_sleep, so a test
// can cancel a query that is really running. It polls; it measures nothing.
func waitForSleep(watcher *pgx.Conn, pid uint32) {
	for {
		var waiting bool
		err := watcher.QueryRow(context.Background(),
			"SELECT coalesce(wait_event = 'PgSleep', false) FROM pg_stat_activity WHERE pid = $1", pid).Scan(&waiting)
		if err != nil || waiting {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func withUser(t *testing.T, raw, user string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(user)
	return u.String()
}
