package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
)

// Bulk writes imported batches with COPY, for catalogs of millions of
// reviews: each batch is copied into a temporary staging table and upserted
// from there, in one transaction, with the maintenance of the recommendation
// tables deferred. Call [Rebuild] after the last batch; until then
// recommendations do not see the imported rows. It has the methods of
// catalogcsv.Catalog.
type Bulk struct {
	db TxBeginner
}

// NewBulk returns a bulk writer over db (a *pgxpool.Pool), whose
// search_path must be the recommender schema.
func NewBulk(db TxBeginner) *Bulk { return &Bulk{db: db} }

var (
	productCopyColumns = []string{"asin", "title", "description", "image_url", "related", "sales_rank",
		"categories", "brand", "price_currency", "price_units", "price_nanos"}
	reviewCopyColumns = []string{"request_id", "asin", "reviewer_id", "reviewer_name", "helpful_votes",
		"total_votes", "review_text", "overall", "summary", "review_time"}
)

// UpsertProducts is [Store.UpsertProducts] through COPY.
func (b *Bulk) UpsertProducts(ctx context.Context, products []*recommenderv1.Product) error {
	if len(products) == 0 {
		return nil
	}
	a := lastProducts(products)
	err := b.staged(ctx, `CREATE TEMP TABLE staging_products (asin text, title text, description text,
		image_url text, related text, sales_rank text, categories text, brand text, price_currency text,
		price_units bigint, price_nanos integer) ON COMMIT DROP`,
		"staging_products", productCopyColumns, len(a.asin), a.row,
		func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, insertProductsSelect+` FROM staging_products u`+upsertProducts)
			return err
		})
	return translate(err, "upsert products")
}

// UpsertReviews is [Store.UpsertReviews] through COPY.
func (b *Bulk) UpsertReviews(ctx context.Context, reviews []ImportedReview) (skipped []string, err error) {
	if len(reviews) == 0 {
		return nil, nil
	}
	a := newReviewArgs(reviews)
	var written []string
	err = b.staged(ctx, `CREATE TEMP TABLE staging_reviews (request_id text, asin text, reviewer_id text,
		reviewer_name text, helpful_votes integer, total_votes integer, review_text text, overall smallint,
		summary text, review_time timestamptz) ON COMMIT DROP`,
		"staging_reviews", reviewCopyColumns, len(a.rid), a.row,
		func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, upsertReviews+` FROM staging_reviews u`+upsertReviewsConflict)
			if err != nil {
				return err
			}
			written, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
	if err != nil {
		return nil, translate(err, "upsert reviews")
	}
	return notWritten(a.rid, written), nil
}

// staged runs one batch: a transaction with maintenance deferred, the
// staging table created, n rows copied into it, then upsert.
func (b *Bulk) staged(ctx context.Context, create, table string, columns []string, n int, row func(int) []any, upsert func(pgx.Tx) error) error {
	tx, err := b.db.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if _, err := tx.Exec(ctx, `SET LOCAL recommender.defer_maintenance = on`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, create); err != nil {
		return err
	}
	i := 0
	copied, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		i++
		return row(i - 1), nil
	}))
	if err != nil {
		return err
	}
	if copied != int64(n) {
		return fmt.Errorf("copied %d rows of %d", copied, n)
	}
	if err := upsert(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
