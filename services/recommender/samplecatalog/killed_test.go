package samplecatalog_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/recommender/catalogcsv"
	"github.com/breakwater/breakwater/services/recommender/migrations"
	"github.com/breakwater/breakwater/services/recommender/samplecatalog"
	"github.com/breakwater/breakwater/services/recommender/store"
)

// killer is the start-up transaction seen by the store, counting its
// statements; at statement `at` it terminates its own backend first, as a
// crash of the loading process does to its session.
type killer struct {
	tx     pgx.Tx
	n, at  int
	killed bool
}

func (k *killer) tick(ctx context.Context) {
	if k.n++; k.n == k.at {
		_, _ = k.tx.Exec(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
		k.killed = true
	}
}

func (k *killer) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	k.tick(ctx)
	return k.tx.Exec(ctx, sql, args...)
}

func (k *killer) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	k.tick(ctx)
	return k.tx.Query(ctx, sql, args...)
}

func (k *killer) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	k.tick(ctx)
	return k.tx.QueryRow(ctx, sql, args...)
}

// TestSampleLoadKilledAtAnyPoint: the sample load, as the service runs it
// (database.Prepare's transaction, small batches so there are many
// statements), is killed at six random statements; each time nothing of it
// stays, and the next start loads the whole sample exactly once.
func TestSampleLoadKilledAtAnyPoint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	url := pgtest.Shared(t).NewDatabase(t)
	pool, err := database.Open(ctx, url, "recommender")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var k *killer
	load := func(ctx context.Context, tx pgx.Tx) error {
		k.tx = tx
		_, err := samplecatalog.LoadIfEmpty(ctx, store.New(k), catalogcsv.WithBatchSize(200))
		return err
	}
	counts := func() (p, r int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM reviews)`).Scan(&p, &r); err != nil {
			t.Fatal(err)
		}
		return p, r
	}

	// Count the statements of a whole load, on a throw-away schema.
	probe, err := database.Open(ctx, url, "recommender_probe")
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	k = &killer{}
	if err := database.Prepare(ctx, probe, "recommender_probe", migrations.FS, load); err != nil {
		t.Fatal(err)
	}
	total := k.n
	var wantP, wantR int
	if err := probe.QueryRow(ctx, `SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM reviews)`).Scan(&wantP, &wantR); err != nil {
		t.Fatal(err)
	}

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	points := []int{1, total} // the first statement and the last (the commit follows it)
	for len(points) < 6 {
		if p := 1 + rng.IntN(total); !slices.Contains(points, p) {
			points = append(points, p)
		}
	}
	t.Logf("a whole load is %d statements (%d products, %d reviews); killing at %v (seed %d)", total, wantP, wantR, points, seed)
	for _, at := range points {
		k = &killer{at: at}
		if err := database.Prepare(ctx, pool, "recommender", migrations.FS, load); err == nil || !k.killed {
			t.Fatalf("killed at statement %d: Prepare returned %v (killed %v)", at, err, k.killed)
		}
		if p, r := counts(); p != 0 || r != 0 {
			t.Fatalf("killed at statement %d of %d: %d products and %d reviews stayed", at, total, p, r)
		}
	}
	for range 2 { // the next start completes it, and one more changes nothing
		k = &killer{}
		if err := database.Prepare(ctx, pool, "recommender", migrations.FS, load); err != nil {
			t.Fatal(err)
		}
		if p, r := counts(); p != wantP || r != wantR {
			t.Fatalf("after the kills: %d products and %d reviews, want the sample's %d and %d", p, r, wantP, wantR)
		}
	}
}

var _ store.DB = (*killer)(nil)
