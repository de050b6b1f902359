package breaker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v3"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const target = "passthrough:///backend"

func checkReq() *healthpb.HealthCheckRequest { return &healthpb.HealthCheckRequest{} }

func TestIndependentBreakersPerMethod(t *testing.T) {
	f := &fakeHealth{check: func(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		return nil, status.Error(codes.Unavailable, "down")
	}}
	set, _ := newSet(t, WithDefaults(WithConsecutiveFailures(2)))
	c := dial(t, target, serve(t, f), set)
	ctx := context.Background()
	for range 2 {
		if _, err := c.Check(ctx, checkReq()); status.Code(err) != codes.Unavailable {
			t.Fatalf("check: %v", err)
		}
	}
	if _, err := c.Check(ctx, checkReq()); !errors.Is(err, ErrOpen) {
		t.Fatalf("Check not rejected: %v", err)
	}
	if _, err := c.List(ctx, &healthpb.HealthListRequest{}); err != nil {
		t.Fatalf("List rejected with Check's breaker: %v", err)
	}
	if f.calls.Load() != 3 {
		t.Fatalf("backend saw %d calls, want 3", f.calls.Load())
	}
	b, ok := set.Get(target + checkMethod)
	if !ok || b.State() != StateOpen || b.Kind() != KindGRPC {
		t.Fatalf("breaker %q: %v", target+checkMethod, ok)
	}
	if s := b.Snapshot(); s.Target != target || s.Method != checkMethod {
		t.Fatalf("snapshot target %q method %q", s.Target, s.Method)
	}
	if l, _ := set.Get(target + listMethod); l.State() != StateClosed {
		t.Fatal("List breaker not closed")
	}
}

func TestIndependentBreakersPerTarget(t *testing.T) {
	f := &fakeHealth{check: func(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		return nil, status.Error(codes.Internal, "boom")
	}}
	dialer := serve(t, f)
	set, _ := newSet(t, WithDefaults(WithConsecutiveFailures(1)))
	a := dial(t, "passthrough:///a", dialer, set)
	b := dial(t, "passthrough:///b", dialer, set)
	ctx := context.Background()
	_, _ = a.Check(ctx, checkReq())
	if _, err := a.Check(ctx, checkReq()); !errors.Is(err, ErrOpen) {
		t.Fatalf("a not open: %v", err)
	}
	if _, err := b.Check(ctx, checkReq()); errors.Is(err, ErrOpen) || status.Code(err) != codes.Internal {
		t.Fatalf("b shares a's breaker: %v", err)
	}
	names := []string{}
	for _, br := range set.Breakers() {
		names = append(names, br.Name())
	}
	want := []string{"passthrough:///a" + checkMethod, "passthrough:///b" + checkMethod}
	if len(names) != 2 || names[0] != want[0] || names[1] != want[1] {
		t.Fatalf("breakers %v, want %v", names, want)
	}
}

func TestCallerCancelIsNeutral(t *testing.T) {
	entered := make(chan struct{})
	f := &fakeHealth{check: func(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		entered <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	set, _ := newSet(t, WithDefaults(WithConsecutiveFailures(1)))
	c := dial(t, target, serve(t, f), set)
	for range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-entered; cancel() }()
		if _, err := c.Check(ctx, checkReq()); status.Code(err) != codes.Canceled {
			t.Fatalf("err %v, want Canceled", err)
		}
	}
	b, _ := set.Get(target + checkMethod)
	if s := b.Snapshot(); s.State != StateClosed || s.Neutral != 3 || s.Failures != 0 {
		t.Fatalf("cancel counted: %+v", s)
	}
}

func TestHangingBackendTripsViaDeadline(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	f := &fakeHealth{check: func(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		select { // hangs until the caller gives up
		case <-ctx.Done():
		case <-release:
		}
		return nil, ctx.Err()
	}}
	// The real clock: attribution judges the time the calls really ran.
	set := NewSet(WithDefaults(WithTimeout(20*time.Millisecond), WithConsecutiveFailures(3)))
	t.Cleanup(func() { _ = set.Close() })
	c := dial(t, target, serve(t, f), set)
	done := make(chan struct{})
	go func() { // guarded: without a default deadline these calls hang
		defer close(done)
		for range 3 {
			// No deadline from the caller: the default timeout gives one,
			// and DEADLINE_EXCEEDED counts as a failure (the library
			// ignores it).
			if _, err := c.Check(context.Background(), checkReq()); status.Code(err) != codes.DeadlineExceeded {
				t.Errorf("err %v, want DeadlineExceeded", err)
				return
			}
		}
		if _, err := c.Check(context.Background(), checkReq()); !errors.Is(err, ErrOpen) {
			t.Errorf("hanging backend did not trip: %v", err)
		}
	}()
	waitFor(t, "calls to a hanging backend", done)
	if n := f.calls.Load(); n != 3 {
		t.Fatalf("backend saw %d calls, want 3", n)
	}
}

