package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/validate"
	"github.com/breakwater/breakwater/services/adprovider"
	"github.com/breakwater/breakwater/services/adprovider/migrations"
)

const (
	schema = "adprovider"
	// breakerName names the database breaker in logs, metrics and the
	// admin service.
	breakerName = "adprovider/postgres"
	// Bounds of start-up and shutdown.
	maxMigrateWait = 10 * time.Second
	probeEvery     = time.Second
	drainTimeout   = 10 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "adprovider:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	cfg, err := configFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	return serve(ctx, cfg)
}

// config is what the environment sets (DESIGN.md, "Configuration").
type config struct {
	addr          string
	databaseURL   string
	adminToken    string
	breakerConfig string
	logger        *slog.Logger
	// onListen, when set, learns the address actually listened on (tests
	// listen on port 0).
	onListen func(net.Addr)
}

func configFromEnv(getenv func(string) string) (config, error) {
	cfg := config{
		addr:          or(getenv("ADPROVIDER_ADDR"), ":8001"),
		databaseURL:   or(getenv("ADPROVIDER_DATABASE_URL"), getenv("DATABASE_URL")),
		adminToken:    getenv("ADMIN_TOKEN"),
		breakerConfig: getenv("BREAKER_CONFIG"),
	}
	if cfg.databaseURL == "" {
		return cfg, errors.New("no database: set DATABASE_URL or ADPROVIDER_DATABASE_URL")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(or(getenv("LOG_LEVEL"), "info"))); err != nil {
		return cfg, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch f := strings.ToLower(or(getenv("LOG_FORMAT"), "text")); f {
	case "text":
		cfg.logger = slog.New(slog.NewTextHandler(os.Stderr, hopts))
	case "json":
		cfg.logger = slog.New(slog.NewJSONHandler(os.Stderr, hopts))
	default:
		return cfg, fmt.Errorf("LOG_FORMAT %q: want text or json", f)
	}
	return cfg, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// serve runs AdProvider until ctx ends. It starts whether or not the
// database is up: migrations retry in the background while health says
// NOT_SERVING and GetAds answers UNAVAILABLE.
func serve(ctx context.Context, cfg config) error {
	log := cfg.logger
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING) // the process is up
	h := adprovider.NewHealth(hs, breakerName)

	setOpts := []breaker.SetOption{
		breaker.WithListener(h, breaker.EventStateChange),
		breaker.WithListener(breaker.NewSlogListener(log), breaker.EventStateChange),
	}
	if cfg.breakerConfig != "" {
		bc, err := breaker.LoadConfig(cfg.breakerConfig)
		if err != nil {
			return fmt.Errorf("breaker config: %w", err)
		}
		setOpts = append(setOpts, breaker.WithConfig(bc))
	}
	set := breaker.NewSet(setOpts...)
	defer set.Close()

	pool, err := database.Open(ctx, cfg.databaseURL, schema, database.WithApplicationName("adprovider"))
	if err != nil {
		return err
	}
	defer pool.Close()
	db := pgbreaker.New(pool, set, pgbreaker.WithName(breakerName))
	store := adprovider.NewStore(db)

	v, err := validate.NewValidator(adproviderv1.File_adprovider_v1_adprovider_proto.Services().Get(0))
	if err != nil {
		return err
	}
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(validate.UnaryServerInterceptor(v)),
		grpc.ChainStreamInterceptor(validate.StreamServerInterceptor(v)),
	)
	adproviderv1.RegisterAdProviderServiceServer(gs, adprovider.NewServer(store,
		adprovider.WithAdminToken(cfg.adminToken), adprovider.WithLogger(log)))
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)

	lis, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("adprovider listening", "addr", lis.Addr().String(),
		"database", database.Redact(cfg.databaseURL), "writes", cfg.adminToken != "")
	if cfg.onListen != nil {
		cfg.onListen(lis.Addr())
	}

	bg, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { prepare(bg, pool, store, h, log) })
	wg.Go(func() { h.Probe(bg, db.Ping, probeEvery) })

	serveErr := make(chan error, 1)
	go func() { serveErr <- gs.Serve(lis) }()

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		log.Info("shutting down")
	}
	hs.Shutdown() // NOT_SERVING everywhere, before draining
	stopBG()
	wg.Wait()
	drained := make(chan struct{})
	go func() { gs.GracefulStop(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		log.Warn("drain timed out; closing connections", "timeout", drainTimeout)
		gs.Stop()
		<-drained
	}
	if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// prepare migrates the schema and loads the sample inventory into an empty
// one, retrying until both are done, then lets health say SERVING.
func prepare(ctx context.Context, pool *pgxpool.Pool, store *adprovider.Store, h *adprovider.Health, log *slog.Logger) {
	if err := database.MigrateWithRetry(ctx, pool, schema, migrations.FS, maxMigrateWait, log); err != nil {
		return // ctx ended
	}
	wait := 100 * time.Millisecond
	for {
		n, err := store.LoadSample(ctx)
		if err == nil {
			if n > 0 {
				log.Info("loaded the sample inventory", "ads", n)
			}
			break
		}
		log.Warn("loading the sample inventory failed; retrying", "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, maxMigrateWait)
	}
	h.SetMigrated()
}
