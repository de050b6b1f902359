package breakerprom

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// Metrics is a breaker.Listener and a prometheus.Collector.
type Metrics struct {
	transitions *prometheus.CounterVec
	state       *prometheus.Desc
	mode        *prometheus.Desc
	remaining   *prometheus.Desc
	rejections  *prometheus.Desc
	calls       *prometheus.Desc
	slow        *prometheus.Desc
	late        *prometheus.Desc

	mu       sync.Mutex
	breakers []*breaker.Breaker // in creation order
	known    map[*breaker.Breaker]bool
}

var (
	_ breaker.Listener     = (*Metrics)(nil)
	_ prometheus.Collector = (*Metrics)(nil)
)

type options struct {
	namespace   string
	constLabels prometheus.Labels
}

// Option configures [New].
type Option func(*options)

// WithNamespace replaces the metric namespace ("breakwater").
func WithNamespace(ns string) Option { return func(o *options) { o.namespace = ns } }

// WithConstLabels adds labels to every metric (a service name, say).
func WithConstLabels(l prometheus.Labels) Option { return func(o *options) { o.constLabels = l } }

// New returns metrics for the breakers whose events it receives.
func New(opts ...Option) *Metrics {
	o := options{namespace: "breakwater"}
	for _, opt := range opts {
		opt(&o)
	}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(o.namespace, "breaker", name), help,
			append([]string{"breaker", "kind"}, labels...), o.constLabels)
	}
	return &Metrics{
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: o.namespace, Subsystem: "breaker", Name: "transitions_total",
			Help:        "State changes of the breaker, resets and mode changes included.",
			ConstLabels: o.constLabels,
		}, []string{"breaker", "kind", "from", "to"}),
		state:      desc("state", "1 for the breaker's current state, 0 for the others.", "state"),
		mode:       desc("mode", "1 for the breaker's current operator mode, 0 for the others.", "mode"),
		remaining:  desc("open_remaining_seconds", "Time until an open breaker admits probes."),
		rejections: desc("rejections_total", "Calls rejected by the breaker."),
		calls:      desc("calls_total", "Calls counted by the breaker, by outcome.", "outcome"),
		slow:       desc("slow_calls_total", "Calls slower than the breaker's slow-call duration."),
		late:       desc("late_results_total", "Results that arrived after the state that admitted them had ended, not counted."),
		known:      make(map[*breaker.Breaker]bool),
	}
}

// OnEvent implements breaker.Listener: it learns breakers from their
// creation and counts transitions.
func (m *Metrics) OnEvent(e breaker.Event) {
	if e.Breaker == nil {
		return
	}
	m.remember(e.Breaker)
	if e.Kind == breaker.EventStateChange {
		m.transitions.WithLabelValues(e.Breaker.Name(), e.Breaker.Kind().String(), e.From.String(), e.To.String()).Inc()
	}
}

func (m *Metrics) remember(b *breaker.Breaker) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.known[b] {
		m.known[b] = true
		m.breakers = append(m.breakers, b)
	}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.transitions.Describe(ch)
	for _, d := range []*prometheus.Desc{m.state, m.mode, m.remaining, m.rejections, m.calls, m.slow, m.late} {
		ch <- d
	}
}

var (
	states = []breaker.State{breaker.StateClosed, breaker.StateHalfOpen, breaker.StateOpen}
	modes  = []breaker.Mode{breaker.ModeAuto, breaker.ModeForcedOpen, breaker.ModeForcedClosed}
)

// Collect implements prometheus.Collector, reading a snapshot of every
// breaker.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.transitions.Collect(ch)
	m.mu.Lock()
	bs := append([]*breaker.Breaker(nil), m.breakers...)
	m.mu.Unlock()
	for _, b := range bs {
		s := b.Snapshot()
		name, kind := s.Name, s.Kind.String()
		for _, st := range states {
			ch <- prometheus.MustNewConstMetric(m.state, prometheus.GaugeValue, one(s.State == st), name, kind, st.String())
		}
		for _, md := range modes {
			ch <- prometheus.MustNewConstMetric(m.mode, prometheus.GaugeValue, one(s.Mode == md), name, kind, md.String())
		}
		ch <- prometheus.MustNewConstMetric(m.remaining, prometheus.GaugeValue, s.OpenRemaining.Seconds(), name, kind)
		ch <- prometheus.MustNewConstMetric(m.rejections, prometheus.CounterValue, float64(s.Rejections), name, kind)
		ch <- prometheus.MustNewConstMetric(m.calls, prometheus.CounterValue, float64(s.Successes), name, kind, breaker.Success.String())
		ch <- prometheus.MustNewConstMetric(m.calls, prometheus.CounterValue, float64(s.Failures), name, kind, breaker.Failure.String())
		ch <- prometheus.MustNewConstMetric(m.calls, prometheus.CounterValue, float64(s.Neutral), name, kind, breaker.Neutral.String())
		ch <- prometheus.MustNewConstMetric(m.slow, prometheus.CounterValue, float64(s.Slow), name, kind)
		ch <- prometheus.MustNewConstMetric(m.late, prometheus.CounterValue, float64(s.Late), name, kind)
	}
}

func one(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
