package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// Option configures [New].
type Option func(*options)

type listener struct {
	listener breaker.Listener
	kinds    []breaker.EventKind
}

type options struct {
	setOptions    []breaker.SetOption
	listeners     []listener
	serverOptions []grpc.ServerOption
	collectors    []prometheus.Collector
	health        *health.Server
}

func evaluateOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithBreakerOptions adds options to the process's breaker set. Per-method
// settings given with breaker.WithMethodDefaults sit below BREAKER_CONFIG
// (operators can change them); breaker.WithMethod sits above it (code pins
// what operators must not change).
func WithBreakerOptions(opts ...breaker.SetOption) Option {
	return func(o *options) { o.setOptions = append(o.setOptions, opts...) }
}

// WithBreakerListener adds a listener for the given kinds of breaker events
// (all kinds when none are given).
func WithBreakerListener(l breaker.Listener, kinds ...breaker.EventKind) Option {
	return func(o *options) { o.listeners = append(o.listeners, listener{l, kinds}) }
}

// WithServerOptions adds gRPC server options.
func WithServerOptions(opts ...grpc.ServerOption) Option {
	return func(o *options) { o.serverOptions = append(o.serverOptions, opts...) }
}

// WithCollectors registers more Prometheus collectors on /metrics.
func WithCollectors(cs ...prometheus.Collector) Option {
	return func(o *options) { o.collectors = append(o.collectors, cs...) }
}

// WithHealthServer makes the server report health through hs instead of a
// health server of its own. A service whose health follows its breakers
// needs this: its breaker listener must exist, holding the health server,
// before the breaker set does.
func WithHealthServer(hs *health.Server) Option {
	return func(o *options) { o.health = hs }
}
