package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v3"
	mercari "github.com/mercari/go-circuitbreaker"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	errDown = status.Error(codes.Unavailable, "down")
	fail    = func(context.Context) error { return errDown }
	succeed = func(context.Context) error { return nil }
)

func mustState(t *testing.T, b *Breaker, want State) {
	t.Helper()
	if got := b.Snapshot().State; got != want {
		t.Fatalf("state = %v, want %v", got, want)
	}
}

// The library wipes its counters every second, so 9 failures a second at
// 100% failure never trip it. A rolling window with a rate rule does.
func TestRateRuleTripsAtNineFailuresPerSecond(t *testing.T) {
	set, clk := newSet(t, WithDefaults(
		WithConsecutiveFailures(0), // the rate rule alone
		WithFailureRate(0.5, 10),
		WithWindow(10*time.Second, 10),
	))
	b := set.Breaker("dep")
	for i := 1; i <= 9*3; i++ { // three seconds at 9 a second
		if err := b.Do(context.Background(), fail); errors.Is(err, ErrOpen) {
			if i != 11 {
				// The 10th failure trips (10 calls, 100%); the 11th is rejected.
				t.Fatalf("rejected at call %d, want 11", i)
			}
			return
		}
		clk.Add(time.Second / 9)
	}
	t.Fatalf("never tripped: %+v", b.Snapshot())
}

func TestOldFailuresAgeOut(t *testing.T) {
	set, clk := newSet(t, WithDefaults(
		WithConsecutiveFailures(0),
		WithFailureRate(0.5, 10),
		WithWindow(10*time.Second, 10),
	))
	b := set.Breaker("dep")
	for range 9 {
		_ = b.Do(context.Background(), fail)
	}
	mustState(t, b, StateClosed)
	clk.Add(11 * time.Second) // the nine leave the window
	if err := b.Do(context.Background(), fail); errors.Is(err, ErrOpen) {
		t.Fatal("rejected")
	}
	// Counting the aged-out nine, this would be 10 failures of 10 calls.
	mustState(t, b, StateClosed)
	if s := b.Snapshot(); s.WindowCalls != 1 || s.WindowFailures != 1 || s.Failures != 10 {
		t.Fatalf("window %d/%d, total failures %d; want 1/1, 10", s.WindowFailures, s.WindowCalls, s.Failures)
	}
	// Within the window they still count: 9 more make 10 of 10.
	for range 9 {
		clk.Add(100 * time.Millisecond)
		_ = b.Do(context.Background(), fail)
	}
	mustState(t, b, StateOpen)
}

func TestSuccessesDiluteFailureRate(t *testing.T) {
	set, _ := newSet(t, WithDefaults(WithConsecutiveFailures(0), WithFailureRate(0.5, 10)))
	b := set.Breaker("dep")
	for range 10 {
		_ = b.Do(context.Background(), succeed)
	}
	for range 9 { // 9 of 19 < 50%
		_ = b.Do(context.Background(), fail)
	}
	mustState(t, b, StateClosed)
	_ = b.Do(context.Background(), fail) // 10 of 20
	mustState(t, b, StateOpen)
}

func TestConsecutiveFailuresTrip(t *testing.T) {
	set, _ := newSet(t, WithDefaults(WithFailureRate(0, 0), WithConsecutiveFailures(3)))
	b := set.Breaker("dep")
	for _, fn := range []func(context.Context) error{fail, fail, succeed, fail, fail} {
		_ = b.Do(context.Background(), fn)
	}
	mustState(t, b, StateClosed) // the success broke the run
	_ = b.Do(context.Background(), fail)
	mustState(t, b, StateOpen)
}

func TestSlowCallRateTrips(t *testing.T) {
	set, clk := newSet(t, WithDefaults(
		WithConsecutiveFailures(0), WithFailureRate(0, 4), WithSlowCalls(0.5, time.Second)))
	b := set.Breaker("dep")
	slow := func(context.Context) error { clk.Add(2 * time.Second); return nil }
	for _, fn := range []func(context.Context) error{succeed, succeed, slow} {
		_ = b.Do(context.Background(), fn)
	}
	mustState(t, b, StateClosed) // 1 slow of 3 calls, under the minimum anyway
	_ = b.Do(context.Background(), slow)
	mustState(t, b, StateOpen) // 2 of 4
	if s := b.Snapshot(); s.Slow != 2 || s.Failures != 0 {
		t.Fatalf("slow %d failures %d, want 2, 0", s.Slow, s.Failures)
	}
}

