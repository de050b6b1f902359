// Package serve is the serving loop every breakwater service runs: its
// configuration, logger, gRPC server, breaker set, admin HTTP side and
// graceful shutdown, so that each cmd/ main is only its service's wiring.
//
// # Sections
//
//   - Configuration
//   - What every service serves
//   - Interceptor order
//   - Breakers
//   - Shutdown
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
// The [Server] owns one [breaker.Set] for the whole process: the per-method
// client breakers and the database breaker live in it, the admin service and
// page show them all, and BREAKER_CONFIG configures them.
//
// # Shutdown
//
// When the context given to [Server.Run] ends (SIGTERM, Ctrl-C), every health
// status turns NOT_SERVING so load balancers stop sending work, in-flight RPCs
// drain under [Config.ShutdownTimeout], then the remaining ones are cut.
package serve