// TestTimeoutCapsEveryCall: the method's timeout is the call's deadline
// when the caller has none or a later one; an earlier caller deadline
// stands; WithDefaultTimeoutOnly keeps a later caller deadline.
func TestTimeoutCapsEveryCall(t *testing.T) {
	deadlines := make(chan time.Duration, 1)
	f := &fakeHealth{check: func(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		d, ok := ctx.Deadline()
		if !ok {
			deadlines <- -1
		} else {
			deadlines <- time.Until(d)
		}
		return &healthpb.HealthCheckResponse{}, nil
	}}
	addr := serve(t, f)
	for _, tc := range []struct {
		name             string
		defaultOnly      bool
		caller           time.Duration // 0: no deadline
		wantMin, wantMax time.Duration
	}{
		{"no caller deadline", false, 0, 30 * time.Second, time.Minute},
		{"later caller deadline capped", false, time.Hour, 30 * time.Second, time.Minute},
		{"earlier caller deadline kept", false, 10 * time.Second, 5 * time.Second, 10 * time.Second},
		{"default only: no caller deadline", true, 0, 30 * time.Second, time.Minute},
		{"default only: later caller deadline kept", true, time.Hour, 30 * time.Minute, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set, _ := newSet(t, WithMethod("grpc.health.v1.Health", "Check", WithTimeout(time.Minute), WithDefaultTimeoutOnly(tc.defaultOnly)))
			c := dial(t, target, addr, set)
			ctx := context.Background()
			if tc.caller > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.caller)
				defer cancel()
			}
			if _, err := c.Check(ctx, checkReq()); err != nil {
				t.Fatal(err)
			}
			if d := <-deadlines; d < tc.wantMin || d > tc.wantMax {
				t.Fatalf("server saw a deadline in %v, want %v to %v", d, tc.wantMin, tc.wantMax)
			}
		})
	}
}

func TestHalfOpenLetsExactlyOneProbeThrough(t *testing.T) {
	var failing = true
	var mu sync.Mutex
	gate := make(chan struct{})
	f := &fakeHealth{check: func(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		mu.Lock()
		down := failing
		mu.Unlock()
		if down {
			return nil, status.Error(codes.Unavailable, "down")
		}
		<-gate // the probe is in flight while the others arrive
		return &healthpb.HealthCheckResponse{}, nil
	}}
	set, clk := newSet(t, WithDefaults(WithConsecutiveFailures(1), WithHalfOpen(1, 1),
		WithBackOff(func() backoff.BackOff { return backoff.NewConstantBackOff(time.Second) })))
	c := dial(t, target, serve(t, f), set)
	_, _ = c.Check(context.Background(), checkReq())
	mu.Lock()
	failing = false
	mu.Unlock()
	clk.Add(time.Second) // open period over: half-open on the next call
	f.calls.Store(0)

	const n = 100
	results := make(chan error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			_, err := c.Check(context.Background(), checkReq())
			results <- err
		})
	}
	close(start)
	rejected := make(chan struct{})
	go func() {
		for range n - 1 {
			if err := <-results; !errors.Is(err, ErrOpen) {
				t.Errorf("call not rejected: %v", err)
			}
		}
		close(rejected)
	}()
	waitFor(t, "99 rejections while the probe is in flight", rejected)
	close(gate)
	wg.Wait()
	if err := <-results; err != nil {
		t.Fatalf("probe: %v", err)
	}
	if got := f.calls.Load(); got != 1 {
		t.Fatalf("%d calls reached the backend in half-open, want 1", got)
	}
	b, _ := set.Get(target + checkMethod)
	mustState(t, b, StateClosed)
}

