package breaker

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
)

// Set owns breakers: one per (target, full method) for gRPC clients, one
// per name for everything else. Breakers are created on first use with the
// settings that match them; none runs a goroutine. The set runs one
// goroutine, to deliver events, and only once it has listeners.
type Set struct {
	clock  clock.Clock // nil: read the monotonic clock directly
	base   time.Time
	events *dispatcher
	probes *probeGroup // recovery probes of open breakers

	defaults   []Option
	methodDefs map[Name][]Option
	config     map[Name][]Option
	methods    map[Name][]Option

	// grpc maps (target, full method) to a breaker. It is copied on write
	// so the hot path is one atomic load and one map lookup, no lock and no
	// allocation.
	grpc atomic.Pointer[map[grpcKey]*Breaker]

	mu     sync.Mutex // serialises creation
	byName map[string]*Breaker
	closed bool
}

type grpcKey struct{ target, method string }

// NewSet returns a set configured by opts.
func NewSet(opts ...SetOption) *Set {
	var o setOptions
	for _, opt := range opts {
		opt(&o)
	}
	s := &Set{
		clock:      o.clock,
		defaults:   o.defaults,
		methodDefs: o.methodDefs,
		methods:    o.methods,
		byName:     make(map[string]*Breaker),
		probes:     newProbeGroup(),
	}
	if s.clock != nil {
		s.base = s.clock.Now()
	} else {
		s.base = time.Now()
	}
	if o.config != nil {
		s.config = make(map[Name][]Option)
		for i := range o.config.Breakers {
			e := &o.config.Breakers[i]
			opts := e.options()
			for _, n := range e.Name {
				s.config[n] = append(s.config[n], opts...)
			}
		}
	}
	s.events = newDispatcher(o.listeners, o.eventBuffer)
	m := make(map[grpcKey]*Breaker)
	s.grpc.Store(&m)
	return s
}

// now is nanoseconds since the set was made. The default reads the
// monotonic clock only (time.Since), about half the cost of time.Now.
func (s *Set) now() int64 {
	if s.clock == nil {
		return int64(time.Since(s.base))
	}
	return int64(s.clock.Since(s.base))
}

func (s *Set) timeAt(now int64) time.Time { return s.base.Add(time.Duration(now)) }

// until is the time from start (set-clock nanoseconds) to the real deadline
// dl. The default clock reads no clock for it; a mock clock's time has
// nothing to do with real deadlines, so with one it reads the real clock.
func (s *Set) until(dl time.Time, start int64) time.Duration {
	if s.clock == nil {
		return dl.Sub(s.timeAt(start))
	}
	return time.Until(dl)
}

// MethodBreaker returns the breaker the client interceptors use for calls of
// fullMethod ("/pkg.Service/Method") to target, creating it if needed.
// Interceptors create breakers on a method's first call; a service calls
// this at dial time so that operators can see, and force, every breaker
// before any traffic.
func (s *Set) MethodBreaker(target, fullMethod string) *Breaker {
	return s.grpcBreaker(target, fullMethod)
}

// grpcBreaker finds the breaker of (target, full method), creating it on
// first use.
func (s *Set) grpcBreaker(target, method string) *Breaker {
	if b := (*s.grpc.Load())[grpcKey{target, method}]; b != nil {
		return b
	}
	return s.createGRPC(target, method)
}

func (s *Set) createGRPC(target, method string) *Breaker {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := grpcKey{target, method}
	old := *s.grpc.Load()
	if b := old[k]; b != nil {
		return b
	}
	name := target + method
	if !strings.HasPrefix(method, "/") {
		name = target + "/" + method
	}
	b := s.byName[name]
	if b == nil {
		service, m := splitMethod(method)
		b = s.newBreakerLocked(name, target, method, s.resolve(KindGRPC, service, m, nil))
	}
	next := make(map[grpcKey]*Breaker, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[k] = b
	s.grpc.Store(&next)
	return b
}

// Breaker returns the breaker called name, creating it on first use with
// the settings configured for the name (an entry whose service is the name)
// and then opts. Later calls return the same breaker and ignore opts.
// Breakers made this way are [KindGeneric] unless opts say otherwise.
func (s *Set) Breaker(name string, opts ...Option) *Breaker {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.byName[name]; b != nil {
		return b
	}
	return s.newBreakerLocked(name, "", "", s.resolve(KindGeneric, name, "", opts))
}

func (s *Set) newBreakerLocked(name, target, method string, cfg Settings) *Breaker {
	now := s.now()
	b := newBreaker(s, name, target, method, cfg)
	s.byName[name] = b
	if s.events.wants(EventCreated) {
		b.mu.Lock()
		s.events.push(Event{Kind: EventCreated, Breaker: b, Time: s.timeAt(now), Mode: ModeAuto})
		b.mu.Unlock()
	}
	return b
}

// resolve applies options from least to most specific.
func (s *Set) resolve(kind Kind, service, method string, extra []Option) Settings {
	cfg := defaultSettings()
	cfg.Kind = kind
	apply := func(opts []Option) {
		for _, o := range opts {
			o(&cfg)
		}
	}
	apply(s.defaults)
	levels := []Name{{}, {Service: service}}
	if method != "" {
		levels = append(levels, Name{Service: service, Method: method})
	}
	for _, n := range levels {
		apply(s.methodDefs[n])
		apply(s.config[n])
		apply(s.methods[n])
	}
	apply(extra)
	cfg.sanitize()
	return cfg
}

// Get returns the breaker called name, if it exists.
func (s *Set) Get(name string) (*Breaker, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.byName[name]
	return b, ok
}

// Breakers returns every breaker, sorted by name.
func (s *Set) Breakers() []*Breaker {
	s.mu.Lock()
	bs := make([]*Breaker, 0, len(s.byName))
	for _, b := range s.byName {
		bs = append(bs, b)
	}
	s.mu.Unlock()
	slices.SortFunc(bs, func(a, b *Breaker) int { return strings.Compare(a.name, b.name) })
	return bs
}

// DroppedEvents counts events lost because listeners fell behind.
func (s *Set) DroppedEvents() uint64 { return s.events.droppedEvents() }

// Close stops recovery probing, delivers the events already queued and
// stops the event goroutine. Breakers keep working after Close (open ones
// wait out their open period); their events are dropped.
func (s *Set) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.probes.stop()
	s.events.close()
	return nil
}

// AddListener delivers events of the given kinds to l from now on, as
// [WithListener] does for listeners known when the set is made; without
// kinds, l gets [EventCreated] and [EventStateChange]. It lets a listener
// that needs a breaker of the set (a health check that follows the
// database breaker) be made after the breaker. Events already queued may
// reach it too; the state before it was added is on the breakers
// ([Breaker.State]). After [Set.Close] it does nothing and returns false.
func (s *Set) AddListener(l Listener, kinds ...EventKind) bool {
	return s.events.add(listenerEntry{l: l, kinds: eventKinds(kinds)})
}
