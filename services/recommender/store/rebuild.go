package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TxBeginner starts transactions: *pgxpool.Pool satisfies it.
type TxBeginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// RebuildDB is what [Rebuild] needs: *pgxpool.Pool satisfies it.
type RebuildDB interface {
	TxBeginner
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// RebuildStep names a step of [Rebuild], for progress and for tests that
// stop a rebuild in the middle.
type RebuildStep string

// The steps of [Rebuild], in order.
const (
	StepLocked     RebuildStep = "locked"     // writes of products and reviews wait from here
	StepPopularity RebuildStep = "popularity" // popularity_next filled
	StepCoReviews  RebuildStep = "co_reviews" // co_reviews_next filled
	StepIndexed    RebuildStep = "indexed"    // the new tables' keys and indexes built
	StepSwapped    RebuildStep = "swapped"    // the new tables renamed into place, not yet committed
	StepVacuumed   RebuildStep = "vacuumed"   // committed, then vacuumed for index-only reads
)

// Rebuild recomputes the popularity and co_reviews tables from products and
// reviews: after a bulk import (which defers their maintenance), or when the
// weighting changes. It builds new tables and swaps them for the old ones in
// one transaction, so readers keep reading the old tables until it commits,
// and a rebuild that fails or dies in the middle leaves the old tables, still
// consistent with the reviews, in place. Writes of products and reviews wait
// while it runs (their triggers would update the old tables); reads do not.
// onStep, if not nil, is called after each step with the transaction's
// context.
func Rebuild(ctx context.Context, db RebuildDB, onStep func(context.Context, RebuildStep) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	var conn interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	} = tx
	step := func(s RebuildStep, sql ...string) error {
		for _, q := range sql {
			if _, err := conn.Exec(ctx, q); err != nil {
				return fmt.Errorf("rebuild %s: %w", s, err)
			}
		}
		if onStep != nil {
			if err := onStep(ctx, s); err != nil {
				return fmt.Errorf("rebuild %s: %w", s, err)
			}
		}
		return nil
	}
	if err := step(StepLocked,
		// Sorting and index builds of millions of rows: enough memory not to
		// spill, for this transaction only.
		`SET LOCAL work_mem = '256MB'`,
		// Visible as such in pg_stat_activity while it holds its locks.
		`SET LOCAL application_name = 'recommender-rebuild'`,
		`SET LOCAL maintenance_work_mem = '512MB'`,
		`LOCK TABLE products, reviews IN SHARE MODE`,
		`DROP TABLE IF EXISTS popularity_next, co_reviews_next`,
	); err != nil {
		return err
	}
	if err := step(StepPopularity,
		`CREATE TABLE popularity_next (category text NOT NULL, asin text NOT NULL, score bigint NOT NULL DEFAULT 0)`,
		`INSERT INTO popularity_next (category, asin, score)
		SELECT DISTINCT ON (c, p.asin) c, p.asin, coalesce(r.score, 0)
		FROM products p
		LEFT JOIN (SELECT asin, sum(overall - 1) AS score FROM reviews GROUP BY asin) r ON r.asin = p.asin,
			unnest(array_append(p.leaf_categories, '')) AS c
		ORDER BY c, p.asin`,
	); err != nil {
		return err
	}
	if err := step(StepCoReviews,
		`CREATE TABLE co_reviews_next (asin text NOT NULL, other text NOT NULL, score bigint NOT NULL)`,
		// One-star reviews add nothing, so they are left out of the join.
		`INSERT INTO co_reviews_next (asin, other, score)
		SELECT a.asin, b.asin, sum((a.overall - 1) * (b.overall - 1))
		FROM reviews a JOIN reviews b ON b.reviewer_id = a.reviewer_id AND b.asin <> a.asin
		WHERE a.overall > 1 AND b.overall > 1
		GROUP BY 1, 2
		ORDER BY 1, 2`,
	); err != nil {
		return err
	}
	if err := step(StepIndexed,
		`ALTER TABLE popularity_next ADD CONSTRAINT popularity_next_pkey PRIMARY KEY (category, asin)`,
		`CREATE INDEX popularity_next_rank_idx ON popularity_next (category, score DESC, asin)`,
		`ALTER TABLE co_reviews_next ADD CONSTRAINT co_reviews_next_pkey PRIMARY KEY (asin, other)`,
		`CREATE INDEX co_reviews_next_rank_idx ON co_reviews_next (asin, score DESC, other)`,
	); err != nil {
		return err
	}
	if err := step(StepSwapped,
		`DROP TABLE popularity, co_reviews`,
		`ALTER TABLE popularity_next RENAME TO popularity`,
		`ALTER TABLE popularity RENAME CONSTRAINT popularity_next_pkey TO popularity_pkey`,
		`ALTER INDEX popularity_next_rank_idx RENAME TO popularity_rank_idx`,
		`ALTER TABLE co_reviews_next RENAME TO co_reviews`,
		`ALTER TABLE co_reviews RENAME CONSTRAINT co_reviews_next_pkey TO co_reviews_pkey`,
		`ALTER INDEX co_reviews_next_rank_idx RENAME TO co_reviews_rank_idx`,
	); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	// Sets the visibility map, so the rank indexes are read index-only
	// without visiting the heap. Outside the transaction (VACUUM cannot run
	// in one); the tables are already whole and in place.
	conn = db
	if err := step(StepVacuumed, `VACUUM (ANALYZE) popularity, co_reviews`); err != nil {
		return err
	}
	return nil
}
