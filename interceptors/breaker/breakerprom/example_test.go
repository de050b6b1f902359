package breakerprom_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/breaker/breakerprom"
)

func ExampleNew() {
	metrics := breakerprom.New()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics)
	set := breaker.NewSet(breaker.WithListener(metrics), breaker.WithDefaults(breaker.WithConsecutiveFailures(1)))

	b := set.Breaker("payments")
	_ = b.Do(context.Background(), func(context.Context) error { return errors.New("down") })
	_ = set.Close() // delivers the queued events

	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "breakwater_breaker_transitions_total" {
			_, _ = expfmt.MetricFamilyToText(os.Stdout, mf)
		}
	}
	fmt.Println(len(mfs), "families")
	// Output:
	// # HELP breakwater_breaker_transitions_total State changes of the breaker, resets and mode changes included.
	// # TYPE breakwater_breaker_transitions_total counter
	// breakwater_breaker_transitions_total{breaker="payments",from="closed",kind="generic",to="open"} 1
	// 8 families
}
