package recommender_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/recommender"
)

func isHouseAds(ads []*adproviderv1.Ad) bool {
	house := recommender.HouseAds()
	if len(ads) != 3 {
		return false
	}
	for i, ad := range ads {
		if !proto.Equal(ad, house[i]) {
			return false
		}
	}
	return true
}

func degradedOnly(t *testing.T, got []*recommenderv1.Degradation, dependency string, reasons ...string) string {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("degraded = %v, want one entry for %s", got, dependency)
	}
	d := got[0]
	fallback := recommender.FallbackHouseAds
	if dependency == recommender.DependencyDatabase {
		fallback = recommender.FallbackLastGoodAnswer
	}
	ok := false
	for _, r := range reasons {
		ok = ok || d.Reason == r
	}
	if d.Dependency != dependency || d.Fallback != fallback || !ok {
		t.Errorf("degraded = %v, want %s/%s with a reason in %v", d, dependency, fallback, reasons)
	}
	return d.Reason
}

// TestGetAdsFallback: AdProvider stopped, hanging or failing gives house ads
// marked degraded; after a few failures the breaker opens and rejects without
// calling AdProvider; once AdProvider is back, a probe closes the breaker and
// real ads return.
func TestGetAdsFallback(t *testing.T) {
	tests := []struct {
		name    string
		fail    func(e *env)
		recover func(t *testing.T, e *env)
		reasons []string
	}{
		{
			name: "stopped",
			fail: func(e *env) { e.stopAds() },
			recover: func(t *testing.T, e *env) {
				_, e.stopAds = serveOn(t, e.adsAddr, func(s *grpc.Server) {
					adproviderv1.RegisterAdProviderServiceServer(s, e.fake)
				})
				e.waitAdsReady(t)
			},
			// Refused connections are UNAVAILABLE; a connect still pending at
			// the deadline is DEADLINE_EXCEEDED.
			reasons: []string{"unavailable", "deadline_exceeded"},
		},
		{
			name:    "hanging",
			fail:    func(e *env) { e.fake.set(hang) },
			recover: func(_ *testing.T, e *env) { e.fake.set(realAds) },
			reasons: []string{"deadline_exceeded"},
		},
		{
			name: "erroring",
			fail: func(e *env) {
				e.fake.set(func(context.Context, *adproviderv1.GetAdsRequest) (*adproviderv1.GetAdsResponse, error) {
					return nil, status.Error(codes.Internal, "boom")
				})
			},
			recover: func(_ *testing.T, e *env) { e.fake.set(realAds) },
			reasons: []string{"internal"},
		},
	}
	srv := pgtest.Shared(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, srv.NewDatabase(t), false)
			ctx := testContext(t)
			getAds := func() *recommenderv1.GetAdsResponse {
				t.Helper()
				resp, err := e.client.GetAds(ctx, &recommenderv1.GetAdsRequest{ContextKeys: []string{"Pens"}})
				if err != nil {
					t.Fatalf("GetAds: %v", err)
				}
				return resp
			}
			if resp := getAds(); len(resp.Ads) != 1 || resp.Degraded != nil {
				t.Fatalf("healthy GetAds = %v, want the real ad", resp)
			}

			tt.fail(e)
			for i := 0; e.breaker(t, getAdsBreaker).State != breaker.StateOpen; i++ {
				if i == 10 {
					t.Fatalf("breaker still %v after %d failures", e.breaker(t, getAdsBreaker).State, i)
				}
				resp := getAds()
				if !isHouseAds(resp.Ads) {
					t.Errorf("failing GetAds ads = %v, want the house ads", resp.Ads)
				}
				degradedOnly(t, resp.Degraded, recommender.DependencyAdProvider, tt.reasons...)
			}

			// Open: rejected before AdProvider is called.
			calls := e.fake.calls.Load()
			for range 3 {
				resp := getAds()
				if !isHouseAds(resp.Ads) {
					t.Errorf("open GetAds ads = %v, want the house ads", resp.Ads)
				}
				degradedOnly(t, resp.Degraded, recommender.DependencyAdProvider, recommender.ReasonCircuitOpen)
			}
			if got := e.fake.calls.Load(); got != calls {
				t.Errorf("AdProvider called %d times while the breaker was open", got-calls)
			}
			if snap := e.breaker(t, getAdsBreaker); snap.Rejections < 3 {
				t.Errorf("rejections = %d, want at least 3", snap.Rejections)
			}

			// Back: the probe after the open period closes the breaker.
			tt.recover(t, e)
			e.clock.Add(openFor + 1)
			resp := getAds()
			if len(resp.Ads) != 1 || !proto.Equal(resp.Ads[0], sponsored) || resp.Degraded != nil {
				t.Errorf("GetAds after recovery = %v, want the real ad, not degraded", resp)
			}
			if s := e.breaker(t, getAdsBreaker).State; s != breaker.StateClosed {
				t.Errorf("breaker %v after a good probe, want closed", s)
			}
		})
	}
}

// TestAdsInvalidArgument: AdProvider refusing a request is the caller's
// mistake, not an outage: the breaker does not move, GetAds passes the code
// on, and ListRecommendations serves house ads beside good recommendations.
func TestAdsInvalidArgument(t *testing.T) {
	e := newEnv(t, pgtest.Shared(t).NewDatabase(t), true)
	e.fake.set(func(context.Context, *adproviderv1.GetAdsRequest) (*adproviderv1.GetAdsResponse, error) {
		return nil, status.Error(codes.InvalidArgument, "context key too long")
	})
	ctx := testContext(t)
	for range 10 {
		_, err := e.client.GetAds(ctx, &recommenderv1.GetAdsRequest{ContextKeys: []string{"Pens"}})
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("GetAds: %v, want INVALID_ARGUMENT", err)
		}
	}
	resp, err := e.client.ListRecommendations(ctx, &recommenderv1.ListRecommendationsRequest{Asin: "B0010T3QT2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Recommendations) != 10 {
		t.Errorf("%d recommendations, want 10", len(resp.Recommendations))
	}
	degradedOnly(t, resp.Degraded, recommender.DependencyAdProvider, "invalid_argument")
	for _, ad := range resp.Ads {
		if ad.Asin == "B0010T3QT2" {
			t.Errorf("house ads show the product being viewed")
		}
	}
	snap := e.breaker(t, getAdsBreaker)
	if snap.State != breaker.StateClosed || snap.Failures != 0 || snap.ConsecutiveFailures != 0 {
		t.Errorf("breaker after INVALID_ARGUMENT: %v, %d failures; want closed, none", snap.State, snap.Failures)
	}
}
