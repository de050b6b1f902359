package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/recommender/migrations"
	"github.com/breakwater/breakwater/services/recommender/store"
)

const dbName = "postgres/recommender"

// breakerStore is a migrated store over url behind both database breakers
// (real clock), with its breaker set and DB; with readURL, reads go there
// (pgbreaker.WithReadPool).
func breakerStore(t *testing.T, url string, readURL ...string) (*store.Store, *breaker.Set, *pgbreaker.DB) {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.MigratedPool(t, url, "recommender", migrations.FS, database.WithConnectTimeout(time.Second))
	set := breaker.NewSet()
	t.Cleanup(func() { _ = set.Close() })
	opts := []pgbreaker.Option{pgbreaker.WithName(dbName)}
	if len(readURL) > 0 {
		readPool, err := database.Open(ctx, readURL[0], "recommender", database.WithConnectTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(readPool.Close)
		opts = append(opts, pgbreaker.WithReadPool(readPool))
	}
	db := pgbreaker.New(pool, set, opts...)
	st := store.New(db, store.WithWriter(db.Writer()))
	if _, err := st.CreateProduct(ctx, product("B000000001")); err != nil {
		t.Fatal(err)
	}
	return st, set, db
}

func review(n int) *recommenderv1.Review {
	return &recommenderv1.Review{Asin: "B000000001", ReviewerId: fmt.Sprintf("R%d", n), Overall: 4, Summary: "ok"}
}

func state(t *testing.T, set *breaker.Set, name string) breaker.State {
	t.Helper()
	b, ok := set.Get(name)
	if !ok {
		t.Fatalf("no breaker %s", name)
	}
	return b.State()
}

// setReadOnly switches the whole server as an operator does for maintenance
// and waits until a new session sees the new default: by then the
// postmaster has signalled every backend, and each applies the reload
// before its next command.
func setReadOnly(t *testing.T, admin *pgx.Conn, url string, on bool) {
	t.Helper()
	ctx := context.Background()
	want := map[bool]string{true: "on", false: "off"}[on]
	if _, err := admin.Exec(ctx, "ALTER SYSTEM SET default_transaction_read_only = "+want); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		t.Fatal(err)
	}
	for {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = conn.QueryRow(ctx, "SHOW default_transaction_read_only").Scan(&got)
		conn.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got == want {
			return
		}
	}
}

// readOnlyStatus checks that err is the fast refusal of a write to a
// read-only database: UNAVAILABLE, ErrorInfo DATABASE_READ_ONLY, RetryInfo.
func readOnlyStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		return fmt.Errorf("%v: want UNAVAILABLE", err)
	}
	var reason string
	var retry bool
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.RetryInfo:
			retry = d.GetRetryDelay().AsDuration() > 0
		}
	}
	if reason != pgbreaker.ReasonReadOnly || !retry {
		return fmt.Errorf("%v: reason %q, RetryInfo %v; want %s and a RetryInfo", err, reason, retry, pgbreaker.ReasonReadOnly)
	}
	return nil
}

type outcome struct {
	write      bool
	start, end time.Time
	err        error
}

