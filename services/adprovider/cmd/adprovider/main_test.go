package main

import (
	"context"
	"log/slog"
	"net"
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
	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/adprovider"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Wrap(m))
}

func TestConfigFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cfg, err := configFromEnv(env("DATABASE_URL", "postgres://a/b"))
	if err != nil || cfg.addr != ":8001" || cfg.databaseURL != "postgres://a/b" || cfg.adminToken != "" {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	cfg, err = configFromEnv(env("DATABASE_URL", "postgres://a/b", "ADPROVIDER_DATABASE_URL", "postgres://c/d",
		"ADPROVIDER_ADDR", "127.0.0.1:9", "ADMIN_TOKEN", "t", "LOG_FORMAT", "json", "LOG_LEVEL", "debug"))
	if err != nil || cfg.databaseURL != "postgres://c/d" || cfg.addr != "127.0.0.1:9" || cfg.adminToken != "t" {
		t.Errorf("overrides: %+v, %v", cfg, err)
	}
	for name, getenv := range map[string]func(string) string{
		"no database":    env(),
		"bad log format": env("DATABASE_URL", "postgres://a/b", "LOG_FORMAT", "xml"),
		"bad log level":  env("DATABASE_URL", "postgres://a/b", "LOG_LEVEL", "loud"),
	} {
		if _, err := configFromEnv(getenv); err == nil {
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

	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, config{
			addr:        "127.0.0.1:0",
			databaseURL: dbURL,
			adminToken:  "tok",
			logger:      slog.New(slog.DiscardHandler),
			onListen:    func(a net.Addr) { addrs <- a },
		})
	}()
	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	conn, err := grpc.NewClient(addr.String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
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

	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve after cancel: %v", err)
	}
}
