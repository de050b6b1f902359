package breaker

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) OnEvent(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) get() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

func TestEventsInOrderPerBreaker(t *testing.T) {
	rec := &recorder{}
	all := &recorder{}
	set, clk := newSet(t, WithListener(rec),
		WithListener(all, EventCreated, EventStateChange, EventRejection, EventOutcome),
		WithDefaults(WithConsecutiveFailures(1), WithOpenTimeout(1, 1), WithHalfOpen(1, 1)))
	a, b := set.Breaker("a"), set.Breaker("b")
	for range 20 {
		_ = a.Do(context.Background(), fail)
		_ = b.Do(context.Background(), fail)
		_ = a.Do(context.Background(), succeed) // rejected
		clk.Add(1)
		_ = a.Do(context.Background(), succeed) // probe: closes
		_ = b.Do(context.Background(), succeed) // probe: closes
	}
	_ = set.Close() // delivers what is queued
	last := map[*Breaker]Event{}
	counts := map[EventKind]int{}
	for _, e := range rec.get() {
		counts[e.Kind]++
		if e.Kind != EventStateChange {
			continue
		}
		if p, ok := last[e.Breaker]; ok && (e.Generation != p.Generation+1 || e.From != p.To) {
			t.Fatalf("%s: %v→%v (gen %d) after %v→%v (gen %d)", e.Breaker.Name(), e.From, e.To, e.Generation, p.From, p.To, p.Generation)
		}
		last[e.Breaker] = e
	}
	// Per breaker: open, half-open, closed, 20 times.
	if counts[EventCreated] != 2 || counts[EventStateChange] != 2*3*20 || counts[EventRejection] != 0 {
		t.Fatalf("default kinds delivered %v", counts)
	}
	counts = map[EventKind]int{}
	for _, e := range all.get() {
		counts[e.Kind]++
	}
	if counts[EventRejection] != 20 || counts[EventOutcome] != 20*4 {
		t.Fatalf("all kinds delivered %v", counts)
	}
	if set.DroppedEvents() != 0 {
		t.Fatalf("dropped %d", set.DroppedEvents())
	}
}

// Listeners run outside every lock, so one that reads or resets the
// breaker from inside the callback must not deadlock (the library calls
// its hook under its own lock).
func TestListenerCallingBackDoesNotDeadlock(t *testing.T) {
	var seen []State
	var once sync.Once
	listener := ListenerFunc(func(e Event) {
		if e.Kind != EventStateChange {
			return
		}
		s := e.Breaker.Snapshot()
		seen = append(seen, s.State)
		if e.To == StateOpen {
			once.Do(e.Breaker.Reset)
		}
		e.Breaker.SetMode(e.Breaker.Mode())
	})
	set, _ := newSet(t, WithListener(listener), WithDefaults(WithConsecutiveFailures(1)))
	b := set.Breaker("dep")
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Do(context.Background(), fail)
		_ = set.Close()
	}()
	waitFor(t, "listener calling back", done)
	if b.State() != StateClosed || len(seen) != 2 {
		t.Fatalf("listener saw %v, breaker %v; want the open, then the reset", seen, b.State())
	}
}

// A listener that blocks must not hold up calls: events queue and, once
// the buffer is full, are dropped and counted.
func TestSlowListenerDoesNotSlowCalls(t *testing.T) {
	release := make(chan struct{})
	defer close(release) // before the set's cleanup closes it
	blocked := ListenerFunc(func(Event) { <-release })
	set, _ := newSet(t, WithListener(blocked, EventCreated, EventStateChange, EventRejection, EventOutcome),
		WithEventBuffer(8), WithDefaults(WithConsecutiveFailures(1)))
	b := set.Breaker("dep")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 500 {
			_ = b.Do(context.Background(), fail)    // opens
			_ = b.Do(context.Background(), succeed) // rejected
			b.Reset()
		}
	}()
	waitFor(t, "calls while the listener is stuck", done)
	if set.DroppedEvents() == 0 {
		t.Fatal("no events dropped: the listener was not stuck?")
	}
}

func TestCloseLeavesNoGoroutine(t *testing.T) {
	before := goleak.IgnoreCurrent()
	set := NewSet(WithListener(&recorder{}), WithDefaults(WithConsecutiveFailures(1)))
	b := set.Breaker("dep")
	_ = b.Do(context.Background(), fail)
	if err := set.Close(); err != nil {
		t.Fatal(err)
	}
	if err := set.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before)
	// Breakers keep working after Close; only events stop.
	b.Reset()
	if err := b.Do(context.Background(), succeed); err != nil {
		t.Fatal(err)
	}
}

// A listener added after its breaker exists hears that breaker's later
// events (the health check that follows the database breaker is made
// after it); a set without listeners runs no goroutine until one comes,
// and a closed set takes none.
func TestAddListenerAfterTheBreaker(t *testing.T) {
	before := goleak.IgnoreCurrent()
	set := NewSet(WithDefaults(WithConsecutiveFailures(1)))
	b := set.Breaker("dep")
	goleak.VerifyNone(t, before) // no listener: no goroutine
	rec := &recorder{}
	if !set.AddListener(rec, EventStateChange) {
		t.Fatal("AddListener on an open set returned false")
	}
	_ = b.Do(context.Background(), fail) // opens
	_ = set.Close()
	got := rec.get()
	if len(got) != 1 || got[0].Breaker != b || got[0].To != StateOpen {
		t.Fatalf("late listener got %v, want the one change to open of %q", got, b.Name())
	}
	if set.AddListener(&recorder{}) {
		t.Fatal("AddListener after Close returned true")
	}
	goleak.VerifyNone(t, before)
}

func TestSlogListener(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	set := NewSet(WithClock(newMockClock()), WithListener(NewSlogListener(logger), EventCreated, EventStateChange, EventRejection),
		WithDefaults(WithConsecutiveFailures(1), WithOpenTimeout(2e9, 2e9)))
	b := set.Breaker("dep", WithKind(KindDatabase))
	_ = b.Do(context.Background(), fail)
	_ = b.Do(context.Background(), succeed)
	_ = set.Close()
	want := []string{
		`level=DEBUG msg="breaker created" breaker=dep kind=database`,
		`level=WARN msg="breaker state changed" breaker=dep kind=database from=closed to=open mode=auto reason="consecutive failures: 1 in a row (threshold 1)" generation=1 last_error="rpc error: code = Unavailable desc = down"`,
		`level=DEBUG msg="breaker rejected call" breaker=dep kind=database retry_after=2s mode=auto`,
	}
	if got := strings.TrimSpace(buf.String()); got != strings.Join(want, "\n") {
		t.Fatalf("log:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
