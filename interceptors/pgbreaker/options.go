package pgbreaker

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// An Option configures a [DB].
type Option func(*options)

type options struct {
	name      string
	breakers  []breaker.Option
	writes    []breaker.Option
	readPool  *pgxpool.Pool
	admission *Admission
	noProber  bool
}

// WithoutRecoveryProbe leaves the breaker without the default recovery
// prober (a ping of the pool every probe interval while the breaker is
// open or half-open; see breaker.Breaker.SetProber), so that it waits out
// its open period and real calls probe.
func WithoutRecoveryProbe() Option {
	return func(o *options) { o.noProber = true }
}

// WithName names the pool's breaker (and so its entry in the set, its
// configuration key and its metrics). The default is "postgres/<database>"
// from the pool's connection configuration.
func WithName(name string) Option {
	return func(o *options) { o.name = name }
}

// WithTimeout sets the breaker's timeout, which caps every call (see
// breaker.WithTimeout): shorthand for WithBreakerOptions(breaker.WithTimeout(d)).
// Like every option given to the breaker at creation it comes last, after
// any configuration file, so it wins. Prefer configuration ([breaker.WithMethod] with the breaker's name, or a
// file) so that operators own the figure.
func WithTimeout(d time.Duration) Option {
	return WithBreakerOptions(breaker.WithTimeout(d))
}

// WithAdmission sets the admission control of the DB, to share one between
// DBs over the same pool (a bulkhead breaker for heavy queries beside the
// pool's main one, say). The default is NewAdmission(pool MaxConns, 0, 0).
func WithAdmission(a *Admission) Option {
	return func(o *options) { o.admission = a }
}

// WithBreakerOptions passes options to the breaker when the set creates it:
// tripping rules, half-open probes, back-off. They come after the ones
// pgbreaker sets ([breaker.WithKind] database and [breaker.WithClassifier]
// [Classify]), so they may replace the classifier too. They are ignored if
// the set already has a breaker of that name.
func WithBreakerOptions(opts ...breaker.Option) Option {
	return func(o *options) { o.breakers = append(o.breakers, opts...) }
}

// WithWriteBreakerOptions passes options to the write breaker alone, after
// those of [WithBreakerOptions].
func WithWriteBreakerOptions(opts ...breaker.Option) Option {
	return func(o *options) { o.writes = append(o.writes, opts...) }
}

// WithReadPool runs the reads view on readPool (a hot standby, or a URL
// that prefers one: target_session_attrs=prefer-standby), with an
// admission of its own as wide as readPool's MaxConns; the writes view
// stays on the pool given to [New]. Reads then go on while the primary is
// away. A standby replays the primary's commits a little later, so a read
// right after a write may not see it, unless the primary runs with
// synchronous_commit = remote_apply. The caller keeps ownership of
// readPool.
func WithReadPool(readPool *pgxpool.Pool) Option {
	return func(o *options) { o.readPool = readPool }
}
