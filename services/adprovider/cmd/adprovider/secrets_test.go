package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/internal/secrettest"
	"github.com/breakwater/breakwater/internal/serve"
	"github.com/breakwater/breakwater/services/adprovider"
)

// TestNoSecretInLogs runs the service at debug level (so every record of
// every level is written) once per connection-string form, over TLS, with
// the admin token, through a database that is down at start, comes up, is
// killed with -9 while serving and comes back, and checks every log line,
// and `-h`'s output, for the password, the token and the TLS key.
func TestNoSecretInLogs(t *testing.T) {
	const token = "Tok-3b8d2a-NOT-IN-LOGS"
	srv := pgtest.Start(t)
	base := srv.NewDatabase(t)
	certFile, keyFile, keyPEM := secrettest.TLS(t)
	creds := secrettest.ClientTLS(t, certFile)

	for form, dsn := range secrettest.Forms(t, base) {
		t.Run(form, func(t *testing.T) {
			var log secrettest.Log
			getenv := envOf("DATABASE_URL", dsn, "ADMIN_TOKEN", token, "LOG_LEVEL", "debug",
				"TLS_CERT_FILE", certFile, "TLS_KEY_FILE", keyFile)
			if _, err := loadConfig([]string{"-h"}, getenv, &log); err == nil {
				t.Error("-h: no flag.ErrHelp")
			}
			cfg, err := loadConfig(nil, getenv, &log)
			if err != nil {
				t.Fatal(err)
			}
			for _, format := range []string{"text", "json"} {
				cfg.LogFormat = format
				runWithFaults(t, srv, cfg, &log, creds, token)
			}
			secrettest.Check(t, log.String(), secrettest.Password, token, string(keyPEM))
			if !strings.Contains(log.String(), "level=DEBUG") && !strings.Contains(log.String(), `"level":"DEBUG"`) {
				t.Log("no DEBUG record was written in this run")
			}
		})
	}
}

func runWithFaults(t *testing.T, srv *pgtest.Server, cfg config, log *secrettest.Log, creds credentials.TransportCredentials, token string) {
	t.Helper()
	srv.Stop(t)
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- start(ctx, cfg, serve.NewLogger(cfg.Config, log), grpcLis, adminLis) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("start: %v", err)
		}
	}()
	conn, err := grpc.NewClient(grpcLis.Addr().String(),
		grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := adproviderv1.NewAdProviderServiceClient(conn)
	bg := context.Background()
	if _, err := c.GetAds(bg, &adproviderv1.GetAdsRequest{}); status.Code(err) != codes.Unavailable {
		t.Errorf("GetAds with the database down: %v", err)
	}
	srv.Restart(t)
	hc := healthpb.NewHealthClient(conn)
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := hc.Check(bg, &healthpb.HealthCheckRequest{Service: adprovider.ServiceName})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never SERVING: %v %v", resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ad := &adproviderv1.CreateAdRequest{Listing: &adproviderv1.AdListing{
		Ad:  &adproviderv1.Ad{Asin: "B0010T3QT2", Title: "Pilot G2", Price: &moneyv1.Money{CurrencyCode: "USD", Units: 10}},
		Bid: &moneyv1.Money{CurrencyCode: "USD", Nanos: 500_000_000}, Active: true, Keywords: []string{"gel"},
	}}
	if _, err := c.CreateAd(metadata.AppendToOutgoingContext(bg, "authorization", "Bearer wrong-"+token), ad); status.Code(err) != codes.Unauthenticated {
		t.Errorf("CreateAd with a wrong token: %v", err)
	}
	if _, err := c.CreateAd(metadata.AppendToOutgoingContext(bg, "authorization", "Bearer "+token), ad); err != nil {
		t.Errorf("CreateAd: %v", err)
	}
	srv.Kill(t)
	for range 3 {
		if _, err := c.GetAds(bg, &adproviderv1.GetAdsRequest{ContextKeys: []string{"gel"}}); err == nil {
			t.Error("GetAds with the database killed: no error")
		}
	}
	srv.Restart(t)
}

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}
