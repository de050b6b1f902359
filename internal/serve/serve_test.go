package serve_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	breakerv1 "github.com/breakwater/breakwater/gen/go/breaker/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/internal/serve"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ads is a stand-in service: it panics on demand and otherwise answers.
type ads struct {
	adproviderv1.UnimplementedAdProviderServiceServer
}

func (ads) GetAds(_ context.Context, req *adproviderv1.GetAdsRequest) (*adproviderv1.GetAdsResponse, error) {
	if len(req.GetContextKeys()) > 0 && req.GetContextKeys()[0] == "panic" {
		panic("boom")
	}
	return &adproviderv1.GetAdsResponse{Ads: []*adproviderv1.Ad{{AdId: "ad-1"}}}, nil
}

type running struct {
	srv    *serve.Server
	cc     *grpc.ClientConn
	admin  string
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, token string) *running {
	t.Helper()
	cfg := serve.Config{Name: "adprovider", AdminToken: token, LogFormat: "text", ShutdownTimeout: 5 * time.Second}
	srv, err := serve.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	adproviderv1.RegisterAdProviderServiceServer(srv.GRPC(), ads{})
	srv.Health().SetServingStatus("adprovider.v1.AdProviderService", healthpb.HealthCheckResponse_NOT_SERVING)
	// A breaker to see and steer through the admin service.
	srv.Breakers().Breaker("postgres/adprovider", breaker.WithKind(breaker.KindDatabase))

	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	adminLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{srv: srv, admin: "http://" + adminLis.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- srv.Serve(ctx, grpcLis, adminLis) }()
	r.cc, err = grpc.NewClient(grpcLis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.cc.Close()
		r.stop(t)
	})
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if err := <-r.done; err != nil {
		t.Errorf("Serve returned %v after shutdown", err)
	}
	r.done <- nil // let a second stop return at once
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServesTheCommonSurface(t *testing.T) {
	r := start(t, "tok")
	ctx := context.Background()

	// The API, behind validation and panic recovery.
	client := adproviderv1.NewAdProviderServiceClient(r.cc)
	if _, err := client.GetAds(ctx, &adproviderv1.GetAdsRequest{MaxAds: 2}); err != nil {
		t.Fatalf("GetAds: %v", err)
	}
	if _, err := client.GetAds(ctx, &adproviderv1.GetAdsRequest{MaxAds: 99}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("invalid request: %v, want InvalidArgument", err)
	}
	_, err := client.GetAds(ctx, &adproviderv1.GetAdsRequest{ContextKeys: []string{"panic"}})
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "boom") {
		t.Fatalf("panicking handler: %v, want Internal without the panic's text", err)
	}

	// Health, per service; reflection lists every service.
	hc := healthpb.NewHealthClient(r.cc)
	h, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "adprovider.v1.AdProviderService"})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("health before ready: %v %v", h, err)
	}
	stream, err := reflectionpb.NewServerReflectionClient(r.cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	refl, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, s := range refl.GetListServicesResponse().GetService() {
		listed = append(listed, s.GetName())
	}
	for _, want := range []string{"adprovider.v1.AdProviderService", "breaker.v1.BreakerAdminService", "grpc.health.v1.Health"} {
		if !strings.Contains(strings.Join(listed, " "), want) {
			t.Errorf("reflection does not list %s: %v", want, listed)
		}
	}

	// Reflection serves the API's comments (grpcurl describe shows them).
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{
		FileContainingSymbol: "adprovider.v1.AdProviderService",
	}}); err != nil {
		t.Fatal(err)
	}
	fileResp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var fdp descriptorpb.FileDescriptorProto
	if err := proto.Unmarshal(fileResp.GetFileDescriptorResponse().GetFileDescriptorProto()[0], &fdp); err != nil {
		t.Fatal(err)
	}
	comments := ""
	for _, loc := range fdp.GetSourceCodeInfo().GetLocation() {
		comments += loc.GetLeadingComments()
	}
	if !strings.Contains(comments, "GetAds returns the ads for a context") {
		t.Errorf("reflection serves %s without its comments", fdp.GetName())
	}

	// Admin HTTP.
	if code, _ := get(t, r.admin+"/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	if code, body := get(t, r.admin+"/readyz"); code != 503 || !strings.Contains(body, "adprovider.v1.AdProviderService NOT_SERVING") {
		t.Errorf("/readyz before ready: %d %q", code, body)
	}
	r.srv.Health().SetServingStatus("adprovider.v1.AdProviderService", healthpb.HealthCheckResponse_SERVING)
	if code, body := get(t, r.admin+"/readyz"); code != 200 {
		t.Errorf("/readyz when ready: %d %q", code, body)
	}
	if _, body := get(t, r.admin+"/metrics"); !strings.Contains(body, `grpc_server_handled_total{grpc_code="InvalidArgument",grpc_method="GetAds"`) {
		t.Errorf("/metrics lacks gRPC server metrics:\n%.2000s", body)
	}
	if _, body := get(t, r.admin+"/metrics"); !strings.Contains(body, `breakwater_breaker_state{breaker="postgres/adprovider",kind="database",state="closed"} 1`) {
		t.Errorf("/metrics lacks the breaker state gauge:\n%.3000s", body)
	}
	if _, body := get(t, r.admin+"/breakers.json"); !strings.Contains(body, `"name":"postgres/adprovider"`) || !strings.Contains(body, "BREAKER_KIND_DATABASE") {
		t.Errorf("/breakers.json: %s", body)
	}
	if code, body := get(t, r.admin+"/breakers"); code != 200 || !strings.Contains(body, "adprovider: circuit breakers") {
		t.Errorf("/breakers page: %d", code)
	}
}

