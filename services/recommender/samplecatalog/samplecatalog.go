package samplecatalog

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"fmt"
	"io"

	"github.com/breakwater/breakwater/services/recommender/catalogcsv"
)

//go:generate go run ../internal/samplegen -out .

var (
	//go:embed meta_office.csv.gz
	productsGz []byte
	//go:embed office_both_set.csv.gz
	reviewsGz []byte
)

// Products returns the sample products as meta_office.csv.
func Products() io.Reader { return mustGunzip(productsGz) }

// Reviews returns the sample reviews as office_both_set.csv.
func Reviews() io.Reader { return mustGunzip(reviewsGz) }

// mustGunzip opens embedded data, which the tests prove valid.
func mustGunzip(b []byte) io.Reader {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		panic(fmt.Sprintf("samplecatalog: embedded data: %v", err))
	}
	return zr
}

// Catalog is what LoadIfEmpty needs; *store.Store satisfies it.
type Catalog interface {
	catalogcsv.Catalog
	CountProducts(ctx context.Context) (int64, error)
}

// LoadIfEmpty imports the sample catalog when the catalog has no products,
// and reports whether it did. The service runs it as the loader of
// internal/database.Prepare: in one transaction, under the schema's
// start-up lock, so replicas starting together load it once, and a load cut
// short at any point leaves nothing, for the next start to load whole
// (TestSampleLoadKilledAtAnyPoint).
func LoadIfEmpty(ctx context.Context, c Catalog, opts ...catalogcsv.Option) (bool, error) {
	n, err := c.CountProducts(ctx)
	if err != nil {
		return false, fmt.Errorf("load sample catalog: %w", err)
	}
	if n > 0 {
		return false, nil
	}
	if _, err := catalogcsv.Import(ctx, c, Products(), Reviews(), opts...); err != nil {
		return false, fmt.Errorf("load sample catalog: %w", err)
	}
	return true, nil
}
