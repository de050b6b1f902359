package adprovider_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

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
	return pgtest.NewMigratedPool(tb, "adprovider", migrations.FS)
}
