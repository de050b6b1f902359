package deploy_test

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// TestBreakerConfig loads deploy/breakers.json with the loader the services
// run at start-up (BREAKER_CONFIG), so the file compose and Kubernetes mount
// is one the services accept, and checks that its entries select the
// breakers the services create: a name that matched nothing would be
// silently ignored.
func TestBreakerConfig(t *testing.T) {
	cfg, err := breaker.LoadConfig("breakers.json")
	if err != nil {
		t.Fatal(err)
	}
	set := breaker.NewSet(breaker.WithConfig(cfg))
	t.Cleanup(func() {
		if err := set.Close(); err != nil {
			t.Error(err)
		}
	})

	// The database breakers, by the names the services give them
	// (pgbreaker.WithName in each command).
	for _, name := range []string{"adprovider/postgres", "recommender/postgres", "recommender/postgres-recommendations"} {
		s := set.Breaker(name).Settings()
		if s.Timeout != 2*time.Second || s.ConsecutiveFailures != 3 || s.HalfOpenMaxProbes != 2 {
			t.Errorf("%s: timeout %v, consecutive failures %d, half-open probes %d; want the database entry (2s, 3, 2)",
				name, s.Timeout, s.ConsecutiveFailures, s.HalfOpenMaxProbes)
		}
	}
	// Anything else gets the default entry.
	if s := set.Breaker("some/other").Settings(); s.Timeout != 5*time.Second || s.MinimumCalls != 10 {
		t.Errorf("default entry: timeout %v, minimum calls %d; want 5s, 10", s.Timeout, s.MinimumCalls)
	}

	// The GetAds entry names the method Recommender calls.
	var getAds bool
	for _, e := range cfg.Breakers {
		for _, n := range e.Name {
			if n == (breaker.Name{Service: "adprovider.v1.AdProviderService", Method: "GetAds"}) {
				getAds = true
			}
		}
	}
	if !getAds {
		t.Error("no entry for adprovider.v1.AdProviderService/GetAds")
	}
}

// TestBreakerConfigKustomizeCopy: kustomize reads no file outside its
// directory, so kubernetes/ holds a copy of breakers.json for its
// configMapGenerator; the two must not drift.
func TestBreakerConfigKustomizeCopy(t *testing.T) {
	want := readFile(t, "breakers.json")
	got := readFile(t, "kubernetes", "breakers.json")
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from breakers.json: cp deploy/breakers.json deploy/kubernetes/breakers.json",
			filepath.Join("kubernetes", "breakers.json"))
	}
}
