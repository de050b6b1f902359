package breaker

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

func loadTestConfig(t *testing.T) *Config {
	t.Helper()
	c, err := LoadConfig("testdata/breakers.json")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConfigPrecedence(t *testing.T) {
	set, _ := newSet(t,
		WithConfig(loadTestConfig(t)),
		WithDefaults(WithTimeout(9*time.Second), WithHalfOpen(4, 4)), // below the file
		WithMethod("adprovider.v1.AdProviderService", "ListAds", WithTimeout(100*time.Millisecond)),
	)
	const target = "dns:///adprovider:8001"
	getAds := set.grpcBreaker(target, "/adprovider.v1.AdProviderService/GetAds").Settings()
	listAds := set.grpcBreaker(target, "/adprovider.v1.AdProviderService/ListAds").Settings()
	createAd := set.grpcBreaker(target, "/adprovider.v1.AdProviderService/CreateAd").Settings()
	other := set.grpcBreaker(target, "/recommender.v1.RecommenderService/GetProduct").Settings()
	db := set.Breaker("recommender-db", WithKind(KindDatabase)).Settings()
	named := set.Breaker("other", WithTimeout(time.Hour)).Settings()

	for _, c := range []struct {
		name      string
		got, want any
	}{
		// method > service > default
		{"GetAds timeout (method)", getAds.Timeout, 300 * time.Millisecond},
		{"GetAds consecutive (service)", getAds.ConsecutiveFailures, 3},
		{"GetAds minimum calls (default)", getAds.MinimumCalls, 20},
		{"GetAds slow rate (method)", getAds.SlowCallRateThreshold, 0.8},
		{"GetAds slow duration", getAds.SlowCallDuration, 200 * time.Millisecond},
		{"GetAds fallback on failure", getAds.FallbackOnFailure, true},
		{"GetAds NOT_FOUND (method)", getAds.Outcome(errCode(codes.NotFound)), Failure},
		{"GetAds RESOURCE_EXHAUSTED (service)", getAds.Outcome(errCode(codes.ResourceExhausted)), Neutral},
		{"GetAds UNAVAILABLE (table)", getAds.Outcome(errCode(codes.Unavailable)), Failure},
		// code beats file at the same level
		{"ListAds timeout (code, method)", listAds.Timeout, 100 * time.Millisecond},
		{"ListAds consecutive (service)", listAds.ConsecutiveFailures, 3},
		{"CreateAd timeout (service)", createAd.Timeout, 500 * time.Millisecond},
		{"CreateAd NOT_FOUND", createAd.Outcome(errCode(codes.NotFound)), Success},
		{"CreateAd fallback on failure", createAd.FallbackOnFailure, false},
		// file beats WithDefaults
		{"other service timeout (default entry)", other.Timeout, 2 * time.Second},
		{"other service probes (default entry)", other.HalfOpenMaxProbes, 1},
		{"other service open timeout", other.OpenTimeout, time.Second},
		{"other service max open timeout", other.MaxOpenTimeout, 30 * time.Second},
		{"other service kind", other.Kind, KindGRPC},
		// named breakers match an entry by service = name
		{"db timeout", db.Timeout, 1500 * time.Millisecond},
		{"db probes", db.HalfOpenMaxProbes, 2},
		{"db kind", db.Kind, KindDatabase},
		{"named: opts beat everything", named.Timeout, time.Hour},
		{"named kind", named.Kind, KindGeneric},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	for name, in := range map[string]string{
		"unknown field":          `{"breakers":[{"name":[{}],"failureRate":0.5}]}`,
		"method without service": `{"breakers":[{"name":[{"method":"M"}]}]}`,
		"duplicate name":         `{"breakers":[{"name":[{"service":"s"}]},{"name":[{"service":"s"}]}]}`,
		"no name":                `{"breakers":[{"timeout":"1s"}]}`,
		"bad duration":           `{"breakers":[{"name":[{}],"timeout":"soon"}]}`,
		"numeric duration":       `{"breakers":[{"name":[{}],"timeout":1}]}`,
		"rate over 1":            `{"breakers":[{"name":[{}],"failureRateThreshold":1.5}]}`,
		"negative count":         `{"breakers":[{"name":[{}],"minimumCalls":-1}]}`,
		"bad code":               `{"breakers":[{"name":[{}],"failureCodes":["BROKEN"]}]}`,
	} {
		if _, err := ParseConfig([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := LoadConfig("testdata/missing.json"); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
}

func TestDurationJSON(t *testing.T) {
	var d Duration
	if err := json.Unmarshal([]byte(`"1.5s"`), &d); err != nil || time.Duration(d) != 1500*time.Millisecond {
		t.Fatalf("%v %v", d, err)
	}
	b, _ := json.Marshal(Duration(300 * time.Millisecond))
	if string(b) != `"0.3s"` {
		t.Fatalf("marshal %s", b)
	}
}

// TestMethodDefaultsAreBelowTheFile: a program's own per-method defaults
// apply where the file says nothing and give way where it does, at every
// level; WithMethod still beats the file.
func TestMethodDefaultsAreBelowTheFile(t *testing.T) {
	cfg, err := ParseConfig([]byte(`{"breakers": [
	  {"name": [{"service": "svc", "method": "Slow"}], "timeout": "0.1s"},
	  {"name": [{"service": "app/postgres"}], "consecutiveFailures": 7}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	set, _ := newSet(t, WithConfig(cfg),
		WithMethodDefaults("svc", "Slow", WithTimeout(300*time.Millisecond), WithConsecutiveFailures(4)),
		WithMethodDefaults("app/postgres", "", WithTimeout(2*time.Second), WithConsecutiveFailures(3)),
		WithMethod("svc", "Fast", WithTimeout(50*time.Millisecond)),
	)
	slow := set.MethodBreaker("t", "/svc/Slow").Settings()
	db := set.Breaker("app/postgres").Settings()
	fast := set.MethodBreaker("t", "/svc/Fast").Settings()
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"file's timeout beats the program default", slow.Timeout, 100 * time.Millisecond},
		{"program default where the file is silent", slow.ConsecutiveFailures, 4},
		{"named breaker: program timeout", db.Timeout, 2 * time.Second},
		{"named breaker: file's rule", db.ConsecutiveFailures, 7},
		{"WithMethod", fast.Timeout, 50 * time.Millisecond},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestConfigUnmatched: the names that select no breaker are reported, in
// file order; the default name, a method's breaker, a service's methods and
// a named breaker all count as matched.
func TestConfigUnmatched(t *testing.T) {
	c, err := ParseConfig([]byte(`{"breakers": [
	  {"name": [{}], "timeout": "1s"},
	  {"name": [{"service": "adprovider.v1.AdProviderService", "method": "GetAds"},
	            {"service": "adprovider.v1.AdProviderService", "method": "GetAdz"}], "timeout": "0.3s"},
	  {"name": [{"service": "adprovider.v1.AdProviderService"}, {"service": "adprovider.v1.AdProvider"}], "timeout": "2s"},
	  {"name": [{"service": "adprovider/postgres"}, {"service": "adprovider/postgress"}], "timeout": "2s"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	set, _ := newSet(t, WithConfig(c))
	set.MethodBreaker("adprovider", "/adprovider.v1.AdProviderService/GetAds")
	set.Breaker("adprovider/postgres")
	got := c.Unmatched(set.Breakers())
	want := []Name{
		{Service: "adprovider.v1.AdProviderService", Method: "GetAdz"},
		{Service: "adprovider.v1.AdProvider"},
		{Service: "adprovider/postgress"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Unmatched = %v, want %v", got, want)
	}
	if got := c.Unmatched(nil); len(got) != 6 {
		t.Fatalf("with no breakers, every named entry is unmatched: %v", got)
	}
}
