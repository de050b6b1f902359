package store_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/recommender/migrations"
	"github.com/breakwater/breakwater/services/recommender/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Wrap(m))
}

// newStore returns a store over a fresh, migrated database of the shared
// server, and its pool.
func newStore(t *testing.T) (*store.Store, *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	pool, err := database.Open(ctx, pgtest.Shared(t).NewDatabase(t), "recommender")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := database.Migrate(ctx, pool, "recommender", migrations.FS); err != nil {
		t.Fatal(err)
	}
	return store.New(pool), pool
}
