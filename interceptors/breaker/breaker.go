package breaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v3"
	"google.golang.org/grpc/codes"
)

// maxTransitions bounds the transitions a snapshot remembers.
const maxTransitions = 16

// Breaker is one circuit breaker. Get one from a [Set]; it is safe for
// concurrent use.
type Breaker struct {
	name   string
	target string
	method string
	set    *Set
	cfg    Settings

	// cur is the current phase: admission reads only this pointer, so the
	// closed path takes no lock and reads no clock.
	cur        atomic.Pointer[phase]
	rejections atomic.Uint64
	prober     atomic.Pointer[proberEntry]
	probing    atomic.Bool // a probe goroutine runs

	mu          sync.Mutex // guards what follows, and every phase change
	gen         uint64
	win         window
	consecutive int
	probeWins   int // successful probes in the current half-open phase
	bo          backoff.BackOff
	totals      counters
	transitions []Transition
	// healthy is a moving average of successful calls' durations (ns), the
	// dependency's recent healthy latency that attribution measures
	// give-ups against; 0 until the first success.
	healthy int64
}

// phase is one generation of a breaker's state. A permit remembers the
// phase that admitted it, and its result counts only while that phase is
// current: a late answer from an earlier state changes nothing.
type phase struct {
	gen    uint64
	state  State
	mode   Mode
	until  int64        // open: set-clock nanoseconds when probing may start
	hinted bool         // open: until is the dependency's own RetryInfo
	probes atomic.Int32 // half-open: probes running
	rej    atomic.Pointer[OpenError]
}

type counters struct {
	successes, failures, neutral, slow, late uint64
}

// Transition is one recorded state change.
type Transition struct {
	From, To   State
	Mode       Mode
	Reason     string
	Time       time.Time
	Generation uint64
}

// Snapshot is a consistent picture of a breaker, for admin pages and
// metrics.
type Snapshot struct {
	Name       string
	Kind       Kind
	Target     string // gRPC breakers only
	Method     string // gRPC breakers only: the full method
	State      State
	Mode       Mode
	Generation uint64
	// Counted since the breaker was created.
	Successes, Failures, Neutral, Rejections, Slow uint64
	// Late results: answers that arrived after the state that admitted them
	// had ended, and were not counted.
	Late                uint64
	ConsecutiveFailures int
	// The rolling window (closed state).
	WindowCalls, WindowFailures, WindowSlow int
	LastTransition                          time.Time
	Transitions                             []Transition // oldest first, at most 16
	// OpenRemaining is the time until an open breaker admits probes.
	OpenRemaining time.Duration
}

func newBreaker(s *Set, name, target, method string, cfg Settings) *Breaker {
	b := &Breaker{name: name, target: target, method: method, set: s, cfg: cfg}
	b.win.init(cfg.Window, cfg.WindowBuckets)
	b.bo = cfg.newBackOff()
	b.bo.Reset()
	b.cur.Store(&phase{state: StateClosed, mode: ModeAuto})
	return b
}

// Name is the breaker's name: "<target><full method>" for gRPC breakers,
// as in "dns:///adprovider:8001/adprovider.v1.AdProviderService/GetAds".
func (b *Breaker) Name() string { return b.name }

// Kind labels what the breaker protects.
func (b *Breaker) Kind() Kind { return b.cfg.Kind }

// Settings are the breaker's resolved rules.
func (b *Breaker) Settings() Settings { return b.cfg }

// State is the current state, without moving an open breaker whose timeout
// has passed (see [Breaker.Snapshot] for that).
func (b *Breaker) State() State { return b.cur.Load().state }

// Mode is the current operator mode.
func (b *Breaker) Mode() Mode { return b.cur.Load().mode }

// Permit is an admitted call. Call Done exactly once with its result, or
// Release if the call was never made.
type Permit struct {
	b     *Breaker
	ph    *phase
	start int64 // set-clock nanoseconds when the call was admitted
}

