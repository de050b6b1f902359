// Package breakerprom exports the breakers of a breaker.Set as Prometheus
// metrics. It lives apart from package breaker so that programs which do
// not use Prometheus do not link client_golang.
//
// # Sections
//
// Usage, metrics, cost.
//
// # Usage
//
// A [Metrics] is both a breaker.Listener and a prometheus.Collector:
//
//	m := breakerprom.New()
//	prometheus.MustRegister(m)
//	set := breaker.NewSet(breaker.WithListener(m))
//
// # Metrics
//
// Labels name the breaker (breaker, kind) and never anything from a
// request.
//
//	breakwater_breaker_state{breaker,kind,state}              1 for the current state, 0 for the others
//	breakwater_breaker_mode{breaker,kind,mode}                1 for the current mode, 0 for the others
//	breakwater_breaker_open_remaining_seconds{breaker,kind}   time until an open breaker probes
//	breakwater_breaker_transitions_total{breaker,kind,from,to}
//	breakwater_breaker_rejections_total{breaker,kind}
//	breakwater_breaker_calls_total{breaker,kind,outcome}      outcome: success, failure, neutral
//	breakwater_breaker_slow_calls_total{breaker,kind}
//	breakwater_breaker_late_results_total{breaker,kind}       results that arrived after their state ended
//
// # Cost
//
// Nothing is done per call. Transitions are counted from state-change
// events; everything else is read from breaker snapshots when Prometheus
// scrapes, so per-call events need not be enabled.
package breakerprom
