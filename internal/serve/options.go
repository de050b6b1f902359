package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// Option configures [New].
type Option func(*options)

type options struct {
	setOptions    []breaker.SetOption
	serverOptions []grpc.ServerOption
	collectors    []prometheus.Collector
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

// WithServerOptions adds gRPC server options.
func WithServerOptions(opts ...grpc.ServerOption) Option {
	return func(o *options) { o.serverOptions = append(o.serverOptions, opts...) }
}

// WithCollectors registers more Prometheus collectors on /metrics.
func WithCollectors(cs ...prometheus.Collector) Option {
	return func(o *options) { o.collectors = append(o.collectors, cs...) }
}
