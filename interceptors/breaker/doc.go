// Package breaker provides per-method circuit breakers for gRPC clients,
// and the same breakers for any other work (a database pool, say), built on
// the model of github.com/mercari/go-circuitbreaker but owning every rule
// where the library is unsound.
//
// A [Set] owns the breakers. [UnaryClientInterceptor] and
// [StreamClientInterceptor] put every call of a connection through the
// breaker of its (target, method):
//
//	set := breaker.NewSet(breaker.WithConfig(cfg), breaker.WithListener(breaker.NewSlogListener(nil)))
//	defer set.Close()
//	conn, err := grpc.NewClient(target,
//		grpc.WithUnaryInterceptor(breaker.UnaryClientInterceptor(set)),
//		grpc.WithStreamInterceptor(breaker.StreamClientInterceptor(set)))
//
// Work that is not gRPC uses a named breaker: [Set.Breaker] with
// [Breaker.Do], or [Breaker.Allow] and [Permit.Done] for work that outlives
// a function.
//
// # Sections
//
// Keys, config, classification, attribution, deadlines, tripping,
// half-open, open, modes, events, fallback, layering with retries, cost,
// and what is kept from mercari/go-circuitbreaker.
//
// # Keys
//
// There is one breaker per (target, full method), named
// "<target>/<service>/<method>" with the target as the connection reports
// it (cc.Target(), e.g. "dns:///adprovider:8001"), or as [WithTarget]
// names it. Two connections to two targets never share a breaker, nor do
// two methods. Breakers are created on first use ([Set.MethodBreaker] creates
// one ahead of traffic, so operators can see and force it); finding one takes no lock
// and no allocation (a per-interceptor cache compares the method and target
// strings by pointer, then a copy-on-write map). Named breakers
// ([Set.Breaker]) are for everything else: one per database pool, say.
//
// # Config
//
// Configuration has the shape of a gRPC service config (see [Config]): a
// list of entries, each naming the methods it applies to with
// name: [{service, method}]. An entry with service and method applies to
// that method, one with a service only to every method of the service (and
// to the named breaker of that name), and name: [{}] to everything. The
// most specific entry wins, field by field. Durations are strings such as
// "1.5s". Load a file with [LoadConfig] and pass it with [WithConfig];
// set the same things in code with [WithDefaults] (below the file) and
// [WithMethod] (above the file at the same specificity); options given to
// [Set.Breaker] come last. Each breaker resolves its [Settings] once, when
// it is created, and owns its back-off: [WithBackOff] takes a factory,
// never an instance, because a back-off has state.
//
// # Classification
//
// Every result is a [Success], a [Failure] or [Neutral] (not counted). The
// breaker decides, never the caller's context: with the default table,
// UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN and
// DATA_LOSS are failures; CANCELLED is neutral; every other code is a
// success because the dependency answered. Plain errors follow suit:
// context.Canceled is neutral, context.DeadlineExceeded a failure, anything
// else a failure. Wrapped errors are looked through. Per method,
// [WithCodes] (or failureCodes, successCodes and neutralCodes in the file)
// moves codes; [WithClassifier] replaces the table. Deadlines and
// cancellations then pass the attribution rule.
//
// # Attribution
//
// A timeout says as much about the caller's patience as about the
// dependency, so the breaker blames the dependency only for what the
// dependency did, by one rule that the gRPC interceptors, [Breaker.Do] and
// the database breaker (package pgbreaker) share:
//
//  1. A call whose context is already done when it would be sent is not
//     sent and not counted: the dependency never saw it.
//  2. A call that ends in a give-up (DEADLINE_EXCEEDED or CANCELLED,
//     context.DeadlineExceeded or context.Canceled, whoever's timer or hand
//     caused it: the caller's deadline, the caller's cancel, the server's
//     copy of the deadline, the breaker's own timeout) is a failure if the
//     dependency had a fair chance to answer, and is not counted otherwise.
//     The verdict depends on the time the call ran, never on which side's
//     timer fired first; and the time judged is at most what the call's
//     deadline allowed, since time past it is this process noticing late
//     (a starved CPU), not the dependency being slow.
//  3. A fair chance is max(FairChance, FairChanceMultiple × the
//     dependency's recent healthy latency), capped by the slow-call
//     duration (when set) and by the timeout; defaults 10 ms and 10×. The
//     healthy latency is a moving average over about the last sixteen
//     successful calls. A call ended by the breaker's own timeout has had
//     its chance by definition ([ErrCallTimeout]).
//  4. Waiting before the call (a pool's queue, an admission line) is not
//     the dependency's time: admit with [Breaker.Allow] only when the call
//     is about to be sent, and give back a permit that was never used with
//     [Permit.Release]. pgbreaker sheds calls that wait too long with
//     RESOURCE_EXHAUSTED, never counted.
//
// So 100 callers with 1 ms deadlines against a dependency that answers in
// 0.2 ms open nothing (1 ms is under the 10 ms floor), while a dependency
// that hangs trips the breaker even when every caller sends a 1 s deadline
// and cancels on time: 1 s is far above ten times its healthy latency. A
// classifier that calls a give-up a success is left alone.
//
// # Deadlines
//
// The breaker owns each call's deadline ([Breaker.CallContext]): the
// method's Timeout ([WithTimeout], "timeout"; [DefaultTimeout] unless set)
// caps every call, so the call's deadline is the earlier of the caller's
// and admission + Timeout. Configuration therefore decides how long a
// dependency may take, whatever the caller's patience, and handlers set no
// timeouts of their own. [WithDefaultTimeoutOnly] ("timeoutDefaultOnly")
// makes the Timeout a default for calls without a deadline instead, for
// methods whose callers legitimately wait longer. A call whose caller's
// deadline is already the earlier one costs no allocation; cutting a later
// one costs a context.WithTimeoutCause. Streams, being long-lived, get no
// deadline.
//
// # Tripping
//
// Outcomes are counted in a rolling window: [Settings.WindowBuckets] time
// buckets spanning [Settings.Window]. A bucket is reused when time comes
// round to it, so old results age out without a ticker and without a
// goroutine per breaker. A closed breaker trips when, in the window, at
// least MinimumCalls counted calls were made and the failure rate reaches
// FailureRateThreshold, or the share of calls slower than SlowCallDuration
// reaches SlowCallRateThreshold; or when ConsecutiveFailures failures come
// in a row. The rules are checked only when a failure or a slow call is
// recorded, the only results that can make them true. Nine failures a
// second at 100% failure trip the failure-rate rule at its tenth call, a
// little over a second in; the library, whose counters a ticker wipes every
// second, never trips on them.
//
// # Half-open
//
// An open breaker admits probes once its open period is over: at most
// HalfOpenMaxProbes at a time, the rest rejected at once. HalfOpenSuccesses
// successful probes close it; a failed (or slow) probe opens it again for a
// longer period (the back-off doubles from OpenTimeout up to
// MaxOpenTimeout, and resets when the breaker closes).
//
// Every state change starts a new generation, and a call is counted only
// by the generation that admitted it: a late answer from before a
// transition (a call admitted while closed that fails after the breaker
// has gone open and half-open) changes nothing, and a late probe frees only
// its own generation's slot. [Snapshot.Late] counts them.
//
// # Open
//
// An open breaker rejects in well under a microsecond, without touching
// the network, with an *[OpenError]: errors.Is(err, [ErrOpen]) holds, and
// as a gRPC status it is UNAVAILABLE with an ErrorInfo (reason
// CIRCUIT_OPEN, domain breakwater, metadata breaker=<name>) and a RetryInfo
// with the time left, so callers never see UNKNOWN and a server that
// returns the error passes the details on. The open period is a deadline
// held in the generation, not a timer: nothing fires later, so a reset or a
// mode change can never be undone by a stale timer, and an open breaker
// moves to half-open when the next call (or [Breaker.Snapshot]) finds its
// time is up.
//
// # Recovery
//
// An open breaker waits out its open period (doubling at each reopening) as
// an upper bound only. With a prober ([Breaker.SetProber]) it asks the
// dependency, out of band, every ProbeInterval (250 ms, jittered ±20%, one
// probe at a time, each under ProbeTimeout), and half-opens at the first
// answer, so recovery takes about one probe interval whatever the outage
// (TestRecoveryTimeWhateverTheOutage: 60-230 ms after outages of 5 s, 1 min
// and 5 min). [HealthProber] asks a gRPC server's grpc.health.v1 Check on
// the same connection ([WithHealthProbe] installs it); package pgbreaker
// pings the pool. Probes run only while a breaker is open (and half-open
// with [ProbeCloses], where they are the probe calls, so an idle breaker
// closes too); a closed breaker has no goroutine and sends nothing;
// [Set.Close] stops them. While a prober is set, a rejection's RetryInfo
// is the time to the next probe rather than the whole open period.
//
// The connection is part of recovery: a half-open call, and every health
// probe, first resets the channel's connect back-off (ResetConnectBackoff)
// and waits for the connection (WaitForReady, within the call's deadline),
// so a probe meets the dependency, not a stale TRANSIENT_FAILURE from the
// outage. Silent connections are the channel's keepalive's to find.
//
// A failure that carries the dependency's own RetryInfo (a server whose
// breaker is open says when it expects to answer) opens the breaker for
// that delay, capped by MaxOpenTimeout, without advancing the back-off and
// without probing before it: the dependency knows better than a doubling
// guess.
//
// # Modes
//
// [Breaker.SetMode] sets an operator mode, which sticks until the next
// SetMode: [ModeForcedOpen] rejects everything; [ModeForcedClosed] admits
// everything and keeps counting but never trips; [ModeAuto] resumes (from
// forced open by probing, from forced closed with what it counted).
// [Breaker.Reset] empties the window and the back-off and closes the
// breaker, keeping the mode; calls admitted before it are not counted.
//
// # Events
//
// Listeners ([WithListener], or [Set.AddListener] for one made after the
// breaker it follows) receive [Event] values: creation and state
// changes by default, rejections and outcomes per call when asked for.
// [EventFailure] carries each call counted as a failure or slow, with its
// error and duration, and costs nothing on successes, so every failure
// that moves a breaker towards open can be logged; a change to open
// carries the rule that tripped it, with its figures, and the last
// failure's error. Events of one breaker arrive in the order they happened. They are queued
// under the breaker's lock, in a bounded buffer that never blocks, and
// delivered by the set's one goroutine with no lock held, so a listener may
// call back into the breaker (the library runs its hook under its lock,
// where reading the state deadlocks), and a slow listener delays only other
// events: when the buffer is full, events are dropped and counted
// ([Set.DroppedEvents]) rather than slowing a call. [Set.Close] delivers
// what is queued and stops the goroutine. [SlogListener] logs events; the
// breakerprom sub-package exports Prometheus metrics, so that importers of
// this package do not link client_golang.
//
// # Fallback
//
// [WithFallback] sets, per method, a function that fills the reply when
// the breaker rejects the call, and with [WithFallbackOnFailure] (or
// "fallbackOnFailure": true) when the call fails with a failure-class
// error. A reply served by a fallback carries the header
// [FallbackHeader] ("x-breakwater-fallback") naming the breaker; ask for
// it with the grpc.Header call option and read it with [FallbackServed]:
//
//	var header metadata.MD
//	resp, err := client.GetAds(ctx, req, grpc.Header(&header))
//	if by, ok := breaker.FallbackServed(header); ok { /* house ads, from breaker by */ }
//
// Streams have no fallback.
//
// # Layering with retries
//
// A timeout interceptor, if you use one, belongs inside the breaker
// (chained after it), so the breaker sees the deadline it sets; better,
// let the breaker's Timeout be the only one.
//
// gRPC's own retries (a retry policy in the service config) run inside the
// invoker, that is inside the breaker: the breaker sees the final outcome
// of the call after its retries, once, and a retry storm against a dead
// dependency counts as one failure per call. A rejection happens before
// the invoker, so an open breaker is never retried by gRPC; callers that
// retry themselves should honour the RetryInfo.
//
// # Cost
//
// On a closed breaker the interceptor takes no allocation (unless it must
// cut the caller's deadline) and reads the clock twice: at admission, for
// the call's elapsed time that attribution and the slow-call rule judge,
// and when the call ends, to find the window bucket; a rejection reads it once, for the retry delay, and
// shares one immutable error per generation and millisecond of delay. The
// clock is the monotonic clock read directly unless [WithClock] gives
// another (tests give a *clock.Mock from github.com/benbjohnson/clock).
// BenchmarkUnaryClientInterceptor compares the interceptor with the raw
// library's Do in the same run.
//
// # Relation to mercari/go-circuitbreaker
//
// What the library does soundly is kept: its three-state model and its
// parameters (an open period from a cenkalti back-off's NextBackOff at each
// opening, Reset when the breaker closes; a number of half-open successes
// to close), its clock abstraction (github.com/benbjohnson/clock), its
// default back-off library (github.com/cenkalti/backoff/v3), and its
// ErrOpen, which an *OpenError matches too. Its CircuitBreaker type is not
// wrapped, because every rule above would have to work around it rather
// than through it: its open state arms a clock AfterFunc that moves the
// breaker to half-open even after a reset or a forced state (a timer
// that has fired waits on the lock, then wins); its half-open state admits
// every call; its state-change hook runs under its lock, so the only safe
// hook could not read the breaker; its Done guesses from the caller's
// context and matches Ignore and MarkAsSuccess by type assertion; its
// counters are wiped by a ticker goroutine per breaker; it counts late
// results; and every admission takes its lock. Left with none of that, a
// wrapper would hold only its state field, behind its lock. So the state
// machine is ours, and the benchmark keeps the library as the yardstick.
package breaker
