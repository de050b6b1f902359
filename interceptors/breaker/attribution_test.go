package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// realSet is a set on the real clock: attribution judges the time calls
// really ran, so tests of real network timing use it.
func realSet(t *testing.T, opts ...SetOption) *Set {
	t.Helper()
	s := NewSet(opts...)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestImpatientCallersDoNotTripAHealthyDependency: 100 calls whose context
// has already expired (never sent) and 100 with a 1 ms deadline against a
// dependency that answers at once leave the breaker closed, and the next
// patient caller is answered for real.
func TestImpatientCallersDoNotTripAHealthyDependency(t *testing.T) {
	f := &fakeHealth{}
	set := realSet(t, WithListener(ListenerFunc(func(e Event) { // default rules: 5 in a row, or 50% of at least 10
		t.Logf("counted failure after %v: %v", e.Elapsed, e.Err)
	}), EventFailure))
	c := dial(t, target, serve(t, f), set)
	if _, err := c.Check(context.Background(), checkReq()); err != nil { // learns the healthy latency
		t.Fatal(err)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	for range 100 {
		if _, err := c.Check(expired, checkReq()); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("expired context: %v, want DEADLINE_EXCEEDED", err)
		}
	}
	if n := f.calls.Load(); n != 1 {
		t.Fatalf("the dependency saw %d calls from expired contexts", n-1)
	}
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		_, _ = c.Check(ctx, checkReq()) // answered or not within 1 ms
		cancel()
	}
	b, _ := set.Get(target + checkMethod)
	s := b.Snapshot()
	t.Logf("after 100 expired and 100 1ms calls: %+v fair chance %v", s, b.FairChance())
	if s.State != StateClosed || s.Failures != 0 {
		t.Fatalf("breaker %v with %d failures, want closed with none", s.State, s.Failures)
	}
	ctx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	resp, err := c.Check(ctx, checkReq())
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("patient caller: %v %v", resp, err)
	}
}

// TestHungDependencyTripsWithShortCallerDeadlines: a dependency that hangs
// trips the breaker although every caller sends its own short deadline
// (or cancels on its own), because the deadlines are far above the
// dependency's healthy latency; later callers are rejected at once.
func TestHungDependencyTripsWithShortCallerDeadlines(t *testing.T) {
	for _, how := range []string{"deadline", "cancel"} {
		t.Run(how, func(t *testing.T) {
			var hang sync.Map // set: hang
			f := &fakeHealth{check: func(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
				if _, ok := hang.Load("on"); ok {
					<-ctx.Done()
					return nil, ctx.Err()
				}
				return &healthpb.HealthCheckResponse{}, nil
			}}
			set := realSet(t, WithDefaults(WithConsecutiveFailures(5)))
			c := dial(t, target, serve(t, f), set)
			// Enough healthy calls for the moving average to forget the
			// first, which pays for the connection (tens of ms under load).
			for range 50 {
				if _, err := c.Check(context.Background(), checkReq()); err != nil {
					t.Fatal(err)
				}
			}
			hang.Store("on", true)
			var wg sync.WaitGroup
			for range 5 { // five callers at once, each giving up after 200 ms
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
					if how == "deadline" {
						ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
					} else {
						time.AfterFunc(200*time.Millisecond, cancel)
					}
					defer cancel()
					_, _ = c.Check(ctx, checkReq())
				})
			}
			wg.Wait()
			b, _ := set.Get(target + checkMethod)
			if s := b.Snapshot(); s.State != StateOpen || s.Failures != 5 {
				t.Fatalf("after five 200 ms give-ups: %v with %d failures, want open with 5", s.State, s.Failures)
			}
			start := time.Now()
			_, err := c.Check(context.Background(), checkReq())
			if !errors.Is(err, ErrOpen) && status.Code(err) != codes.Unavailable {
				t.Fatalf("later caller: %v, want a rejection", err)
			}
			t.Logf("later caller rejected in %v", time.Since(start))
		})
	}
}