func TestOpenErrorCodeAndDetails(t *testing.T) {
	f := &fakeHealth{check: func(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		return nil, status.Error(codes.Unavailable, "down")
	}}
	set, clk := newSet(t, WithDefaults(WithConsecutiveFailures(1), WithOpenTimeout(30*time.Second, time.Minute)))
	c := dial(t, target, serve(t, f), set)
	_, _ = c.Check(context.Background(), checkReq())
	clk.Add(10 * time.Second)
	_, err := c.Check(context.Background(), checkReq())
	checkOpenStatus(t, err, target+checkMethod, 20*time.Second)
}

// Across the wire too: a server whose handler runs through a breaker
// answers UNAVAILABLE with the details, never UNKNOWN.
func TestOpenErrorCrossesTheWire(t *testing.T) {
	set, _ := newSet(t)
	inner := set.Breaker("db")
	inner.SetMode(ModeForcedOpen)
	f := &fakeHealth{check: func(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		return nil, inner.Do(ctx, succeed)
	}}
	plain, _ := newSet(t)
	c := dial(t, target, serve(t, f), plain)
	_, err := c.Check(context.Background(), checkReq())
	checkOpenStatus(t, err, "db", DefaultOpenTimeout)
}

func checkOpenStatus(t *testing.T, err error, name string, retry time.Duration) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		t.Fatalf("status %v (ok %v), want UNAVAILABLE", st, ok)
	}
	var info *errdetails.ErrorInfo
	var ri *errdetails.RetryInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.RetryInfo:
			ri = d
		}
	}
	if info == nil || info.Reason != "CIRCUIT_OPEN" || info.Domain != "breakwater" || info.Metadata["breaker"] != name {
		t.Fatalf("ErrorInfo %v", info)
	}
	switch {
	case retry == 0 && ri != nil:
		t.Fatalf("RetryInfo %v, want none", ri)
	case retry > 0 && (ri == nil || ri.RetryDelay.AsDuration() != retry):
		t.Fatalf("RetryInfo %v, want %v", ri, retry)
	}
}

func TestFallbackFillsReplyAndMarksIt(t *testing.T) {
	f := &fakeHealth{check: func(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		return nil, status.Error(codes.Unavailable, "down")
	}}
	var causes []error
	fallback := func(_ context.Context, method string, _, reply any, cause error) error {
		causes = append(causes, cause)
		reply.(*healthpb.HealthCheckResponse).Status = healthpb.HealthCheckResponse_NOT_SERVING
		return nil
	}
	set, _ := newSet(t, WithMethod("grpc.health.v1.Health", "Check",
		WithFallback(fallback), WithFallbackOnFailure(true), WithConsecutiveFailures(1)))
	c := dial(t, target, serve(t, f), set)
	name := target + checkMethod

	// On failure (closed breaker, failure-class error), then on rejection.
	for i, wantCause := range []func(error) bool{
		func(err error) bool { return status.Code(err) == codes.Unavailable && !errors.Is(err, ErrOpen) },
		func(err error) bool { return errors.Is(err, ErrOpen) },
	} {
		var header metadata.MD
		resp, err := c.Check(context.Background(), checkReq(), grpc.Header(&header))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("call %d: reply not filled: %v", i, resp)
		}
		info, ok := FallbackServed(header)
		if !ok || info.Breaker != name {
			t.Fatalf("call %d: header %v does not mark the fallback", i, header)
		}
		if wantReason := []string{"Unavailable", ReasonCircuitOpen}[i]; info.Reason != wantReason {
			t.Fatalf("call %d: fallback reason %q, want %q", i, info.Reason, wantReason)
		}
		if i == 1 && info.RejectedBy != name {
			t.Fatalf("rejection: rejected-by %q, want %q", info.RejectedBy, name)
		}
		if !wantCause(causes[i]) {
			t.Fatalf("call %d: cause %v", i, causes[i])
		}
	}
	if f.calls.Load() != 1 {
		t.Fatalf("backend saw %d calls, want 1", f.calls.Load())
	}

	// A real answer is not marked.
	other, _ := newSet(t)
	ok := dial(t, target, serve(t, &fakeHealth{}), other)
	var header metadata.MD
	if _, err := ok.Check(context.Background(), checkReq(), grpc.Header(&header)); err != nil {
		t.Fatal(err)
	}
	if _, marked := FallbackServed(header); marked {
		t.Fatal("real answer marked as fallback")
	}
}

