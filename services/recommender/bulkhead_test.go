package recommender_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/recommender"
)

// TestRecommendationsBulkhead: with every recommendation query stuck behind
// a lock on co_reviews, more of them than their pool has connections,
// catalog reads and writes are still served within a short deadline and
// their breaker stays closed; the recommendations' own breaker opens, and
// ListRecommendations serves its last good answer.
func TestRecommendationsBulkhead(t *testing.T) {
	e := newEnv(t, pgtest.Shared(t).NewDatabase(t), true)
	ctx := testContext(t)
	req := &recommenderv1.ListRecommendationsRequest{Asin: "B0010T3QT2", MaxResults: 5}
	good, err := e.client.ListRecommendations(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	asins := column(t, e, `SELECT asin FROM products WHERE asin <> 'B0010T3QT2' ORDER BY asin LIMIT 8`)

	lock, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // ends the lock whatever happened
	if _, err := lock.Exec(ctx, `LOCK TABLE co_reviews IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	var stuck sync.WaitGroup
	for _, a := range asins {
		stuck.Go(func() {
			// Uncached: these fail (UNAVAILABLE) when the breaker's
			// deadline ends them.
			_, _ = e.client.ListRecommendations(ctx, &recommenderv1.ListRecommendationsRequest{Asin: a})
		})
	}
	ended := make(chan struct{})
	go func() { stuck.Wait(); close(ended) }()
	// Every connection of the recommendations' pool waits on the lock.
	waiting := func() int {
		var n int
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%co_reviews%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	maxConns := int(e.rankDB.Pool().Config().MaxConns)
	for waiting() < maxConns {
		select {
		case <-ended:
			t.Fatalf("recommendation queries ended with fewer than %d waiting on the lock", maxConns)
		case <-time.After(5 * time.Millisecond): // polling a condition, not timing a race
		}
	}

	// Meanwhile the catalog is served, each call well within the time the
	// stuck queries have left.
	catalog := func(ctx context.Context, i int) error {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := e.client.ListProducts(ctx, &recommenderv1.ListProductsRequest{PageSize: 20}); err != nil {
			return fmt.Errorf("ListProducts: %w", err)
		}
		if _, err := e.client.GetProduct(ctx, &recommenderv1.GetProductRequest{Asin: "B0010T3QT2"}); err != nil {
			return fmt.Errorf("GetProduct: %w", err)
		}
		if _, err := e.client.ListReviews(ctx, &recommenderv1.ListReviewsRequest{Asin: "B0010T3QT2"}); err != nil {
			return fmt.Errorf("ListReviews: %w", err)
		}
		p := &recommenderv1.Product{Asin: fmt.Sprintf("B0BULK%04d", i), Title: "Bulkhead"}
		if _, err := e.client.CreateProduct(asAdmin(ctx), &recommenderv1.CreateProductRequest{Product: p}); err != nil {
			return fmt.Errorf("CreateProduct: %w", err)
		}
		return nil
	}
	for i := range 3 {
		if err := catalog(ctx, i); err != nil {
			t.Errorf("catalog call while recommendations are stuck: %v", err)
		}
	}
	if n := waiting(); n < maxConns {
		t.Fatalf("only %d recommendation queries still stuck: the catalog calls were not made meanwhile", n)
	}
	<-ended

	if s := e.breaker(t, rankBreaker).State; s != breaker.StateOpen {
		t.Errorf("%s = %v after its queries timed out, want OPEN", rankBreaker, s)
	}
	if s := e.breaker(t, dbBreaker).State; s != breaker.StateClosed {
		t.Errorf("%s = %v, want CLOSED: recommendation queries opened the catalog's breaker", dbBreaker, s)
	}
	resp, err := e.client.ListRecommendations(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	degradedOnly(t, resp.Degraded, recommender.DependencyDatabase, recommender.ReasonCircuitOpen)
	if !sameRecommendations(resp.Recommendations, good.Recommendations) {
		t.Errorf("open-breaker answer differs from the last good one")
	}
	if err := catalog(ctx, 9); err != nil {
		t.Errorf("catalog call with the recommendations' breaker open: %v", err)
	}
}

func column(t *testing.T, e *env, sql string) []string {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