func TestNeutralIsNotCounted(t *testing.T) {
	set, _ := newSet(t, WithDefaults(WithConsecutiveFailures(1)))
	b := set.Breaker("dep")
	for range 20 {
		_ = b.Do(context.Background(), func(context.Context) error { return context.Canceled })
		_ = b.Do(context.Background(), func(context.Context) error { return status.Error(codes.Canceled, "") })
	}
	mustState(t, b, StateClosed)
	if s := b.Snapshot(); s.Neutral != 40 || s.WindowCalls != 0 || s.ConsecutiveFailures != 0 {
		t.Fatalf("snapshot %+v", s)
	}
}

// tripped returns a breaker that has just opened for 5s (constant).
func tripped(t *testing.T, opts ...SetOption) (*Breaker, *mockClock) {
	t.Helper()
	set, clk := newSet(t, append([]SetOption{WithDefaults(
		WithConsecutiveFailures(1),
		WithBackOff(func() backoff.BackOff { return backoff.NewConstantBackOff(5 * time.Second) }),
		WithHalfOpen(1, 2),
	)}, opts...)...)
	b := set.Breaker("dep")
	_ = b.Do(context.Background(), fail)
	mustState(t, b, StateOpen)
	return b, clk
}

func TestOpenRejectsThenProbes(t *testing.T) {
	b, clk := tripped(t)
	ran := false
	err := b.Do(context.Background(), func(context.Context) error { ran = true; return nil })
	var oe *OpenError
	if ran || !errors.As(err, &oe) || oe.RetryAfter != 5*time.Second || oe.Breaker != "dep" {
		t.Fatalf("ran %v, err %v", ran, err)
	}
	clk.Add(2 * time.Second)
	if err := b.Do(context.Background(), succeed); !errors.As(err, &oe) || oe.RetryAfter != 3*time.Second {
		t.Fatalf("err %v, want retry after 3s", err)
	}
	clk.Add(3 * time.Second)
	_ = b.Do(context.Background(), succeed)
	mustState(t, b, StateHalfOpen)
	_ = b.Do(context.Background(), succeed)
	mustState(t, b, StateClosed) // 2 successful probes
	if s := b.Snapshot(); s.Rejections != 2 {
		t.Fatalf("rejections %d, want 2", s.Rejections)
	}
}

func TestProbeFailureReopens(t *testing.T) {
	b, clk := tripped(t)
	clk.Add(5 * time.Second)
	_ = b.Do(context.Background(), fail)
	mustState(t, b, StateOpen)
}

func TestBackOffGrowsPerBreakerAndResetsOnClose(t *testing.T) {
	set, clk := newSet(t, WithDefaults(WithConsecutiveFailures(1), WithOpenTimeout(time.Second, 8*time.Second), WithHalfOpen(1, 1)))
	a, other := set.Breaker("a"), set.Breaker("b")
	var got []time.Duration
	_ = a.Do(context.Background(), fail)
	for range 4 {
		rem := a.Snapshot().OpenRemaining
		got = append(got, rem)
		clk.Add(rem)
		_ = a.Do(context.Background(), fail) // probe fails: reopen, longer
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("open periods %v, want %v", got, want)
	}
	// A shared back-off would give the other breaker 8s (or more) here.
	_ = other.Do(context.Background(), fail)
	if rem := other.Snapshot().OpenRemaining; rem != time.Second {
		t.Fatalf("other breaker opened for %v, want its own first period 1s", rem)
	}
	clk.Add(8 * time.Second)
	_ = a.Do(context.Background(), succeed) // probe succeeds: closed, back-off reset
	mustState(t, a, StateClosed)
	_ = a.Do(context.Background(), fail)
	if rem := a.Snapshot().OpenRemaining; rem != time.Second {
		t.Fatalf("after close, opened for %v, want 1s", rem)
	}
}

