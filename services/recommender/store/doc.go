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
//   - Import
//
// # The database
//
// A [Store] runs over a [DB], the three pgx query methods, which both
// *pgxpool.Pool and pgbreaker.DB provide, so the service puts the store behind
// its database breaker without the store knowing. Every write is one
// statement, so a write is all done or not done, and no transaction helper is
// needed.
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
// always gives the same answer.
//
// # Import
//
// [Store.UpsertProducts] and [Store.UpsertReviews] write a batch in one
// statement each and replace what an earlier run wrote, which makes a re-run
// of an import idempotent. Reviews are keyed by their request id, which the
// importer derives from the reviewer and the product.
package store
