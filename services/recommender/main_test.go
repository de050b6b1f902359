package recommender_test

import (
	"context"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/internal/validate"
	"github.com/breakwater/breakwater/services/recommender"
	"github.com/breakwater/breakwater/services/recommender/migrations"
	"github.com/breakwater/breakwater/services/recommender/samplecatalog"
	"github.com/breakwater/breakwater/services/recommender/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Wrap(m))
}

// fakeAdProvider is a real gRPC AdProvider whose GetAds each test sets.
type fakeAdProvider struct {
	adproviderv1.UnimplementedAdProviderServiceServer
	mu     sync.Mutex
	getAds func(context.Context, *adproviderv1.GetAdsRequest) (*adproviderv1.GetAdsResponse, error)
	calls  atomic.Int64
}

func (f *fakeAdProvider) GetAds(ctx context.Context, req *adproviderv1.GetAdsRequest) (*adproviderv1.GetAdsResponse, error) {
	f.calls.Add(1)
	f.mu.Lock()
	fn := f.getAds
	f.mu.Unlock()
	return fn(ctx, req)
}

func (f *fakeAdProvider) set(fn func(context.Context, *adproviderv1.GetAdsRequest) (*adproviderv1.GetAdsResponse, error)) {
	f.mu.Lock()
	f.getAds = fn
	f.mu.Unlock()
}

var sponsored = &adproviderv1.Ad{AdId: "real-ad", Asin: "B000000AAA", Title: "A real ad",
	Price: &moneyv1.Money{CurrencyCode: "USD", Units: 5}}

func realAds(context.Context, *adproviderv1.GetAdsRequest) (*adproviderv1.GetAdsResponse, error) {
	return &adproviderv1.GetAdsResponse{Ads: []*adproviderv1.Ad{sponsored}}, nil
}

// hang accepts the call and never answers; only the caller's deadline ends it.
func hang(ctx context.Context, _ *adproviderv1.GetAdsRequest) (*adproviderv1.GetAdsResponse, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// serveOn serves srv on addr ("127.0.0.1:0" for a free port) and returns the
// address and a stop function that closes the listener: dials are refused.
func serveOn(t testing.TB, addr string, register func(*grpc.Server)) (string, func()) {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	register(srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			srv.Stop()
			<-done
		})
	}
	t.Cleanup(stop)
	return lis.Addr().String(), stop
}

type env struct {
	clock   *clock.Mock
	set     *breaker.Set
	fake    *fakeAdProvider
	adsAddr string
	stopAds func()
	adsConn *grpc.ClientConn
	pool    *pgxpool.Pool
	db      *pgbreaker.DB
	rankDB  *pgbreaker.DB // the recommendation queries' bulkhead: own pool, own breaker
	client  recommenderv1.RecommenderServiceClient
}

const (
	getAdsBreaker = "adprovider/adprovider.v1.AdProviderService/GetAds"
	dbBreaker     = "postgres/recommender"
	rankBreaker   = "postgres/recommender-recommendations"
	openFor       = 10 * time.Second
)

// newEnv runs a Recommender on a real gRPC listener over the database at
// dbURL (migrated here; sample catalog loaded when sample is true), with a
// fake AdProvider behind the real breaker interceptor. Breakers run on a mock
// clock: tests move it instead of sleeping.
func newEnv(t testing.TB, dbURL string, sample bool) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{clock: clock.NewMock(), fake: &fakeAdProvider{}}
	e.clock.Set(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e.fake.set(realAds)
	e.set = breaker.NewSet(breaker.WithClock(e.clock),
		recommender.AdProviderBreakers(breaker.WithTimeout(200*time.Millisecond),
			breaker.WithConsecutiveFailures(3), breaker.WithOpenTimeout(openFor, openFor), breaker.WithHalfOpen(1, 1)),
		breaker.WithMethod(dbBreaker, "", breaker.WithConsecutiveFailures(3),
			breaker.WithOpenTimeout(openFor, openFor), breaker.WithHalfOpen(1, 1)),
		breaker.WithMethod(rankBreaker, "", breaker.WithConsecutiveFailures(3), breaker.WithTimeout(time.Second),
			breaker.WithOpenTimeout(openFor, openFor), breaker.WithHalfOpen(1, 1)))
	t.Cleanup(func() { e.set.Close() })

	e.pool = pgtest.MigratedPool(t, dbURL, "recommender", migrations.FS, database.WithConnectTimeout(time.Second))
	e.db = pgbreaker.New(e.pool, e.set, pgbreaker.WithName(dbBreaker))
	rankPool, err := database.Open(ctx, dbURL, "recommender", database.WithConnectTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rankPool.Close)
	e.rankDB = pgbreaker.New(rankPool, e.set, pgbreaker.WithName(rankBreaker))
	st := store.New(e.db, store.WithRecommendationDB(e.rankDB))
	if sample {
		if _, err := samplecatalog.LoadIfEmpty(ctx, store.New(e.pool)); err != nil {
			t.Fatal(err)
		}
	}

	e.adsAddr, e.stopAds = serveOn(t, "127.0.0.1:0", func(s *grpc.Server) {
		adproviderv1.RegisterAdProviderServiceServer(s, e.fake)
	})
	e.adsConn, err = recommender.DialAdProvider("passthrough:///"+e.adsAddr, e.set,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Reconnect quickly once AdProvider is back, so a probe finds it.
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{
			BaseDelay: 5 * time.Millisecond, Multiplier: 1.2, MaxDelay: 20 * time.Millisecond,
		}, MinConnectTimeout: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.adsConn.Close() })

	srv := recommender.NewServer(st, adproviderv1.NewAdProviderServiceClient(e.adsConn),
		recommender.WithClock(e.clock), recommender.WithAdminToken(testAdminToken))
	v, err := validate.NewValidator(recommenderv1.File_recommender_v1_recommender_proto.Services().Get(0))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.UnaryInterceptor(validate.UnaryServerInterceptor(v)))
	recommenderv1.RegisterRecommenderServiceServer(gs, srv)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gs.Serve(lis)
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		gs.Stop()
		<-served
	})
	e.client = recommenderv1.NewRecommenderServiceClient(conn)
	return e
}

func (e *env) breaker(t testing.TB, name string) breaker.Snapshot {
	t.Helper()
	b, ok := e.set.Get(name)
	if !ok {
		t.Fatalf("no breaker %q", name)
	}
	return b.Snapshot()
}

// waitAdsReady blocks until the AdProvider connection is READY again, which
// is an event to wait for, not a time.
func (e *env) waitAdsReady(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		s := e.adsConn.GetState()
		if s == connectivity.Ready {
			return
		}
		e.adsConn.Connect()
		if !e.adsConn.WaitForStateChange(ctx, s) {
			t.Fatal("AdProvider connection never became ready")
		}
	}
}

var urlParse = url.Parse

// testAdminToken is the admin token of the servers newEnv starts.
const testAdminToken = "test-admin-token"

// asAdmin adds the admin token to ctx, for catalog writes.
func asAdmin(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+testAdminToken)
}

// testContext bounds a test's calls, so a hang fails where it happens instead
// of at the binary's timeout. The server caps its own dependency calls, so
// this generous deadline does not change what the tests see.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
