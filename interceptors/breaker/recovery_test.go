package breaker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// probedUntil moves the mock clock a probe interval at a time until the
// prober has been called n times. Real time only guards against a hang.
func probedUntil(t *testing.T, clk *mockClock, probed <-chan struct{}, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for got := 0; got < n; {
		clk.Add(DefaultProbeInterval * 2)
		select {
		case <-probed:
			got++
		case <-time.After(2 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatalf("%d probes after 10 s, want %d", got, n)
			}
		}
	}
}

// signal tells a test a probe ran, without ever blocking the prober.
func signal(c chan<- struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// advanceUntil moves the mock clock two probe intervals at a time until
// cond holds; real time only guards against a hang.
func advanceUntil(t *testing.T, clk *mockClock, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10 s", what)
		}
		clk.Add(DefaultProbeInterval * 2)
	}
}

// TestProberHalfOpensAsSoonAsTheDependencyAnswers: an open breaker whose
// open period is an hour half-opens at the first successful probe, after a
// few probe intervals, and its rejections tell callers the probe interval.
func TestProberHalfOpensAsSoonAsTheDependencyAnswers(t *testing.T) {
	set, clk := newSet(t, WithDefaults(WithConsecutiveFailures(1), WithOpenTimeout(time.Hour, time.Hour)))
	b := set.Breaker("dep")
	probed := make(chan struct{}, 1)
	var up atomic.Bool
	b.SetProber(func(context.Context) error {
		defer signal(probed)
		if up.Load() {
			return nil
		}
		return errors.New("still down")
	}, ProbeHalfOpens)
	_ = b.Do(context.Background(), func(context.Context) error { return errors.New("down") })
	if st := b.State(); st != StateOpen {
		t.Fatalf("state %v", st)
	}
	var open *OpenError
	if err := b.Do(context.Background(), func(context.Context) error { return nil }); !errors.As(err, &open) || open.RetryAfter > DefaultProbeInterval {
		t.Fatalf("rejection %v: want a RetryInfo of at most the probe interval, not the hour", err)
	}
	probedUntil(t, clk, probed, 3) // three failed probes: still open
	if st := b.State(); st != StateOpen {
		t.Fatalf("after failed probes: %v", st)
	}
	up.Store(true)
	advanceUntil(t, clk, "half-open after a successful probe", func() bool { return b.State() == StateHalfOpen })
	if s := b.Snapshot(); s.OpenRemaining != 0 || s.Transitions[len(s.Transitions)-1].Reason != "recovery probe succeeded" {
		t.Fatalf("snapshot %+v", s)
	}
}

// TestProbeClosesWithoutTraffic: with ProbeCloses, probes are the half-open
// probe calls, so an idle breaker closes by itself.
func TestProbeClosesWithoutTraffic(t *testing.T) {
	set, clk := newSet(t, WithDefaults(WithConsecutiveFailures(1), WithOpenTimeout(time.Hour, time.Hour), WithHalfOpen(1, 2)))
	b := set.Breaker("db")
	probed := make(chan struct{}, 1)
	b.SetProber(func(context.Context) error { signal(probed); return nil }, ProbeCloses)
	_ = b.Do(context.Background(), func(context.Context) error { return errors.New("down") })
	// Half-open at the first probe, closed after two more.
	advanceUntil(t, clk, "closed by probes alone", func() bool { return b.State() == StateClosed })
}

// TestNoProbeTrafficWhileClosed: a closed breaker runs no probe at all, and
// probing stops once the breaker has closed.
func TestNoProbeTrafficWhileClosed(t *testing.T) {
	set, clk := newSet(t, WithDefaults(WithConsecutiveFailures(1), WithOpenTimeout(time.Hour, time.Hour), WithHalfOpen(1, 1)))
	b := set.Breaker("dep")
	var probes atomic.Int64
	probed := make(chan struct{}, 1)
	b.SetProber(func(context.Context) error { probes.Add(1); signal(probed); return nil }, ProbeCloses)
	for range 100 {
		clk.Add(DefaultProbeInterval)
	}
	if n := probes.Load(); n != 0 || b.probing.Load() {
		t.Fatalf("%d probes while closed (probing %v)", n, b.probing.Load())
	}
	_ = b.Do(context.Background(), func(context.Context) error { return errors.New("down") })
	advanceUntil(t, clk, "closed by two probes", func() bool { return b.State() == StateClosed })
	// The probe goroutine sees the closed breaker at its next tick and ends.
	for deadline := time.Now().Add(5 * time.Second); b.probing.Load(); time.Sleep(time.Millisecond) {
		clk.Add(DefaultProbeInterval * 2)
		if time.Now().After(deadline) {
			t.Fatal("probing goes on after the breaker closed")
		}
	}
	n := probes.Load()
	for range 100 {
		clk.Add(DefaultProbeInterval)
	}
	if probes.Load() != n || b.State() != StateClosed {
		t.Fatalf("probes went on while closed: %d then %d", n, probes.Load())
	}
}