func TestBreakerAdminService(t *testing.T) {
	r := start(t, "tok")
	ctx := context.Background()
	admin := breakerv1.NewBreakerAdminServiceClient(r.cc)
	withToken := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer tok")
	const name = "postgres/adprovider"

	list, err := admin.ListBreakers(ctx, &breakerv1.ListBreakersRequest{})
	if err != nil || len(list.GetBreakers()) != 1 || list.GetBreakers()[0].GetState() != breakerv1.BreakerState_BREAKER_STATE_CLOSED {
		t.Fatalf("ListBreakers: %v %v", list, err)
	}
	if _, err := admin.GetBreaker(ctx, &breakerv1.GetBreakerRequest{Name: "nope"}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetBreaker unknown: %v", err)
	}
	forceOpen := &breakerv1.SetBreakerModeRequest{Name: name, Mode: breakerv1.BreakerMode_BREAKER_MODE_FORCED_OPEN}
	if _, err := admin.SetBreakerMode(ctx, forceOpen); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("SetBreakerMode without token: %v", err)
	}
	got, err := admin.SetBreakerMode(withToken, forceOpen)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetBreaker().GetMode() != breakerv1.BreakerMode_BREAKER_MODE_FORCED_OPEN || got.GetBreaker().GetState() != breakerv1.BreakerState_BREAKER_STATE_OPEN {
		t.Fatalf("after forcing open: %v", got.GetBreaker())
	}
	// The breaker itself now rejects work.
	b, _ := r.srv.Breakers().Get(name)
	if err := b.Do(ctx, func(context.Context) error { return nil }); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("forced-open breaker admitted a call: %v", err)
	}
	if _, err := admin.ResetBreaker(ctx, &breakerv1.ResetBreakerRequest{Name: name}); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("ResetBreaker without token: %v", err)
	}
	back, err := admin.SetBreakerMode(withToken, &breakerv1.SetBreakerModeRequest{Name: name, Mode: breakerv1.BreakerMode_BREAKER_MODE_AUTO})
	if err != nil || back.GetBreaker().GetMode() != breakerv1.BreakerMode_BREAKER_MODE_AUTO {
		t.Fatalf("back to AUTO: %v %v", back, err)
	}
	if _, err := admin.ResetBreaker(withToken, &breakerv1.ResetBreakerRequest{Name: name}); err != nil {
		t.Fatalf("ResetBreaker: %v", err)
	}
}

