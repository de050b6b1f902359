package samplecatalog_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/recommender/catalogcsv"
	"github.com/breakwater/breakwater/services/recommender/migrations"
	"github.com/breakwater/breakwater/services/recommender/samplecatalog"
	"github.com/breakwater/breakwater/services/recommender/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Wrap(m))
}

// TestRoundTrip loads the sample into an empty database and reads every
// product back as the CSV has it; a second load and a re-import change nothing.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.NewMigratedPool(t, "recommender", migrations.FS)
	st := store.New(pool)
	loaded, err := samplecatalog.LoadIfEmpty(ctx, st, catalogcsv.WithOnSkip(func(file string, err *catalogcsv.RowError) {
		t.Errorf("sample %s row skipped: %v", file, err)
	}))
	if err != nil || !loaded {
		t.Fatalf("LoadIfEmpty = %v, %v; want loaded", loaded, err)
	}
	counts := func() (p, r int) {
		t.Helper()
		if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM reviews)`).Scan(&p, &r); err != nil {
			t.Fatal(err)
		}
		return p, r
	}
	p1, r1 := counts()
	if p1 < 300 || r1 < 3000 {
		t.Errorf("sample has %d products and %d reviews; want a few hundred and a few thousand", p1, r1)
	}

	pr, err := catalogcsv.NewProductReader(samplecatalog.Products())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		want, _, err := pr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		got, err := st.GetProduct(ctx, want.Asin)
		if err != nil || !proto.Equal(got, want) {
			t.Fatalf("product %s = %v, %v; want %v", want.Asin, got, err, want)
		}
	}
	if n != p1 {
		t.Errorf("CSV has %d products, database %d", n, p1)
	}

	if loaded, err := samplecatalog.LoadIfEmpty(ctx, st); err != nil || loaded {
		t.Errorf("second LoadIfEmpty = %v, %v; want not loaded", loaded, err)
	}
	if _, err := catalogcsv.Import(ctx, st, samplecatalog.Products(), samplecatalog.Reviews()); err != nil {
		t.Fatal(err)
	}
	if p2, r2 := counts(); p2 != p1 || r2 != r1 {
		t.Errorf("re-import: %d products, %d reviews; want %d and %d", p2, r2, p1, r1)
	}
}
