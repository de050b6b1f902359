package breaker

import (
	"time"

	"github.com/benbjohnson/clock"
	"github.com/cenkalti/backoff/v3"
	"google.golang.org/grpc/codes"
)

// Defaults of a breaker that neither code nor configuration has tuned.
const (
	DefaultTimeout              = 5 * time.Second
	DefaultWindow               = 10 * time.Second
	DefaultWindowBuckets        = 10
	DefaultFailureRateThreshold = 0.5
	DefaultMinimumCalls         = 10
	DefaultConsecutiveFailures  = 5
	DefaultOpenTimeout          = 5 * time.Second
	DefaultMaxOpenTimeout       = 60 * time.Second
	DefaultHalfOpenMaxProbes    = 1
	DefaultHalfOpenSuccesses    = 3
	DefaultEventBuffer          = 4096
	// DefaultFairChance is the least time a call must have run before a
	// deadline or cancellation counts against the dependency: below it,
	// a give-up says more about the caller's deadline than about the
	// dependency (a healthy loopback gRPC call or an indexed query takes
	// 0.1-1 ms here).
	DefaultFairChance = 10 * time.Millisecond
	// DefaultFairChanceMultiple times the dependency's recent healthy
	// latency is the other bound of a fair chance.
	DefaultFairChanceMultiple = 10
)

// Settings are the resolved rules of one breaker. [Breaker.Settings]
// returns them; [Option] values change them.
type Settings struct {
	Kind Kind
	// Timeout caps every call: its deadline is the earlier of the caller's
	// and admission + Timeout. With TimeoutDefaultOnly it is only given to
	// calls that arrive without a deadline. Zero sets no deadline.
	Timeout            time.Duration
	TimeoutDefaultOnly bool
	// A call that ends in a deadline or a cancellation counts as a failure
	// only if it ran at least max(FairChance, FairChanceMultiple × the
	// recent healthy latency), capped by SlowCallDuration and Timeout;
	// otherwise it is not counted. See "Attribution" in the package doc.
	FairChance         time.Duration
	FairChanceMultiple float64
	// Window is the span of the rolling window, cut in WindowBuckets
	// buckets; old buckets age out as time moves on.
	Window        time.Duration
	WindowBuckets int
	// The breaker trips when, in the window, at least MinimumCalls counted
	// calls were made and failures/calls ≥ FailureRateThreshold (0: off), or
	// slow/calls ≥ SlowCallRateThreshold (0: off) where slow means longer
	// than SlowCallDuration; or when ConsecutiveFailures failures came in a
	// row (0: off).
	FailureRateThreshold  float64
	MinimumCalls          int
	ConsecutiveFailures   int
	SlowCallRateThreshold float64
	SlowCallDuration      time.Duration
	// OpenTimeout is the first open period; each reopening without a close
	// in between doubles it up to MaxOpenTimeout (unless WithBackOff).
	OpenTimeout    time.Duration
	MaxOpenTimeout time.Duration
	// ProbeInterval is the mean time between recovery probes of an open
	// breaker that has a prober ([Breaker.SetProber]); ProbeTimeout bounds
	// each (and Timeout, when shorter).
	ProbeInterval time.Duration
	ProbeTimeout  time.Duration
	// HalfOpenMaxProbes concurrent probes are admitted in half-open;
	// HalfOpenSuccesses successful probes close the breaker.
	HalfOpenMaxProbes int
	HalfOpenSuccesses int
	// FallbackOnFailure serves the fallback for failure-class errors too,
	// not only for rejections.
	FallbackOnFailure bool

	classifier Classifier
	codes      codeTable
	backoff    func() backoff.BackOff
	fallback   Fallback
}

// HasFallback reports whether a fallback is set.
func (s Settings) HasFallback() bool { return s.fallback != nil }

// Outcome classifies err with these settings.
func (s Settings) Outcome(err error) Outcome {
	if s.classifier != nil {
		return s.classifier(err)
	}
	return s.codes.classify(err)
}