// Allow admits a call or rejects it with an *[OpenError]. It is the
// two-phase form of [Breaker.Do] for work that outlives a function, such as
// rows being read. The permit's clock starts now: admit a call only when it
// is about to be sent, after any local waiting, since the elapsed time is
// what attribution judges (see the package documentation).
func (b *Breaker) Allow() (Permit, error) {
	ph := b.cur.Load()
	if ph.state == StateClosed {
		return Permit{b: b, ph: ph, start: b.set.now()}, nil
	}
	return b.allowSlow(ph)
}

func (b *Breaker) allowSlow(ph *phase) (Permit, error) {
	now := b.set.now()
	if ph.state == StateOpen {
		if ph.mode == ModeForcedOpen || now < ph.until {
			return Permit{}, b.reject(ph, now)
		}
		ph = b.halfOpen(ph, now)
		if ph.state != StateHalfOpen { // someone else moved it on
			if ph.state == StateClosed {
				return Permit{b: b, ph: ph, start: now}, nil
			}
			return Permit{}, b.reject(ph, now)
		}
	}
	for limit := int32(b.cfg.HalfOpenMaxProbes); ; {
		n := ph.probes.Load()
		if n >= limit {
			return Permit{}, b.reject(ph, now)
		}
		if ph.probes.CompareAndSwap(n, n+1) {
			return Permit{b: b, ph: ph, start: now}, nil
		}
	}
}

// reject counts the rejection and returns its error. Errors are immutable
// and shared per phase while the rounded retry delay stays the same, so a
// storm of rejections allocates about once per millisecond.
func (b *Breaker) reject(ph *phase, now int64) error {
	b.rejections.Add(1)
	retry := b.retryHint(ph, now)
	e := ph.rej.Load()
	if e == nil || e.RetryAfter != retry {
		e = &OpenError{Breaker: b.name, RetryAfter: retry, Mode: ph.mode}
		ph.rej.Store(e)
	}
	if b.set.events.wants(EventRejection) {
		b.mu.Lock() // keeps the event in order with state changes
		b.set.events.push(Event{Kind: EventRejection, Breaker: b, Time: b.set.timeAt(now),
			Generation: ph.gen, From: ph.state, To: ph.state, Mode: ph.mode, RetryAfter: retry})
		b.mu.Unlock()
	}
	return e
}

// retryHint is the RetryInfo delay of a rejection. An open breaker knows
// when it will probe. The others do not, and still answer with a hint, since
// a client told nothing tends to retry at once: a forced-open breaker stays
// open until an operator acts, so clients are told to come back after the
// first open period; a half-open breaker with every probe out learns its
// fate within the probe's call timeout.
func (b *Breaker) retryHint(ph *phase, now int64) time.Duration {
	switch {
	case ph.mode == ModeForcedOpen:
		return ceilMillis(b.cfg.OpenTimeout)
	case ph.state == StateOpen && !ph.hinted && b.hasProber():
		// The prober will know sooner than the open period says.
		return ceilMillis(min(time.Duration(ph.until-now), b.cfg.ProbeInterval))
	case ph.state == StateOpen:
		return ceilMillis(time.Duration(ph.until - now))
	default: // half-open, every probe slot taken
		return ceilMillis(min(b.cfg.Timeout, b.cfg.OpenTimeout))
	}
}

func ceilMillis(d time.Duration) time.Duration {
	if d <= 0 {
		return time.Millisecond
	}
	return (d + time.Millisecond - 1) / time.Millisecond * time.Millisecond
}

// Done judges err (the breaker's classifier, then attribution for
// deadlines and cancellations) and records it. A result is counted only if
// the state that admitted the call is still current. Done on the zero
// Permit does nothing.
func (p Permit) Done(err error) {
	if p.b == nil {
		return
	}
	p.b.record(p, err, isGiveUp(err), false, -1)
}

// Finish is Done for a call made under callCtx from [Breaker.CallContext].
// The call is a give-up when callCtx is done (whoever ended it) or err is a
// DEADLINE_EXCEEDED or CANCELLED status (the server's copy of the
// deadline); an error that merely wraps a deadline of its own (a driver's
// connect timeout) is judged by the classifier as it is. When the
// breaker's own timeout ended the call, the call had all the time
// configuration grants the dependency, so the give-up is its failure
// whatever clock measured it.
func (p Permit) Finish(callCtx context.Context, err error) {
	if p.b == nil {
		return
	}
	giveUp := err != nil && (callCtx.Err() != nil || isGiveUpStatus(err))
	// The dependency had at most until the deadline to answer: time past it
	// is this process noticing late (a starved CPU), not the dependency.
	budget := time.Duration(-1)
	if dl, ok := callCtx.Deadline(); ok && giveUp && p.b.set.clock == nil {
		budget = max(p.b.set.until(dl, p.start), 0)
	}
	p.b.record(p, err, giveUp, giveUp && context.Cause(callCtx) == ErrCallTimeout, budget)
}

