package pgbreaker

import (
	"time"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// An Option configures a [DB].
type Option func(*options)

type options struct {
	name     string
	timeout  time.Duration
	breakers []breaker.Option
}

// WithName names the pool's breaker (and so its entry in the set, its
// configuration key and its metrics). The default is "postgres/<database>"
// from the pool's connection configuration.
func WithName(name string) Option {
	return func(o *options) { o.name = name }
}

// WithTimeout sets the deadline given to every call whose context has none.
// The default is the breaker's own default timeout ([breaker.WithTimeout],
// configuration, or [breaker.DefaultTimeout]); a negative value leaves such
// calls without a deadline, which defeats the breaker's view of a hung
// database and is meant for tests only.
func WithTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout = d }
}

// WithBreakerOptions passes options to the breaker when the set creates it:
// tripping rules, half-open probes, back-off. They come after the ones
// pgbreaker sets ([breaker.WithKind] database and [breaker.WithClassifier]
// [Classify]), so they may replace the classifier too. They are ignored if
// the set already has a breaker of that name.
func WithBreakerOptions(opts ...breaker.Option) Option {
	return func(o *options) { o.breakers = append(o.breakers, opts...) }
}
