package pgbreaker

import (
	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector is a prometheus.Collector of a [DB]'s pool statistics
// (pgxpool's Stat) and admission figures, read at each scrape. Every metric
// has the label pool: the name of the DB's reads breaker, and with
// [WithReadPool] also the write breaker's name for the writes' pool:
//
//	breakwater_db_pool_connections{state="acquired"|"idle"|"constructing"}  gauge
//	breakwater_db_pool_max_connections                                       gauge
//	breakwater_db_pool_acquires_total                                        counter
//	breakwater_db_pool_acquire_duration_seconds_total                        counter
//	breakwater_db_pool_empty_acquires_total      acquires that had to wait   counter
//	breakwater_db_pool_empty_acquire_wait_seconds_total                      counter
//	breakwater_db_pool_canceled_acquires_total                               counter
//	breakwater_db_pool_new_connections_total                                 counter
//	breakwater_db_pool_destroyed_connections_total{reason="max_lifetime"|"max_idle"} counter
//	breakwater_db_admission_calls{state="running"|"waiting"}                 gauge
//	breakwater_db_admission_limit                                            gauge
//	breakwater_db_admission_shed_total                                       counter
//
// Calls waiting for a connection show up as admission "waiting": admission
// holds them before pgxpool's Acquire (see [Admission]). Mean acquire time
// is rate(acquire_duration_seconds_total) / rate(acquires_total).
type PoolCollector struct {
	dbs []*DB

	conns, maxConns, acquires, acquireSeconds, emptyAcquires, emptyWait,
	canceled, newConns, destroyed, admissionCalls, admissionLimit, shed *prometheus.Desc
}

// NewPoolCollector returns a collector of dbs' pools, for a registry such as
// internal/serve's. Give one DB per pool (either view: they share it).
func NewPoolCollector(dbs ...*DB) *PoolCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName("breakwater", "db", name), help,
			append([]string{"pool"}, labels...), nil)
	}
	return &PoolCollector{
		dbs:            dbs,
		conns:          d("pool_connections", "Connections of the pool by state: acquired (in use), idle, constructing (being opened).", "state"),
		maxConns:       d("pool_max_connections", "Maximum size of the pool."),
		acquires:       d("pool_acquires_total", "Successful connection acquires from the pool."),
		acquireSeconds: d("pool_acquire_duration_seconds_total", "Total time spent in successful acquires, in seconds."),
		emptyAcquires:  d("pool_empty_acquires_total", "Successful acquires that waited for a connection to be released or opened."),
		emptyWait:      d("pool_empty_acquire_wait_seconds_total", "Total time the empty acquires waited, in seconds."),
		canceled:       d("pool_canceled_acquires_total", "Acquires whose context ended first."),
		newConns:       d("pool_new_connections_total", "Connections opened."),
		destroyed:      d("pool_destroyed_connections_total", "Connections closed by the pool for their age (max_lifetime) or idleness (max_idle).", "reason"),
		admissionCalls: d("admission_calls", "Calls admitted to the pool (running) and waiting in admission's line (waiting).", "state"),
		admissionLimit: d("admission_limit", "Calls admitted at once."),
		shed:           d("admission_shed_total", "Calls shed by admission (RESOURCE_EXHAUSTED), never sent to the database."),
	}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.conns, c.maxConns, c.acquires, c.acquireSeconds, c.emptyAcquires,
		c.emptyWait, c.canceled, c.newConns, c.destroyed, c.admissionCalls, c.admissionLimit, c.shed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	for _, db := range c.dbs {
		c.collect(ch, db.Reader(), gauge, counter)
		if w := db.Writer(); w.pool != db.Reader().pool {
			c.collect(ch, w, gauge, counter)
		}
	}
}

func (c *PoolCollector) collect(ch chan<- prometheus.Metric, db *DB, gauge, counter func(*prometheus.Desc, float64, ...string)) {
	name := db.Breaker().Name()
	st := db.Stat()
	gauge(c.conns, float64(st.AcquiredConns()), name, "acquired")
	gauge(c.conns, float64(st.IdleConns()), name, "idle")
	gauge(c.conns, float64(st.ConstructingConns()), name, "constructing")
	gauge(c.maxConns, float64(st.MaxConns()), name)
	counter(c.acquires, float64(st.AcquireCount()), name)
	counter(c.acquireSeconds, st.AcquireDuration().Seconds(), name)
	counter(c.emptyAcquires, float64(st.EmptyAcquireCount()), name)
	counter(c.emptyWait, st.EmptyAcquireWaitTime().Seconds(), name)
	counter(c.canceled, float64(st.CanceledAcquireCount()), name)
	counter(c.newConns, float64(st.NewConnsCount()), name)
	counter(c.destroyed, float64(st.MaxLifetimeDestroyCount()), name, "max_lifetime")
	counter(c.destroyed, float64(st.MaxIdleDestroyCount()), name, "max_idle")
	a := db.Admission()
	gauge(c.admissionCalls, float64(a.Running()), name, "running")
	gauge(c.admissionCalls, float64(a.Waiting()), name, "waiting")
	gauge(c.admissionLimit, float64(a.Limit()), name)
	counter(c.shed, float64(a.Shed()), name)
}
