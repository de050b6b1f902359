package pgtest

import (
	"context"
	"io/fs"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/breakwater/breakwater/internal/database"
)

// MigratedPool opens a pool on url for schema with internal/database (opts
// are database.Open's), closed when tb's test ends, and applies the
// migrations in fsys (database.Migrate): the set-up of every store and
// service test that needs the service's tables. Any error fails tb.
func MigratedPool(tb testing.TB, url, schema string, fsys fs.FS, opts ...database.Option) *pgxpool.Pool {
	tb.Helper()
	ctx := context.Background()
	pool, err := database.Open(ctx, url, schema, opts...)
	if err != nil {
		tb.Fatalf("pgtest: open %s: %v", schema, err)
	}
	tb.Cleanup(pool.Close)
	if err := database.Migrate(ctx, pool, schema, fsys); err != nil {
		tb.Fatalf("pgtest: migrate %s: %v", schema, err)
	}
	return pool
}

// NewMigratedPool is [MigratedPool] on a fresh database of the shared
// server ([Shared] and [Server.NewDatabase]).
func NewMigratedPool(tb testing.TB, schema string, fsys fs.FS) *pgxpool.Pool {
	tb.Helper()
	return MigratedPool(tb, Shared(tb).NewDatabase(tb), schema, fsys)
}
