package adprovider_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/adprovider/migrations"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Wrap(m))
}

// newPool returns a pool on a fresh, migrated database of the shared test
// server, closed when the test ends.
func newPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	ctx := context.Background()
	pool, err := database.Open(ctx, pgtest.Shared(tb).NewDatabase(tb), "adprovider")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if err := database.Migrate(ctx, pool, "adprovider", migrations.FS); err != nil {
		tb.Fatal(err)
	}
	return pool
}

func countAds(tb testing.TB, pool *pgxpool.Pool) int {
	tb.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM ads").Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}
