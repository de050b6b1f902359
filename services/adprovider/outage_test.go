package adprovider_test

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/internal/toxitest"
	"github.com/breakwater/breakwater/services/adprovider"
	"github.com/breakwater/breakwater/services/adprovider/internal/adtest"
	"github.com/breakwater/breakwater/services/adprovider/migrations"
	"github.com/breakwater/breakwater/services/adprovider/store"
)

const (
	testBreaker   = "adprovider/postgres"
	tripAfter     = 3
	openPeriod    = time.Minute
	queryDeadline = 2 * time.Second
)

// stack is the service as cmd/adprovider assembles it, on a mock clock:
// pool → pgbreaker → store → server with validation, and the health that
// follows the breaker.
type stack struct {
	pool   *pgxpool.Pool
	db     *pgbreaker.DB
	clock  *clock.Mock
	health *adprovider.Health
	hs     *health.Server
	client adproviderv1.AdProviderServiceClient
}

func newStack(t *testing.T, dbURL string, deadline time.Duration) *stack {
	t.Helper()
	// These tests check the readiness that follows the breaker; the
	// default (readiness ignores it) is TestHealthIgnoresTheDatabaseBreaker.
	return newStackWith(t, dbURL, deadline, nil, adprovider.FollowBreaker())
}

// newStackWith is newStack with the given health options and, when not
// nil, one more breaker listener, registered after the health's.
func newStackWith(t *testing.T, dbURL string, deadline time.Duration, after breaker.Listener, hopts ...adprovider.HealthOption) *stack {
	t.Helper()
	ctx := context.Background()
	s := &stack{clock: clock.NewMock(), hs: health.NewServer()}
	set := breaker.NewSet(breaker.WithClock(s.clock))
	t.Cleanup(func() { _ = set.Close() })
	pool, err := database.Open(ctx, dbURL, "adprovider", database.WithConnectTimeout(deadline))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s.pool = pool
	s.db = pgbreaker.New(pool, set,
		pgbreaker.WithName(testBreaker),
		pgbreaker.WithTimeout(deadline),
		pgbreaker.WithBreakerOptions(
			breaker.WithConsecutiveFailures(tripAfter),
			breaker.WithOpenTimeout(openPeriod, 4*openPeriod),
			breaker.WithHalfOpen(1, 1),
		),
	)
	s.health = adprovider.NewHealth(s.hs, s.db.Breaker(), hopts...)
	set.AddListener(s.health, breaker.EventStateChange)
	if after != nil {
		set.AddListener(after, breaker.EventStateChange)
	}
	s.client = startServer(t, adprovider.NewServer(store.New(s.db)))
	return s
}

// migrate does what the service's start-up loop does once the database
// answers: schema, then the sample inventory.
func (s *stack) migrate(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if err := database.Migrate(ctx, s.pool, "adprovider", migrations.FS); err != nil {
		t.Fatal(err)
	}
	if _, err := store.New(s.pool).LoadSample(ctx); err != nil {
		t.Fatal(err)
	}
	s.health.SetMigrated()
}

func (s *stack) snapshot() breaker.Snapshot { return s.db.Breaker().Snapshot() }