func TestFallbackErrorIsReturned(t *testing.T) {
	set, _ := newSet(t, WithDefaults(WithFallback(func(context.Context, string, any, any, error) error {
		return status.Error(codes.NotFound, "no house ads")
	})))
	c := dial(t, target, serve(t, &fakeHealth{}), set)
	_, _ = c.Check(context.Background(), checkReq()) // creates the breaker
	b, _ := set.Get(target + checkMethod)
	b.SetMode(ModeForcedOpen)
	if _, err := c.Check(context.Background(), checkReq()); status.Code(err) != codes.NotFound {
		t.Fatalf("err %v", err)
	}
}

func TestStreamCountsFinalStatus(t *testing.T) {
	var mode = "ok"
	var mu sync.Mutex
	f := &fakeHealth{watch: func(_ *healthpb.HealthCheckRequest, s grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
		mu.Lock()
		m := mode
		mu.Unlock()
		switch m {
		case "fail":
			_ = s.Send(&healthpb.HealthCheckResponse{})
			return status.Error(codes.Unavailable, "down")
		case "hang":
			<-s.Context().Done()
			return s.Context().Err()
		}
		return s.Send(&healthpb.HealthCheckResponse{})
	}}
	set, _ := newSet(t, WithDefaults(WithConsecutiveFailures(2)))
	c := dial(t, target, serve(t, f), set)
	drain := func(ctx context.Context) error {
		s, err := c.Watch(ctx, checkReq())
		if err != nil {
			return err
		}
		for {
			if _, err := s.Recv(); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	}
	if err := drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := set.Get(target + watchMethod)
	if s := b.Snapshot(); s.Successes != 1 {
		t.Fatalf("EOF not counted as success: %+v", s)
	}

	// Abandoned by cancelling, never received: counted (neutral) anyway.
	mu.Lock()
	mode = "hang"
	mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := c.Watch(ctx, checkReq()); err != nil {
		t.Fatal(err)
	}
	cancel()
	done := make(chan struct{})
	go func() {
		for b.Snapshot().Neutral != 1 {
			time.Sleep(time.Millisecond) // polling a result, not timing a rule
		}
		close(done)
	}()
	waitFor(t, "abandoned stream counted", done)

	mu.Lock()
	mode = "fail"
	mu.Unlock()
	for range 2 {
		if err := drain(context.Background()); status.Code(err) != codes.Unavailable {
			t.Fatalf("err %v", err)
		}
	}
	if _, err := c.Watch(context.Background(), checkReq()); !errors.Is(err, ErrOpen) {
		t.Fatalf("stream not rejected at establishment: %v", err)
	}
}

func TestStreamEstablishmentFailureCounted(t *testing.T) {
	set, _ := newSet(t, WithDefaults(WithConsecutiveFailures(1)))
	intercept := StreamClientInterceptor(set, WithTarget("fake"))
	desc := &grpc.StreamDesc{ServerStreams: true}
	broken := func(context.Context, *grpc.StreamDesc, *grpc.ClientConn, string, ...grpc.CallOption) (grpc.ClientStream, error) {
		return nil, status.Error(codes.Unavailable, "no connection")
	}
	if _, err := intercept(context.Background(), desc, nil, watchMethod, broken); status.Code(err) != codes.Unavailable || errors.Is(err, ErrOpen) {
		t.Fatalf("err %v", err)
	}
	if _, err := intercept(context.Background(), desc, nil, watchMethod, broken); !errors.Is(err, ErrOpen) {
		t.Fatalf("establishment failure not counted: %v", err)
	}
	if _, ok := set.Get("fake" + watchMethod); !ok {
		t.Fatal("WithTarget not used in the name")
	}
}

// TestInterceptorClosedPathDoesNotAllocate: a caller whose deadline is
// within the method's timeout (the usual case) costs no allocation; a
// deadline that must be cut pays for context.WithTimeout.
func TestInterceptorClosedPathDoesNotAllocate(t *testing.T) {
	set, _ := newSet(t, WithDefaults(WithTimeout(time.Hour)))
	intercept := UnaryClientInterceptor(set, WithTarget("backend"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	_ = intercept(ctx, checkMethod, nil, nil, nil, invoker) // creates the breaker
	if n := testing.AllocsPerRun(1000, func() { _ = intercept(ctx, checkMethod, nil, nil, nil, invoker) }); n != 0 {
		t.Fatalf("closed path allocates %v times per call", n)
	}
	b, _ := set.Get("backend" + checkMethod)
	b.SetMode(ModeForcedOpen)
	if n := testing.AllocsPerRun(1000, func() { _ = intercept(ctx, checkMethod, nil, nil, nil, invoker) }); n != 0 {
		t.Fatalf("forced-open rejection allocates %v times per call", n)
	}
}

func TestInterceptorFindsEveryMethodsBreaker(t *testing.T) {
	set, _ := newSet(t)
	intercept := UnaryClientInterceptor(set, WithTarget("t"))
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	const n = 300 // more methods than cache slots: collisions go to the map
	for range 3 {
		for i := range n {
			method := fmt.Sprintf("/svc/M%d", i) // a new string each time
			if err := intercept(context.Background(), method, nil, nil, nil, invoker); err != nil {
				t.Fatal(err)
			}
		}
	}
	bs := set.Breakers()
	if len(bs) != n {
		t.Fatalf("%d breakers, want %d", len(bs), n)
	}
	for _, b := range bs {
		if s := b.Snapshot(); s.Successes != 3 || s.Name != s.Target+s.Method {
			t.Fatalf("%s: %d successes, want 3", s.Name, s.Successes)
		}
	}
}

// gRPC's retry policy runs inside the invoker, so the breaker counts one
// outcome per call, after the retries; and a rejected call never reaches
// the invoker, so it is never retried.
func TestRetriesRunInsideTheBreaker(t *testing.T) {
	f := &fakeHealth{check: func(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		return nil, status.Error(codes.Unavailable, "down")
	}}
	dialer := serve(t, f)
	set, _ := newSet(t, WithDefaults(WithConsecutiveFailures(2)))
	cc, err := grpc.NewClient(target,
		grpc.WithContextDialer(dialer),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(UnaryClientInterceptor(set)),
		grpc.WithDefaultServiceConfig(`{"methodConfig": [{
			"name": [{"service": "grpc.health.v1.Health"}],
			"retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.001s", "maxBackoff": "0.001s",
				"backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	c := healthpb.NewHealthClient(cc)
	_, _ = c.Check(context.Background(), checkReq())
	b, _ := set.Get(target + checkMethod)
	if got, s := f.calls.Load(), b.Snapshot(); got != 3 || s.Failures != 1 || s.State != StateClosed {
		t.Fatalf("backend saw %d attempts, breaker counted %d failures (%v); want 3 attempts, 1 failure", got, s.Failures, s.State)
	}
	_, _ = c.Check(context.Background(), checkReq()) // second failure: trips
	if _, err := c.Check(context.Background(), checkReq()); !errors.Is(err, ErrOpen) {
		t.Fatalf("not rejected: %v", err)
	}
	if got := f.calls.Load(); got != 6 {
		t.Fatalf("backend saw %d attempts, want 6: the rejected call was retried", got)
	}
}

// TestMethodBreakerIsTheInterceptorsBreaker: a breaker created ahead of
// traffic is the one the interceptor then counts and obeys.
func TestMethodBreakerIsTheInterceptorsBreaker(t *testing.T) {
	set := NewSet()
	defer set.Close()
	const method = "/pkg.Svc/Get"
	pre := set.MethodBreaker("backend", method)
	if s := pre.Snapshot(); s.Kind != KindGRPC || s.Target != "backend" || s.Method != method || s.Name != "backend/pkg.Svc/Get" {
		t.Fatalf("pre-created breaker: %+v", s)
	}
	if got, ok := set.Get("backend/pkg.Svc/Get"); !ok || got != pre {
		t.Fatal("Get does not find the pre-created breaker")
	}
	intercept := UnaryClientInterceptor(set, WithTarget("backend"))
	invoked := 0
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
		invoked++
		return nil
	}
	if err := intercept(context.Background(), method, nil, nil, nil, invoker); err != nil {
		t.Fatal(err)
	}
	if s := pre.Snapshot(); s.Successes != 1 {
		t.Fatalf("the interceptor counted elsewhere: %+v", s)
	}
	pre.SetMode(ModeForcedOpen)
	if err := intercept(context.Background(), method, nil, nil, nil, invoker); !errors.Is(err, ErrOpen) || invoked != 1 {
		t.Fatalf("forcing the pre-created breaker open did not stop the call: err %v, invoked %d", err, invoked)
	}
}