func TestAdminWritesRefusedWithoutConfiguredToken(t *testing.T) {
	r := start(t, "")
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer ")
	_, err := breakerv1.NewBreakerAdminServiceClient(r.cc).ResetBreaker(ctx, &breakerv1.ResetBreakerRequest{Name: "postgres/adprovider"})
	if status.Code(err) != codes.PermissionDenied {
		t.Fatalf("write with no token configured: %v, want PermissionDenied", err)
	}
}

func TestShutdownTurnsHealthNotServing(t *testing.T) {
	r := start(t, "")
	r.srv.Health().SetServingStatus("adprovider.v1.AdProviderService", healthpb.HealthCheckResponse_SERVING)
	watch, err := healthpb.NewHealthClient(r.cc).Watch(context.Background(), &healthpb.HealthCheckRequest{Service: "adprovider.v1.AdProviderService"})
	if err != nil {
		t.Fatal(err)
	}
	if first, err := watch.Recv(); err != nil || first.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first status %v %v", first, err)
	}
	r.stop(t)
	// The watcher hears NOT_SERVING before the server goes away.
	next, err := watch.Recv()
	if err != nil || next.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("status at shutdown: %v %v", next, err)
	}
}

func TestRunReportsAPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	srv, err := serve.New(serve.Config{Name: "x", GRPCAddr: busy.Addr().String()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	err = srv.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Run on a busy port: %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	env := map[string]string{
		"ADPROVIDER_ADDR": ":7001",
		"DATABASE_URL":    "postgres://shared/db",
		"LOG_LEVEL":       "debug",
		"ADMIN_TOKEN":     "t",
	}
	getenv := func(k string) string { return env[k] }
	d := serve.Defaults{GRPCAddr: ":8001", AdminAddr: ":9001"}

	cfg, err := serve.LoadConfig("adprovider", d, nil, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GRPCAddr != ":7001" || cfg.AdminAddr != ":9001" || cfg.DatabaseURL != "postgres://shared/db" || cfg.LogLevel != slog.LevelDebug || cfg.AdminToken != "t" {
		t.Fatalf("from env: %+v", cfg)
	}
	// The service's own URL beats the shared one; flags beat both.
	env["ADPROVIDER_DATABASE_URL"] = "postgres://own/db"
	cfg, err = serve.LoadConfig("adprovider", d, []string{"-addr", ":6001", "-log-format", "json"}, getenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GRPCAddr != ":6001" || cfg.DatabaseURL != "postgres://own/db" || cfg.LogFormat != "json" {
		t.Fatalf("with overrides: %+v", cfg)
	}
	var help bytes.Buffer
	if _, err := serve.LoadConfig("adprovider", d, []string{"-h"}, getenv, &help); !errors.Is(err, flag.ErrHelp) ||
		!strings.Contains(help.String(), "ADPROVIDER_ADDR") || !strings.Contains(help.String(), "ADMIN_TOKEN") {
		t.Fatalf("-h must name every setting, ADMIN_TOKEN too: %v\n%s", err, help.String())
	}
	// A malformed database URL is an error naming where it came from,
	// never showing it.
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"-database-url", "postgres://u:pw@[::1/db"}, "", "check -database-url"},
		{nil, "ADPROVIDER_DATABASE_URL", "check ADPROVIDER_DATABASE_URL"},
		{nil, "DATABASE_URL", "check DATABASE_URL"},
	} {
		env := map[string]string{}
		if tc.env != "" {
			env[tc.env] = "postgres://u:pw@[::1/db"
		}
		_, err := serve.LoadConfig("adprovider", d, tc.args, func(k string) string { return env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "pw") {
			t.Errorf("malformed URL from %v%v: %v, want %q and no password", tc.args, tc.env, err, tc.want)
		}
	}
	for _, bad := range [][]string{{"-log-level", "loud"}, {"-log-format", "xml"}, {"-tls-cert", "c.pem"}, {"extra"}} {
		if _, err := serve.LoadConfig("adprovider", d, bad, getenv, io.Discard); err == nil {
			t.Errorf("LoadConfig(%q) accepted", bad)
		}
	}
}

// TestConfigLogValue: a whole Config logged or formatted carries neither the
// database password nor the admin token.
func TestConfigLogValue(t *testing.T) {
	cfg := serve.Config{Name: "x", DatabaseURL: "host=db password='pw secret' dbname=x", AdminToken: "tok-secret"}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "cfg", cfg)
	for _, s := range []string{b.String(), fmt.Sprintf("%v %+v %s", cfg, cfg, cfg)} {
		if strings.Contains(s, "secret") || !strings.Contains(s, "admin_token_set") {
			t.Errorf("config shown as %s", s)
		}
	}
}

