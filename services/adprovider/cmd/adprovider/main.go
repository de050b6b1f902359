package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/health"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/dsn"
	"github.com/breakwater/breakwater/internal/serve"
	"github.com/breakwater/breakwater/services/adprovider"
	"github.com/breakwater/breakwater/services/adprovider/migrations"
)

const (
	schema = "adprovider"
	// breakerName names the database breaker in logs, metrics and the
	// admin service.
	breakerName = "adprovider/postgres"
	// Bounds of start-up.
	maxMigrateWait = 10 * time.Second
	// poolCloseBound bounds the pool's close at shutdown, after the drain:
	// a frozen database must not keep the process past its drain bound.
	poolCloseBound = time.Second
)

var defaults = serve.Defaults{GRPCAddr: ":8001", AdminAddr: ":9001"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "adprovider:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	return start(ctx, cfg, serve.NewLogger(cfg.Config, stderr), nil, nil)
}

// config is internal/serve's configuration plus AdProvider's own.
type config struct {
	serve.Config
	// healthFollowsDatabase: readiness NOT_SERVING while the database
	// breaker is open (ADPROVIDER_HEALTH_FOLLOWS_DATABASE); see
	// adprovider.FollowBreaker and deploy/README.md.
	healthFollowsDatabase bool
}

func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	follow := getenv("ADPROVIDER_HEALTH_FOLLOWS_DATABASE") == "true"
	cfg, err := serve.LoadConfig("adprovider", defaults, args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.BoolVar(&follow, "health-follows-database", follow,
			"report NOT_SERVING while the database breaker is open; for a replica with its own database (ADPROVIDER_HEALTH_FOLLOWS_DATABASE=true)")
	})
	if err != nil {
		return config{}, err
	}
	if cfg.DatabaseURL == "" {
		return config{}, errors.New("no database: set DATABASE_URL or ADPROVIDER_DATABASE_URL (or -database-url)")
	}
	return config{Config: cfg, healthFollowsDatabase: follow}, nil
}

// start runs AdProvider until ctx ends. It starts whether or not the
// database is up: migrations retry in the background while health says
// NOT_SERVING and GetAds answers UNAVAILABLE. Tests pass listeners they
// opened; nil listeners mean the configured addresses.
func start(ctx context.Context, cfg config, log *slog.Logger, grpcLis, adminLis net.Listener) error {
	hs := health.NewServer() // "" stays SERVING: the process is up
	var hopts []adprovider.HealthOption
	if cfg.healthFollowsDatabase {
		hopts = append(hopts, adprovider.FollowBreaker())
	}
	h := adprovider.NewHealth(hs, breakerName, hopts...)
	srv, err := serve.New(cfg.Config, log,
		serve.WithHealthServer(hs),
		serve.WithBreakerListener(h, breaker.EventStateChange),
	)
	if err != nil {
		return err
	}

	pool, err := database.Open(ctx, cfg.DatabaseURL, schema, database.WithApplicationName("adprovider"))
	if err != nil {
		srv.Breakers().Close()
		return err
	}
	defer database.Close(pool, poolCloseBound, log)
	db := pgbreaker.New(pool, srv.Breakers(), pgbreaker.WithName(breakerName))
	srv.Registry().MustRegister(pgbreaker.NewPoolCollector(db))
	store := adprovider.NewStore(db, adprovider.WithWriter(db.Writer()))
	adproviderv1.RegisterAdProviderServiceServer(srv.GRPC(), adprovider.NewServer(store,
		adprovider.WithAdminToken(cfg.AdminToken), adprovider.WithLogger(log)))
	log.Info("adprovider starting", "database", dsn.Redact(cfg.DatabaseURL), "writes", cfg.AdminToken != "")

	bg, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { prepare(bg, pool, h, log) })
	defer func() { stopBG(); wg.Wait() }()

	if grpcLis != nil {
		return srv.Serve(ctx, grpcLis, adminLis)
	}
	return srv.Run(ctx)
}

// prepare migrates the schema and loads the sample inventory into an empty
// one, retrying until both are done, then lets health say SERVING. Like the
// Recommender's, it goes around the request breaker, under
// internal/database's start-up lock, and loads in one transaction.
func prepare(ctx context.Context, pool *pgxpool.Pool, h *adprovider.Health, log *slog.Logger) {
	load := func(ctx context.Context, tx pgx.Tx) error {
		n, err := adprovider.NewStore(tx).LoadSample(ctx)
		if n > 0 {
			log.Info("loaded the sample inventory", "ads", n)
		}
		return err
	}
	if database.PrepareWithRetry(ctx, pool, schema, migrations.FS, load, maxMigrateWait, log) == nil {
		h.SetMigrated()
	}
}
