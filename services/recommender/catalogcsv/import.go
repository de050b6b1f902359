package catalogcsv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/services/recommender/store"
)

// Catalog is where [Import] writes; *store.Store satisfies it, and so does
// *store.Bulk, which writes through COPY for catalogs of millions of rows.
type Catalog interface {
	UpsertProducts(ctx context.Context, products []*recommenderv1.Product) error
	UpsertReviews(ctx context.Context, reviews []store.ImportedReview) (skipped []string, err error)
}

// Stats counts what an import did.
type Stats struct {
	Products, Reviews               int // rows written
	SkippedProducts, SkippedReviews int // rows left out, each reported
}

// Progress is a snapshot of a running import, for a progress line.
type Progress struct {
	File    string // "products" or "reviews"
	Rows    int    // rows read so far
	Written int
	Skipped int
	Done    bool
}

func (p Progress) String() string {
	state := "…"
	if p.Done {
		state = ", done"
	}
	return fmt.Sprintf("%s: %d rows read, %d written, %d skipped%s", p.File, p.Rows, p.Written, p.Skipped, state)
}

// Import reads products, then reviews (either may be nil) and upserts them
// in batches. A malformed row, or a review of a product that is in neither
// the catalog nor the file, is left out and reported through [WithOnSkip]
// with its line; everything else is imported. No row is ever half-imported:
// a row is parsed whole before it joins a batch, and a batch is one
// statement. Re-running an import replaces what the last run wrote and adds
// nothing twice. An error (a database failure, an unreadable file) stops the
// import; batches already written stay, and a re-run completes them.
func Import(ctx context.Context, c Catalog, products, reviews io.Reader, opts ...Option) (Stats, error) {
	o := evaluateOptions(opts)
	var st Stats
	if products != nil {
		if err := importProducts(ctx, c, products, o, &st); err != nil {
			return st, fmt.Errorf("import products: %w", err)
		}
	}
	if reviews != nil {
		if err := importReviews(ctx, c, reviews, o, &st); err != nil {
			return st, fmt.Errorf("import reviews: %w", err)
		}
	}
	return st, nil
}

// progressor calls the progress option at most once per interval.
type progressor struct {
	o    *options
	last time.Time
}

func (p *progressor) report(pr Progress) {
	if p.o.progress == nil {
		return
	}
	if now := p.o.now(); pr.Done || now.Sub(p.last) >= p.o.progressEvery {
		p.last = now
		p.o.progress(pr)
	}
}

func (o *options) skip(file string, err *RowError) {
	if o.onSkip != nil {
		o.onSkip(file, err)
	}
}

func importProducts(ctx context.Context, c Catalog, r io.Reader, o *options, st *Stats) error {
	pr, err := NewProductReader(r)
	if err != nil {
		return err
	}
	prog := &progressor{o: o, last: o.now()}
	batch := make([]*recommenderv1.Product, 0, o.batch)
	rows := 0
	flush := func() error {
		if err := c.UpsertProducts(ctx, batch); err != nil {
			return err
		}
		st.Products += len(batch)
		batch = batch[:0]
		prog.report(Progress{File: "products", Rows: rows, Written: st.Products, Skipped: st.SkippedProducts})
		return nil
	}
	for {
		p, _, err := pr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *RowError
		if errors.As(err, &rowErr) {
			rows++
			st.SkippedProducts++
			o.skip("products", rowErr)
			continue
		}
		if err != nil {
			return err
		}
		rows++
		batch = append(batch, p)
		if len(batch) == o.batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	prog.report(Progress{File: "products", Rows: rows, Written: st.Products, Skipped: st.SkippedProducts, Done: true})
	return nil
}

func importReviews(ctx context.Context, c Catalog, r io.Reader, o *options, st *Stats) error {
	rr, err := NewReviewReader(r)
	if err != nil {
		return err
	}
	prog := &progressor{o: o, last: o.now()}
	batch := make([]store.ImportedReview, 0, o.batch)
	lines := make(map[string]int, o.batch) // request id → line, to report skips
	rows := 0
	flush := func() error {
		skipped, err := c.UpsertReviews(ctx, batch)
		if err != nil {
			return err
		}
		for _, id := range skipped {
			st.SkippedReviews++
			o.skip("reviews", &RowError{Line: lines[id], Err: errors.New("no product with this asin")})
		}
		st.Reviews += len(batch) - len(skipped)
		batch = batch[:0]
		clear(lines)
		prog.report(Progress{File: "reviews", Rows: rows, Written: st.Reviews, Skipped: st.SkippedReviews})
		return nil
	}
	for {
		rev, id, line, err := rr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var rowErr *RowError
		if errors.As(err, &rowErr) {
			rows++
			st.SkippedReviews++
			o.skip("reviews", rowErr)
			continue
		}
		if err != nil {
			return err
		}
		rows++
		if _, dup := lines[id]; dup {
			// The store keeps the last of a batch's duplicates; count it once.
			st.Reviews--
		}
		lines[id] = line
		batch = append(batch, store.ImportedReview{RequestID: id, Review: rev})
		if len(batch) == o.batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	prog.report(Progress{File: "reviews", Rows: rows, Written: st.Reviews, Skipped: st.SkippedReviews, Done: true})
	return nil
}
