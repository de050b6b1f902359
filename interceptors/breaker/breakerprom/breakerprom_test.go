package breakerprom_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/goleak"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/breaker/breakerprom"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMetrics(t *testing.T) {
	m := breakerprom.New(breakerprom.WithConstLabels(prometheus.Labels{"service": "recommender"}))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	clk := clock.NewMock()
	set := breaker.NewSet(breaker.WithClock(clk), breaker.WithListener(m),
		breaker.WithDefaults(breaker.WithConsecutiveFailures(2), breaker.WithOpenTimeout(4*time.Second, 4*time.Second)))
	db := set.Breaker("db", breaker.WithKind(breaker.KindDatabase))
	ctx := context.Background()
	_ = db.Do(ctx, func(context.Context) error { return nil })
	_ = db.Do(ctx, func(context.Context) error { return context.Canceled })
	for range 3 { // two failures trip it, the third is rejected
		_ = db.Do(ctx, func(context.Context) error { return errors.New("down") })
	}
	clk.Add(time.Second)
	_ = set.Close() // delivers the events

	want := `# HELP breakwater_breaker_calls_total Calls counted by the breaker, by outcome.
# TYPE breakwater_breaker_calls_total counter
breakwater_breaker_calls_total{breaker="db",kind="database",outcome="failure",service="recommender"} 2
breakwater_breaker_calls_total{breaker="db",kind="database",outcome="neutral",service="recommender"} 1
breakwater_breaker_calls_total{breaker="db",kind="database",outcome="success",service="recommender"} 1
# HELP breakwater_breaker_open_remaining_seconds Time until an open breaker admits probes.
# TYPE breakwater_breaker_open_remaining_seconds gauge
breakwater_breaker_open_remaining_seconds{breaker="db",kind="database",service="recommender"} 3
# HELP breakwater_breaker_rejections_total Calls rejected by the breaker.
# TYPE breakwater_breaker_rejections_total counter
breakwater_breaker_rejections_total{breaker="db",kind="database",service="recommender"} 1
# HELP breakwater_breaker_state 1 for the breaker's current state, 0 for the others.
# TYPE breakwater_breaker_state gauge
breakwater_breaker_state{breaker="db",kind="database",service="recommender",state="closed"} 0
breakwater_breaker_state{breaker="db",kind="database",service="recommender",state="half-open"} 0
breakwater_breaker_state{breaker="db",kind="database",service="recommender",state="open"} 1
# HELP breakwater_breaker_transitions_total State changes of the breaker, resets and mode changes included.
# TYPE breakwater_breaker_transitions_total counter
breakwater_breaker_transitions_total{breaker="db",from="closed",kind="database",service="recommender",to="open"} 1
`
	if got := gather(t, reg, "calls_total", "open_remaining_seconds", "rejections_total", "state", "transitions_total"); got != want {
		t.Fatalf("metrics:\n%s\nwant:\n%s", got, want)
	}
	problems, err := promlint.NewWithMetricFamilies(mustGather(t, reg)).Lint()
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}

func mustGather(t *testing.T, reg *prometheus.Registry) []*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// gather renders the named families (without the breakwater_breaker_
// prefix) in the text format; the registry sorts families and series.
func gather(t *testing.T, reg *prometheus.Registry, names ...string) string {
	t.Helper()
	var b strings.Builder
	for _, mf := range mustGather(t, reg) {
		for _, n := range names {
			if mf.GetName() == "breakwater_breaker_"+n {
				if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
	}
	return b.String()
}
