package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"compress/gzip"

	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/dsn"
	"github.com/breakwater/breakwater/services/recommender/catalogcsv"
	"github.com/breakwater/breakwater/services/recommender/migrations"
	"github.com/breakwater/breakwater/services/recommender/store"
)

// runImport is `recommender import`: an admin process, not an RPC, so it
// talks to PostgreSQL directly (no breaker: an operator watching a progress
// line wants the real error, not a fast rejection). It migrates the schema
// first, so it works on an empty database.
func runImport(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("recommender import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	products := fs.String("products", "", "meta_office.csv (or .csv.gz) to import")
	reviews := fs.String("reviews", "", "office_both_set.csv (or .csv.gz) to import")
	dbURL := new(string)
	*dbURL = or(getenv("RECOMMENDER_DATABASE_URL"), getenv("DATABASE_URL"))
	fs.Var(dsn.Var{P: dbURL}, "database-url", "PostgreSQL URL (shown here without its password)")
	batch := fs.Int("batch", 10000, "rows per COPY batch (one transaction each)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: recommender import [--products meta_office.csv] [--reviews office_both_set.csv]")
		fmt.Fprintln(stderr, "Malformed rows and reviews of unknown products are skipped and reported with their line;")
		fmt.Fprintln(stderr, "everything else is upserted, so a re-run changes nothing. The recommendation tables")
		fmt.Fprintln(stderr, "are rebuilt at the end (as by `recommender rebuild`).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *products == "" && *reviews == "" {
		fs.Usage()
		return errors.New("import: nothing to import: give --products and/or --reviews")
	}
	if *dbURL == "" {
		return errors.New("import: no database: set DATABASE_URL or --database-url")
	}
	var readers [2]io.Reader
	for i, path := range []string{*products, *reviews} {
		if path == "" {
			continue
		}
		r, closeFn, err := openCSV(path)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer closeFn()
		readers[i] = r
	}

	pool, err := database.Open(ctx, *dbURL, schema, database.WithApplicationName("recommender-import"))
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer pool.Close()
	if err := database.Migrate(ctx, pool, schema, migrations.FS); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	start := time.Now()
	st, err := catalogcsv.Import(ctx, store.NewBulk(pool), readers[0], readers[1],
		catalogcsv.WithBatchSize(*batch),
		catalogcsv.WithOnSkip(func(file string, e *catalogcsv.RowError) {
			fmt.Fprintf(stderr, "skipped %s %v\n", file, e)
		}),
		catalogcsv.WithProgress(func(p catalogcsv.Progress) { fmt.Fprintln(stderr, p) }, 2*time.Second))
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "imported %d products and %d reviews in %v (skipped %d and %d)\n",
		st.Products, st.Reviews, time.Since(start).Round(time.Millisecond), st.SkippedProducts, st.SkippedReviews)
	return rebuild(ctx, pool, stderr)
}

// runRebuild is `recommender rebuild`: recomputes the recommendation tables
// from the reviews, for a changed weighting or after a bulk load by other
// means. Like the import, it talks to PostgreSQL directly.
func runRebuild(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("recommender rebuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database-url", or(getenv("RECOMMENDER_DATABASE_URL"), getenv("DATABASE_URL")), "PostgreSQL URL")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: recommender rebuild")
		fmt.Fprintln(stderr, "Recomputes the popularity and co-review tables in one transaction; writes of reviews")
		fmt.Fprintln(stderr, "wait meanwhile, reads do not, and an interrupted rebuild leaves the old tables.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dbURL == "" {
		return errors.New("rebuild: no database: set DATABASE_URL or --database-url")
	}
	pool, err := database.Open(ctx, *dbURL, schema, database.WithApplicationName("recommender-rebuild"))
	if err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	defer pool.Close()
	if err := database.Migrate(ctx, pool, schema, migrations.FS); err != nil {
		return fmt.Errorf("rebuild: %w", err)
	}
	return rebuild(ctx, pool, stderr)
}

// rebuild runs store.Rebuild with a line per step.
func rebuild(ctx context.Context, pool store.RebuildDB, stderr io.Writer) error {
	start := time.Now()
	err := store.Rebuild(ctx, pool, func(_ context.Context, step store.RebuildStep) error {
		fmt.Fprintf(stderr, "rebuild: %s after %v\n", step, time.Since(start).Round(time.Millisecond))
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "rebuilt the recommendation tables in %v\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// openCSV opens a CSV file, gunzipping it when its name ends in .gz.
func openCSV(path string) (io.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, func() { f.Close() }, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return zr, func() { zr.Close(); f.Close() }, nil
}
