package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/validate"
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
	dbBreakerName  = "recommender/postgres"
	maxPrepareWait = 10 * time.Second
	drainTimeout   = 10 * time.Second
)

var serviceName = recommenderv1.RecommenderService_ServiceDesc.ServiceName

// serve runs the Recommender until ctx ends. It starts whether or not the
// database or AdProvider is up: the schema is migrated and the sample catalog
// loaded in the background, with health NOT_SERVING for the service until
// then; GetAds works from the start (house ads at worst).
func serve(ctx context.Context, cfg config) error {
	log := cfg.logger
	setOpts := []breaker.SetOption{
		breaker.WithListener(breaker.NewSlogListener(log), breaker.EventStateChange),
	}
	if cfg.breakerConfig != "" {
		bc, err := breaker.LoadConfig(cfg.breakerConfig)
		if err != nil {
			return fmt.Errorf("breaker config: %w", err)
		}
		setOpts = append(setOpts, breaker.WithConfig(bc))
	} else {
		// Code settings win over a file's at the same specificity, so the
		// defaults apply only when no file is given.
		setOpts = append(setOpts, recommender.AdProviderBreakers())
	}
	set := breaker.NewSet(setOpts...)
	defer set.Close()

	pool, err := database.Open(ctx, cfg.databaseURL, schema, database.WithApplicationName("recommender"))
	if err != nil {
		return err
	}
	defer pool.Close()
	db := pgbreaker.New(pool, set, pgbreaker.WithName(dbBreakerName))

	// Dialled once for the process; the breaker interceptor and the retry
	// policy ride on the connection (TLS is not wired yet: plaintext).
	conn, err := recommender.DialAdProvider(cfg.adProviderTarget, set,
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("adprovider client: %w", err)
	}
	defer conn.Close()

	v, err := validate.NewValidator(recommenderv1.File_recommender_v1_recommender_proto.Services().Get(0))
	if err != nil {
		return err
	}
	gs := grpc.NewServer(
		grpc.ChainUnaryInterceptor(validate.UnaryServerInterceptor(v)),
		grpc.ChainStreamInterceptor(validate.StreamServerInterceptor(v)),
	)
	recommenderv1.RegisterRecommenderServiceServer(gs, recommender.NewServer(store.New(db),
		adproviderv1.NewAdProviderServiceClient(conn), recommender.WithLogger(log)))
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING) // the process is up
	hs.SetServingStatus(serviceName, healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)

	lis, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("recommender listening", "addr", lis.Addr().String(),
		"database", database.Redact(cfg.databaseURL), "adprovider", cfg.adProviderTarget)
	if cfg.onListen != nil {
		cfg.onListen(lis.Addr().String())
	}

	bg, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if prepare(bg, pool, log) {
			hs.SetServingStatus(serviceName, healthpb.HealthCheckResponse_SERVING)
		}
	})
	serveErr := make(chan error, 1)
	go func() { serveErr <- gs.Serve(lis) }()

	select {
	case err = <-serveErr:
	case <-ctx.Done():
		log.Info("shutting down")
	}
	hs.Shutdown() // NOT_SERVING everywhere before draining
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

// prepare migrates the schema and loads the sample catalog into an empty
// one, retrying until both are done; false when ctx ended first. It uses the
// pool directly: start-up work should not trip the breaker that guards
// requests.
func prepare(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) bool {
	if err := database.MigrateWithRetry(ctx, pool, schema, migrations.FS, maxPrepareWait, log); err != nil {
		return false
	}
	wait := 100 * time.Millisecond
	for {
		loaded, err := samplecatalog.LoadIfEmpty(ctx, store.New(pool), catalogcsv.WithOnSkip(func(file string, err *catalogcsv.RowError) {
			log.Warn("sample catalog row skipped", "file", file, "err", err)
		}))
		if err == nil {
			if loaded {
				log.Info("loaded the sample catalog")
			}
			return true
		}
		log.Warn("loading the sample catalog failed; retrying", "retry_in", wait, "err", err)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, maxPrepareWait)
	}
}