// DoneWith records a verdict the caller reached itself, bypassing the
// classifier and attribution: pgbreaker counts a panic in a transaction
// function as Neutral this way.
func (p Permit) DoneWith(out Outcome, err error) {
	if p.b == nil {
		return
	}
	p.b.recordOutcome(p, out, err)
}

// Release gives the permit back without counting anything: the call was
// admitted but never made (it was shed while waiting for a local resource,
// say). In half-open it frees the probe slot. resilience4j calls this
// releasePermission.
func (p Permit) Release() {
	if p.b != nil && p.ph.state == StateHalfOpen {
		p.ph.probes.Add(-1)
	}
}

// Do runs fn if the breaker admits it, under the call deadline the breaker
// owns (see [Breaker.CallContext]), and records fn's result. A context that
// is already done is returned as its error, with fn not run and nothing
// counted; a rejection returns an *[OpenError] without running fn.
func (b *Breaker) Do(ctx context.Context, fn func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := b.Allow()
	if err != nil {
		return err
	}
	ctx, cancel := b.CallContext(ctx, p)
	err = fn(ctx)
	p.Finish(ctx, err)
	cancel()
	return err
}

func nop() {}

// CallContext gives an admitted call its deadline: the earlier of the
// caller's deadline and the permit's start plus the breaker's Timeout, so
// configuration decides how long a dependency may take whatever the
// caller's patience. With [WithDefaultTimeoutOnly] the Timeout applies only
// to a ctx without a deadline. It allocates only when it must shorten the
// deadline; call the returned cancel when the call ends.
func (b *Breaker) CallContext(ctx context.Context, p Permit) (context.Context, context.CancelFunc) {
	t := b.cfg.Timeout
	if t <= 0 {
		return ctx, nop
	}
	if dl, ok := ctx.Deadline(); ok && (b.cfg.TimeoutDefaultOnly || b.set.until(dl, p.start) <= t) {
		return ctx, nop
	}
	return context.WithTimeoutCause(ctx, t, ErrCallTimeout)
}

// ErrCallTimeout is the cause (context.Cause) of a call context that the
// breaker's timeout ended.
var ErrCallTimeout = errors.New("call exceeded its breaker timeout")

// verdict is the outcome of a finished call: the classifier's, except that a
// give-up (a deadline or a cancellation, whoever's timer or hand caused
// it) is the dependency's failure only when it had a fair chance to answer,
// and not counted otherwise. A classifier that calls a give-up a success
// is left alone. Callers hold b.mu.
func (b *Breaker) verdict(err error, elapsed time.Duration, giveUp, timedOut bool) Outcome {
	out := b.cfg.Outcome(err)
	if err == nil || out == Success || !giveUp {
		return out
	}
	if timedOut || elapsed >= b.fairChance() {
		return Failure
	}
	return Neutral
}

// fairChance is how long a dependency must have had before a give-up is
// its fault: FairChanceMultiple times its recent healthy latency, at least
// FairChance, and never more than the slow-call duration or the timeout
// (a call cut by the breaker's own timeout has had its chance by
// definition). Callers hold b.mu.
func (b *Breaker) fairChance() time.Duration {
	c := &b.cfg
	fc := time.Duration(c.FairChanceMultiple * float64(b.healthy))
	fc = max(fc, c.FairChance)
	if c.SlowCallDuration > 0 {
		fc = min(fc, c.SlowCallDuration)
	}
	if c.Timeout > 0 {
		fc = min(fc, c.Timeout)
	}
	return fc
}

// FairChance reports the time a call must have run before a deadline or a
// cancellation counts against the dependency, as things stand now.
func (b *Breaker) FairChance() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fairChance()
}