// TestSetCloseStopsProbes: Close ends a probe in flight and its goroutine
// (goleak in TestMain checks nothing is left).
func TestSetCloseStopsProbes(t *testing.T) {
	set, clk := newSet(t, WithDefaults(WithConsecutiveFailures(1)))
	b := set.Breaker("dep")
	started := make(chan struct{}, 1)
	b.SetProber(func(ctx context.Context) error { started <- struct{}{}; <-ctx.Done(); return ctx.Err() }, ProbeHalfOpens)
	_ = b.Do(context.Background(), func(context.Context) error { return errors.New("down") })
	probedUntil(t, clk, started, 1)
	if err := set.Close(); err != nil {
		t.Fatal(err)
	}
	if b.probing.Load() {
		t.Fatal("probing after Close")
	}
}

// TestDownstreamRetryInfoSetsTheOpenPeriod: a failure that carries the
// dependency's RetryInfo opens for that delay (capped), without advancing
// the back-off, and no probe runs before it.
func TestDownstreamRetryInfoSetsTheOpenPeriod(t *testing.T) {
	set, clk := newSet(t, WithDefaults(WithConsecutiveFailures(1), WithOpenTimeout(5*time.Second, time.Minute), WithHalfOpen(1, 1)))
	b := set.Breaker("upstream")
	var probes atomic.Int64
	b.SetProber(func(context.Context) error { probes.Add(1); return nil }, ProbeHalfOpens)
	hinted := func(d time.Duration) error {
		st, _ := status.New(codes.Unavailable, "circuit breaker downstream open").WithDetails(
			&errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
		return st.Err()
	}
	_ = b.Do(context.Background(), func(context.Context) error { return hinted(800 * time.Millisecond) })
	if s := b.Snapshot(); s.State != StateOpen || s.OpenRemaining != 800*time.Millisecond {
		t.Fatalf("after a hinted failure: %v for %v, want open for 800ms", s.State, s.OpenRemaining)
	}
	var open *OpenError
	if err := b.Do(context.Background(), func(context.Context) error { return nil }); !errors.As(err, &open) || open.RetryAfter != 800*time.Millisecond {
		t.Fatalf("rejection %v, want the downstream's 800ms passed on", err)
	}
	clk.Add(799 * time.Millisecond)
	if n := probes.Load(); n != 0 {
		t.Fatalf("%d probes before the downstream's hint ran out", n)
	}
	clk.Add(time.Millisecond)
	if err := b.Do(context.Background(), func(context.Context) error { return nil }); err != nil {
		t.Fatalf("after the hint: %v", err)
	}
	// The back-off was not advanced: a plain trip opens for the first period.
	_ = b.Do(context.Background(), func(context.Context) error { return errors.New("down") })
	if s := b.Snapshot(); s.OpenRemaining != 5*time.Second {
		t.Fatalf("plain trip after a hinted one: open for %v, want the first 5s", s.OpenRemaining)
	}
	// A hint longer than the cap is capped.
	clk.Add(5 * time.Second)
	_ = b.Do(context.Background(), func(context.Context) error { return hinted(time.Hour) })
	if s := b.Snapshot(); s.OpenRemaining != time.Minute {
		t.Fatalf("an hour's hint: open for %v, want the one-minute cap", s.OpenRemaining)
	}
}

// TestRecoveryTimeWhateverTheOutage measures, on the mock clock moved from
// one probe to the next, the time from a dependency's return to the first
// call its breaker admits, after outages of 5 s, 60 s and 5 min, with an
// open period of a minute that a failed call would double up to an hour.
// Without probes that time is whatever remains of the open period; with
// them it is at most one jittered probe interval (300 ms).
func TestRecoveryTimeWhateverTheOutage(t *testing.T) {
	for _, outage := range []time.Duration{5 * time.Second, time.Minute, 5 * time.Minute} {
		t.Run(outage.String(), func(t *testing.T) {
			armed := make(chan time.Duration, 1)
			probeArmed = func(d time.Duration) {
				select {
				case armed <- d:
				default: // half-open now: the test no longer listens
				}
			}
			t.Cleanup(func() { probeArmed = nil }) // after the set's Close, registered below
			set, clk := newSet(t, WithDefaults(WithConsecutiveFailures(1), WithOpenTimeout(time.Minute, time.Hour), WithHalfOpen(1, 1)))
			b := set.Breaker("dep")
			back := clk.Now().Add(outage)
			probed := make(chan struct{}, 1)
			b.SetProber(func(context.Context) error {
				defer signal(probed)
				if clk.Now().Before(back) {
					return errors.New("down")
				}
				return nil
			}, ProbeHalfOpens)
			_ = b.Do(context.Background(), func(context.Context) error { return errors.New("down") })
			for b.State() == StateOpen {
				select {
				case d := <-armed:
					clk.Add(d) // exactly to the next probe
					select {
					case <-probed:
					case <-time.After(5 * time.Second):
						t.Fatal("no probe after its timer fired")
					}
				case <-time.After(5 * time.Second):
					if b.State() == StateOpen {
						t.Fatal("no probe timer armed")
					}
				}
			}
			took := clk.Now().Sub(back)
			t.Logf("outage %v: calls admitted %v after the dependency returned", outage, took)
			if took < 0 || took > time.Second {
				t.Fatalf("recovery took %v, want within a second", took)
			}
		})
	}
}
