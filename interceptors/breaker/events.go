package breaker

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// EventKind says what an [Event] reports; kinds combine as a bit set.
type EventKind uint8

// Event kinds.
const (
	// EventCreated: a breaker was created (lazily, on its first use).
	EventCreated EventKind = 1 << iota
	// EventStateChange: a breaker's state or mode changed, or it was reset.
	EventStateChange
	// EventRejection: a call was rejected (per call; opt in).
	EventRejection
	// EventOutcome: a call's outcome was counted (per call; opt in).
	EventOutcome
	// EventFailure: a call was counted as a failure or as slow (opt in).
	// Successful calls push nothing, so it is cheap enough to keep on:
	// every failure that moves a breaker towards open can be logged.
	EventFailure
)

func (k EventKind) String() string {
	switch k {
	case EventCreated:
		return "created"
	case EventStateChange:
		return "state-change"
	case EventRejection:
		return "rejection"
	case EventOutcome:
		return "outcome"
	case EventFailure:
		return "failure"
	}
	return "mixed"
}

// Event is something that happened to a breaker. Fields not relevant to
// the kind are zero.
type Event struct {
	Kind    EventKind
	Breaker *Breaker // safe to call from a listener: no lock is held
	Time    time.Time
	// Generation counts the breaker's state changes; a listener can use it
	// to tell which state a rejection or outcome belonged to.
	Generation uint64
	// State change: From → To in Mode, and why ("failure rate: 6 of 10
	// calls in 10s (threshold 0.5)", "reset", ...).
	From, To State
	Mode     Mode
	Reason   string
	// Outcome and failure events: the outcome, the error, whether the call
	// was slow, and how long it ran. A state change to open carries the
	// error of the call that tripped it in Err.
	Outcome Outcome
	Err     error
	Slow    bool
	Elapsed time.Duration
	// Rejection events: the delay the caller was told to wait.
	RetryAfter time.Duration
}

// Listener receives events. It is called from one goroutine of the [Set],
// never under a lock, so it may call back into the breaker; a slow listener
// only delays other events and, when the buffer fills, loses some.
type Listener interface {
	OnEvent(Event)
}

// ListenerFunc adapts a function to [Listener].
type ListenerFunc func(Event)

// OnEvent calls f(e).
func (f ListenerFunc) OnEvent(e Event) { f(e) }

type listenerEntry struct {
	l     Listener
	kinds EventKind
}