// isGiveUp reports whether err means the call was abandoned rather than
// answered: a context error, or DEADLINE_EXCEEDED or CANCELLED as a gRPC
// status (which gRPC returns for the client's own timer, and a server for
// its copy of the same deadline).
func isGiveUp(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || isGiveUpStatus(err)
}

// isGiveUpStatus reports whether err is a DEADLINE_EXCEEDED or CANCELLED
// gRPC status.
func isGiveUpStatus(err error) bool {
	var gs grpcStatuser
	if e, ok := err.(grpcStatuser); ok {
		gs = e
	} else if !errors.As(err, &gs) {
		return false
	}
	switch gs.GRPCStatus().Code() {
	case codes.DeadlineExceeded, codes.Canceled:
		return true
	}
	return false
}

// healthyWeight is the weight of a new success in the moving average of
// healthy latency: about the last sixteen successes count.
const healthyWeight = 16

// record counts err. budget, when not negative, caps the elapsed time that
// a give-up is judged by: the time the call's deadline allowed.
func (b *Breaker) record(p Permit, err error, giveUp, timedOut bool, budget time.Duration) {
	b.recordWith(p, err, func(elapsed time.Duration) Outcome {
		if budget >= 0 {
			elapsed = min(elapsed, budget)
		}
		return b.verdict(err, elapsed, giveUp, timedOut)
	})
}

func (b *Breaker) recordOutcome(p Permit, out Outcome, err error) {
	b.recordWith(p, err, func(time.Duration) Outcome { return out })
}

// recordWith counts a result whose outcome judge decides, under b.mu.
func (b *Breaker) recordWith(p Permit, err error, judge func(elapsed time.Duration) Outcome) {
	ph := p.ph
	if ph.state == StateHalfOpen {
		ph.probes.Add(-1) // the phase's own count: a late probe frees its own slot only
	}
	now := b.set.now()
	elapsed := time.Duration(now - p.start)

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur.Load() != ph {
		b.totals.late++
		return
	}
	out := judge(elapsed)
	slow := b.cfg.SlowCallRateThreshold > 0 && out != Neutral && elapsed > b.cfg.SlowCallDuration
	if out == Success && err == nil {
		if b.healthy == 0 {
			b.healthy = int64(elapsed)
		} else {
			b.healthy += (int64(elapsed) - b.healthy) / healthyWeight
		}
	}
	switch out {
	case Success:
		b.totals.successes++
	case Failure:
		b.totals.failures++
	default:
		b.totals.neutral++
	}
	if slow {
		b.totals.slow++
	}
	if b.set.events.wants(EventOutcome) {
		b.set.events.push(Event{Kind: EventOutcome, Breaker: b, Time: b.set.timeAt(now), Elapsed: elapsed,
			Generation: ph.gen, From: ph.state, To: ph.state, Mode: ph.mode, Outcome: out, Err: err, Slow: slow})
	}
	if (out == Failure || slow) && b.set.events.wants(EventFailure) {
		b.set.events.push(Event{Kind: EventFailure, Breaker: b, Time: b.set.timeAt(now), Elapsed: elapsed,
			Generation: ph.gen, From: ph.state, To: ph.state, Mode: ph.mode, Outcome: out, Err: err, Slow: slow})
	}
	if out == Neutral {
		return
	}
	switch ph.state {
	case StateClosed:
		b.win.add(now, out == Failure, slow)
		if out == Failure {
			b.consecutive++
		} else {
			b.consecutive = 0
		}
		if ph.mode == ModeAuto && (out == Failure || slow) {
			if reason := b.tripReason(now); reason != "" {
				b.open(now, reason, err)
			}
		}
	case StateHalfOpen:
		if out == Failure || slow {
			b.open(now, "probe failed", err)
			return
		}
		if b.probeWins++; b.probeWins >= b.cfg.HalfOpenSuccesses {
			b.bo.Reset()
			b.close(now, ModeAuto, "probes succeeded")
		}
	}
}

