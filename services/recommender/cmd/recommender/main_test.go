package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	breakerv1 "github.com/breakwater/breakwater/gen/go/breaker/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/recommender"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Wrap(m))
}

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(nil, env("DATABASE_URL", "postgres://a/b"), io.Discard)
	if err != nil || cfg.GRPCAddr != ":8000" || cfg.AdminAddr != ":9000" || cfg.adProviderTarget != "localhost:8001" || cfg.DatabaseURL != "postgres://a/b" {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	cfg, err = loadConfig(nil, env("DATABASE_URL", "postgres://a/b", "RECOMMENDER_DATABASE_URL", "postgres://c/d",
		"RECOMMENDER_ADDR", "127.0.0.1:9", "ADPROVIDER_TARGET", "ads:1", "LOG_FORMAT", "json",
		"RECOMMENDER_DATABASE_READ_URL", "postgres://standby/d"), io.Discard)
	if err != nil || cfg.DatabaseURL != "postgres://c/d" || cfg.GRPCAddr != "127.0.0.1:9" || cfg.adProviderTarget != "ads:1" ||
		cfg.databaseReadURL != "postgres://standby/d" {
		t.Errorf("overrides: %+v, %v", cfg, err)
	}
	cfg, err = loadConfig([]string{"-adprovider", "ads:2", "-addr", ":7"}, env("DATABASE_URL", "postgres://a/b", "ADPROVIDER_TARGET", "ads:1"), io.Discard)
	if err != nil || cfg.adProviderTarget != "ads:2" || cfg.GRPCAddr != ":7" {
		t.Errorf("flags: %+v, %v", cfg, err)
	}
	for name, getenv := range map[string]func(string) string{
		"no database":    env(),
		"bad log format": env("DATABASE_URL", "postgres://a/b", "LOG_FORMAT", "xml"),
		"bad log level":  env("DATABASE_URL", "postgres://a/b", "LOG_LEVEL", "loud"),
	} {
		if _, err := loadConfig(nil, getenv, io.Discard); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestServe starts the service on an empty database with AdProvider absent:
// it migrates, loads the sample catalog, turns SERVING, answers with house
// ads, and stops cleanly when its context ends.
func TestServe(t *testing.T) {
	cfg, err := loadConfig(nil, env("DATABASE_URL", pgtest.Shared(t).NewDatabase(t), "LOG_LEVEL", "error",
		"ADPROVIDER_TARGET", "127.0.0.1:1"), io.Discard) // nothing listens on port 1
	if err != nil {
		t.Fatal(err)
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var serveErr error
	wg.Go(func() { serveErr = start(ctx, cfg, grpcLis, adminLis) })
	defer func() {
		cancel()
		wg.Wait()
		if serveErr != nil {
			t.Errorf("serve: %v", serveErr)
		}
	}()
	conn, err := grpc.NewClient(grpcLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// Health streams its changes: wait for SERVING as an event.
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	watch, err := healthpb.NewHealthClient(conn).Watch(wctx, &healthpb.HealthCheckRequest{Service: serviceName})
	if err != nil {
		t.Fatal(err)
	}
	for {
		resp, err := watch.Recv()
		if err != nil {
			t.Fatalf("health watch: %v", err)
		}
		if resp.Status == healthpb.HealthCheckResponse_SERVING {
			break
		}
	}
	wcancel()

	c := recommenderv1.NewRecommenderServiceClient(conn)
	if _, err := c.GetProduct(ctx, &recommenderv1.GetProductRequest{Asin: "B0010T3QT2"}); err != nil {
		t.Errorf("GetProduct of a sample product: %v", err)
	}
	ads, err := c.GetAds(ctx, &recommenderv1.GetAdsRequest{})
	if err != nil || len(ads.Ads) != 3 || len(ads.Degraded) != 1 || ads.Degraded[0].Fallback != recommender.FallbackHouseAds {
		t.Errorf("GetAds without AdProvider = %v, %v; want house ads, degraded", ads, err)
	}

	// Both breakers are listed by the admin service and on the admin page.
	list, err := breakerv1.NewBreakerAdminServiceClient(conn).ListBreakers(ctx, &breakerv1.ListBreakersRequest{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[breakerv1.BreakerKind]bool{}
	names := map[string]bool{}
	for _, b := range list.GetBreakers() {
		kinds[b.GetKind()] = true
		names[b.GetName()] = true
	}
	if !names[dbBreakerName] || !names[rankBreakerName] {
		t.Errorf("ListBreakers = %v; want %s and the bulkhead %s", list, dbBreakerName, rankBreakerName)
	}
	if !kinds[breakerv1.BreakerKind_BREAKER_KIND_DATABASE] || !kinds[breakerv1.BreakerKind_BREAKER_KIND_GRPC_METHOD] {
		t.Errorf("ListBreakers = %v; want the database breaker and the GetAds breaker", list)
	}
	resp, err := http.Get("http://" + adminLis.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `breakwater_breaker_state{breaker="recommender/postgres"`) ||
		!strings.Contains(string(body), `breakwater_breaker_state{breaker="recommender/postgres-recommendations"`) || !strings.Contains(string(body), "grpc_client_handled_total") {
		t.Errorf("/metrics lacks breaker or gRPC client metrics")
	}
}

// TestImportCommand imports CSV files with a malformed row: the row is
// reported with its line and skipped, the rest imported, and a re-run adds
// nothing.
func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	products := filepath.Join(dir, "meta_office.csv")
	reviews := filepath.Join(dir, "office_both_set.csv")
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(products, "asin,title,description,imUrl,related,salesRank,categories,brand,price\n"+
		"B000000001,Pen,,,,,\"[['Office Products', 'Pens']]\",Pilot,1.50\n"+
		"B000000002,Broken,,,\"{'also_bought': [\",,,,\n"+
		"B000000003,Pad,,,,{'Office Products': 7},\"[['Office Products', 'Paper']]\",Mead,\n")
	write(reviews, "reviewerID,asin,reviewerName,helpful,reviewText,overall,summary,unixReviewTime,reviewTime\n"+
		"A1,B000000001,Ann,\"[1, 2]\",Good,5.0,Good,1405555200,\"07 17, 2014\"\n"+
		"A1,B000000003,Ann,\"[0, 0]\",Ok,3.0,Ok,1405555200,\"07 17, 2014\"\n")
	url := pgtest.Shared(t).NewDatabase(t)
	for run := range 2 {
		var out bytes.Buffer
		err := runImport(context.Background(), []string{"--products", products, "--reviews", reviews, "--database-url", url},
			env(), &out)
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, out.String())
		}
		for _, want := range []string{"skipped products line 3", "imported 2 products and 2 reviews", "reviews: 2 rows read, 2 written, 0 skipped, done",
			"rebuilt the recommendation tables"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("run %d output lacks %q:\n%s", run, want, out.String())
			}
		}
	}
	// The import deferred the recommendation tables and rebuilt them: A1
	// co-reviewed the two products, (5−1)·(3−1) = 8 each way.
	pool, err := database.Open(context.Background(), url, schema)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var pairs, score int64
	if err := pool.QueryRow(context.Background(), `SELECT count(*), sum(score) FROM co_reviews`).Scan(&pairs, &score); err != nil || pairs != 2 || score != 16 {
		t.Errorf("co_reviews after the import: %d rows, scores %d (%v); want 2 rows of 8", pairs, score, err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"rebuild", "--database-url", url}, env(), &out); err != nil ||
		!strings.Contains(out.String(), "rebuild: swapped") {
		t.Errorf("recommender rebuild: %v\n%s", err, out.String())
	}
	if err := runImport(context.Background(), nil, env(), io.Discard); err == nil {
		t.Error("import with no files: no error")
	}
}

// hungAdProvider answers no GetAds: each call waits until its context ends,
// after reporting how long its deadline gave it.
type hungAdProvider struct {
	adproviderv1.UnimplementedAdProviderServiceServer
	deadlines chan time.Duration
}

func (h *hungAdProvider) GetAds(ctx context.Context, _ *adproviderv1.GetAdsRequest) (*adproviderv1.GetAdsResponse, error) {
	d, ok := ctx.Deadline()
	if !ok {
		h.deadlines <- -1
	} else {
		h.deadlines <- time.Until(d)
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestBreakerConfigTimeoutIsTheCallsDeadline: the GetAds timeout in
// BREAKER_CONFIG (100 ms) is the deadline AdProvider sees, although the
// caller allows 5 s and the code default is 300 ms, and a hung AdProvider
// turns into house ads.
func TestBreakerConfigTimeoutIsTheCallsDeadline(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "breakers.json")
	if err := os.WriteFile(cfgFile, []byte(`{"breakers": [
	  {"name": [{"service": "adprovider.v1.AdProviderService", "method": "GetAds"}], "timeout": "0.1s"}
	]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	hung := &hungAdProvider{deadlines: make(chan time.Duration, 1)}
	adsLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adsSrv := grpc.NewServer()
	adproviderv1.RegisterAdProviderServiceServer(adsSrv, hung)
	go func() { _ = adsSrv.Serve(adsLis) }()
	defer adsSrv.Stop()

	cfg, err := loadConfig(nil, env("DATABASE_URL", pgtest.Shared(t).NewDatabase(t), "LOG_LEVEL", "error",
		"ADPROVIDER_TARGET", adsLis.Addr().String(), "BREAKER_CONFIG", cfgFile), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = start(ctx, cfg, grpcLis, nil) })
	defer func() { cancel(); wg.Wait() }()
	conn, err := grpc.NewClient(grpcLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	callCtx, callCancel := context.WithTimeout(ctx, 5*time.Second)
	defer callCancel()
	start := time.Now()
	resp, err := recommenderv1.NewRecommenderServiceClient(conn).GetAds(callCtx, &recommenderv1.GetAdsRequest{MaxAds: 2})
	elapsed := time.Since(start)
	if err != nil || len(resp.GetDegraded()) != 1 || resp.GetDegraded()[0].GetReason() != "deadline_exceeded" {
		t.Fatalf("GetAds with AdProvider hung: %v, %v; want house ads, deadline_exceeded", resp, err)
	}
	if d := <-hung.deadlines; d <= 0 || d > 100*time.Millisecond {
		t.Fatalf("AdProvider saw a deadline %v away, want at most the configured 100 ms", d)
	}
	start = time.Now()
	if _, err := recommenderv1.NewRecommenderServiceClient(conn).GetAds(callCtx, &recommenderv1.GetAdsRequest{MaxAds: 2}); err != nil {
		t.Fatal(err)
	}
	<-hung.deadlines
	t.Logf("house ads after %v, then %v on an established connection (configured GetAds timeout 100 ms; code default %v)",
		elapsed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), recommender.GetAdsTimeout)
}
