package e2e

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
)

// benchSys is the system the replica benchmarks share across -count runs:
// three AdProvider replicas, the usual Recommender dialling all three, and
// a second Recommender dialling the first replica only. withSystem stops it.
var (
	benchOnce sync.Once
	benchSys  *system
	benchOne  *grpc.ClientConn // the Recommender of one replica
	benchErr  error
)

func replicaBenchSystem(b *testing.B) (*system, *grpc.ClientConn) {
	b.Helper()
	if testing.Short() {
		b.Skip("e2e: builds and starts the services and PostgreSQL; skipped with -short")
	}
	benchOnce.Do(func() {
		var reps []*replica
		benchSys, reps, benchErr = startReplicatedSystem(3)
		if benchErr != nil {
			return
		}
		ports, err := freePorts(2)
		if err != nil {
			benchErr = err
			return
		}
		env := append(benchSys.env(), "RECOMMENDER_ADDR="+ports[0], "RECOMMENDER_ADMIN_ADDR="+ports[1],
			"ADPROVIDER_TARGET="+reps[0].addr)
		if benchErr = benchSys.startAs("recommender-one-replica", "recommender", env); benchErr != nil {
			return
		}
		if benchOne, benchErr = grpc.NewClient(ports[0], grpc.WithTransportCredentials(insecure.NewCredentials())); benchErr != nil {
			return
		}
		benchSys.conns = append(benchSys.conns, benchOne)
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		benchErr = benchSys.waitServing(ctx, benchOne, recommenderService)
	})
	if benchErr != nil {
		b.Fatalf("starting the system: %v\n%s", benchErr, benchSys.logs.since(0))
	}
	return benchSys, benchOne
}

// BenchmarkGetAdsReplicas: GetAds through a Recommender process, with one
// AdProvider replica behind it and with three (real processes sharing one
// PostgreSQL), side by side, from concurrent callers: throughput (calls/s),
// p50 and p99, and the share of house ads (which should be 0).
func BenchmarkGetAdsReplicas(b *testing.B) {
	s, one := replicaBenchSystem(b)
	for _, c := range []struct {
		name string
		conn *grpc.ClientConn
	}{{"replicas=1", one}, {"replicas=3", s.rec}} {
		b.Run(c.name, func(b *testing.B) {
			client := recommenderv1.NewRecommenderServiceClient(c.conn)
			req := &recommenderv1.GetAdsRequest{ContextKeys: []string{"pens"}, MaxAds: 2}
			var mu sync.Mutex
			var lat []time.Duration
			var house int
			b.SetParallelism(8) // 8 × GOMAXPROCS callers
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				var myHouse int
				for pb.Next() {
					t0 := time.Now()
					resp, err := client.GetAds(context.Background(), req)
					mine = append(mine, time.Since(t0))
					if err != nil {
						b.Error(err)
						return
					}
					if len(resp.GetDegraded()) > 0 {
						myHouse++
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				house += myHouse
				mu.Unlock()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			if len(lat) == 0 {
				return
			}
			slices.Sort(lat)
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "calls/s")
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
			b.ReportMetric(100*float64(house)/float64(len(lat)), "house-ads-%")
		})
	}
}
