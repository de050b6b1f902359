package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/recommender/migrations"
	"github.com/breakwater/breakwater/services/recommender/samplecatalog"
	"github.com/breakwater/breakwater/services/recommender/store"
)

// checkTables fails the test unless popularity, co_reviews and
// product_categories hold exactly what a computation from products and
// reviews gives.
func checkTables(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	ctx := context.Background()
	for name, q := range map[string]string{
		"popularity": `
			WITH want AS (
				SELECT DISTINCT c AS category, p.asin, coalesce(r.score, 0)::bigint AS score
				FROM products p
				LEFT JOIN (SELECT asin, sum(overall - 1) AS score FROM reviews GROUP BY asin) r ON r.asin = p.asin,
					unnest(array_append(p.leaf_categories, '')) AS c)
			SELECT count(*) FROM ((SELECT * FROM want EXCEPT ALL SELECT category, asin, score FROM popularity)
				UNION ALL (SELECT category, asin, score FROM popularity EXCEPT ALL SELECT * FROM want)) d`,
		"co_reviews": `
			WITH want AS (
				SELECT a.asin, b.asin AS other, sum((a.overall - 1) * (b.overall - 1))::bigint AS score
				FROM reviews a JOIN reviews b ON b.reviewer_id = a.reviewer_id AND b.asin <> a.asin
				GROUP BY 1, 2 HAVING sum((a.overall - 1) * (b.overall - 1)) > 0)
			SELECT count(*) FROM ((SELECT * FROM want EXCEPT ALL SELECT asin, other, score FROM co_reviews)
				UNION ALL (SELECT asin, other, score FROM co_reviews EXCEPT ALL SELECT * FROM want)) d`,
		"product_categories": `
			WITH want AS (SELECT DISTINCT c AS name, p.asin FROM products p, unnest(p.category_names) AS c)
			SELECT count(*) FROM ((SELECT * FROM want EXCEPT ALL SELECT name, asin FROM product_categories)
				UNION ALL (SELECT name, asin FROM product_categories EXCEPT ALL SELECT * FROM want)) d`,
	} {
		var diff int
		if err := pool.QueryRow(ctx, q).Scan(&diff); err != nil {
			t.Fatal(err)
		}
		if diff != 0 {
			t.Errorf("%s: %d rows differ from a computation from the reviews", name, diff)
		}
	}
}