// TestReadOnlySwitch: under mixed load, a server switched read-only
// (ALTER SYSTEM + reload, as for maintenance) keeps answering every read,
// while writes fail fast as UNAVAILABLE with the read-only reason and a
// RetryInfo and only the write breaker opens; switched back, writes succeed
// again within a second.
func TestReadOnlySwitch(t *testing.T) {
	srv := pgtest.Start(t)
	url := srv.NewDatabase(t)
	st, set, _ := breakerStore(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())

	var (
		mu       sync.Mutex
		outcomes []outcome
		writesOK atomic.Int64
		refused  atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	record := func(o outcome) {
		mu.Lock()
		outcomes = append(outcomes, o)
		mu.Unlock()
	}
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
				o := outcome{write: w%2 == 0, start: time.Now()}
				if o.write {
					_, o.err = st.CreateReview(ctx, review(w*1_000_000+i), fmt.Sprintf("rs-%d-%d", w, i))
					switch {
					case o.err == nil:
						writesOK.Add(1)
					case pgbreaker.IsReadOnly(o.err):
						refused.Add(1)
					}
				} else {
					_, o.err = st.GetProduct(ctx, "B000000001")
				}
				o.end = time.Now()
				record(o)
			}
		})
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("waiting for %s: %v", what, ctx.Err())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	waitFor("writes", func() bool { return writesOK.Load() >= 20 })
	setReadOnly(t, admin, url, true)
	on := time.Now()
	waitFor("a refused write", func() bool { return refused.Load() > 0 })
	firstRefusal := refused.Load()
	// Long enough for the write breaker to open and for its recovery
	// prober to find the server still read-only several times, which
	// keeps it open.
	waitFor("the write breaker to open", func() bool { return state(t, set, dbName+pgbreaker.WriteSuffix) == breaker.StateOpen })
	waitFor("more refusals", func() bool {
		return refused.Load() >= firstRefusal+50 && time.Since(on) > 4*breaker.DefaultProbeInterval
	})
	if s := state(t, set, dbName+pgbreaker.WriteSuffix); s != breaker.StateOpen {
		t.Errorf("write breaker %v while the server is read-only; want open", s)
	}
	if s := state(t, set, dbName); s != breaker.StateClosed {
		t.Errorf("reads breaker %v while only writes were refused; want closed", s)
	}
	// The server takes writes again somewhere between offStart and off
	// (the reload is signalled while setReadOnly runs): a write that ended
	// before offStart met a read-only server for sure.
	offStart := time.Now()
	setReadOnly(t, admin, url, false)
	off := time.Now()
	// Normal again: the write breaker closed (its prober half-opened it,
	// and half-open calls closed it).
	waitFor("the write breaker to close", func() bool { return state(t, set, dbName+pgbreaker.WriteSuffix) == breaker.StateClosed })
	closed := time.Now()
	okAtClose := writesOK.Load()
	waitFor("writes again", func() bool { return writesOK.Load() >= okAtClose+20 })
	close(stop)
	wg.Wait()

	var reads, roWrites int
	var slowestRefusal time.Duration
	var firstOK time.Time
	for _, o := range outcomes {
		if !o.write {
			reads++
			if o.err != nil {
				t.Errorf("read at %v: %v; every read must be answered", o.start.Sub(on), o.err)
			}
			continue
		}
		switch {
		case o.start.After(on) && o.end.Before(offStart) && o.err == nil:
			// Only a write in flight across the switch may still succeed.
			if o.start.Sub(on) > time.Second {
				t.Errorf("write started %v into the read-only spell succeeded", o.start.Sub(on))
			}
		case o.start.After(on) && o.end.Before(offStart):
			roWrites++
			if err := readOnlyStatus(o.err); err != nil {
				t.Errorf("write during read-only: %v", err)
			}
			slowestRefusal = max(slowestRefusal, o.end.Sub(o.start))
		case o.start.After(off) && o.err == nil && (firstOK.IsZero() || o.end.Before(firstOK)):
			firstOK = o.end
		}
	}
	// Between the first success and the close, half-open admits one
	// write at a time; after the close, every write succeeds.
	for _, o := range outcomes {
		if o.write && o.start.After(closed) && o.err != nil {
			t.Errorf("write after the write breaker closed: %v", o.err)
		}
	}
	resumed, normal := firstOK.Sub(off), closed.Sub(off)
	t.Logf("%d reads, all answered; %d writes refused while read-only (slowest %v); after the switch back, first write %v, write breaker closed %v",
		reads, roWrites, slowestRefusal, resumed, normal)
	if firstOK.IsZero() || resumed > time.Second || normal > time.Second {
		t.Errorf("after the switch back: first write %v, closed %v; want both within a second", resumed, normal)
	}
}

