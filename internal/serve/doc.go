// Package serve is the serving loop every breakwater service runs: its
// configuration, logger, gRPC server, breaker set, admin HTTP side and
// graceful shutdown, and the start-up skeleton both services share, so
// that each cmd/ main is only its service's wiring.
//
// # Sections
//
//   - Start-up
//   - Configuration
//   - What every service serves
//   - Interceptor order
//   - Breakers
//   - Shutdown
//
// # Start-up
//
// A main is [Main] around its run function, which loads its configuration
// ([LoadConfig]) and then:
//
//	srv, err := serve.New(cfg, logger, opts...) // the server and the breaker set
//	defer srv.Close()                            // once: the set, then the pools
//	pool, err := srv.OpenPool(ctx, cfg.DatabaseURL, schema, app)
//	db := pgbreaker.New(pool, srv.Breakers(), ...)
//	// register the API on srv.GRPC(); add listeners with srv.Breakers().AddListener
//	return srv.Start(ctx, nil, nil, prepare)     // prepare in the background, serve
//
// The set and the pools have one owner and one deferred close, so an early
// return leaks nothing, and the set (whose recovery probes use the pools)
// is closed before them. [Server.Start] logs "<name> starting" with the database URL
// redacted, runs prepare (internal/database.PrepareWithRetry: schema,
// migrations and sample under one advisory lock, around the request
// breaker) while serving, and stops it when serving ends; a service starts
// whether or not its database is up, and its health says when it is ready.
//
// # Configuration
//
// [LoadConfig] reads the environment first (RECOMMENDER_ADDR, DATABASE_URL,
// BREAKER_CONFIG, ADMIN_TOKEN, LOG_LEVEL, LOG_FORMAT, TLS_*), then flags that
// override it; `-h` lists both. The database URL is never logged with its
// password.
//
// # What every service serves
//
// On the gRPC port: the service's own API, grpc.health.v1, server reflection
// (so grpcurl needs no proto files) and breaker.v1.BreakerAdminService. On the
// admin HTTP port: /metrics (Prometheus: gRPC server and client metrics from
// go-grpc-middleware's provider, breaker metrics, Go runtime), /healthz
// (the process is up), /readyz (every registered service is SERVING),
// /breakers (a live page) and /breakers.json.
//
// # Interceptor order
//
// Server side, outermost first: metrics, panic recovery (a panic becomes
// INTERNAL and is logged, never crashing the process), request validation
// (INVALID_ARGUMENT before any handler runs). Client side, [Server.DialOptions]
// puts the metrics interceptor outside whatever the caller adds, so breaker
// rejections are counted as the UNAVAILABLE calls they are.
//
// # Breakers
//
// The [Server] makes one [breaker.Set] for the whole process, closed by
// [Server.Close] alone: the per-method client breakers and the database
// breakers live in it, the admin service and page show them all, and
// BREAKER_CONFIG configures them. A listener that follows one breaker (a
// health check) is added after that breaker exists, with
// breaker.Set.AddListener, and compares the event's *breaker.Breaker, not
// its name.
//
// # Shutdown
//
// When the context given to [Server.Run] ends (SIGTERM, Ctrl-C), every health
// status turns NOT_SERVING so load balancers stop sending work, in-flight RPCs
// drain under [Config.ShutdownTimeout], then the remaining ones are cut.
package serve