func defaultSettings() Settings {
	return Settings{
		Kind:                 KindGRPC,
		Timeout:              DefaultTimeout,
		Window:               DefaultWindow,
		WindowBuckets:        DefaultWindowBuckets,
		FailureRateThreshold: DefaultFailureRateThreshold,
		MinimumCalls:         DefaultMinimumCalls,
		ConsecutiveFailures:  DefaultConsecutiveFailures,
		OpenTimeout:          DefaultOpenTimeout,
		MaxOpenTimeout:       DefaultMaxOpenTimeout,
		HalfOpenMaxProbes:    DefaultHalfOpenMaxProbes,
		HalfOpenSuccesses:    DefaultHalfOpenSuccesses,
		FairChance:           DefaultFairChance,
		ProbeInterval:        DefaultProbeInterval,
		ProbeTimeout:         DefaultProbeTimeout,
		FairChanceMultiple:   DefaultFairChanceMultiple,
		codes:                defaultCodes,
	}
}

// sanitize keeps a breaker runnable whatever options it was given.
func (s *Settings) sanitize() {
	if s.Window <= 0 {
		s.Window = DefaultWindow
	}
	if s.WindowBuckets <= 0 {
		s.WindowBuckets = DefaultWindowBuckets
	}
	if s.Window/time.Duration(s.WindowBuckets) <= 0 {
		s.WindowBuckets = 1
	}
	if s.OpenTimeout <= 0 {
		s.OpenTimeout = DefaultOpenTimeout
	}
	if s.MaxOpenTimeout < s.OpenTimeout {
		s.MaxOpenTimeout = s.OpenTimeout
	}
	if s.HalfOpenMaxProbes <= 0 {
		s.HalfOpenMaxProbes = 1
	}
	if s.HalfOpenSuccesses <= 0 {
		s.HalfOpenSuccesses = 1
	}
	if s.SlowCallDuration <= 0 {
		s.SlowCallRateThreshold = 0
	}
	if s.ProbeInterval <= 0 {
		s.ProbeInterval = DefaultProbeInterval
	}
	if s.ProbeTimeout <= 0 {
		s.ProbeTimeout = DefaultProbeTimeout
	}
	if s.FairChance < 0 {
		s.FairChance = 0
	}
	if s.FairChanceMultiple < 0 {
		s.FairChanceMultiple = 0
	}
}

// newBackOff gives each breaker its own back-off: cenkalti back-offs keep
// state, so one shared between breakers (the library's option) would let
// one breaker's failures lengthen another's open time.
func (s *Settings) newBackOff() backoff.BackOff {
	if s.backoff != nil {
		if b := s.backoff(); b != nil {
			return b
		}
	}
	b := &backoff.ExponentialBackOff{
		InitialInterval: s.OpenTimeout,
		Multiplier:      2,
		MaxInterval:     s.MaxOpenTimeout,
		Clock:           backoff.SystemClock,
	}
	b.Reset()
	return b
}

// Option tunes one breaker. Options are applied in order: package
// defaults, [WithDefaults], then for each level from least to most specific
// (default, service or name, method) [WithMethodDefaults], configuration
// and [WithMethod]; then the options given to [Set.Breaker].
type Option func(*Settings)

// WithKind labels the breaker (events, snapshots, metrics).
func WithKind(k Kind) Option { return func(s *Settings) { s.Kind = k } }

// WithClassifier replaces the code table with a function of your own.
func WithClassifier(c Classifier) Option { return func(s *Settings) { s.classifier = c } }

// WithCodes sets the outcome of the given gRPC codes, on top of the default
// table (see [DefaultOutcome]).
func WithCodes(o Outcome, cs ...codes.Code) Option {
	return func(s *Settings) {
		for _, c := range cs {
			if int(c) < numCodes {
				s.codes[c] = o
			}
		}
	}
}

