// Package migrations holds the SQL migrations of AdProvider's schema,
// embedded in the binary so that a service migrates its own database at start.
//
// # Sections
//
//   - Files
//   - Schema
//
// # Files
//
// Each file is a goose SQL migration (-- +goose Up / -- +goose Down) at the
// root of [FS], numbered in the order it runs. Table names are unqualified:
// the migration runs with search_path set to the service's schema
// ("adprovider"), so the same files work in any schema a test picks.
//
// # Schema
//
// One table, ads: a sponsored product with its price (currency, units,
// nanos, as money.v1.Money), its bid in micros of its currency, its targeting
// (categories as given plus lower-cased copies for matching, keywords stored
// lower-cased) and whether it is active. GIN indexes serve the targeting
// match, a partial index on active ads orders them by bid, and an index on
// (create_time, ad_id) serves ListAds' keyset pagination.
package migrations

import "embed"

// FS holds the migrations, *.sql at its root.
//
//go:embed *.sql
var FS embed.FS