func TestHalfOpenBoundsProbes(t *testing.T) {
	b, clk := tripped(t)
	clk.Add(5 * time.Second)
	p, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Allow(); !errors.Is(err, ErrOpen) {
		t.Fatalf("second probe admitted: %v", err)
	}
	p.Done(nil)
	p2, err := b.Allow() // the slot is free again
	if err != nil {
		t.Fatal(err)
	}
	p2.Done(nil)
	mustState(t, b, StateClosed)
}

// A result counts only in the state that admitted it.
func TestLateFailureAfterTransitionChangesNothing(t *testing.T) {
	b, clk := tripped(t)
	b.Reset()
	old, err := b.Allow() // admitted in closed
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Do(context.Background(), fail) // trips
	clk.Add(5 * time.Second)
	probe, err := b.Allow() // half-open
	if err != nil {
		t.Fatal(err)
	}
	before := b.Snapshot()
	old.Done(errDown) // late: from the closed state two transitions ago
	after := b.Snapshot()
	if after.State != StateHalfOpen || after.Generation != before.Generation || after.Failures != before.Failures || after.Late != 1 {
		t.Fatalf("late failure changed the breaker: before %+v after %+v", before, after)
	}
	probe.Done(nil)
	_ = b.Do(context.Background(), succeed)
	mustState(t, b, StateClosed)

	// And after a reset: the failure of a call admitted before it is late.
	old, _ = b.Allow()
	b.Reset()
	old.Done(errDown) // would trip (1 consecutive failure) if counted
	mustState(t, b, StateClosed)
}

func TestLateProbeFreesOnlyItsOwnSlot(t *testing.T) {
	b, clk := tripped(t)
	clk.Add(5 * time.Second)
	old, _ := b.Allow() // probe of the first half-open phase
	b.SetMode(ModeForcedOpen)
	b.SetMode(ModeAuto) // a new half-open phase
	p, err := b.Allow()
	if err != nil {
		t.Fatal(err)
	}
	old.Done(nil) // must not free p's slot
	if _, err := b.Allow(); !errors.Is(err, ErrOpen) {
		t.Fatalf("late probe freed a slot of the new phase: %v", err)
	}
	p.Done(nil)
}

func TestForcedModesStick(t *testing.T) {
	b, clk := tripped(t)
	b.SetMode(ModeForcedOpen)
	clk.Add(time.Hour) // past any open timeout
	if err := b.Do(context.Background(), succeed); !errors.Is(err, ErrOpen) {
		t.Fatalf("forced open admitted a call: %v", err)
	}
	b.Reset() // keeps the mode
	if s := b.Snapshot(); s.State != StateOpen || s.Mode != ModeForcedOpen {
		t.Fatalf("after reset: %v %v", s.State, s.Mode)
	}
	var oe *OpenError
	// Forced open, the breaker cannot know when it will close, and still
	// tells callers to wait its first open period rather than retry at once.
	if err := b.Do(context.Background(), succeed); !errors.As(err, &oe) || oe.Mode != ModeForcedOpen || oe.RetryAfter != b.Settings().OpenTimeout {
		t.Fatalf("err %v, want a retry hint of %v", err, b.Settings().OpenTimeout)
	}

	b.SetMode(ModeForcedClosed)
	for range 50 {
		if err := b.Do(context.Background(), fail); errors.Is(err, ErrOpen) {
			t.Fatal("forced closed rejected a call")
		}
	}
	if s := b.Snapshot(); s.State != StateClosed || s.WindowFailures != 50 {
		t.Fatalf("forced closed: state %v, window failures %d (keeps counting)", s.State, s.WindowFailures)
	}
	b.SetMode(ModeAuto) // resumes with what it counted
	_ = b.Do(context.Background(), fail)
	mustState(t, b, StateOpen)

	b.SetMode(ModeForcedOpen)
	b.SetMode(ModeAuto) // from forced open, probe first
	mustState(t, b, StateHalfOpen)
}