func sampleStore(t *testing.T) (*store.Store, *pgxpool.Pool) {
	t.Helper()
	s, pool := newStore(t)
	if _, err := samplecatalog.LoadIfEmpty(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s, pool
}

func sameRecommendations(a, b []*recommenderv1.Recommendation) bool {
	return slices.EqualFunc(a, b, func(x, y *recommenderv1.Recommendation) bool {
		return proto.Equal(x, y)
	})
}

// TestRecommendEqualsExact: on the sample catalog, the precomputed tables
// give today's exact answers (items, order, reasons and scores) for every
// product; for every reviewer too when each seed's neighbours are merged
// whole. With the default NeighboursPerSeed, a reviewer's top 10 keeps
// recall@10 ≥ 0.95 against the exact computation.
func TestRecommendEqualsExact(t *testing.T) {
	s, pool := sampleStore(t)
	checkTables(t, pool)
	ctx := context.Background()
	asins := column(t, pool, `SELECT asin FROM products ORDER BY asin`)
	reviewers := column(t, pool, `SELECT DISTINCT reviewer_id FROM reviews ORDER BY 1`)
	var products, people []store.RecommendParams
	for _, a := range asins {
		products = append(products, store.RecommendParams{ASIN: a}, store.RecommendParams{ASIN: a, MaxResults: 100})
	}
	for i, r := range reviewers {
		people = append(people, store.RecommendParams{ReviewerID: r},
			store.RecommendParams{ReviewerID: r, ASIN: asins[i%len(asins)], MaxResults: 30})
	}
	compare := func(t *testing.T, params []store.RecommendParams) (differ int, recall float64) {
		t.Helper()
		for _, p := range params {
			got, err := s.Recommend(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			want, err := s.RecommendExact(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			recall += recallAt10(got, want)
			if !sameRecommendations(got, want) {
				differ++
			}
		}
		return differ, recall / float64(len(params))
	}
	t.Run("products", func(t *testing.T) {
		if differ, _ := compare(t, products); differ > 0 {
			t.Errorf("%d of %d answers differ from the exact computation", differ, len(products))
		}
	})
	t.Run("reviewers, whole neighbour rows", func(t *testing.T) {
		defer store.SetNeighboursPerSeed(len(asins))()
		if differ, _ := compare(t, people); differ > 0 {
			t.Errorf("%d of %d answers differ from the exact computation", differ, len(people))
		}
	})
	t.Run("reviewers", func(t *testing.T) {
		differ, recall := compare(t, people)
		t.Logf("NeighboursPerSeed %d: %d of %d answers differ from the exact ones; recall@10 %.4f",
			store.NeighboursPerSeed, differ, len(people), recall)
		if recall < 0.95 {
			t.Errorf("recall@10 = %.4f, want ≥ 0.95", recall)
		}
	})
}

// recallAt10 is the share of the exact top 10 that got's top 10 holds.
func recallAt10(got, want []*recommenderv1.Recommendation) float64 {
	want = want[:min(10, len(want))]
	if len(want) == 0 {
		return 1
	}
	top := map[string]bool{}
	for _, r := range got[:min(10, len(got))] {
		top[r.GetProduct().GetAsin()] = true
	}
	hit := 0
	for _, r := range want {
		if top[r.GetProduct().GetAsin()] {
			hit++
		}
	}
	return float64(hit) / float64(len(want))
}

func asinsOf(recs []*recommenderv1.Recommendation) []string {
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%s/%s", r.GetProduct().GetAsin(), r.GetReason()))
	}
	return out
}

func column(t *testing.T, pool *pgxpool.Pool, sql string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCreateReviewUpdatesNeighbours: a review is in the neighbour and
// popularity rows when CreateReview returns (same transaction: staleness
// zero), a retry with the same request id adds nothing, and concurrent
// reviews by one reviewer are each counted once.
func TestCreateReviewUpdatesNeighbours(t *testing.T) {
	s, pool := newStore(t)
	seedQuality(t, s)
	checkTables(t, pool)
	ctx := context.Background()
	at := timestamppb.New(time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC))

	// r4 (A1 E5) likes F: F joins E's co-reviewed products with 4·4.
	before := recommend(t, s, store.RecommendParams{ASIN: asinOf("E")})
	if slices.Contains(before, rec{"F", store.ReasonCoReviewed}) {
		t.Fatalf("F already co-reviewed with E: %v", before)
	}
	r := &recommenderv1.Review{Asin: asinOf("F"), ReviewerId: "r4", Overall: 5, ReviewTime: at}
	for range 3 { // the first create and two retries
		if _, err := s.CreateReview(ctx, r, "req-1"); err != nil {
			t.Fatal(err)
		}
	}
	after := recommend(t, s, store.RecommendParams{ASIN: asinOf("E")})
	if len(after) == 0 || after[0] != (rec{"F", store.ReasonCoReviewed}) {
		t.Errorf("after r4 reviewed F: %v, want F co-reviewed first", after)
	}
	var score int64
	if err := pool.QueryRow(ctx, `SELECT score FROM co_reviews WHERE asin = $1 AND other = $2`,
		asinOf("E"), asinOf("F")).Scan(&score); err != nil || score != 16 {
		t.Errorf("S(E, F) = %d (%v), want 16 (counted once)", score, err)
	}
	checkTables(t, pool)

	// Concurrent reviews by one reviewer, each in its own transaction.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i, l := range "ABCDEFGH" {
		wg.Go(func() {
			_, err := s.CreateReview(ctx, &recommenderv1.Review{Asin: asinOf(string(l)), ReviewerId: "r9",
				Overall: int32(2 + i%4), ReviewTime: at}, fmt.Sprintf("r9-%c", l))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkTables(t, pool)
	if got, want := recommend(t, s, store.RecommendParams{ASIN: asinOf("A")}), exactRecs(t, s, store.RecommendParams{ASIN: asinOf("A")}); !slices.Equal(got, want) {
		t.Errorf("after r9's reviews: %v, exact %v", got, want)
	}

	// Updates and deletes (not done by the service, but possible by hand)
	// keep the tables right too.
	if _, err := pool.Exec(ctx, `UPDATE reviews SET overall = 6 - overall WHERE reviewer_id IN ('r1', 'r9')`); err != nil {
		t.Fatal(err)
	}
	checkTables(t, pool)
	if _, err := pool.Exec(ctx, `DELETE FROM reviews WHERE reviewer_id = 'r3'`); err != nil {
		t.Fatal(err)
	}
	checkTables(t, pool)
	// So do products whose categories change.
	if err := s.UpsertProducts(ctx, []*recommenderv1.Product{product(asinOf("H"), []string{"Office Products", "Pens"})}); err != nil {
		t.Fatal(err)
	}
	checkTables(t, pool)
}

func exactRecs(t *testing.T, s *store.Store, p store.RecommendParams) []rec {
	t.Helper()
	recs, err := s.RecommendExact(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var out []rec
	for _, r := range recs {
		out = append(out, rec{r.Product.Asin[9:], r.Reason})
	}
	return out
}

// TestRebuildCrash: a rebuild whose backend is terminated at any step leaves
// the old tables in place and right; a rebuild that completes recomputes
// them.
func TestRebuildCrash(t *testing.T) {
	s, pool := sampleStore(t)
	ctx := context.Background()
	// Break the tables the way a deferred import leaves them.
	if _, err := pool.Exec(ctx, `UPDATE co_reviews SET score = score + 1 WHERE asin < 'B005'`); err != nil {
		t.Fatal(err)
	}
	for _, at := range []store.RebuildStep{store.StepLocked, store.StepPopularity, store.StepCoReviews, store.StepIndexed, store.StepSwapped} {
		t.Run(string(at), func(t *testing.T) {
			var before int64
			if err := pool.QueryRow(ctx, `SELECT sum(score) FROM co_reviews`).Scan(&before); err != nil {
				t.Fatal(err)
			}
			err := store.Rebuild(ctx, pool, func(ctx context.Context, step store.RebuildStep) error {
				if step != at {
					return nil
				}
				// The rebuild's backend ends, as when its connection or
				// process dies.
				_, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
					WHERE datname = current_database() AND application_name = 'recommender-rebuild'`)
				return err
			})
			if err == nil {
				t.Fatal("rebuild with its backend killed succeeded")
			}
			var after int64
			if err := pool.QueryRow(ctx, `SELECT sum(score) FROM co_reviews`).Scan(&after); err != nil {
				t.Fatal(err)
			}
			if after != before {
				t.Errorf("co_reviews changed by a failed rebuild: sum %d, was %d", after, before)
			}
			var next int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relname LIKE '%\_next%'`).Scan(&next); err != nil || next != 0 {
				t.Errorf("%d relations of the half-built tables left (%v)", next, err)
			}
			// Still serving from the old tables.
			if _, err := s.Recommend(ctx, store.RecommendParams{ReviewerID: "AOXYEIOONT0EAZ"}); err != nil {
				t.Error(err)
			}
		})
	}
	if err := store.Rebuild(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	checkTables(t, pool)
	// The triggers work on the rebuilt tables.
	if _, err := s.CreateReview(ctx, &recommenderv1.Review{Asin: "B0010T3QT2", ReviewerId: "AOXYEIOONT0EAZ", Overall: 5,
		ReviewTime: timestamppb.Now()}, "after-rebuild"); err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	checkTables(t, pool)
}

// TestRebuildServerKilled: PostgreSQL killed (-9) in the middle of a rebuild,
// after the new tables are built and indexed, comes back with the old
// tables, consistent with the reviews, and no half-built ones.
func TestRebuildServerKilled(t *testing.T) {
	pg := pgtest.Start(t, pgtest.WithSetting("synchronous_commit", "on"))
	ctx := context.Background()
	dbURL := pg.NewDatabase(t)
	open := func() *pgxpool.Pool {
		pool, err := database.Open(ctx, dbURL, "recommender")
		if err != nil {
			t.Fatal(err)
		}
		return pool
	}
	pool := open()
	if err := database.Migrate(ctx, pool, "recommender", migrations.FS); err != nil {
		t.Fatal(err)
	}
	s := store.New(pool)
	seedQuality(t, s)
	// A mark the rebuild would erase: S(A, B) is 28, make it 1028.
	if _, err := pool.Exec(ctx, `UPDATE co_reviews SET score = score + 1000 WHERE asin = $1 AND other = $2`, asinOf("A"), asinOf("B")); err != nil {
		t.Fatal(err)
	}
	err := store.Rebuild(ctx, pool, func(_ context.Context, step store.RebuildStep) error {
		if step == store.StepIndexed {
			pg.Kill(t)
		}
		return nil
	})
	if err == nil {
		t.Fatal("rebuild with the server killed succeeded")
	}
	pool.Close()
	pg.Restart(t)
	pool = open()
	defer pool.Close()
	var score int64
	if err := pool.QueryRow(ctx, `SELECT score FROM co_reviews WHERE asin = $1 AND other = $2`, asinOf("A"), asinOf("B")).Scan(&score); err != nil || score != 1028 {
		t.Errorf("S(A, B) after the crash = %d (%v), want the old table's 1028", score, err)
	}
	var next int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_class WHERE relname LIKE '%\_next%'`).Scan(&next); err != nil || next != 0 {
		t.Errorf("%d relations of the half-built tables left (%v)", next, err)
	}
	if got := recommend(t, store.New(pool), store.RecommendParams{ASIN: asinOf("A")}); len(got) == 0 || got[0] != (rec{"B", store.ReasonCoReviewed}) {
		t.Errorf("after the crash: %v, want B first", got)
	}
	// The rebuild run again completes and recomputes the mark away.
	if err := store.Rebuild(ctx, pool, nil); err != nil {
		t.Fatal(err)
	}
	checkTables(t, pool)
}