// waitHealth waits for the health status to follow the breaker's events,
// which arrive on the set's event goroutine.
func (s *stack) waitHealth(t *testing.T, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := s.hs.Check(context.Background(), &healthpb.HealthCheckRequest{Service: adprovider.ServiceName})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetStatus() == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("health is %v, want %v", resp.GetStatus(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pensQuery matches three ads of the sample inventory, in this order.
var (
	pensQuery = &adproviderv1.GetAdsRequest{ContextKeys: []string{"Pens"}, MaxAds: 5}
	pensWant  = []string{"sample-zebra-pens", "sample-bic-pens", "sample-pentel-pens"}
)

// checkAds checks that GetAds answers, and answers right.
func (s *stack) checkAds(t *testing.T) {
	t.Helper()
	resp, err := s.client.GetAds(context.Background(), pensQuery)
	if err != nil {
		t.Fatalf("GetAds: %v", err)
	}
	if got := adtest.AdIDs(resp.GetAds()); !slices.Equal(got, pensWant) {
		t.Fatalf("GetAds = %v, want %v", got, pensWant)
	}
}

// failUntilOpen calls GetAds while the database is unwell: the first
// tripAfter calls reach it and fail with a plain UNAVAILABLE, the next is
// rejected by the breaker.
func (s *stack) failUntilOpen(t *testing.T) {
	t.Helper()
	before := s.snapshot()
	for i := range tripAfter {
		_, err := s.client.GetAds(context.Background(), pensQuery)
		if status.Code(err) != codes.Unavailable || isCircuitOpen(err) {
			t.Fatalf("call %d with the database down: %v, want a plain UNAVAILABLE", i+1, err)
		}
	}
	snap := s.snapshot()
	if snap.State != breaker.StateOpen || snap.Failures-before.Failures != tripAfter {
		t.Fatalf("after %d failures: state %v, %d failures counted", tripAfter, snap.State, snap.Failures-before.Failures)
	}
	s.failFast(t, 50)
}

// failFast checks that n calls are rejected by the open breaker without
// reaching the database.
func (s *stack) failFast(t *testing.T, n int) {
	t.Helper()
	before := s.snapshot()
	for range n {
		_, err := s.client.GetAds(context.Background(), pensQuery)
		if !isCircuitOpen(err) {
			t.Fatalf("with the breaker open: %v, want CIRCUIT_OPEN", err)
		}
	}
	after := s.snapshot()
	if got := after.Rejections - before.Rejections; got != uint64(n) {
		t.Errorf("%d rejections counted, want %d", got, n)
	}
	if after.Failures != before.Failures || after.Successes != before.Successes {
		t.Errorf("rejected calls reached the database: %+v then %+v", before, after)
	}
}

// recover moves the mock clock past the open period until a half-open
// probe succeeds. A probe can still meet a connection of the dead server in
// the pool, which reopens the breaker; a few tries absorb that.
func (s *stack) recover(t *testing.T) {
	t.Helper()
	for try := 1; ; try++ {
		s.clock.Add(s.snapshot().OpenRemaining + time.Millisecond)
		_, err := s.client.GetAds(context.Background(), pensQuery)
		if err == nil {
			break
		}
		if try == 5 {
			t.Fatalf("probe %d: %v", try, err)
		}
		t.Logf("probe %d failed: %v", try, err)
	}
	if st := s.snapshot().State; st != breaker.StateClosed {
		t.Fatalf("after a good probe the breaker is %v", st)
	}
	s.checkAds(t)
}

func isCircuitOpen(err error) bool {
	st := status.Convert(err)
	if st.Code() != codes.Unavailable {
		return false
	}
	var info, retry bool
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d.GetReason() == breaker.ReasonCircuitOpen && d.GetMetadata()[breaker.MetadataBreaker] == testBreaker
		case *errdetails.RetryInfo:
			retry = d.GetRetryDelay().AsDuration() > 0
		}
	}
	return info && retry
}

func TestStartBeforeDatabase(t *testing.T) {
	srv := pgtest.Start(t)
	dbURL := srv.NewDatabase(t)
	srv.Stop(t)

	s := newStack(t, dbURL, queryDeadline)
	s.waitHealth(t, healthpb.HealthCheckResponse_NOT_SERVING)
	s.failUntilOpen(t)
	s.waitHealth(t, healthpb.HealthCheckResponse_NOT_SERVING)

	srv.Restart(t)
	s.migrate(t)
	// Migrated, but the breaker is still open: not serving yet.
	s.failFast(t, 5)
	s.waitHealth(t, healthpb.HealthCheckResponse_NOT_SERVING)
	s.recover(t)
	s.waitHealth(t, healthpb.HealthCheckResponse_SERVING)
}

// durable keeps committed rows through a kill -9: pgtest turns
// synchronous_commit off for speed, which loses the last commits in a crash.
var durable = pgtest.WithSetting("synchronous_commit", "on")

func TestDatabaseKilledUnderTraffic(t *testing.T) {
	srv := pgtest.Start(t, durable)
	s := newStack(t, srv.NewDatabase(t), queryDeadline)
	s.migrate(t)
	s.checkAds(t)
	s.waitHealth(t, healthpb.HealthCheckResponse_SERVING)

	// Traffic from several clients while the server dies: whatever each
	// call meets, it ends as a success or an UNAVAILABLE, never hangs.
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 4)
	for range cap(done) {
		go func() {
			for ctx.Err() == nil {
				_, err := s.client.GetAds(ctx, pensQuery)
				if c := status.Code(err); c != codes.OK && c != codes.Unavailable && ctx.Err() == nil {
					done <- err
					return
				}
				if isCircuitOpen(err) {
					break
				}
			}
			done <- nil
		}()
	}
	srv.Kill(t)
	for range cap(done) {
		if err := <-done; err != nil {
			t.Errorf("GetAds under a kill: %v", err)
		}
	}
	stop()

	snap := s.snapshot()
	if snap.State != breaker.StateOpen || snap.Failures < tripAfter {
		t.Fatalf("after the kill: state %v with %d failures", snap.State, snap.Failures)
	}
	s.waitHealth(t, healthpb.HealthCheckResponse_NOT_SERVING)
	s.failFast(t, 100)

	srv.Restart(t)
	s.recover(t)
	s.waitHealth(t, healthpb.HealthCheckResponse_SERVING)
}