// tripReason evaluates the rules; the window is read only on failures and
// slow calls, the only results that can trip it.
// The reason names the rule and the figures that met it, for the logs.
func (b *Breaker) tripReason(now int64) string {
	c := &b.cfg
	if c.ConsecutiveFailures > 0 && b.consecutive >= c.ConsecutiveFailures {
		return fmt.Sprintf("consecutive failures: %d in a row (threshold %d)", b.consecutive, c.ConsecutiveFailures)
	}
	calls, failures, slow := b.win.sums(now)
	if calls == 0 || calls < c.MinimumCalls {
		return ""
	}
	if c.FailureRateThreshold > 0 && float64(failures) >= c.FailureRateThreshold*float64(calls) {
		return fmt.Sprintf("failure rate: %d of %d calls in %v (threshold %g)", failures, calls, c.Window, c.FailureRateThreshold)
	}
	if c.SlowCallRateThreshold > 0 && float64(slow) >= c.SlowCallRateThreshold*float64(calls) {
		return fmt.Sprintf("slow-call rate: %d of %d calls over %v in %v (threshold %g)", slow, calls, c.SlowCallDuration, c.Window, c.SlowCallRateThreshold)
	}
	return ""
}

// transition starts a new phase. Callers hold b.mu, so events queue in
// the order the phases begin.
func (b *Breaker) transition(now int64, to State, mode Mode, until int64, reason string, cause error) *phase {
	return b.begin(now, &phase{state: to, mode: mode, until: until}, reason, cause)
}

// begin publishes ph, complete but for its generation, as the current
// phase. Callers hold b.mu.
func (b *Breaker) begin(now int64, ph *phase, reason string, cause error) *phase {
	from := b.cur.Load()
	b.gen++
	ph.gen = b.gen
	to, mode := ph.state, ph.mode
	b.cur.Store(ph)
	t := Transition{From: from.state, To: to, Mode: mode, Reason: reason, Time: b.set.timeAt(now), Generation: b.gen}
	if len(b.transitions) == maxTransitions {
		copy(b.transitions, b.transitions[1:])
		b.transitions = b.transitions[:maxTransitions-1]
	}
	b.transitions = append(b.transitions, t)
	if b.set.events.wants(EventStateChange) {
		b.set.events.push(Event{Kind: EventStateChange, Breaker: b, Time: t.Time, Generation: b.gen,
			From: from.state, To: to, Mode: mode, Reason: reason, Err: cause})
	}
	return ph
}

// open starts an open period whose end is a deadline in the phase, not a
// timer: nothing can fire later and move a breaker that has since been
// reset or forced (the library's stale AfterFunc).
//
// A failure that carries the dependency's own retry hint (a RetryInfo, as
// a server whose breaker is open sends) opens for that delay, capped by
// MaxOpenTimeout, and leaves the back-off where it was: the dependency knows
// better than a doubling guess when it will answer again.
func (b *Breaker) open(now int64, reason string, cause error) {
	hint := retryHintOf(cause)
	d := min(hint, b.cfg.MaxOpenTimeout)
	if hint <= 0 {
		d = b.bo.NextBackOff()
		if d == backoff.Stop || d <= 0 {
			d = b.cfg.MaxOpenTimeout
		}
	}
	until := now + int64(d)
	if until < now { // overflow
		until = math.MaxInt64
	}
	// The window has done its work; a later forced-closed or reset phase
	// starts from nothing rather than from the failures that tripped it.
	b.win.reset()
	b.consecutive, b.probeWins = 0, 0
	b.begin(now, &phase{state: StateOpen, mode: ModeAuto, until: until, hinted: hint > 0}, reason, cause)
	b.startProbing()
}

// close starts a closed phase with an empty window.
func (b *Breaker) close(now int64, mode Mode, reason string) {
	b.win.reset()
	b.consecutive, b.probeWins = 0, 0
	b.transition(now, StateClosed, mode, 0, reason, nil)
}

// halfOpen moves an open phase whose time is up to half-open, once.
func (b *Breaker) halfOpen(ph *phase, now int64) *phase {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.halfOpenLocked(ph, now)
}

func (b *Breaker) halfOpenLocked(ph *phase, now int64) *phase {
	if cur := b.cur.Load(); cur != ph {
		return cur
	}
	b.probeWins = 0
	return b.transition(now, StateHalfOpen, ModeAuto, 0, "open timeout elapsed", nil)
}

