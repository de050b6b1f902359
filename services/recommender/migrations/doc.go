// Package migrations embeds the SQL migrations of the Recommender's
// PostgreSQL schema, `recommender`.
//
// # Sections
//
//   - Files
//   - Tables and indexes
//
// # Files
//
// Each file is a goose migration (`-- +goose Up` / `-- +goose Down`), named
// with a zero-padded sequence number. Table names are unqualified because the
// pool's search_path is the service's schema; internal/database.Migrate
// creates the schema and applies [FS] under an advisory lock, so several
// replicas starting at once migrate it once.
//
// # Tables and indexes
//
// products keeps every field of the originals' product metadata. Category
// paths have different lengths and PostgreSQL arrays must be rectangular, so
// the paths are stored as jsonb and flattened into category_names (any level,
// for the ListProducts filter) and leaf_categories (the most specific level,
// for "popular in the same category"), both GIN-indexed.
//
// reviews keeps every field of the originals' reviews plus request_id, the
// unique idempotency key of CreateReview, and request_hash, which tells a
// replay of a request from a reuse of its key for a different review. Its
// indexes serve reviews of one product newest first, all reviews newest first,
// a reviewer's reviews, and the two legs of the co-review join.
//
// popularity and co_reviews (00002) hold what recommendations rank by,
// derived from products and reviews and kept in step by statement-level
// triggers in the writing transaction (store.Rebuild recomputes them whole);
// each has an index in ranking order, so a tier reads its first rows. The
// triggers skip their work in a transaction that sets
// recommender.defer_maintenance = on (the bulk import, which rebuilds after).
//
// products' jsonb columns are also kept as generated arrays (00003), which
// is what reads select: no JSON is decoded per row. product_categories
// (00004) lists each category's products in ASIN order for ListProducts'
// category filter, so a page reads one index range however big the
// category.
package migrations
