// Package adtest holds what AdProvider's tests share across packages (the
// service's, its store's): a migrated database, listings to create, and
// the ids and count of ads.
// Only tests import it.
package adtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/adprovider/migrations"
)

// NewPool returns a pool on a fresh, migrated database of the shared test
// server (pgtest.NewMigratedPool), closed when the test ends.
func NewPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	return pgtest.NewMigratedPool(tb, "adprovider", migrations.FS)
}

// USD is units dollars and cents cents.
func USD(units int64, cents int32) *moneyv1.Money {
	return &moneyv1.Money{CurrencyCode: "USD", Units: units, Nanos: cents * 10_000_000}
}

// Listing is a listing of ad id for product asin at $9.99, bidding bidCents
// cents, matched by categories and keywords.
func Listing(id, asin string, bidCents int32, active bool, categories, keywords []string) *adproviderv1.AdListing {
	return &adproviderv1.AdListing{
		Ad: &adproviderv1.Ad{
			AdId:  id,
			Asin:  asin,
			Title: "Title of " + id,
			Price: USD(9, 99),
			Text:  "Buy " + id,
		},
		Categories: categories,
		Keywords:   keywords,
		Bid:        USD(0, bidCents),
		Active:     active,
	}
}

// AdIDs are the ids of ads, in order.
func AdIDs(ads []*adproviderv1.Ad) []string {
	ids := make([]string, len(ads))
	for i, a := range ads {
		ids[i] = a.GetAdId()
	}
	return ids
}

// CountAds is the number of ads in pool's inventory, active or not.
func CountAds(tb testing.TB, pool *pgxpool.Pool) int {
	tb.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM ads").Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}
