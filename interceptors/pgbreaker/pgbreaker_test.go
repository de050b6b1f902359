package pgbreaker_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/internal/toxitest"
)

const (
	tripAfter   = 3
	openTimeout = 10 * time.Second // on the mock clock
)

// newDB wraps pool in a breaker that trips after tripAfter consecutive
// failures and, on the mock clock, probes once openTimeout has passed.
func newDB(t *testing.T, pool *pgxpool.Pool, opts ...pgbreaker.Option) (*pgbreaker.DB, *clock.Mock) {
	t.Helper()
	mock := clock.NewMock()
	set := breaker.NewSet(breaker.WithClock(mock))
	t.Cleanup(func() { _ = set.Close() })
	opts = append([]pgbreaker.Option{pgbreaker.WithBreakerOptions(
		breaker.WithConsecutiveFailures(tripAfter),
		breaker.WithFailureRate(0, 0),
		breaker.WithOpenTimeout(openTimeout, openTimeout),
		breaker.WithHalfOpen(1, 1),
	)}, opts...)
	return pgbreaker.New(pool, set, opts...), mock
}

// noProbes is for the tests that drive the open period on the mock clock
// and probe with their own call (probeCloses): a recovery prober's real
// pings would race with them. The probers have tests of their own.
var noProbes = pgbreaker.WithoutRecoveryProbe()

func ping(db *pgbreaker.DB) error {
	_, err := db.Exec(context.Background(), "SELECT 1")
	return err
}

// failUntilOpen calls until the breaker rejects and returns how many calls
// failed first; every failure must be one the breaker counts.
func failUntilOpen(t *testing.T, db *pgbreaker.DB) int {
	t.Helper()
	for failures := 0; failures <= 10*tripAfter; failures++ {
		err := ping(db)
		if errors.Is(err, breaker.ErrOpen) {
			return failures
		}
		if err == nil {
			t.Fatalf("call %d succeeded on a broken database", failures+1)
		}
		if got := pgbreaker.Classify(err); got != breaker.Failure {
			t.Fatalf("call %d: %v classified %v, want failure", failures+1, err, got)
		}
	}
	t.Fatal("breaker never opened")
	return 0
}

// checkRejects checks that calls are rejected with the breaker's error
// without reaching the pool.
func checkRejects(t *testing.T, db *pgbreaker.DB) {
	t.Helper()
	ctx := context.Background()
	acquires := db.Pool().Stat().AcquireCount()
	var n int
	_, execErr := db.Exec(ctx, "SELECT 1")
	rows, queryErr := db.Query(ctx, "SELECT 1")
	rowsErr := rows.Err()
	rows.Close()
	for name, err := range map[string]error{
		"Exec":     execErr,
		"Query":    queryErr,
		"Rows.Err": rowsErr,
		"QueryRow": db.QueryRow(ctx, "SELECT 1").Scan(&n),
		"InTx":     db.InTx(ctx, func(pgx.Tx) error { return nil }),
		"Ping":     db.Ping(ctx),
	} {
		var open *breaker.OpenError
		if !errors.As(err, &open) || open.Breaker != db.Breaker().Name() {
			t.Errorf("%s while open: %v, want *breaker.OpenError of %s", name, err, db.Breaker().Name())
		}
		if status.Code(err) != codes.Unavailable {
			t.Errorf("%s while open: code %v, want UNAVAILABLE", name, status.Code(err))
		}
	}
	if got := db.Pool().Stat().AcquireCount(); got != acquires {
		t.Errorf("rejected calls acquired %d connections", got-acquires)
	}
}

// probeCloses moves the mock clock past the open timeout and checks that
// one successful probe closes the breaker.
func probeCloses(t *testing.T, db *pgbreaker.DB, mock *clock.Mock) {
	t.Helper()
	mock.Add(openTimeout)
	if err := ping(db); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if st := db.Breaker().Snapshot().State; st != breaker.StateClosed {
		t.Fatalf("state after a successful probe: %v, want closed", st)
	}
}

func TestKilledDatabaseOpensThenRecovers(t *testing.T) {
	t.Parallel()
	s := pgtest.Start(t)
	db, mock := newDB(t, newPool(t, s.NewDatabase(t)), noProbes)
	if err := ping(db); err != nil {
		t.Fatal(err)
	}

	s.Kill(t)
	if n := failUntilOpen(t, db); n != tripAfter {
		t.Fatalf("opened after %d failures, want %d", n, tripAfter)
	}
	checkRejects(t, db)

	s.Restart(t)
	if err := ping(db); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("before the open timeout: %v, want a rejection", err)
	}
	probeCloses(t, db, mock)
}

