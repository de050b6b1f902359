// Package database opens a service's PostgreSQL pool and migrates its schema.
//
// # Sections
//
//   - One database, one schema per service
//   - Starting without a database
//   - Fail-over
//   - Migrations
//   - Secrets in logs
//
// # One database, one schema per service
//
// Recommender and AdProvider may share a database; each owns a schema
// (recommender, adprovider). [Open] sets the pool's search_path to that schema,
// so migrations and queries use unqualified table names and never see each
// other's tables.
//
// # Starting without a database
//
// [Open] parses the URL and builds the pool but does not connect: a service
// must start, answer health checks and fail its database calls fast while
// PostgreSQL is down or starting up. Connections are made on first use, each
// under a short connect timeout so a dead host is noticed quickly.
//
// # Fail-over
//
// The URL may name several hosts with target_session_attrs=read-write
// (postgres://u@db1:5432,db2:5432/app?target_session_attrs=read-write):
// pgx, as libpq does, tries them in order for every new connection and
// keeps the first that takes writes, so after a standby is promoted new
// connections reach it. Old connections do not linger on the demoted
// server: those that fail as broken, shut down or read-only-in-recovery are
// closed by pgbreaker, and [Open] caps every connection's lifetime
// ([DefaultMaxConnLifetime], with a tenth of jitter) and checks idle ones
// every [DefaultHealthCheckPeriod]. A URL's own pool_max_conn_lifetime and
// pool_health_check_period win. Start-up work ([Prepare]) connects with the
// same URL, so it too waits for, and finds, the primary.
//
// # Migrations
//
// [Prepare] readies a service's schema at start-up: it creates the schema if
// needed, applies the goose SQL files at the root of an fs.FS (each service
// embeds its own), and runs the service's [Loader] (sample data) in one
// transaction. All of it runs under one PostgreSQL advisory lock keyed by the
// schema, held on a session of its own, so any number of replicas starting
// together prepare once, one after the other, and none fails on its twin's
// work (CREATE SCHEMA IF NOT EXISTS alone is not safe against a concurrent
// twin: the loser gets 23505 unique_violation). [Migrate] is Prepare without
// a loader. [PrepareWithRetry] repeats Prepare with capped exponential
// back-off until it succeeds or the context ends ([Retry] does the same for
// any start-up work); services run it in the background and turn their
// health to SERVING when it returns nil.
//
// # Secrets in logs
//
// [Open] never puts the connection string in an error (pgx's parse errors
// can echo it); package dsn redacts one for logs.
package database
