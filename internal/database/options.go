package database

import "time"

// Option configures [Open].
type Option func(*options)

type options struct {
	connectTimeout  time.Duration
	maxConns        int32
	applicationName string

	maxConnLifetime   time.Duration
	healthCheckPeriod time.Duration
}

// Defaults of [Open]'s pool.
const (
	DefaultMaxConnLifetime   = 15 * time.Minute
	DefaultHealthCheckPeriod = 10 * time.Second
)

func evaluateOptions(opts []Option) options {
	o := options{connectTimeout: 2 * time.Second,
		maxConnLifetime: DefaultMaxConnLifetime, healthCheckPeriod: DefaultHealthCheckPeriod}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithConnectTimeout bounds each connection attempt (default 2s; a URL's
// connect_timeout wins only when it is shorter).
func WithConnectTimeout(d time.Duration) Option { return func(o *options) { o.connectTimeout = d } }

// WithMaxConns sets the pool size (pgxpool's default when unset).
func WithMaxConns(n int32) Option { return func(o *options) { o.maxConns = n } }

// WithApplicationName names the connections in pg_stat_activity.
func WithApplicationName(name string) Option { return func(o *options) { o.applicationName = name } }

// WithMaxConnLifetime replaces connections after d (default
// [DefaultMaxConnLifetime], plus up to a tenth of jitter).
func WithMaxConnLifetime(d time.Duration) Option {
	return func(o *options) { o.maxConnLifetime = d }
}

// WithHealthCheckPeriod sets how often idle connections are checked
// (default [DefaultHealthCheckPeriod]).
func WithHealthCheckPeriod(d time.Duration) Option {
	return func(o *options) { o.healthCheckPeriod = d }
}