// SetMode sets the operator mode. Forced modes stick until the next
// SetMode; going back to [ModeAuto] from forced-open probes first
// (half-open), from forced-closed it stays closed with the window it kept
// counting.
func (b *Breaker) SetMode(m Mode) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.cur.Load()
	if cur.mode == m {
		return
	}
	now := b.set.now()
	reason := "mode " + m.String()
	switch m {
	case ModeForcedOpen:
		b.probeWins = 0
		b.transition(now, StateOpen, m, 0, reason, nil)
	case ModeForcedClosed:
		b.transition(now, StateClosed, m, 0, reason, nil)
	case ModeAuto:
		if cur.mode == ModeForcedOpen {
			b.probeWins = 0
			b.transition(now, StateHalfOpen, m, 0, reason, nil)
			b.startProbing()
		} else {
			b.transition(now, StateClosed, m, 0, reason, nil)
		}
	}
}

// Reset empties the window and counters of the current state, resets the
// back-off and closes the breaker, keeping its mode (a forced-open breaker
// stays open). Calls admitted before the reset are not counted.
func (b *Breaker) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.set.now()
	b.bo.Reset()
	mode := b.cur.Load().mode
	if mode == ModeForcedOpen {
		b.win.reset()
		b.consecutive, b.probeWins = 0, 0
		b.transition(now, StateOpen, mode, 0, "reset", nil)
		return
	}
	b.close(now, mode, "reset")
}

// Snapshot returns the breaker's state and counters. An open breaker whose
// timeout has passed moves to half-open first, so what it reports is what
// the next call would see.
func (b *Breaker) Snapshot() Snapshot {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.set.now()
	ph := b.cur.Load()
	if ph.state == StateOpen && ph.mode == ModeAuto && now >= ph.until {
		ph = b.halfOpenLocked(ph, now)
	}
	s := Snapshot{
		Name: b.name, Kind: b.cfg.Kind, State: ph.state, Mode: ph.mode, Generation: ph.gen,
		Successes: b.totals.successes, Failures: b.totals.failures, Neutral: b.totals.neutral,
		Slow: b.totals.slow, Late: b.totals.late, Rejections: b.rejections.Load(),
		ConsecutiveFailures: b.consecutive,
		Transitions:         append([]Transition(nil), b.transitions...),
	}
	if b.target != "" {
		s.Target, s.Method = b.target, b.method
	}
	if ph.state == StateClosed {
		s.WindowCalls, s.WindowFailures, s.WindowSlow = b.win.sums(now)
	}
	if n := len(b.transitions); n > 0 {
		s.LastTransition = b.transitions[n-1].Time
	}
	if ph.state == StateOpen && ph.mode == ModeAuto {
		s.OpenRemaining = time.Duration(ph.until - now)
	}
	return s
}

// window is a ring of time buckets. A bucket is reused when time comes
// round to it again, so old calls age out without a ticker or goroutine.
type window struct {
	width   int64
	buckets []bucket
}

type bucket struct {
	idx                   int64
	calls, failures, slow int
}

func (w *window) init(span time.Duration, n int) {
	w.width = int64(span) / int64(n)
	w.buckets = make([]bucket, n)
	w.reset()
}

func (w *window) reset() {
	for i := range w.buckets {
		w.buckets[i] = bucket{idx: math.MinInt64}
	}
}

func (w *window) add(now int64, failed, slow bool) {
	idx := now / w.width
	bk := &w.buckets[idx%int64(len(w.buckets))]
	if bk.idx != idx {
		*bk = bucket{idx: idx}
	}
	bk.calls++
	if failed {
		bk.failures++
	}
	if slow {
		bk.slow++
	}
}

func (w *window) sums(now int64) (calls, failures, slow int) {
	idx := now / w.width
	oldest := idx - int64(len(w.buckets)) + 1
	for i := range w.buckets {
		if bk := &w.buckets[i]; bk.idx >= oldest && bk.idx <= idx {
			calls += bk.calls
			failures += bk.failures
			slow += bk.slow
		}
	}
	return calls, failures, slow
}