func TestStartingUpOpensThenRecovers(t *testing.T) {
	t.Parallel()
	s := pgtest.Start(t)
	db, mock := newDB(t, newPool(t, s.NewDatabase(t)), noProbes)
	s.HoldInStartup(t) // every connection now gets 57P03
	if n := failUntilOpen(t, db); n != tripAfter {
		t.Fatalf("opened after %d failures, want %d", n, tripAfter)
	}
	s.Restart(t)
	probeCloses(t, db, mock)
}

func TestSlowDatabaseTripsOnDeadline(t *testing.T) {
	t.Parallel()
	srv := pgtest.Shared(t)
	proxy := toxitest.New(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.Port())))
	cfg, err := pgxpool.ParseConfig(srv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(proxy.Addr())
	p, _ := strconv.ParseUint(port, 10, 16)
	cfg.ConnConfig.Host, cfg.ConnConfig.Port = host, uint16(p)
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// The deadline comes from the DB, not from the caller's context.
	db, mock := newDB(t, pool, pgbreaker.WithTimeout(100*time.Millisecond), noProbes)
	if err := ping(db); err != nil {
		t.Fatal(err)
	}

	proxy.Latency(time.Hour)
	if n := failUntilOpen(t, db); n != tripAfter {
		t.Fatalf("opened after %d failures, want %d", n, tripAfter)
	}
	if s := db.Breaker().Snapshot(); s.Failures != tripAfter {
		t.Fatalf("failures = %d, want %d", s.Failures, tripAfter)
	}

	proxy.RemoveToxics()
	probeCloses(t, db, mock)
}

func TestQueryRecordsAtRowsEnd(t *testing.T) {
	t.Parallel()
	url := pgtest.Shared(t).NewDatabase(t)
	mustExec(t, connect(t, url), `CREATE FUNCTION boom(n int) RETURNS int LANGUAGE plpgsql AS $$
		BEGIN
			IF n = 3 THEN RAISE EXCEPTION 'boom' USING ERRCODE = 'XX000'; END IF;
			RETURN n;
		END $$`)
	db, _ := newDB(t, newPool(t, url))
	ctx := context.Background()

	t.Run("failure at close", func(t *testing.T) {
		before := db.Breaker().Snapshot()
		rows, err := db.Query(ctx, "SELECT boom(n) FROM generate_series(1, 5) n")
		if err != nil {
			t.Fatal(err)
		}
		if !rows.Next() {
			t.Fatalf("no first row: %v", rows.Err())
		}
		if s := db.Breaker().Snapshot(); s.Failures != before.Failures || s.Successes != before.Successes {
			t.Fatalf("outcome recorded before the rows ended: %+v", s)
		}
		rows.Close()
		if s := db.Breaker().Snapshot(); s.Failures != before.Failures+1 {
			t.Fatalf("failures after Close = %d, want %d (rows.Err: %v)", s.Failures, before.Failures+1, rows.Err())
		}
		rows.Close() // a second Close records nothing
		if s := db.Breaker().Snapshot(); s.Failures != before.Failures+1 || s.Successes != before.Successes {
			t.Fatalf("second Close recorded again: %+v", s)
		}
	})
	t.Run("success when Next ends", func(t *testing.T) {
		before := db.Breaker().Snapshot()
		rows, err := db.Query(ctx, "SELECT n FROM generate_series(1, 3) n")
		if err != nil {
			t.Fatal(err)
		}
		sum := 0
		for rows.Next() {
			var n int
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			sum += n
		}
		if s := db.Breaker().Snapshot(); s.Successes != before.Successes+1 || sum != 6 {
			t.Fatalf("after Next returned false: successes %d (want %d), sum %d", s.Successes, before.Successes+1, sum)
		}
		rows.Close()
		if s := db.Breaker().Snapshot(); s.Successes != before.Successes+1 {
			t.Fatalf("Close after the end recorded again")
		}
	})
	t.Run("CollectRows", func(t *testing.T) {
		rows, err := db.Query(ctx, "SELECT n FROM generate_series(1, 3) n")
		if err != nil {
			t.Fatal(err)
		}
		ns, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil || len(ns) != 3 {
			t.Fatalf("CollectRows = %v, %v", ns, err)
		}
	})
	t.Run("QueryRow at Scan", func(t *testing.T) {
		before := db.Breaker().Snapshot()
		row := db.QueryRow(ctx, "SELECT 1 WHERE false")
		if s := db.Breaker().Snapshot(); s.Successes != before.Successes {
			t.Fatal("QueryRow recorded before Scan")
		}
		var n int
		if err := row.Scan(&n); !errors.Is(err, pgx.ErrNoRows) {
			t.Fatalf("Scan = %v, want pgx.ErrNoRows", err)
		}
		if s := db.Breaker().Snapshot(); s.Successes != before.Successes+1 {
			t.Fatal("no rows not recorded as a success")
		}
	})
}

