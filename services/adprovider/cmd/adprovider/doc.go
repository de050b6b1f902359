// Command adprovider serves AdProviderService (adprovider.v1) over gRPC,
// from the adprovider schema of a PostgreSQL database.
//
//	DATABASE_URL=postgres://user:pass@localhost:5432/breakwater go run ./services/adprovider/cmd/adprovider
//	grpcurl -plaintext -d '{"context_keys": ["pens"]}' localhost:8001 adprovider.v1.AdProviderService/GetAds
//
// # Sections
//
//   - Configuration
//   - Start-up
//   - Under failure
//   - Shutdown
//
// # Configuration
//
// From the environment (docs/architecture.md; README.md, "Configuration"), each overridable by a
// flag (`adprovider -h` lists them; package internal/serve reads them):
//
//   - ADPROVIDER_ADDR: the gRPC address (default :8001).
//   - ADPROVIDER_ADMIN_ADDR: the admin HTTP address (default :9001): /metrics,
//     /healthz, /readyz, /breakers.
//   - ADPROVIDER_DATABASE_URL, or DATABASE_URL: the database (required);
//     the password never reaches the logs.
//   - ADMIN_TOKEN: the bearer token CreateAd needs; without it writes are
//     refused with PERMISSION_DENIED.
//   - BREAKER_CONFIG: a JSON file of breaker settings (interceptors/breaker);
//     the database breaker is named "adprovider/postgres".
//   - LOG_LEVEL (debug, info, warn, error) and LOG_FORMAT (text, json).
//   - TLS_CERT_FILE and TLS_KEY_FILE: serve TLS (plaintext when unset).
//
// Every request is checked against its protovalidate rules; gRPC health,
// server reflection and breaker.v1.BreakerAdminService are served on the same
// port.
//
// # Start-up
//
// The service listens at once, whether or not the database is up. Health for
// "adprovider.v1.AdProviderService" is NOT_SERVING until the schema is
// migrated (retried with back-off) and the sample inventory is loaded into an
// empty table; then it turns SERVING, without a restart.
//
// # Under failure
//
// Every query passes the database breaker under a deadline. While it is open,
// GetAds fails at once with UNAVAILABLE, an ErrorInfo naming the breaker and a
// RetryInfo, and health turns NOT_SERVING; the service pings the database
// through the breaker meanwhile, so it closes when the database is back, and
// health turns SERVING again.
//
// # Shutdown
//
// On SIGTERM or SIGINT health turns NOT_SERVING, in-flight calls drain with
// GracefulStop for up to ten seconds (-shutdown-timeout), and the pool closes.
package main
