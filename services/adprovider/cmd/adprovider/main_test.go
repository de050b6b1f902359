package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	breakerv1 "github.com/breakwater/breakwater/gen/go/breaker/v1"
	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/adprovider"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Wrap(m))
}

func TestLoadConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cfg, err := loadConfig(nil, env("DATABASE_URL", "postgres://a/b"), io.Discard)
	if err != nil || cfg.GRPCAddr != ":8001" || cfg.AdminAddr != ":9001" || cfg.DatabaseURL != "postgres://a/b" || cfg.AdminToken != "" {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	cfg, err = loadConfig(nil, env("DATABASE_URL", "postgres://a/b", "ADPROVIDER_DATABASE_URL", "postgres://c/d",
		"ADPROVIDER_ADDR", "127.0.0.1:9", "ADMIN_TOKEN", "t", "LOG_FORMAT", "json", "LOG_LEVEL", "debug"), io.Discard)
	if err != nil || cfg.DatabaseURL != "postgres://c/d" || cfg.GRPCAddr != "127.0.0.1:9" || cfg.AdminToken != "t" {
		t.Errorf("overrides: %+v, %v", cfg, err)
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

// TestServeStartsBeforeDatabase runs the service against a stopped
// database: it listens, reports NOT_SERVING, answers UNAVAILABLE, and once
// the database starts it migrates, loads the sample and serves, with no
// restart.
func TestServeStartsBeforeDatabase(t *testing.T) {
	srv := pgtest.Start(t)
	dbURL := srv.NewDatabase(t)
	srv.Stop(t)

	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(nil, func(k string) string {
		return map[string]string{"DATABASE_URL": dbURL, "ADMIN_TOKEN": "tok"}[k]
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- start(ctx, cfg, slog.New(slog.DiscardHandler), grpcLis, adminLis) }()
	conn, err := grpc.NewClient(grpcLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := adproviderv1.NewAdProviderServiceClient(conn)
	hc := healthpb.NewHealthClient(conn)

	checkHealth := func() healthpb.HealthCheckResponse_ServingStatus {
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: adprovider.ServiceName})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetStatus()
	}
	if st := checkHealth(); st != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health before the database: %v", st)
	}
	if _, err := client.GetAds(context.Background(), &adproviderv1.GetAdsRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("GetAds before the database: %v, want UNAVAILABLE", err)
	}

	srv.Restart(t)
	for deadline := time.Now().Add(30 * time.Second); checkHealth() != healthpb.HealthCheckResponse_SERVING; {
		if time.Now().After(deadline) {
			t.Fatal("never SERVING after the database started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := client.GetAds(context.Background(), &adproviderv1.GetAdsRequest{ContextKeys: []string{"shredder"}})
	if err != nil || len(resp.GetAds()) != 2 {
		t.Errorf("GetAds once serving: %v, %v", resp, err)
	}
	_, err = client.CreateAd(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer tok"),
		&adproviderv1.CreateAdRequest{Listing: &adproviderv1.AdListing{
			Ad:  &adproviderv1.Ad{Asin: "B0010T3QT2", Title: "Pilot G2", Price: &moneyv1.Money{CurrencyCode: "USD", Units: 10, Nanos: 490_000_000}},
			Bid: &moneyv1.Money{CurrencyCode: "USD", Nanos: 500_000_000}, Active: true,
			Keywords: []string{"gel"},
		}})
	if err != nil {
		t.Errorf("CreateAd: %v", err)
	}

	// The admin side shows the database breaker, closed again.
	resp2, err := http.Get("http://" + adminLis.Addr().String() + "/breakers.json")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if !strings.Contains(string(body), `"name":"adprovider/postgres"`) || !strings.Contains(string(body), `"name":"adprovider/postgres/write"`) ||
		!strings.Contains(string(body), "BREAKER_STATE_CLOSED") {
		t.Errorf("/breakers.json: %s", body)
	}
	// Metrics: both database breakers and the pool's figures.
	resp3, err := http.Get("http://" + adminLis.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp3.Body)
	resp3.Body.Close()
	for _, want := range []string{`breaker="adprovider/postgres/write"`, `breakwater_db_pool_acquires_total{pool="adprovider/postgres"}`,
		`breakwater_db_pool_connections{pool="adprovider/postgres",state="idle"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	list, err := breakerv1.NewBreakerAdminServiceClient(conn).ListBreakers(context.Background(), &breakerv1.ListBreakersRequest{})
	// Reads and writes have a breaker each.
	if err != nil || len(list.GetBreakers()) != 2 {
		t.Errorf("ListBreakers: %v, %v; want the reads and writes breakers", list, err)
	}
	for _, b := range list.GetBreakers() {
		if b.GetKind() != breakerv1.BreakerKind_BREAKER_KIND_DATABASE {
			t.Errorf("ListBreakers: %v is not a database breaker", b)
		}
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after cancel: %v", err)
	}
}
