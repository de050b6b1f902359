package breaker

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeHealth is the dependency under test: a health service whose
// behaviour each test sets with func fields.
type fakeHealth struct {
	healthpb.UnimplementedHealthServer
	check func(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error)
	list  func(context.Context, *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error)
	watch func(*healthpb.HealthCheckRequest, grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error
	calls atomic.Int64 // calls that reached the backend
}

var _ healthpb.HealthServer = (*fakeHealth)(nil)

func (f *fakeHealth) Check(ctx context.Context, r *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	f.calls.Add(1)
	if f.check != nil {
		return f.check(ctx, r)
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

func (f *fakeHealth) List(ctx context.Context, r *healthpb.HealthListRequest) (*healthpb.HealthListResponse, error) {
	f.calls.Add(1)
	if f.list != nil {
		return f.list(ctx, r)
	}
	return &healthpb.HealthListResponse{}, nil
}

func (f *fakeHealth) Watch(r *healthpb.HealthCheckRequest, s grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	f.calls.Add(1)
	if f.watch != nil {
		return f.watch(r, s)
	}
	return s.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING})
}

const (
	checkMethod = "/grpc.health.v1.Health/Check"
	listMethod  = "/grpc.health.v1.Health/List"
	watchMethod = "/grpc.health.v1.Health/Watch"
)

// serve runs f on a bufconn listener for the test's lifetime and returns
// a dialer for it.
func serve(t testing.TB, f *fakeHealth) func(context.Context, string) (net.Conn, error) {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, f)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }
}

// dial connects to target through the set's interceptors.
func dial(t testing.TB, target string, dialer func(context.Context, string) (net.Conn, error), set *Set) healthpb.HealthClient {
	t.Helper()
	cc, err := grpc.NewClient(target,
		grpc.WithContextDialer(dialer),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(UnaryClientInterceptor(set)),
		grpc.WithStreamInterceptor(StreamClientInterceptor(set)),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return healthpb.NewHealthClient(cc)
}

// newSet makes a set on a mock clock, closed at the end of the test.
func newSet(t testing.TB, opts ...SetOption) (*Set, *mockClock) {
	t.Helper()
	clk := newMockClock()
	s := NewSet(append([]SetOption{WithClock(clk)}, opts...)...)
	t.Cleanup(func() { _ = s.Close() })
	return s, clk
}

// waitFor guards against deadlock only: a broken rule hangs, and the test
// should fail rather than time out the package. It is never a timing
// assertion.
func waitFor(t testing.TB, what string, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: did not finish (deadlock?)", what)
	}
}
