package main

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/internal/secrettest"
)

// TestNoSecretInLogs runs the service at debug level (so every record of
// every level is written), in both log formats, once per connection-string
// form, over TLS, with the admin token and AdProvider absent, through a
// database that is down at start, comes up, is killed with -9 while serving
// and comes back; it checks every log line, and `-h`'s output, for the
// password, the token and the TLS key.
func TestNoSecretInLogs(t *testing.T) {
	const token = "Tok-3b8d2a-NOT-IN-LOGS"
	srv := pgtest.Start(t)
	base := srv.NewDatabase(t)
	certFile, keyFile, keyPEM := secrettest.TLS(t)
	creds := secrettest.ClientTLS(t, certFile)

	for form, dsn := range secrettest.Forms(t, base) {
		t.Run(form, func(t *testing.T) {
			var log secrettest.Log
			getenv := env("DATABASE_URL", dsn, "ADMIN_TOKEN", token, "LOG_LEVEL", "debug",
				"TLS_CERT_FILE", certFile, "TLS_KEY_FILE", keyFile, "TLS_CA_FILE", certFile,
				"ADPROVIDER_TARGET", "127.0.0.1:1") // nothing listens on port 1
			if _, err := loadConfig([]string{"-h"}, getenv, &log); err == nil {
				t.Error("-h: no flag.ErrHelp")
			}
			if err := runImport(context.Background(), []string{"-h"}, getenv, &log); err == nil {
				t.Error("import -h: no error")
			}
			for _, format := range []string{"text", "json"} {
				cfg, err := loadConfig(nil, func(k string) string {
					if k == "LOG_FORMAT" {
						return format
					}
					return getenv(k)
				}, &log)
				if err != nil {
					t.Fatal(err)
				}
				runWithFaults(t, srv, cfg, creds)
			}
			secrettest.Check(t, log.String(), secrettest.Password, token, string(keyPEM))
		})
	}
}

func runWithFaults(t *testing.T, srv *pgtest.Server, cfg config, creds credentials.TransportCredentials) {
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
	go func() { done <- start(ctx, cfg, grpcLis, adminLis) }()
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
	c := recommenderv1.NewRecommenderServiceClient(conn)
	bg := context.Background()
	if _, err := c.GetProduct(bg, &recommenderv1.GetProductRequest{Asin: "B0010T3QT2"}); status.Code(err) != codes.Unavailable {
		t.Errorf("GetProduct with the database down: %v", err)
	}
	srv.Restart(t)
	hc := healthpb.NewHealthClient(conn)
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := hc.Check(bg, &healthpb.HealthCheckRequest{Service: serviceName})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never SERVING: %v %v", resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := c.ListRecommendations(bg, &recommenderv1.ListRecommendationsRequest{Asin: "B00006IE7F", MaxResults: 3}); err != nil {
		t.Errorf("ListRecommendations: %v", err)
	}
	if _, err := c.GetAds(bg, &recommenderv1.GetAdsRequest{}); err != nil {
		t.Errorf("GetAds without AdProvider: %v", err)
	}
	srv.Kill(t)
	for range 3 {
		_, _ = c.ListRecommendations(bg, &recommenderv1.ListRecommendationsRequest{Asin: "B00006IE7F", MaxResults: 3})
		_, _ = c.GetProduct(bg, &recommenderv1.GetProductRequest{Asin: "B0010T3QT2"})
	}
	srv.Restart(t)
}