// WithTimeout sets how long a call may take: every call's deadline becomes
// the earlier of the caller's and the admission time + d. Zero sets no
// deadline (a caller's own still applies).
func WithTimeout(d time.Duration) Option { return func(s *Settings) { s.Timeout = d } }

// WithDefaultTimeoutOnly makes the [WithTimeout] duration a default, given
// only to calls that arrive without a deadline, instead of a cap: for
// methods whose callers legitimately wait longer (a report, an export).
func WithDefaultTimeoutOnly(on bool) Option { return func(s *Settings) { s.TimeoutDefaultOnly = on } }

// WithFairChance sets the attribution rule's bounds: a deadline or a
// cancellation counts against the dependency only after the call ran at
// least max(floor, multiple × recent healthy latency), capped by the
// slow-call duration and the timeout. Defaults: [DefaultFairChance],
// [DefaultFairChanceMultiple].
func WithFairChance(floor time.Duration, multiple float64) Option {
	return func(s *Settings) { s.FairChance, s.FairChanceMultiple = floor, multiple }
}

// WithWindow sets the rolling window: its span and the number of buckets
// it is cut into (more buckets age out old calls more smoothly).
func WithWindow(span time.Duration, buckets int) Option {
	return func(s *Settings) { s.Window, s.WindowBuckets = span, buckets }
}

// WithFailureRate trips the breaker when failures/calls ≥ rate over at
// least minCalls calls in the window; rate 0 turns the rule off.
func WithFailureRate(rate float64, minCalls int) Option {
	return func(s *Settings) { s.FailureRateThreshold, s.MinimumCalls = rate, minCalls }
}

// WithConsecutiveFailures trips the breaker after n failures in a row; 0
// turns the rule off.
func WithConsecutiveFailures(n int) Option { return func(s *Settings) { s.ConsecutiveFailures = n } }

// WithSlowCalls trips the breaker when the calls longer than over make a
// share ≥ rate of at least MinimumCalls calls in the window. It costs a
// second clock read per call, so it is off unless set.
func WithSlowCalls(rate float64, over time.Duration) Option {
	return func(s *Settings) { s.SlowCallRateThreshold, s.SlowCallDuration = rate, over }
}

// WithOpenTimeout sets the first open period and its cap; the period
// doubles at each reopening until the breaker closes again.
func WithOpenTimeout(first, max time.Duration) Option {
	return func(s *Settings) { s.OpenTimeout, s.MaxOpenTimeout, s.backoff = first, max, nil }
}

// WithBackOff sets a factory of open-period back-offs. Each breaker calls it
// once and owns the result, so stateful back-offs are never shared. A
// back-off that returns backoff.Stop opens for MaxOpenTimeout.
func WithBackOff(factory func() backoff.BackOff) Option {
	return func(s *Settings) { s.backoff = factory }
}

// WithRecoveryProbes sets the mean interval between recovery probes of an
// open breaker (jittered ±20%) and the bound on each; see
// [Breaker.SetProber]. Defaults: [DefaultProbeInterval],
// [DefaultProbeTimeout].
func WithRecoveryProbes(interval, timeout time.Duration) Option {
	return func(s *Settings) { s.ProbeInterval, s.ProbeTimeout = interval, timeout }
}

// WithHalfOpen sets how many probes may run at once in half-open and how
// many must succeed to close the breaker.
func WithHalfOpen(maxProbes, successes int) Option {
	return func(s *Settings) { s.HalfOpenMaxProbes, s.HalfOpenSuccesses = maxProbes, successes }
}

// WithFallback sets the function that answers for a gRPC method when its
// breaker rejects the call (and, with [WithFallbackOnFailure], when the call
// fails).
func WithFallback(f Fallback) Option { return func(s *Settings) { s.fallback = f } }

// WithFallbackOnFailure also serves the fallback when the call ends with a
// failure-class error.
func WithFallbackOnFailure(on bool) Option { return func(s *Settings) { s.FallbackOnFailure = on } }

