// Package adprovider is AdProvider: sponsored products ("ads") shown beside
// what a shopper is looking at, served over gRPC from a PostgreSQL inventory
// that sits behind the database breaker.
//
// # Sections
//
//   - Parts
//   - Targeting
//   - Inventory
//   - Errors
//   - Admin token
//   - Health under failure
//
// # Parts
//
// A [Store] reads and writes the inventory through a [Querier]: the query
// methods of *pgxpool.Pool, which pgbreaker.DB has too. The service gives the
// store a pgbreaker.DB, so every query passes the database breaker and runs
// under a deadline; benchmarks give it the bare pool to measure what the
// breaker costs. A [Server] implements adproviderv1.AdProviderServiceServer
// over a store. [Health] turns migrations and the breaker's state into the
// gRPC health of "adprovider.v1.AdProviderService". The schema is in the
// migrations sub-package; cmd/adprovider puts it all together.
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
// [ErrInvalidPageToken], [ErrInvalid], and through internal/storeerr a data
// exception or a lost database) and returns other failures wrapped. One
// mapping shared with Recommender (internal/storeerr.Status) answers with
// canonical codes: ALREADY_EXISTS, INVALID_ARGUMENT with a
// google.rpc.BadRequest naming the field (a value PostgreSQL still refuses,
// SQLSTATE class 22, is INVALID_ARGUMENT too, logged at WARN), UNAVAILABLE
// for a lost database, and INTERNAL for anything else, without details,
// which go to the log. A call the breaker rejected is passed through as the
// breaker made it: UNAVAILABLE with an ErrorInfo (reason CIRCUIT_OPEN, the
// breaker's name) and a RetryInfo. CreateAd takes a request_id
// ([Store.CreateAdOnce]): a retry with the same id and listing returns the
// ad the first call created.
//
// # Admin token
//
// CreateAd needs `authorization: Bearer <token>` with the token of
// [WithAdminToken], compared in constant time; a missing or wrong token is
// UNAUTHENTICATED. A server without a token refuses every write with
// PERMISSION_DENIED: no configuration must never mean an open inventory.
// Reads need no token.
//
// # Health under failure
//
// [Health] reports NOT_SERVING until the schema is migrated and while
// shutting down, and SERVING otherwise: the database is shared by every
// replica, so its breaker being open is no reason to leave a load balancer's
// rotation; callers get a fast CIRCUIT_OPEN with a RetryInfo instead.
// [FollowBreaker] (ADPROVIDER_HEALTH_FOLLOWS_DATABASE) makes it NOT_SERVING
// while the database breaker is open, for replicas with databases of their
// own. Either way the breaker recovers without traffic: pgbreaker's recovery
// prober pings the database while the breaker is open and half-open.
package adprovider
