package database

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Open returns a pool for url whose connections use schema as search_path.
// It does not connect: see the package documentation.
func Open(ctx context.Context, rawURL, schema string, opts ...Option) (*pgxpool.Pool, error) {
	o := evaluateOptions(opts)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx's parse errors can echo the URL, password included.
		return nil, errors.New("parse database url: malformed (check DATABASE_URL)")
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
	cfg.MinConns = 0 // never connect eagerly
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	return pool, nil
}

// Migrate creates schema if missing and applies the goose migrations in fsys.
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string, fsys fs.FS) error {
	if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(lockID(schema)),
		lock.WithLockTimeout(1, 60), // poll every second, give up after a minute
	)
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool) // closing it leaves the pool open
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(locker),
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

// MigrateWithRetry runs [Migrate] until it succeeds, with [Retry]'s
// back-off. It returns nil once migrated, or the context's error.
func MigrateWithRetry(ctx context.Context, pool *pgxpool.Pool, schema string, fsys fs.FS, maxWait time.Duration, logger *slog.Logger) error {
	return Retry(ctx, "schema migration", maxWait, logger, func(ctx context.Context) error {
		return Migrate(ctx, pool, schema, fsys)
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

// Redact returns rawURL with its password replaced, for logs.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable database url)"
	}
	return u.Redacted()
}

// lockID gives each schema its own advisory lock, so services that share a
// database do not wait for each other's migrations.
func lockID(schema string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("breakwater/migrate/" + schema))
	return int64(h.Sum64() >> 1)
}