// TestGiveUpVerdictIsTheSameWhicheverTimerFires forces both orders: the
// caller's cancellation reaches the call first (CANCELLED) or the server's
// copy of the deadline does (DEADLINE_EXCEEDED). The verdict depends only on
// how long the call ran: not counted under the fair chance, a failure above.
func TestGiveUpVerdictIsTheSameWhicheverTimerFires(t *testing.T) {
	for _, ran := range []time.Duration{2 * time.Millisecond, 500 * time.Millisecond} {
		for _, first := range []codes.Code{codes.Canceled, codes.DeadlineExceeded} {
			t.Run(fmt.Sprintf("%v/%v", ran, first), func(t *testing.T) {
				set, clk := newSet(t, WithDefaults(WithTimeout(0)))
				intercept := UnaryClientInterceptor(set, WithTarget("dep"))
				ok := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
					clk.Add(time.Millisecond) // healthy: 1 ms
					return nil
				}
				for range 20 {
					_ = intercept(context.Background(), checkMethod, nil, nil, nil, ok)
				}
				giveUp := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
					clk.Add(ran)
					return status.Error(first, "gave up")
				}
				_ = intercept(context.Background(), checkMethod, nil, nil, nil, giveUp)
				b, _ := set.Get("dep" + checkMethod)
				s := b.Snapshot()
				if fc := b.FairChance(); fc != 10*time.Millisecond {
					t.Fatalf("fair chance %v, want max(10 ms floor, 10 × 1 ms)", fc)
				}
				want := Neutral
				if ran == 500*time.Millisecond {
					want = Failure
				}
				got := Neutral
				if s.Failures == 1 {
					got = Failure
				}
				if got != want || s.Failures+s.Neutral != 1 {
					t.Fatalf("ran %v (fair chance %v), first %v: %d failures %d neutral, want one %v",
						ran, b.FairChance(), first, s.Failures, s.Neutral, want)
				}
			})
		}
	}
}

// TestBreakerTimeoutIsAFairChance: a call ended by the breaker's own
// timeout is the dependency's failure whatever the clock measured (here a
// mock clock that does not move at all).
func TestBreakerTimeoutIsAFairChance(t *testing.T) {
	set, _ := newSet(t, WithDefaults(WithTimeout(20*time.Millisecond), WithConsecutiveFailures(1)))
	intercept := UnaryClientInterceptor(set, WithTarget("dep"))
	hang := func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		<-ctx.Done()
		return status.FromContextError(ctx.Err()).Err()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	if err := intercept(ctx, checkMethod, nil, nil, nil, hang); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("err %v", err)
	}
	b, _ := set.Get("dep" + checkMethod)
	if s := b.Snapshot(); s.State != StateOpen {
		t.Fatalf("a call cut by the breaker's timeout was not a failure: %+v", s)
	}
}

// TestReleaseCountsNothing: a permit given back frees its half-open slot and
// counts nothing.
func TestReleaseCountsNothing(t *testing.T) {
	set, clk := newSet(t, WithDefaults(WithConsecutiveFailures(1), WithOpenTimeout(time.Second, time.Second)))
	b := set.Breaker("dep")
	_ = b.Do(context.Background(), func(context.Context) error { return errors.New("down") })
	clk.Add(time.Second)
	p, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Allow(); !errors.Is(err, ErrOpen) {
		t.Fatalf("second probe admitted: %v", err)
	}
	before := b.Snapshot()
	p.Release()
	after := b.Snapshot()
	if after.State != StateHalfOpen || after.Successes+after.Failures+after.Neutral != before.Successes+before.Failures+before.Neutral {
		t.Fatalf("release counted or moved the breaker: %+v", after)
	}
	if _, err := b.Allow(); err != nil {
		t.Fatalf("released slot not free: %v", err)
	}
}
