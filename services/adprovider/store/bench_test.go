package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/services/adprovider/internal/adtest"
	"github.com/breakwater/breakwater/services/adprovider/store"
)

// BenchmarkStore runs the GetAds query of a product page through the bare
// pool and through pgbreaker, on the same database and pool, one after the
// other: the difference is what the database breaker costs (goal: breaker /
// pool ≤ 1.02).
func BenchmarkStore(b *testing.B) {
	pool := adtest.NewPool(b)
	ctx := context.Background()
	if _, err := store.New(pool).LoadSample(ctx); err != nil {
		b.Fatal(err)
	}
	set := breaker.NewSet()
	b.Cleanup(func() { _ = set.Close() })
	q := store.AdQuery{Keys: []string{"school", "Pens"}, ASIN: "B000YFJ2LM"}

	stores := []struct {
		name string
		st   *store.Store
	}{
		{"pool", store.New(pool)},
		{"breaker", store.New(pgbreaker.New(pool, set))},
		// The pool with the deadline pgbreaker gives every query: what is
		// left between this and breaker is the breaker itself.
		{"pool-deadline", store.New(deadlineQuerier{pool})},
	}
	getAds := func(b *testing.B, s *store.Store) {
		ads, err := s.GetAds(ctx, q)
		if err != nil || len(ads) != 3 {
			b.Fatalf("GetAds: %d ads, %v", len(ads), err)
		}
	}
	for _, bm := range stores {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				getAds(b, bm.st)
			}
		})
	}
	// The machine's load drifts between sub-benchmarks that run one after
	// the other; taking turns call by call cancels the drift out of the
	// ratios, which are what the goal is about.
	b.Run("interleaved", func(b *testing.B) {
		spent := make([]time.Duration, len(stores))
		for b.Loop() {
			for i, s := range stores {
				start := time.Now()
				getAds(b, s.st)
				spent[i] += time.Since(start)
			}
		}
		b.ReportMetric(float64(spent[1])/float64(spent[0]), "breaker/pool")
		b.ReportMetric(float64(spent[1])/float64(spent[2]), "breaker/pool-deadline")
	})
}

// deadlineQuerier gives each query the deadline pgbreaker would.
type deadlineQuerier struct{ *pgxpool.Pool }

func (d deadlineQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	ctx, cancel := context.WithTimeout(ctx, breaker.DefaultTimeout)
	rows, err := d.Pool.Query(ctx, sql, args...)
	if err != nil {
		cancel()
		return nil, err
	}
	return &cancelRows{Rows: rows, cancel: cancel}, nil
}

type cancelRows struct {
	pgx.Rows
	cancel context.CancelFunc
}

func (r *cancelRows) Close() { r.Rows.Close(); r.cancel() }