// TestWarnsOfUnmatchedBreakerConfig: when Serve starts, each BREAKER_CONFIG
// name that selects none of the service's breakers and cannot be another
// service's is a warning naming it; the project's own shared files give none.
func TestWarnsOfUnmatchedBreakerConfig(t *testing.T) {
	typos := filepath.Join(t.TempDir(), "breakers.json")
	if err := os.WriteFile(typos, []byte(`{"breakers": [
	  {"name": [{}], "timeout": "1s"},
	  {"name": [{"service": "adprovider.v1.AdProviderService", "method": "GetAdz"},
	            {"service": "adprovider.v1.AdProviderService", "method": "GetAds"},
	            {"service": "adprovider.v1.AdProvider"}], "timeout": "0.3s"},
	  {"name": [{"service": "adprovider/postgress"}, {"service": "adprovider/postgres"},
	            {"service": "recommender/postgres"}], "timeout": "2s"}
	]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		want []string // one warning each, in order
	}{
		{"../../deploy/breakers.json", nil},
		{"../../deploy/local/demo-breakers.json", nil},
		{typos, []string{
			`entry=adprovider.v1.AdProviderService/GetAdz why="gRPC service adprovider.v1.AdProviderService has no method GetAdz"`,
			`entry=adprovider.v1.AdProvider why="no gRPC service adprovider.v1.AdProvider is known to adprovider, and no breaker is named so"`,
			`entry=adprovider/postgress why="adprovider has no breaker named adprovider/postgress"`,
		}},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			var logs bytes.Buffer
			cfg := serve.Config{Name: "adprovider", BreakerConfig: tc.file, LogFormat: "text", ShutdownTimeout: time.Second}
			srv, err := serve.New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			srv.Breakers().Breaker("adprovider/postgres", breaker.WithKind(breaker.KindDatabase))
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // Serve checks the config, then shuts down at once
			if err := srv.Serve(ctx, lis, nil); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, "matches no breaker") {
					got = append(got, line)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d warnings, want %d:\n%s", len(got), len(tc.want), logs.String())
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], "level=WARN") || !strings.Contains(got[i], w) {
					t.Errorf("warning %d = %s\nwant %s", i, got[i], w)
				}
			}
		})
	}
}

// TestCloseClosesWhatTheServerOpened: main's one deferred Close closes the
// breaker set and the pools of OpenPool, and a second Close does nothing.
func TestCloseClosesWhatTheServerOpened(t *testing.T) {
	srv, err := serve.New(serve.Config{Name: "x"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// Nothing listens on port 1; the pool connects lazily, so opening it
	// needs no database.
	pool, err := srv.OpenPool(context.Background(), "postgres://u@127.0.0.1:1/db", "x", "x-test")
	if err != nil {
		t.Fatal(err)
	}
	srv.Breakers().Breaker("x/postgres")
	if !srv.Breakers().AddListener(breaker.ListenerFunc(func(breaker.Event) {})) {
		t.Fatal("AddListener before Close returned false")
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if srv.Breakers().AddListener(breaker.ListenerFunc(func(breaker.Event) {})) {
		t.Fatal("the breaker set is still open after Close")
	}
	if _, err := pool.Acquire(context.Background()); err == nil || !strings.Contains(err.Error(), "closed pool") {
		t.Fatalf("Acquire after Close: %v, want the pool closed", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
}