// dispatcher is the set's one event goroutine. Producers push under the
// breaker's lock, so events of one breaker queue in the order they
// happened; the goroutine delivers them in queue order, holding no lock.
// Its goroutine starts with the first listener, so a set without
// listeners runs none.
type dispatcher struct {
	// listeners and kinds are replaced whole when a listener is added
	// ([Set.AddListener]) and read without a lock.
	listeners atomic.Pointer[[]listenerEntry]
	kinds     atomic.Uint32 // union of the EventKinds listeners want

	mu       sync.Mutex
	size     int // of ring, made with the first listener
	ring     []Event
	head, n  int
	dropped  uint64
	closed   bool
	started  bool // the goroutine runs
	stopping bool // close was called: no listener is added any more

	wake      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

func newDispatcher(ls []listenerEntry, size int) *dispatcher {
	if size <= 0 {
		size = DefaultEventBuffer
	}
	d := &dispatcher{
		size: size,
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	for _, l := range ls {
		d.add(l)
	}
	return d
}

// add adds a listener and starts the goroutine with the first one; false
// once the dispatcher is closing.
func (d *dispatcher) add(l listenerEntry) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopping {
		return false
	}
	var ls []listenerEntry
	if old := d.listeners.Load(); old != nil {
		ls = slices.Clone(*old)
	}
	ls = append(ls, l)
	d.listeners.Store(&ls)
	d.kinds.Or(uint32(l.kinds))
	if !d.started {
		d.started = true
		d.ring = make([]Event, d.size)
		d.wg.Add(1)
		go d.run()
	}
	return true
}

// wants is one atomic load: no lock on the call path.
func (d *dispatcher) wants(k EventKind) bool { return d != nil && d.kinds.Load()&uint32(k) != 0 }

// push never blocks: a full buffer drops the event.
func (d *dispatcher) push(e Event) {
	if d == nil {
		return
	}
	d.mu.Lock()
	if d.closed || d.n == len(d.ring) {
		d.dropped++
		d.mu.Unlock()
		return
	}
	d.ring[(d.head+d.n)%len(d.ring)] = e
	d.n++
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) run() {
	defer d.wg.Done()
	var batch []Event
	for {
		select {
		case <-d.wake:
			batch, _ = d.deliver(batch, -1)
		case <-d.done:
			// Deliver what is queued, including events listeners cause
			// while this runs (a listener that resets a breaker), within a
			// budget so a listener that always causes another event cannot
			// keep Close waiting.
			d.deliver(batch, 2*len(d.ring))
			d.mu.Lock()
			d.closed = true
			d.dropped += uint64(d.n)
			d.n = 0
			clear(d.ring)
			d.mu.Unlock()
			return
		}
	}
}

// deliver drains the queue in batches until it is empty or budget events
// (negative: no limit) have been delivered.
func (d *dispatcher) deliver(batch []Event, budget int) ([]Event, int) {
	delivered := 0
	for budget < 0 || delivered < budget {
		d.mu.Lock()
		batch = batch[:0]
		for ; d.n > 0 && (budget < 0 || delivered+len(batch) < budget); d.n-- {
			batch = append(batch, d.ring[d.head])
			d.ring[d.head] = Event{} // let errors and breakers be collected
			d.head = (d.head + 1) % len(d.ring)
		}
		d.mu.Unlock()
		if len(batch) == 0 {
			break
		}
		ls := d.listeners.Load()
		for i := range batch {
			for _, l := range *ls {
				if l.kinds&batch[i].Kind != 0 {
					l.l.OnEvent(batch[i])
				}
			}
			batch[i] = Event{}
		}
		delivered += len(batch)
	}
	return batch, delivered
}

// close delivers what is queued, then stops the goroutine; later events
// are dropped.
func (d *dispatcher) close() {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.stopping = true
		if !d.started {
			d.closed = true
		}
		d.mu.Unlock()
		close(d.done)
		d.wg.Wait()
	})
}

func (d *dispatcher) droppedEvents() uint64 {
	if d == nil {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dropped
}

// SlogListener logs events with log/slog: openings at WARN (with the rule
// that tripped and the last failure's error), other state changes at INFO,
// creation, rejections, outcomes and counted failures at DEBUG.
type SlogListener struct {
	logger *slog.Logger
}

// NewSlogListener logs to logger (slog.Default() when nil).
func NewSlogListener(logger *slog.Logger) *SlogListener {
	if logger == nil {
		logger = slog.Default()
	}
	return &SlogListener{logger: logger}
}

// OnEvent implements [Listener].
func (l *SlogListener) OnEvent(e Event) {
	ctx := context.Background()
	name, kind := "", ""
	if e.Breaker != nil {
		name, kind = e.Breaker.Name(), e.Breaker.Kind().String()
	}
	base := []slog.Attr{slog.String("breaker", name), slog.String("kind", kind)}
	switch e.Kind {
	case EventCreated:
		l.logger.LogAttrs(ctx, slog.LevelDebug, "breaker created", base...)
	case EventStateChange:
		level := slog.LevelInfo
		if e.To == StateOpen {
			level = slog.LevelWarn
		}
		attrs := append(base,
			slog.String("from", e.From.String()), slog.String("to", e.To.String()),
			slog.String("mode", e.Mode.String()), slog.String("reason", e.Reason),
			slog.Uint64("generation", e.Generation))
		if e.Err != nil {
			attrs = append(attrs, slog.String("last_error", e.Err.Error()))
		}
		l.logger.LogAttrs(ctx, level, "breaker state changed", attrs...)
	case EventRejection:
		l.logger.LogAttrs(ctx, slog.LevelDebug, "breaker rejected call", append(base,
			slog.Duration("retry_after", e.RetryAfter), slog.String("mode", e.Mode.String()))...)
	case EventOutcome, EventFailure:
		attrs := append(base, slog.String("outcome", e.Outcome.String()), slog.Bool("slow", e.Slow),
			slog.Duration("elapsed", e.Elapsed))
		if e.Err != nil {
			attrs = append(attrs, slog.String("error", e.Err.Error()))
		}
		msg := "breaker counted call"
		if e.Kind == EventFailure {
			msg = "breaker counted failure"
		}
		l.logger.LogAttrs(ctx, slog.LevelDebug, msg, attrs...)
	}
}
