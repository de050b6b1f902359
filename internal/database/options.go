package database

import "time"

// Option configures [Open].
type Option func(*options)

type options struct {
	connectTimeout  time.Duration
	maxConns        int32
	applicationName string
}

func evaluateOptions(opts []Option) options {
	o := options{connectTimeout: 2 * time.Second}
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