func TestDatabaseStartingUp(t *testing.T) {
	srv := pgtest.Start(t)
	s := newStack(t, srv.NewDatabase(t), queryDeadline)
	s.migrate(t)
	s.checkAds(t)

	srv.HoldInStartup(t) // every connection: FATAL 57P03 cannot_connect_now
	s.failUntilOpen(t)
	s.waitHealth(t, healthpb.HealthCheckResponse_NOT_SERVING)

	srv.Restart(t)
	s.recover(t)
	s.waitHealth(t, healthpb.HealthCheckResponse_SERVING)
}

func TestSlowDatabase(t *testing.T) {
	dbURL := pgtest.Shared(t).NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := toxitest.New(t, u.Host)
	u.Host = proxy.Addr()

	// A short deadline: a query that waits for the 2 s latency below is
	// over it whatever the machine's load.
	s := newStack(t, u.String(), 200*time.Millisecond)
	// Migrate on the direct URL, so the short deadline never meets goose.
	direct := newStack(t, dbURL, queryDeadline)
	direct.migrate(t)
	s.health.SetMigrated()
	s.checkAds(t)

	proxy.Latency(2 * time.Second)
	s.failUntilOpen(t)
	snap := s.snapshot()
	if snap.Failures < tripAfter {
		t.Errorf("%d failures", snap.Failures)
	}
	s.waitHealth(t, healthpb.HealthCheckResponse_NOT_SERVING)

	proxy.RemoveToxics()
	s.recover(t)
	s.waitHealth(t, healthpb.HealthCheckResponse_SERVING)
}

// TestRecoveryProbeClosesWithoutTraffic: with no traffic at all, the
// database breaker's own recovery probe (a ping, pgbreaker's default) closes
// it once the database is back; while the database is dead the probes fail
// and the breaker stays open.
func TestRecoveryProbeClosesWithoutTraffic(t *testing.T) {
	srv := pgtest.Start(t, durable)
	s := newStack(t, srv.NewDatabase(t), queryDeadline)
	s.migrate(t)
	srv.Kill(t)
	s.failUntilOpen(t)
	s.waitHealth(t, healthpb.HealthCheckResponse_NOT_SERVING)

	for range 20 { // probes meet a dead database: still open
		s.clock.Add(breaker.DefaultProbeInterval * 2)
		time.Sleep(time.Millisecond)
	}
	if st := s.snapshot().State; st != breaker.StateOpen {
		t.Fatalf("probes of a dead database moved the breaker to %v", st)
	}
	srv.Restart(t)
	for deadline := time.Now().Add(20 * time.Second); s.snapshot().State != breaker.StateClosed; {
		if time.Now().After(deadline) {
			t.Fatalf("the recovery probe never closed the breaker: %+v", s.snapshot())
		}
		s.clock.Add(breaker.DefaultProbeInterval * 2) // probe intervals, far below the minute's open period
		time.Sleep(5 * time.Millisecond)
	}
	s.waitHealth(t, healthpb.HealthCheckResponse_SERVING)
	s.checkAds(t)
}

// TestHealthIgnoresTheDatabaseBreaker: by default readiness follows what
// the process can do, not the database shared by every replica: with the
// database breaker forced open AdProvider stays SERVING, and its callers
// get a fast CIRCUIT_OPEN with a RetryInfo instead of being routed away.
func TestHealthIgnoresTheDatabaseBreaker(t *testing.T) {
	changed := make(chan breaker.State, 4)
	s := newStackWith(t, pgtest.Shared(t).NewDatabase(t), queryDeadline,
		breaker.ListenerFunc(func(e breaker.Event) { changed <- e.To }))
	s.migrate(t)
	s.checkAds(t)
	s.waitHealth(t, healthpb.HealthCheckResponse_SERVING)

	s.db.Breaker().SetMode(breaker.ModeForcedOpen)
	if st := <-changed; st != breaker.StateOpen { // delivered to the health first
		t.Fatalf("state change to %v", st)
	}
	if !s.health.Serving() {
		t.Fatal("readiness went NOT_SERVING with the database breaker open")
	}
	s.waitHealth(t, healthpb.HealthCheckResponse_SERVING)
	start := time.Now()
	_, err := s.client.GetAds(context.Background(), pensQuery)
	if !isCircuitOpen(err) {
		t.Fatalf("GetAds with the breaker forced open: %v, want CIRCUIT_OPEN with RetryInfo", err)
	}
	t.Logf("CIRCUIT_OPEN answered in %v", time.Since(start))
}
