package pgbreaker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/internal/pgtest"
)

// realDB is a DB whose breaker runs on the real clock (attribution judges
// the time queries really ran), with the default tripping rules, over a
// pool of eight connections (so as many calls run at once).
func realDB(t *testing.T, url string) *pgbreaker.DB {
	t.Helper()
	set := breaker.NewSet()
	t.Cleanup(func() { _ = set.Close() })
	return pgbreaker.New(newPool(t, url, 8), set, pgbreaker.WithName("db"))
}

// lockTable holds an ACCESS EXCLUSIVE lock on table until the test ends:
// a real hang for every query that touches it.
func lockTable(t *testing.T, url, table string) {
	t.Helper()
	conn := connect(t, url)
	tx, err := conn.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	mustExec(t, tx, "LOCK TABLE "+table+" IN ACCESS EXCLUSIVE MODE")
}

// waitBlocked waits until n queries wait on a lock in the test's database.
func waitBlocked(t *testing.T, url string, n int) {
	t.Helper()
	watcher := connect(t, url)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		var waiting int
		if err := watcher.QueryRow(context.Background(),
			"SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()").Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
	}
	t.Fatalf("fewer than %d queries blocked", n)
}

// TestImpatientCallersDoNotTripAHealthyDatabase: 100 calls whose context
// has expired (never sent) and 100 with a 1 ms deadline leave a healthy
// database's breaker closed, and a patient caller is answered.
func TestImpatientCallersDoNotTripAHealthyDatabase(t *testing.T) {
	t.Parallel()
	url := pgtest.Shared(t).NewDatabase(t)
	db := realDB(t, url)
	for range 5 { // learn the healthy latency
		if err := ping(db); err != nil {
			t.Fatal(err)
		}
	}
	acquires := db.Pool().Stat().AcquireCount()
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	for range 100 {
		if _, err := db.Exec(expired, "SELECT 1"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("expired context: %v", err)
		}
	}
	if got := db.Pool().Stat().AcquireCount(); got != acquires {
		t.Fatalf("expired calls acquired %d connections", got-acquires)
	}
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		var n int
		_ = db.QueryRow(ctx, "SELECT count(*) FROM generate_series(1, 1000)").Scan(&n)
		cancel()
	}
	s := db.Breaker().Snapshot()
	t.Logf("after 100 expired and 100 1ms calls: %d successes, %d failures, %d neutral; fair chance %v",
		s.Successes, s.Failures, s.Neutral, db.Breaker().FairChance())
	if s.State != breaker.StateClosed || s.Failures != 0 {
		t.Fatalf("breaker %v with %d failures, want closed with none", s.State, s.Failures)
	}
	if err := ping(db); err != nil {
		t.Fatalf("patient caller: %v", err)
	}
}

// TestLockedTableTripsWithShortCallerDeadlines: a table held by LOCK ...
// ACCESS EXCLUSIVE hangs every query on it; callers that send 1 s deadlines
// (or cancel after 1 s) trip the breaker within a handful of calls, and
// later callers are rejected at once.
func TestLockedTableTripsWithShortCallerDeadlines(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"deadline", "cancel"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			url := pgtest.Shared(t).NewDatabase(t)
			db := realDB(t, url)
			mustExec(t, db, "CREATE TABLE ads (id int)")
			for range 5 {
				if _, err := db.Exec(context.Background(), "SELECT count(*) FROM ads"); err != nil {
					t.Fatal(err)
				}
			}
			lockTable(t, url, "ads")
			var wg sync.WaitGroup
			for range breaker.DefaultConsecutiveFailures {
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
					if how == "deadline" {
						ctx, cancel = context.WithTimeout(context.Background(), time.Second)
					} else {
						time.AfterFunc(time.Second, cancel)
					}
					defer cancel()
					_, _ = db.Exec(ctx, "SELECT count(*) FROM ads")
				})
			}
			wg.Wait()
			s := db.Breaker().Snapshot()
			if s.State != breaker.StateOpen {
				t.Fatalf("after %d callers gave up after 1 s on a locked table: %v (%d failures, %d neutral), want open",
					breaker.DefaultConsecutiveFailures, s.State, s.Failures, s.Neutral)
			}
			start := time.Now()
			if _, err := db.Exec(context.Background(), "SELECT count(*) FROM ads"); !errors.Is(err, breaker.ErrOpen) {
				t.Fatalf("later caller: %v, want a rejection", err)
			}
			t.Logf("later caller rejected in %v", time.Since(start))
		})
	}
}

