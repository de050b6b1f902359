package breakerlb_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/breaker/breakerlb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The tests call grpc.health.v1's Check as their method: any unary method
// would do, and the health server is a real one whose answers each replica
// can choose.
const checkMethod = "/grpc.health.v1.Health/Check"

// replicaServer is one endpoint: a real gRPC server on 127.0.0.1 whose Check
// answers as behave says ("ok", "unavailable", "hang").
type replicaServer struct {
	healthpb.UnimplementedHealthServer
	addr   string
	behave atomic.Value // string
	calls  atomic.Int64
}

func (r *replicaServer) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	r.calls.Add(1)
	switch r.behave.Load().(string) {
	case "unavailable":
		return nil, status.Error(codes.Unavailable, "replica failing")
	case "hang":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// Watch serves gRPC's client-side health checking: always SERVING.
func (r *replicaServer) Watch(_ *healthpb.HealthCheckRequest, s grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	if err := s.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}); err != nil {
		return err
	}
	<-s.Context().Done()
	return nil
}

func startReplicas(t *testing.T, n int) []*replicaServer {
	t.Helper()
	var reps []*replicaServer
	for range n {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		r := &replicaServer{addr: lis.Addr().String()}
		r.behave.Store("ok")
		srv := grpc.NewServer()
		healthpb.RegisterHealthServer(srv, r)
		done := make(chan struct{})
		go func() { defer close(done); _ = srv.Serve(lis) }()
		t.Cleanup(func() { srv.Stop(); <-done })
		reps = append(reps, r)
	}
	return reps
}

