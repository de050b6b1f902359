package database

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

// Open returns a pool for url whose connections use schema as search_path.
// It does not connect: see the package documentation.
//
// The URL may name several hosts (postgres://h1:5432,h2:5432/db) with
// target_session_attrs=read-write: each new connection then tries the hosts
// in order and keeps the first that takes writes, which is how the pool
// finds the new primary after a fail-over (pgx does this as libpq does).
// Connections are replaced after a maximum lifetime (default 15 minutes,
// with up to a tenth more of jitter, so they do not all reconnect at once;
// a URL's pool_max_conn_lifetime wins) so that none stays forever on a
// server that was demoted, and idle ones are checked every
// health-check period (default 10 seconds; pool_health_check_period wins).
// Connections that report an admin shutdown, a broken link or a standby
// are dropped by pgbreaker when they fail.
func Open(ctx context.Context, rawURL, schema string, opts ...Option) (*pgxpool.Pool, error) {
	o := evaluateOptions(opts)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx's parse errors can echo the URL, password included.
		return nil, errors.New("parse database url: malformed (check the database URL: DATABASE_URL, <SERVICE>_DATABASE_URL or -database-url)")
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok && o.applicationName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = o.applicationName
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > o.connectTimeout {
		cfg.ConnConfig.ConnectTimeout = o.connectTimeout
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	// A URL's own pool_* settings win over the defaults.
	if !strings.Contains(rawURL, "pool_max_conn_lifetime") {
		cfg.MaxConnLifetime = o.maxConnLifetime
		cfg.MaxConnLifetimeJitter = o.maxConnLifetime / 10
	}
	if !strings.Contains(rawURL, "pool_health_check_period") {
		cfg.HealthCheckPeriod = o.healthCheckPeriod
	}
	cfg.MinConns = 0 // never connect eagerly
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	return pool, nil
}

// Loader fills a freshly migrated schema with what a new database needs
// (sample data), inside the transaction [Prepare] gives it. It must be
// idempotent: it runs on every start and decides for itself whether there is
// anything to do.
type Loader func(ctx context.Context, tx pgx.Tx) error

// Migrate is [Prepare] without a loader: it creates schema if missing and
// applies the goose migrations in fsys.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string, fsys fs.FS) error {
	return Prepare(ctx, pool, schema, fsys, nil)
}

// Prepare makes schema ready for a service: it creates the schema if
// missing, applies the goose migrations in fsys, then runs load (if not nil)
// in one transaction, so a start that dies half-way leaves either nothing or
// everything load wrote.
//
// All three steps run under one session-level advisory lock keyed by the
// schema, held on a connection of its own (not from pool, so a pool of one
// connection cannot deadlock against it). Replicas starting together
// therefore prepare one after the other: the first does the work, the others
// find it done. The lock matters for every step, not only for the
// migrations: PostgreSQL's CREATE SCHEMA IF NOT EXISTS is not safe against a
// concurrent twin (the loser fails with 23505 unique_violation on
// pg_namespace_nspname_index), and two loaders could both see an empty
// table. The lock ends with the session, so a replica killed while holding
// it never blocks the others.
func Prepare(ctx context.Context, pool *pgxpool.Pool, schema string, fsys fs.FS, load Loader) error {
	lockConn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("prepare %s: connect: %w", schema, err)
	}
	// Closing the session releases the lock whatever happened before.
	defer lockConn.Close(context.WithoutCancel(ctx))
	if _, err := lockConn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockID(schema)); err != nil {
		return fmt.Errorf("prepare %s: start-up lock: %w", schema, err)
	}
	if beforePrepare != nil {
		beforePrepare(schema)
	}
	if _, err := lockConn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	if err := migrate(ctx, pool, schema, fsys); err != nil {
		return err
	}
	if load != nil {
		if err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{}, func(tx pgx.Tx) error { return load(ctx, tx) }); err != nil {
			return fmt.Errorf("load %s: %w", schema, err)
		}
	}
	return nil
}

// beforePrepare, when set by a test, runs once the start-up lock is held.
var beforePrepare func(schema string)

// migrate applies the migrations; the caller holds the start-up lock, so
// goose needs no locker of its own.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string, fsys fs.FS) error {
	db := stdlib.OpenDBFromPool(pool) // closing it leaves the pool open
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithTableName(schema+".goose_db_version"),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return fmt.Errorf("migrations of %s: %w", schema, err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	return nil
}

// PrepareWithRetry runs [Prepare] until it succeeds, with [Retry]'s
// back-off. It returns nil once prepared, or the context's error.
func PrepareWithRetry(ctx context.Context, pool *pgxpool.Pool, schema string, fsys fs.FS, load Loader, maxWait time.Duration, logger *slog.Logger) error {
	return Retry(ctx, "preparing schema "+schema, maxWait, logger, func(ctx context.Context) error {
		return Prepare(ctx, pool, schema, fsys, load)
	})
}

// Retry runs fn until it returns nil, waiting between attempts with
// exponential back-off from 100ms up to maxWait and logging each failure as
// what failed. It returns nil once fn succeeded, or the context's error.
// Start-up work (migrations, loading sample data) uses it, so that a
// service started before its database gets there without a restart.
func Retry(ctx context.Context, what string, maxWait time.Duration, logger *slog.Logger, fn func(context.Context) error) error {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			logger.Info(what+" done", "attempts", attempt)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		logger.Warn(what+" failed; retrying", "attempt", attempt, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, maxWait)
	}
}

// lockID gives each schema its own advisory lock, so services that share a
// database do not wait for each other's migrations.
func lockID(schema string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("breakwater/migrate/" + schema))
	return int64(h.Sum64() >> 1)
}

// Close closes pool, waiting at most bound. pgxpool's Close waits until
// every connection is released and closed, which a database that stopped
// answering (frozen, or behind a dead network) can make last as long as the
// kernel keeps the sockets: 15 s measured, past a service's drain bound
// and a container's grace period. After bound, Close logs and returns; the
// pool finishes closing in the background, or the process exits first.
func Close(pool *pgxpool.Pool, bound time.Duration, logger *slog.Logger) {
	done := make(chan struct{})
	go func() {
		pool.Close()
		close(done)
	}()
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		logger.Warn("database pool did not close in time; not waiting for it", "bound", bound)
	}
}