// TestGiveUpVerdictIsTheSameWhicheverTimerFires forces both orders on a
// real blocked query: the caller's cancellation arrives first (as when a
// gRPC client's RST_STREAM cancels the handler's context) or the deadline
// does (the server's copy of the client's deadline). Only the time the
// query ran, moved on the mock clock, decides.
func TestGiveUpVerdictIsTheSameWhicheverTimerFires(t *testing.T) {
	t.Parallel()
	url := pgtest.Shared(t).NewDatabase(t)
	pool := newPool(t, url)
	mustExec(t, pool, "CREATE TABLE ads (id int)")
	for _, ran := range []time.Duration{2 * time.Millisecond, time.Second} {
		for _, first := range []string{"cancel", "deadline"} {
			t.Run(fmt.Sprintf("%v/%s", ran, first), func(t *testing.T) {
				db, mock := newDB(t, pool, pgbreaker.WithName(fmt.Sprintf("db-%v-%s", ran, first)))
				lockTable(t, url, "ads")
				ctx, cancel := context.WithCancel(context.Background())
				if first == "deadline" {
					ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
				}
				defer cancel()
				done := make(chan error, 1)
				go func() {
					var n int
					done <- db.QueryRow(ctx, "SELECT count(*) FROM ads").Scan(&n)
				}()
				waitBlocked(t, url, 1)
				mock.Add(ran)
				if first == "cancel" {
					cancel()
				}
				if err := <-done; err == nil {
					t.Fatal("blocked query succeeded")
				}
				s := db.Breaker().Snapshot()
				wantFailures := uint64(0)
				if ran == time.Second {
					wantFailures = 1
				}
				if s.Failures != wantFailures || s.Failures+s.Neutral != 1 {
					t.Fatalf("ran %v, %s first: %d failures %d neutral, want %d failure(s) of 1",
						ran, first, s.Failures, s.Neutral, wantFailures)
				}
			})
		}
	}
}

// TestShedCallsAreNotCounted: calls beyond the admission limit wait, and
// those that wait too long are shed with RESOURCE_EXHAUSTED, never reaching
// the breaker.
func TestShedCallsAreNotCounted(t *testing.T) {
	t.Parallel()
	url := pgtest.Shared(t).NewDatabase(t)
	set := breaker.NewSet()
	t.Cleanup(func() { _ = set.Close() })
	admit := pgbreaker.NewAdmission(1, 1, 50*time.Millisecond)
	db := pgbreaker.New(newPool(t, url), set, pgbreaker.WithName("db"), pgbreaker.WithAdmission(admit))
	rows, err := db.Query(context.Background(), "SELECT 1") // holds the one slot until closed
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { _, err := db.Exec(context.Background(), "SELECT 1"); waited <- err }() // waits, then is shed
	for admit.Waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	_, full := db.Exec(context.Background(), "SELECT 1") // the line is full: shed at once
	var shed *pgbreaker.ShedError
	for name, err := range map[string]error{"line full": full, "waited too long": <-waited} {
		if !errors.As(err, &shed) {
			t.Fatalf("%s: %v, want *ShedError", name, err)
		}
	}
	if got := fmt.Sprint(shed.GRPCStatus().Code()); got != "ResourceExhausted" {
		t.Fatalf("shed code %s", got)
	}
	rows.Close()
	s := db.Breaker().Snapshot()
	if s.Successes != 1 || s.Failures != 0 || s.Neutral != 0 || admit.Shed() != 2 {
		t.Fatalf("counted %+v, shed %d; want one success and two shed calls uncounted", s, admit.Shed())
	}
	if err := db.InTx(context.Background(), func(pgx.Tx) error { return nil }); err != nil {
		t.Fatalf("slot not released: %v", err)
	}
}
