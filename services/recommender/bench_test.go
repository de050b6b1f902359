package recommender_test

import (
	"context"
	"slices"
	"testing"
	"time"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/internal/pgtest"
)

// reportPercentiles adds p50 and p99 of the measured latencies to the
// benchmark's output, next to the mean ns/op.
func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkGetAds: healthy (AdProvider answers) against open (AdProvider
// stopped, breaker open, house ads). The degraded answer should cost no more
// than the healthy one.
func BenchmarkGetAds(b *testing.B) {
	for _, mode := range []string{"healthy", "open"} {
		b.Run(mode, func(b *testing.B) {
			e := newEnv(b, pgtest.Shared(b).NewDatabase(b), false)
			ctx := context.Background()
			if mode == "open" {
				// Trip it for real; the mock clock then keeps it open.
				e.stopAds()
				for i := 0; ; i++ {
					if _, err := e.client.GetAds(ctx, &recommenderv1.GetAdsRequest{}); err != nil {
						b.Fatal(err)
					}
					if e.breaker(b, getAdsBreaker).State == breaker.StateOpen {
						break
					}
					if i == 10 {
						b.Fatal("breaker does not open")
					}
				}
			}
			req := &recommenderv1.GetAdsRequest{ContextKeys: []string{"Pens"}, MaxAds: 3}
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				resp, err := e.client.GetAds(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				if (mode == "open") != (resp.Degraded != nil) {
					b.Fatalf("mode %s: degraded = %v", mode, resp.Degraded)
				}
				lat = append(lat, time.Since(start))
			}
			reportPercentiles(b, lat)
		})
	}
}