type setOptions struct {
	clock       clock.Clock
	config      *Config
	defaults    []Option
	methodDefs  map[Name][]Option
	methods     map[Name][]Option
	listeners   []listenerEntry
	eventBuffer int
}

// SetOption configures a [Set].
type SetOption func(*setOptions)

// WithClock sets the clock the breakers read (tests pass a *clock.Mock).
// Without it the breakers read the monotonic clock directly, which is
// cheaper than any interface.
func WithClock(c clock.Clock) SetOption { return func(o *setOptions) { o.clock = c } }

// WithConfig applies a configuration (see [LoadConfig]).
func WithConfig(c *Config) SetOption { return func(o *setOptions) { o.config = c } }

// WithDefaults sets options for every breaker of the set, below any
// configuration.
func WithDefaults(opts ...Option) SetOption {
	return func(o *setOptions) { o.defaults = append(o.defaults, opts...) }
}

// WithMethodDefaults sets a program's own defaults for the breakers of one
// gRPC method (service and method), one service (method ""), or one named
// breaker (service = name, method ""). They apply before the configuration
// at the same specificity, so a file can change them: this is how a
// service ships tuned timeouts that operators still own.
func WithMethodDefaults(service, method string, opts ...Option) SetOption {
	return func(o *setOptions) {
		if o.methodDefs == nil {
			o.methodDefs = make(map[Name][]Option)
		}
		n := Name{Service: service, Method: method}
		o.methodDefs[n] = append(o.methodDefs[n], opts...)
	}
}

// WithMethod sets options for the breakers of one gRPC method (service and
// method), one service (method ""), or one named breaker (service = name,
// method ""). They apply after the configuration at the same specificity,
// so code wins over files; use [WithMethodDefaults] for defaults a file may
// change.
func WithMethod(service, method string, opts ...Option) SetOption {
	return func(o *setOptions) {
		if o.methods == nil {
			o.methods = make(map[Name][]Option)
		}
		n := Name{Service: service, Method: method}
		o.methods[n] = append(o.methods[n], opts...)
	}
}

// WithListener delivers events of the given kinds to l, in order per
// breaker, from one goroutine of the set and never under a lock. Without
// kinds, l gets [EventCreated] and [EventStateChange]; per-call events
// ([EventRejection], [EventOutcome]) cost every call a queue push, so they
// come only when asked for.
func WithListener(l Listener, kinds ...EventKind) SetOption {
	return func(o *setOptions) { o.listeners = append(o.listeners, listenerEntry{l: l, kinds: eventKinds(kinds)}) }
}

// eventKinds is the union of kinds, or creation and state changes when
// none are given.
func eventKinds(kinds []EventKind) EventKind {
	var k EventKind
	for _, kk := range kinds {
		k |= kk
	}
	if k == 0 {
		k = EventCreated | EventStateChange
	}
	return k
}

// WithEventBuffer bounds the events waiting for listeners; when it is
// full, new events are dropped (and counted by [Set.DroppedEvents]) rather
// than slowing a call.
func WithEventBuffer(n int) SetOption { return func(o *setOptions) { o.eventBuffer = n } }

type interceptorOptions struct {
	target      string
	healthProbe bool
}

// InterceptorOption configures a client interceptor.
type InterceptorOption func(*interceptorOptions)

// WithTarget names the target in breaker keys and names instead of
// cc.Target(), e.g. "adprovider" rather than "dns:///adprovider:8001".
func WithTarget(name string) InterceptorOption {
	return func(o *interceptorOptions) { o.target = name }
}

// WithHealthProbe gives each breaker of the interceptor a recovery prober
// ([Breaker.SetProber], [ProbeHalfOpens]) that asks the connection's
// server, with the standard grpc.health.v1 Check, whether the method's
// service is SERVING ([HealthProber]). The prober is set when the breaker
// first counts a failure, on the connection that call used.
func WithHealthProbe() InterceptorOption {
	return func(o *interceptorOptions) { o.healthProbe = true }
}
