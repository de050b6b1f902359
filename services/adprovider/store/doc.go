// Package store reads and writes AdProvider's PostgreSQL schema: the ads
// inventory, the targeting of GetAds, the pages of ListAds, idempotent
// creation and the sample inventory.
//
// # Sections
//
//   - The database
//   - Targeting
//   - Inventory
//   - Errors
//
// # The database
//
// A [Store] runs over a [DB], the three pgx query methods, which
// *pgxpool.Pool, pgbreaker.DB and a pgx.Tx all provide: the service puts the
// store behind its database breaker ([WithWriter] sends writes through the
// breaker that judges writes), start-up loads the sample in one transaction
// around that breaker, and benchmarks use the bare pool to measure what the
// breaker costs. Its search_path must be AdProvider's schema, as
// internal/database.Open sets it; the schema is in the sibling package
// migrations.
//
// # Targeting
//
// GetAds matches active ads whose categories or keywords equal one of the
// context keys, or one of the viewed product's categories, ignoring case,
// whole words only. AdProvider does not own the product catalogue (that is
// Recommender's), so the viewed product's categories are those of the ads for
// the same ASIN in the inventory, active or not; a product nobody advertises
// adds nothing, and callers that know its categories pass them as context
// keys. Matches come highest bid first, one ad per product (its highest bid),
// never the viewed product, at most max_ads (3 by default, 10 at most).
// When nothing matches, GetAds returns random active ads instead, also highest
// bid first, so a page always has something to show; the random choice reads
// every active ad (ORDER BY random()), which suits an inventory of thousands.
// Targeting and fallback are one query, one round trip.
//
// # Inventory
//
// Prices are kept as money.v1.Money is (currency, units, nanos); bids as
// micros of their currency, so they order exactly: a bid finer than a micro
// is refused. Bids of different currencies are compared as numbers: an
// inventory is expected to bid in one currency. Keywords are stored
// lower-cased; categories as given, with lower-cased copies for matching.
// ListAds pages newest first with keyset pagination: its page tokens are
// opaque, carry the last (create_time, ad_id) and the include_inactive filter
// they were issued for, and a token that does not fit is INVALID_ARGUMENT.
// [Store.LoadSample] fills an empty inventory with [SampleInventory], which
// advertises products of Recommender's sample catalogue.
//
// # Errors
//
// The store translates what callers act on at its edge ([ErrAlreadyExists],
// [ErrInvalidPageToken], [ErrInvalid]) and, through internal/storeerr, a
// data exception or a lost database; other failures are wrapped once with
// what the store was doing. internal/storeerr.Status maps them to gRPC codes.
package store
