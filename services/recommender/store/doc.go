// Package store reads and writes the Recommender's PostgreSQL schema: the
// product catalog, its reviews, and the recommendations ranked from them.
//
// # Sections
//
//   - The database
//   - Errors
//   - Pages
//   - Idempotent reviews
//   - Recommendations
//   - Precomputed tables
//   - Import
//
// # The database
//
// A [Store] runs over a [DB], the three pgx query methods, which both
// *pgxpool.Pool and pgbreaker.DB provide, so the service puts the store behind
// its database breaker without the store knowing. [WithRecommendationDB]
// sends the ranking queries to another DB: the service gives them a pool and
// a breaker of their own, a bulkhead, so their slowness neither opens the
// breaker of catalog reads and writes nor takes their connections. Every
// write of the service is one statement, so a write is all done or not done,
// and no transaction helper is needed; the bulk import ([Bulk]) and
// [Rebuild] run their own transactions on a pool.
//
// # Errors
//
// Errors are translated at the store's edge: no rows and foreign-key
// violations become [ErrNotFound], unique violations [ErrAlreadyExists], and a
// bad page token [ErrInvalidPageToken]. Anything else is a database failure,
// wrapped once with what the store was doing; callers map it to UNAVAILABLE or
// INTERNAL without showing its text.
//
// # Pages
//
// Page tokens are opaque (base64 of a small JSON document): they hold the last
// key of the page and the request's filter, and a token offered with another
// filter is [ErrInvalidPageToken]. Pages are keyset pages (never OFFSET), so
// rows inserted meanwhile never shift or repeat later pages.
//
// # Idempotent reviews
//
// [Store.CreateReview] takes the request id of the API: a retry with the same
// id returns the first review and writes nothing; the same id with a different
// review is [ErrAlreadyExists]. A single INSERT ... ON CONFLICT DO NOTHING with
// a fallback SELECT does it, so a retry racing its first attempt cannot
// duplicate either.
//
// # Recommendations
//
// [Store.Recommend] ranks by co-review weighted by rating, then popularity in
// the seeds' categories, then popularity overall; its documentation gives the
// formula. Sums are integers and ties go to the smaller ASIN, so the same data
// always gives the same answer. Each tier is one query over a precomputed
// table, reading a bounded number of index rows whatever the catalog size: a
// product's answer reads its first max_results neighbours; a reviewer's
// merges at most [NeighboursPerSeed] neighbours of each of their
// [SeedsPerReviewer] most recently reviewed products (so a product's answer
// is exact, and a reviewer's keeps recall@10 above 0.99 on the sample
// catalog, measured by TestRecommendEqualsExact).
//
// # Precomputed tables
//
// popularity (rating-weighted review counts, per leaf category and overall)
// and co_reviews (S(X, Y) for every co-reviewed pair with a positive score)
// are derived from products and reviews by statement-level triggers, in the
// transaction that writes a product or a review: a review is in the
// rankings when CreateReview returns (staleness zero), and a retried
// CreateReview, which inserts nothing, adds nothing. Concurrent reviews by
// one reviewer are serialised by an advisory lock so each pair is counted
// once. [Rebuild] recomputes both tables into new ones and swaps them in,
// in one transaction: readers keep the old tables until it commits, and a
// rebuild that dies in the middle leaves them in place.
//
// # Import
//
// [Store.UpsertProducts] and [Store.UpsertReviews] write a batch in one
// statement each and replace what an earlier run wrote, which makes a re-run
// of an import idempotent. Reviews are keyed by their request id, which the
// importer derives from the reviewer and the product. [Bulk] does the same
// through COPY into a staging table, with the triggers' maintenance deferred
// for its transactions; [Rebuild] after the last batch brings the
// recommendation tables up to date (`recommender import` does both).
package store
