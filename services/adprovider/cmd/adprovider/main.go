package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/serve"
	"github.com/breakwater/breakwater/services/adprovider"
	"github.com/breakwater/breakwater/services/adprovider/migrations"
	"github.com/breakwater/breakwater/services/adprovider/store"
)

const (
	schema = "adprovider"
	// breakerName names the database breaker in logs, metrics and the
	// admin service.
	breakerName = "adprovider/postgres"
	// Bounds of start-up.
	maxMigrateWait = 10 * time.Second
)

var defaults = serve.Defaults{GRPCAddr: ":8001", AdminAddr: ":9001"}

func main() { serve.Main("adprovider", run) }

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
	srv, err := serve.New(cfg.Config, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	pool, err := srv.OpenPool(ctx, cfg.DatabaseURL, schema, "adprovider")
	if err != nil {
		return err
	}
	db := pgbreaker.New(pool, srv.Breakers(), pgbreaker.WithName(breakerName))
	srv.Registry().MustRegister(pgbreaker.NewPoolCollector(db))

	var hopts []adprovider.HealthOption
	if cfg.healthFollowsDatabase {
		hopts = append(hopts, adprovider.FollowBreaker())
	}
	h := adprovider.NewHealth(srv.Health(), db.Breaker(), hopts...)
	srv.Breakers().AddListener(h, breaker.EventStateChange)

	st := store.New(db, store.WithWriter(db.Writer()))
	adproviderv1.RegisterAdProviderServiceServer(srv.GRPC(), adprovider.NewServer(st,
		adprovider.WithAdminToken(cfg.AdminToken), adprovider.WithLogger(log)))
	return srv.Start(ctx, grpcLis, adminLis, func(ctx context.Context) {
		if prepare(ctx, pool, log) {
			h.SetMigrated()
		}
	}, "writes", cfg.AdminToken != "")
}

// prepare migrates the schema and loads the sample inventory into an empty
// one, retrying until both are done; false when ctx ended first. Like the
// Recommender's, it goes around the request breaker, under
// internal/database's start-up lock, and loads in one transaction.
func prepare(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) bool {
	load := func(ctx context.Context, tx pgx.Tx) error {
		n, err := store.New(tx).LoadSample(ctx)
		if n > 0 {
			log.Info("loaded the sample inventory", "ads", n)
		}
		return err
	}
	return database.PrepareWithRetry(ctx, pool, schema, migrations.FS, load, maxMigrateWait, log) == nil
}
