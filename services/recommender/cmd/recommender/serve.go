package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/dsn"
	"github.com/breakwater/breakwater/internal/serve"
	"github.com/breakwater/breakwater/services/recommender"
	"github.com/breakwater/breakwater/services/recommender/catalogcsv"
	"github.com/breakwater/breakwater/services/recommender/migrations"
	"github.com/breakwater/breakwater/services/recommender/samplecatalog"
	"github.com/breakwater/breakwater/services/recommender/store"
)

const (
	schema = "recommender"
	// dbBreakerName names the database breaker in logs, metrics and the
	// admin service, like AdProvider's "adprovider/postgres".
	dbBreakerName = "recommender/postgres"
	// rankBreakerName guards the recommendation queries, over a pool of
	// their own: a bulkhead, so their slowness can neither open
	// dbBreakerName nor take the connections catalog calls need.
	rankBreakerName = "recommender/postgres-recommendations"
	maxPrepareWait  = 10 * time.Second
	// dbTimeout is the database breaker's default timeout: every query of a
	// request ends within it, whatever the caller's deadline, so a hung
	// database turns into a last good answer rather than a long wait.
	dbTimeout = 2 * time.Second
)

var serviceName = recommenderv1.RecommenderService_ServiceDesc.ServiceName

// config is the serving configuration: internal/serve's, plus the
// AdProvider to dial.
type config struct {
	serve.Config
	adProviderTarget string
	// databaseReadURL, when set, is where reads go
	// (RECOMMENDER_DATABASE_READ_URL): a hot standby.
	databaseReadURL string
	logger          *slog.Logger
}

var defaults = serve.Defaults{GRPCAddr: ":8000", AdminAddr: ":9000"}

func loadConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	target := or(getenv("ADPROVIDER_TARGET"), "localhost:8001")
	readURL := getenv("RECOMMENDER_DATABASE_READ_URL")
	sc, err := serve.LoadConfig("recommender", defaults, args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&target, "adprovider", target, "AdProvider target to dial (ADPROVIDER_TARGET)")
		fs.Var(dsn.Var{P: &readURL}, "database-read-url", "PostgreSQL URL for reads, such as a hot standby, shown without its password (RECOMMENDER_DATABASE_READ_URL)")
	})
	if err != nil {
		return config{}, err
	}
	if sc.DatabaseURL == "" {
		return config{}, errors.New("no database: set DATABASE_URL or RECOMMENDER_DATABASE_URL (or -database-url)")
	}
	return config{Config: sc, adProviderTarget: target, databaseReadURL: readURL, logger: serve.NewLogger(sc, stderr)}, nil
}

// start runs the Recommender until ctx ends. It starts whether or not the
// database or AdProvider is up: the schema is migrated and the sample catalog
// loaded in the background, with health NOT_SERVING for the service until
// then; GetAds works from the start (house ads at worst). Tests pass
// listeners they opened; nil means the configured addresses.
func start(ctx context.Context, cfg config, grpcLis, adminLis net.Listener) error {
	log := cfg.logger
	// The service's own breaker defaults, below any BREAKER_CONFIG file:
	// GetAds' timeout and house ads, and the databases' timeouts.
	srv, err := serve.New(cfg.Config, log, serve.WithBreakerOptions(
		recommender.AdProviderBreakers(),
		breaker.WithMethodDefaults(dbBreakerName, "", breaker.WithTimeout(dbTimeout)),
		breaker.WithMethodDefaults(dbBreakerName+pgbreaker.WriteSuffix, "", breaker.WithTimeout(dbTimeout)),
		breaker.WithMethodDefaults(rankBreakerName, "", breaker.WithTimeout(dbTimeout)),
	))
	if err != nil {
		return err
	}
	defer srv.Close()

	pool, err := srv.OpenPool(ctx, cfg.DatabaseURL, schema, "recommender")
	if err != nil {
		return err
	}
	dbOpts := []pgbreaker.Option{pgbreaker.WithName(dbBreakerName)}
	if cfg.databaseReadURL != "" {
		// Reads from a hot standby: they go on while the primary is away.
		readPool, err := srv.OpenPool(ctx, cfg.databaseReadURL, schema, "recommender-read")
		if err != nil {
			return fmt.Errorf("RECOMMENDER_DATABASE_READ_URL: %w", err)
		}
		dbOpts = append(dbOpts, pgbreaker.WithReadPool(readPool))
		log.Info("reads from a separate database", "database_read", dsn.Redact(cfg.databaseReadURL))
	}
	db := pgbreaker.New(pool, srv.Breakers(), dbOpts...)
	// The ranking queries' bulkhead: a pool and a breaker of their own.
	rankPool, err := srv.OpenPool(ctx, cfg.DatabaseURL, schema, "recommender-recommendations")
	if err != nil {
		return err
	}
	rankDB := pgbreaker.New(rankPool, srv.Breakers(), pgbreaker.WithName(rankBreakerName))
	srv.Registry().MustRegister(pgbreaker.NewPoolCollector(db, rankDB))

	// Dialled once for the process: transport credentials and client
	// metrics from serve, then the breaker interceptor and the retry policy.
	dialOpts, err := srv.DialOptions()
	if err != nil {
		return err
	}
	conn, err := recommender.DialAdProvider(cfg.adProviderTarget, srv.Breakers(), dialOpts...)
	if err != nil {
		return fmt.Errorf("adprovider client: %w", err)
	}
	defer conn.Close()

	recommenderv1.RegisterRecommenderServiceServer(srv.GRPC(), recommender.NewServer(
		store.New(db, store.WithWriter(db.Writer()), store.WithRecommendationDB(rankDB)),
		adproviderv1.NewAdProviderServiceClient(conn), recommender.WithLogger(log), recommender.WithAdminToken(cfg.AdminToken)))
	hs := srv.Health()
	hs.SetServingStatus(serviceName, healthpb.HealthCheckResponse_NOT_SERVING)
	return srv.Start(ctx, grpcLis, adminLis, func(ctx context.Context) {
		if prepare(ctx, pool, log) {
			hs.SetServingStatus(serviceName, healthpb.HealthCheckResponse_SERVING)
		}
	}, "adprovider", cfg.adProviderTarget)
}

// prepare migrates the schema and loads the sample catalog into an empty
// one, retrying until both are done; false when ctx ended first. Start-up
// work goes around the breaker that guards requests (it retries on its own
// and must not trip that breaker), through internal/database's start-up
// lock, and the sample is loaded in one transaction: all of it or nothing.
func prepare(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) bool {
	load := func(ctx context.Context, tx pgx.Tx) error {
		loaded, err := samplecatalog.LoadIfEmpty(ctx, store.New(tx), catalogcsv.WithOnSkip(func(file string, err *catalogcsv.RowError) {
			log.Warn("sample catalog row skipped", "file", file, "err", err)
		}))
		if loaded {
			log.Info("loaded the sample catalog")
		}
		return err
	}
	return database.PrepareWithRetry(ctx, pool, schema, migrations.FS, load, maxPrepareWait, log) == nil
}