// TestFailover: a primary with a synchronous standby is killed (-9) under
// CreateReview load whose clients retry each review with its request id
// until it is acknowledged; the standby is promoted. The pool, on a URL
// naming both servers with target_session_attrs=read-write, finds the new
// primary: writes resume within two seconds of the promotion, and every
// acknowledged review is there exactly once, with the id it was
// acknowledged with. Reads, on a read pool that prefers the standby
// (RECOMMENDER_DATABASE_READ_URL's use), are all answered throughout.
func TestFailover(t *testing.T) {
	r := pgtest.StartReplicated(t)
	url := r.NewDatabase(t)
	readURL := strings.Replace(url, "target_session_attrs=read-write", "target_session_attrs=prefer-standby", 1)
	st, _, db := breakerStore(t, url, readURL)
	var standby bool
	if err := db.QueryRow(context.Background(), "SELECT pg_is_in_recovery()").Scan(&standby); err != nil || !standby {
		t.Fatalf("reads view on a standby: %v, %v; want true", standby, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	type ack struct {
		requestID, reviewID string
		at                  time.Time
	}
	var (
		mu     sync.Mutex
		acks   []ack
		failed atomic.Int64
		stop   = make(chan struct{})
		wg     sync.WaitGroup
	)
	var reads, readErrors, outageReads atomic.Int64
	var outage atomic.Bool
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			during := outage.Load()
			if _, err := st.GetProduct(ctx, "B000000001"); err != nil {
				readErrors.Add(1)
				t.Errorf("read during the fail-over: %v", err)
			} else if during && outage.Load() {
				outageReads.Add(1)
			}
			reads.Add(1)
		}
	})
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("fo-%d-%d", w, i)
				rv := review(w*1_000_000 + i)
				for { // the same request id until acknowledged
					select {
					case <-stop:
						return
					default:
					}
					got, err := st.CreateReview(ctx, rv, id)
					if err == nil {
						mu.Lock()
						acks = append(acks, ack{id, got.ReviewId, time.Now()})
						mu.Unlock()
						break
					}
					if ctx.Err() != nil {
						return
					}
					failed.Add(1)
					// A client's retry back-off, short so that the
					// resumption is measured, not the back-off.
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
	acked := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acks)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				close(stop)
				wg.Wait()
				t.Fatalf("waiting for %s: %v", what, ctx.Err())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	waitFor("writes", func() bool { return acked() >= 50 })
	r.Primary.Kill(t)
	outage.Store(true)
	waitFor("writes to fail and reads to go on", func() bool { return failed.Load() >= 10 && outageReads.Load() >= 5 })
	ackedBefore := acked()
	// Measured from the promotion's start: pg_promote returns up to 100ms
	// after the standby is done, which would flatter the figure.
	promoted := time.Now()
	r.Standby.Promote(t)
	outage.Store(false)
	waitFor("writes on the new primary", func() bool { return acked() >= ackedBefore+50 })
	close(stop)
	wg.Wait()

	var resumed time.Duration = -1
	for _, a := range acks {
		if a.at.After(promoted) && (resumed < 0 || a.at.Sub(promoted) < resumed) {
			resumed = a.at.Sub(promoted)
		}
	}
	t.Logf("%d reviews acknowledged, %d attempts failed during the fail-over; first write on the new primary %v after the promotion; %d reads from the standby (%d with no primary), %d failed",
		len(acks), failed.Load(), resumed, reads.Load(), outageReads.Load(), readErrors.Load())
	if resumed < 0 || resumed > 2*time.Second {
		t.Errorf("writes resumed %v after the promotion; want within 2s", resumed)
	}

	// Every acknowledged review is on the new primary, once, as acknowledged.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, "SELECT request_id, review_id::text, reviewer_id FROM recommender.reviews WHERE request_id LIKE 'fo-%'")
	if err != nil {
		t.Fatal(err)
	}
	// request_id is UNIQUE; a duplicate would be the same review (each
	// has its own reviewer) stored twice under two ids.
	stored := map[string]string{}
	reviewers := map[string]bool{}
	dups := 0
	for rows.Next() {
		var rid, id, reviewer string
		if err := rows.Scan(&rid, &id, &reviewer); err != nil {
			t.Fatal(err)
		}
		if reviewers[reviewer] {
			dups++
		}
		reviewers[reviewer] = true
		stored[rid] = id
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, a := range acks {
		if id, ok := stored[a.requestID]; !ok {
			lost++
			t.Errorf("acknowledged review %s is lost", a.requestID)
		} else if id != a.reviewID {
			t.Errorf("review %s stored as %s, acknowledged as %s", a.requestID, id, a.reviewID)
		}
	}
	t.Logf("%d acknowledged writes lost, %d duplicates", lost, dups)
	if dups > 0 {
		t.Errorf("%d duplicate reviews", dups)
	}
}