func TestInTx(t *testing.T) {
	t.Parallel()
	url := pgtest.Shared(t).NewDatabase(t)
	mustExec(t, connect(t, url), "CREATE TABLE t (k text PRIMARY KEY)")
	db, _ := newDB(t, newPool(t, url))
	ctx := context.Background()
	count := func(k string) int {
		var n int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM t WHERE k = $1", k).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	insert := func(k string) func(pgx.Tx) error {
		return func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO t VALUES ($1)", k)
			return err
		}
	}

	if err := db.InTx(ctx, insert("committed")); err != nil {
		t.Fatal(err)
	}
	if count("committed") != 1 {
		t.Error("committed row missing")
	}

	errStore := errors.New("store says no")
	before := db.Breaker().Snapshot()
	err := db.InTx(ctx, func(tx pgx.Tx) error {
		if err := insert("rolled back")(tx); err != nil {
			return err
		}
		return errStore
	})
	if !errors.Is(err, errStore) {
		t.Fatalf("InTx = %v, want the function's error", err)
	}
	if count("rolled back") != 0 {
		t.Error("row of a failed transaction was committed")
	}
	if s := db.Breaker().Snapshot(); s.Successes <= before.Successes || s.Failures != before.Failures {
		t.Errorf("a store's own error must count as a success: %+v", s)
	}

	before = db.Breaker().Snapshot()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed")
			}
		}()
		_ = db.InTx(ctx, func(tx pgx.Tx) error {
			_ = insert("panicked")(tx)
			panic("boom")
		})
	}()
	if count("panicked") != 0 {
		t.Error("row of a panicked transaction was committed")
	}
	if s := db.Breaker().Snapshot(); s.Neutral != before.Neutral+1 {
		t.Errorf("a panic must count as neutral: neutral %d, want %d", s.Neutral, before.Neutral+1)
	}
}

func TestCallerCancellationIsNeutral(t *testing.T) {
	t.Parallel()
	url := pgtest.Shared(t).NewDatabase(t)
	db, _ := newDB(t, newPool(t, url))
	watcher := connect(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		defer cancel()
		for {
			var sleeping bool
			err := watcher.QueryRow(context.Background(),
				"SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND datname = current_database()").Scan(&sleeping)
			if err != nil || sleeping {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	before := db.Breaker().Snapshot()
	if _, err := db.Exec(ctx, "SELECT pg_sleep(60)"); err == nil {
		t.Fatal("cancelled query succeeded")
	}
	s := db.Breaker().Snapshot()
	if s.Neutral != before.Neutral+1 || s.Failures != before.Failures {
		t.Fatalf("cancellation: neutral %d failures %d, want %d and %d", s.Neutral, s.Failures, before.Neutral+1, before.Failures)
	}
}

func TestDefaultName(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), "postgres://127.0.0.1:1/ads?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	set := breaker.NewSet()
	defer set.Close()
	db := pgbreaker.New(pool, set)
	if got := db.Breaker().Name(); got != "postgres/ads" {
		t.Errorf("name = %q, want postgres/ads", got)
	}
	if db.Breaker().Kind() != breaker.KindDatabase {
		t.Errorf("kind = %v, want database", db.Breaker().Kind())
	}
	if again := pgbreaker.New(pool, set); again.Breaker() != db.Breaker() {
		t.Error("two DBs on one pool got two breakers")
	}
	if named := pgbreaker.New(pool, set, pgbreaker.WithName("ads-replica")); named.Breaker().Name() != "ads-replica" {
		t.Errorf("WithName: %q", named.Breaker().Name())
	}
}