// dial connects to every replica through a fixed-list resolver, with the
// package's balancer, a retry policy on UNAVAILABLE, and the breaker and
// breakerlb interceptors, as services/recommender dials AdProvider.
func dial(t *testing.T, set *breaker.Set, reps []*replicaServer, opts ...breakerlb.Option) *grpc.ClientConn {
	t.Helper()
	var eps []resolver.Endpoint
	for _, r := range reps {
		eps = append(eps, resolver.Endpoint{Addresses: []resolver.Address{{Addr: r.addr}}})
	}
	res := manual.NewBuilderWithScheme("replicas")
	res.InitialState(resolver.State{Endpoints: eps})
	retry := `[{"name": [{"service": "grpc.health.v1.Health", "method": "Check"}],
	  "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.001s", "maxBackoff": "0.002s", "backoffMultiplier": 2,
	    "retryableStatusCodes": ["UNAVAILABLE"]}}]`
	conn, err := grpc.NewClient("replicas:///svc",
		grpc.WithResolvers(res),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(breakerlb.Config(set, "svc", "", retry)),
		grpc.WithChainUnaryInterceptor(
			breaker.UnaryClientInterceptor(set, breaker.WithTarget("svc")),
			breakerlb.UnaryClientInterceptor(opts...)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func check(ctx context.Context, conn *grpc.ClientConn, p *peer.Peer) error {
	_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.Peer(p))
	return err
}

// waitAllReady sends calls until every replica has answered one, so that
// round_robin has every endpoint in rotation.
func waitAllReady(t *testing.T, conn *grpc.ClientConn, reps []*replicaServer) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		seen := 0
		for _, r := range reps {
			if r.calls.Load() > 0 {
				seen++
			}
		}
		if seen == len(reps) {
			for _, r := range reps {
				r.calls.Store(0)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("not every replica in rotation")
		}
		if err := check(context.Background(), conn, &peer.Peer{}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSpreadsOverReplicas(t *testing.T) {
	set := breaker.NewSet()
	defer set.Close()
	reps := startReplicas(t, 3)
	conn := dial(t, set, reps)
	waitAllReady(t, conn, reps)
	for range 300 {
		if err := check(context.Background(), conn, &peer.Peer{}); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range reps {
		if c := r.calls.Load(); c < 80 || c > 120 {
			t.Errorf("replica %d got %d of 300 calls, want 100 ± 20", i, c)
		}
		if _, ok := set.Get(breakerlb.EndpointBreakerName("svc", r.addr)); !ok {
			t.Errorf("no endpoint breaker for %s", r.addr)
		}
	}
}

// Every endpoint's breaker exists as soon as the channel has its
// endpoints, before any call.
func TestEndpointBreakersBeforeAnyCall(t *testing.T) {
	set := breaker.NewSet()
	defer set.Close()
	reps := startReplicas(t, 2)
	conn := dial(t, set, reps)
	conn.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for s := conn.GetState(); s != connectivity.Ready; s = conn.GetState() {
		if !conn.WaitForStateChange(ctx, s) {
			t.Fatal("the connection never became ready")
		}
	}
	for _, r := range reps {
		if _, ok := set.Get(breakerlb.EndpointBreakerName("svc", r.addr)); !ok {
			t.Errorf("no breaker for %s before any call", r.addr)
		}
		if c := r.calls.Load(); c != 0 {
			t.Errorf("replica %s got %d calls", r.addr, c)
		}
	}
}

func TestOneEndpointHasNoEndpointBreaker(t *testing.T) {
	set := breaker.NewSet()
	defer set.Close()
	reps := startReplicas(t, 1)
	conn := dial(t, set, reps)
	if err := check(context.Background(), conn, &peer.Peer{}); err != nil {
		t.Fatal(err)
	}
	for _, b := range set.Breakers() {
		if strings.Contains(b.Name(), "@") {
			t.Errorf("breaker %s with a single endpoint", b.Name())
		}
	}
}

// A replica answering UNAVAILABLE costs no call: gRPC's retry goes to
// another replica (never the same one), and after three failures its
// breaker takes it out of rotation.
func TestFailingReplicaIsTakenOut(t *testing.T) {
	set := breaker.NewSet()
	defer set.Close()
	reps := startReplicas(t, 3)
	conn := dial(t, set, reps)
	waitAllReady(t, conn, reps)
	reps[0].behave.Store("unavailable")
	for i := range 200 {
		if err := check(context.Background(), conn, &peer.Peer{}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	eb, _ := set.Get(breakerlb.EndpointBreakerName("svc", reps[0].addr))
	if got := eb.State(); got != breaker.StateOpen {
		t.Errorf("failing replica's breaker is %v, want open", got)
	}
	if c := reps[0].calls.Load(); c > 10 {
		t.Errorf("failing replica got %d of 200 calls, want a handful", c)
	}
	method, _ := set.Get("svc" + checkMethod)
	if s := method.Snapshot(); s.State != breaker.StateClosed || s.Failures != 0 {
		t.Errorf("method breaker %v with %d failures, want closed with none", s.State, s.Failures)
	}
}

// A hung replica costs the hedge delay, never the deadline, and its
// breaker opens on the abandoned attempts.
func TestHungReplicaIsHedged(t *testing.T) {
	set := breaker.NewSet()
	defer set.Close()
	reps := startReplicas(t, 3)
	conn := dial(t, set, reps, breakerlb.WithHedging(20*time.Millisecond, checkMethod))
	waitAllReady(t, conn, reps)
	reps[1].behave.Store("hang")
	for i := range 60 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		p := &peer.Peer{}
		err := check(ctx, conn, p)
		cancel()
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if p.Addr == nil || p.Addr.String() == reps[1].addr {
			t.Fatalf("call %d answered by %v, want another replica", i, p.Addr)
		}
	}
	eb, _ := set.Get(breakerlb.EndpointBreakerName("svc", reps[1].addr))
	if s := eb.Snapshot(); s.Failures < breakerlb.DefaultConsecutiveFailures || s.Transitions == nil {
		t.Errorf("hung replica's breaker: %v with %d failures, want it tripped", s.State, s.Failures)
	}
	if c := reps[1].calls.Load(); c > 15 {
		t.Errorf("hung replica got %d of 60 calls, want a handful", c)
	}
}

// With every endpoint out, calls go through anyway: the method's breaker
// judges the service as a whole, by its own answers.
func TestEveryEndpointOutLeavesItToTheMethodBreaker(t *testing.T) {
	set := breaker.NewSet(breaker.WithMethod("grpc.health.v1.Health", "Check", breaker.WithConsecutiveFailures(5)))
	defer set.Close()
	reps := startReplicas(t, 2)
	conn := dial(t, set, reps)
	waitAllReady(t, conn, reps)
	for _, r := range reps {
		r.behave.Store("unavailable")
	}
	codesSeen := map[codes.Code]int{}
	for range 10 {
		codesSeen[status.Code(check(context.Background(), conn, &peer.Peer{}))]++
	}
	method, _ := set.Get("svc" + checkMethod)
	if method.State() != breaker.StateOpen {
		t.Errorf("method breaker %v after every replica failed, want open (answers %v)", method.State(), codesSeen)
	}
	for i, r := range reps {
		eb, _ := set.Get(breakerlb.EndpointBreakerName("svc", r.addr))
		if eb.State() != breaker.StateOpen {
			t.Errorf("endpoint %d breaker %v, want open", i, eb.State())
		}
	}
	before := reps[0].calls.Load() + reps[1].calls.Load()
	if err := check(context.Background(), conn, &peer.Peer{}); status.Code(err) != codes.Unavailable {
		t.Errorf("with the method breaker open: %v, want UNAVAILABLE", err)
	}
	if after := reps[0].calls.Load() + reps[1].calls.Load(); after != before {
		t.Errorf("with the method breaker open, a call reached a replica")
	}
}

// The health checking gRPC runs with Config's health service takes a
// replica reporting NOT_SERVING out of rotation with no failed call.
func TestNotServingReplicaIsSkipped(t *testing.T) {
	set := breaker.NewSet()
	defer set.Close()
	var addrs []string
	var healths []*health.Server
	for range 2 {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := health.NewServer()
		hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
		srv := grpc.NewServer()
		healthpb.RegisterHealthServer(srv, hs)
		done := make(chan struct{})
		go func() { defer close(done); _ = srv.Serve(lis) }()
		t.Cleanup(func() { srv.Stop(); <-done })
		addrs = append(addrs, lis.Addr().String())
		healths = append(healths, hs)
	}
	var eps []resolver.Endpoint
	for _, a := range addrs {
		eps = append(eps, resolver.Endpoint{Addresses: []resolver.Address{{Addr: a}}})
	}
	res := manual.NewBuilderWithScheme("replicas")
	res.InitialState(resolver.State{Endpoints: eps})
	conn, err := grpc.NewClient("replicas:///svc", grpc.WithResolvers(res),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(breakerlb.Config(set, "svc", "svc", "")),
		grpc.WithChainUnaryInterceptor(breakerlb.UnaryClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	healths[0].SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
	// The watch reaches the client asynchronously: wait until no call goes
	// to the NOT_SERVING replica for 20 calls in a row.
	for streak, deadline := 0, time.Now().Add(10*time.Second); streak < 20; {
		p := &peer.Peer{}
		if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{Service: "svc"}, grpc.Peer(p)); err != nil {
			t.Fatal(err)
		}
		if p.Addr.String() == addrs[0] {
			streak = 0
		} else {
			streak++
		}
		if time.Now().After(deadline) {
			t.Fatal("calls still reach the NOT_SERVING replica")
		}
	}
}

// With one endpoint, a hedge would only double the load of the endpoint
// that hangs: the call waits out its deadline alone.
func TestNoHedgeWithOneEndpoint(t *testing.T) {
	set := breaker.NewSet()
	defer set.Close()
	reps := startReplicas(t, 1)
	conn := dial(t, set, reps, breakerlb.WithHedging(10*time.Millisecond, checkMethod))
	if err := check(context.Background(), conn, &peer.Peer{}); err != nil {
		t.Fatal(err)
	}
	reps[0].behave.Store("hang")
	reps[0].calls.Store(0)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := check(ctx, conn, &peer.Peer{}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("call to a hung single endpoint: %v, want DEADLINE_EXCEEDED", err)
	}
	if c := reps[0].calls.Load(); c != 1 {
		t.Errorf("the endpoint got %d calls, want 1 (no hedge)", c)
	}
}
