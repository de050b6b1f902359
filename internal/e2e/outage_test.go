package e2e

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
)

// TestDatabaseOutage kills PostgreSQL under the running services and checks
// what callers get: breakers that opened by their own rules reject with
// CIRCUIT_OPEN and a RetryInfo (from Go, then from the Node and Python
// clients), the Recommender serves its last good recommendations, and after
// a restart both services recover by themselves.
func TestDatabaseOutage(t *testing.T) {
	s := systemFor(t)
	s.restoreBreakersAtEnd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rc := recommenderv1.NewRecommenderServiceClient(s.rec)
	ac := adproviderv1.NewAdProviderServiceClient(s.ad)

	key := &recommenderv1.ListRecommendationsRequest{Asin: "B00006IE7F", MaxResults: 6}
	good, err := rc.ListRecommendations(ctx, key)
	if err != nil {
		t.Fatalf("ListRecommendations before the outage: %v", err)
	}

	s.pg.Kill(t) // skips with TEST_DATABASE_URL: nobody kills a server they do not own
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			s.pg.Restart(t)
		}
	})

	t.Run("Recommender rejects with CIRCUIT_OPEN and RetryInfo", func(t *testing.T) {
		untilRetryInfo(ctx, t, "recommender/postgres", func() error {
			_, err := rc.GetProduct(ctx, &recommenderv1.GetProductRequest{Asin: "B00006IE7F"})
			return err
		})
	})
	t.Run("AdProvider rejects with CIRCUIT_OPEN and RetryInfo", func(t *testing.T) {
		untilRetryInfo(ctx, t, "adprovider/postgres", func() error {
			_, err := ac.GetAds(ctx, &adproviderv1.GetAdsRequest{ContextKeys: []string{"pens"}})
			return err
		})
	})
	t.Run("Recommender serves the last good recommendations", func(t *testing.T) {
		resp, err := rc.ListRecommendations(ctx, key)
		if err != nil {
			t.Fatalf("ListRecommendations: %v", err)
		}
		if got, want := asins(resp), asins(good); !slices.Equal(got, want) {
			t.Errorf("recommendations %v, want the last good %v", got, want)
		}
		if !hasDegradation(resp.GetDegraded(), "database", "last_good_answer") {
			t.Errorf("degraded = %v, want database/last_good_answer", resp.GetDegraded())
		}
	})
	t.Run("AdProvider stays SERVING", func(t *testing.T) {
		// Readiness follows what the pod can do, not the database every
		// replica shares: callers get CIRCUIT_OPEN, not a refused connection.
		resp, err := healthpb.NewHealthClient(s.ad).Check(ctx, &healthpb.HealthCheckRequest{Service: adProviderService})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %s = %v, %v; want SERVING", adProviderService, resp.GetStatus(), err)
		}
	})
	t.Run("Node client reads the RetryInfo", func(t *testing.T) {
		dir := nodeClient(t)
		if !nodeBuilt {
			if out, err := s.npm(t, dir, nil, "run", "build"); err != nil {
				t.Fatalf("npm run build: %v\n%s", err, out)
			}
			nodeBuilt = true
		}
		out, err := s.run(t, dir, []string{"BREAKWATER_DATABASE_DOWN=1"},
			"node", "--test", "--test-reporter=spec", "dist/examples/node-client/test/outage.test.js")
		if err != nil {
			t.Fatalf("node --test outage.test.js: %v\n%s", err, out)
		}
		t.Logf("node --test outage.test.js: %s", nodeSummary(out))
	})
	t.Run("Python client reads the RetryInfo", s.pythonOutage)

	s.pg.Restart(t)
	restarted = true
	if err := s.waitServing(ctx, s.ad, adProviderService); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	if err := s.waitServing(ctx, s.rec, recommenderService); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	// Breakers close after their probes succeed; until then answers may
	// still be rejections or degraded. Wait for a full answer from each of
	// Recommender's database breakers: recommendations have their own (a
	// bulkhead), GetProduct goes through recommender/postgres.
	for {
		resp, err := rc.ListRecommendations(ctx, key)
		_, perr := rc.GetProduct(ctx, &recommenderv1.GetProductRequest{Asin: "B00006IE7F"})
		if err == nil && len(resp.GetDegraded()) == 0 && perr == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no full answer after the restart: %v, %v; GetProduct: %v", resp.GetDegraded(), err, perr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// untilRetryInfo calls until the named breaker rejects the call with a
// RetryInfo. A breaker whose dependency is down cycles open → half-open →
// open: the half-open probe passes through and fails on its own, so some
// calls see other UNAVAILABLE answers first.
func untilRetryInfo(ctx context.Context, t *testing.T, breaker string, call func() error) {
	t.Helper()
	var last error
	for {
		err := call()
		st, _ := status.FromError(err)
		if err != nil && st.Code() != codes.Unavailable {
			t.Fatalf("want UNAVAILABLE while the database is down, got %v", err)
		}
		var info *errdetails.ErrorInfo
		var retry *errdetails.RetryInfo
		for _, d := range st.Details() {
			switch d := d.(type) {
			case *errdetails.ErrorInfo:
				info = d
			case *errdetails.RetryInfo:
				retry = d
			}
		}
		if info != nil && retry != nil {
			if info.GetReason() != "CIRCUIT_OPEN" || info.GetDomain() != "breakwater" || info.GetMetadata()["breaker"] != breaker {
				t.Errorf("ErrorInfo = %v, want CIRCUIT_OPEN from %s", info, breaker)
			}
			if d := retry.GetRetryDelay().AsDuration(); d <= 0 {
				t.Errorf("RetryInfo delay = %v, want > 0", d)
			}
			return
		}
		last = err
		select {
		case <-ctx.Done():
			t.Fatalf("no CIRCUIT_OPEN rejection with a RetryInfo; last answer: %v", errors.Join(last, ctx.Err()))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func asins(resp *recommenderv1.ListRecommendationsResponse) []string {
	var out []string
	for _, r := range resp.GetRecommendations() {
		out = append(out, r.GetProduct().GetAsin())
	}
	return out
}

func hasDegradation(ds []*recommenderv1.Degradation, dependency, fallback string) bool {
	for _, d := range ds {
		if d.GetDependency() == dependency && d.GetFallback() == fallback {
			return true
		}
	}
	return false
}