// The library's open state arms an AfterFunc that moves the breaker to
// half-open even after a reset. Here the open period is a deadline in the
// state it belongs to, so nothing can come back.
func TestResetNeverResurrectsStaleTimer(t *testing.T) {
	b, clk := tripped(t)
	clk.Add(time.Second)
	b.Reset()
	clk.Add(time.Minute) // well past the old open period
	s := b.Snapshot()
	if s.State != StateClosed {
		t.Fatalf("state %v after reset and the old timeout", s.State)
	}
	// Closed, not half-open: more than one call at a time is admitted.
	p1, err1 := b.Allow()
	p2, err2 := b.Allow()
	if err1 != nil || err2 != nil {
		t.Fatalf("closed breaker rejected: %v %v", err1, err2)
	}
	p1.Done(nil)
	p2.Done(nil)

	// Same with modes: forced closed, then auto, after the old timeout.
	_ = b.Do(context.Background(), fail)
	b.SetMode(ModeForcedClosed)
	clk.Add(time.Minute)
	b.SetMode(ModeAuto)
	if s := b.Snapshot(); s.State != StateClosed {
		t.Fatalf("state %v", s.State)
	}
}

func TestOpenErrorMatches(t *testing.T) {
	b, _ := tripped(t)
	err := b.Do(context.Background(), succeed)
	if !errors.Is(err, ErrOpen) || !errors.Is(err, mercari.ErrOpen) {
		t.Fatalf("%v does not match ErrOpen", err)
	}
	if got := status.Code(err); got != codes.Unavailable {
		t.Fatalf("code %v", got)
	}
}

// TestDoOwnsTheDeadline: Do caps the caller's deadline with the timeout
// (and gives one to a caller without), keeps an earlier one, and does not
// run fn for a context that is already done.
func TestDoOwnsTheDeadline(t *testing.T) {
	set, _ := newSet(t, WithDefaults(WithTimeout(time.Minute)))
	b := set.Breaker("dep")
	var got time.Time
	var ok bool
	_ = b.Do(context.Background(), func(ctx context.Context) error { got, ok = ctx.Deadline(); return nil })
	if !ok || time.Until(got) > time.Minute {
		t.Fatalf("deadline %v %v, want within a minute", got, ok)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	_ = b.Do(ctx, func(ctx context.Context) error { got, ok = ctx.Deadline(); return nil })
	if !ok || time.Until(got) > time.Minute {
		t.Fatalf("caller's hour not capped to the minute: %v", got)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShort()
	_ = b.Do(short, func(ctx context.Context) error { got, ok = ctx.Deadline(); return nil })
	if dl, _ := short.Deadline(); !ok || !got.Equal(dl) {
		t.Fatalf("caller's earlier deadline replaced: %v", got)
	}
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	ran := false
	if err := b.Do(done, func(context.Context) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("done context: err %v, ran %v", err, ran)
	}
	if s := b.Snapshot(); s.Successes != 3 || s.Neutral != 0 {
		t.Fatalf("counted %+v, want 3 successes and the done call not counted", s)
	}
}

func TestConcurrentUse(t *testing.T) {
	set, clk := newSet(t, WithDefaults(WithConsecutiveFailures(3), WithOpenTimeout(time.Millisecond, time.Millisecond)))
	b := set.Breaker("dep")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				fn := succeed
				if (i+g)%3 == 0 {
					fn = fail
				}
				_ = b.Do(context.Background(), fn)
				switch i % 100 {
				case 10:
					b.Reset()
				case 50:
					_ = b.Snapshot()
				}
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			clk.Add(time.Millisecond)
		}
	})
	wg.Wait()
	s := b.Snapshot()
	if s.Successes+s.Failures+s.Late+s.Rejections+s.Neutral != 8*500 {
		t.Fatalf("calls lost: %+v", s)
	}
}

// TestHalfOpenFullRejectionHintsTheProbeTimeout: with every probe slot
// taken, a rejected caller is told to wait about as long as the probe can
// take, not left without a hint.
func TestHalfOpenFullRejectionHintsTheProbeTimeout(t *testing.T) {
	b, clk := tripped(t, WithDefaults(WithTimeout(800*time.Millisecond)))
	clk.Add(5 * time.Second) // the open period is over: probes may go
	probe, err := b.Allow()
	if err != nil {
		t.Fatalf("first probe rejected: %v", err)
	}
	defer probe.Done(nil)
	var oe *OpenError
	if _, err := b.Allow(); !errors.As(err, &oe) || oe.RetryAfter != 800*time.Millisecond {
		t.Fatalf("second caller: %v, want a retry hint of the 800ms call timeout", err)
	}
}
