package catalogcsv_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/services/recommender/catalogcsv"
	"github.com/breakwater/breakwater/services/recommender/store"
)

// memCatalog keeps what Import writes, keyed as the store keys it; the store
// itself is tested against PostgreSQL in samplecatalog.
type memCatalog struct {
	products map[string]*recommenderv1.Product
	reviews  map[string]*recommenderv1.Review
	batches  int
}

func (m *memCatalog) UpsertProducts(_ context.Context, ps []*recommenderv1.Product) error {
	m.batches++
	for _, p := range ps {
		m.products[p.Asin] = p
	}
	return nil
}

func (m *memCatalog) UpsertReviews(_ context.Context, rs []store.ImportedReview) ([]string, error) {
	m.batches++
	var skipped []string
	for _, r := range rs {
		if m.products[r.Review.Asin] == nil {
			skipped = append(skipped, r.RequestID)
			continue
		}
		m.reviews[r.RequestID] = r.Review
	}
	return skipped, nil
}

func TestImportReportsAndSkips(t *testing.T) {
	products := "asin,title,description,imUrl,related,salesRank,categories,brand,price\n"
	for i := range 5 {
		products += fmt.Sprintf("B00000000%d,P%d,,,,,\"[['Office Products', 'Pens']]\",,1.00\n", i, i)
	}
	products += "B000000009,Bad,,,,,\"[['Office Products', 'Pens'\",,1.00\n" // line 7
	reviews := "reviewerID,asin,reviewerName,helpful,reviewText,overall,summary,unixReviewTime,reviewTime\n" +
		"A1,B000000000,Ann,\"[0, 1]\",Good,5.0,Good,1405555200,\n" +
		"A1,B000000001,Ann,\"[0, 1]\",Good,6.0,Good,1405555200,\n" + // line 3: overall out of range
		"A1,B000000404,Ann,\"[0, 1]\",Good,5.0,Good,1405555200,\n" + // line 4: no such product
		"A2,B000000001,Bo,,Ok,3.0,Ok,1405555200,\n"
	var skips []string
	var progress []catalogcsv.Progress
	for run := range 2 {
		m := &memCatalog{products: map[string]*recommenderv1.Product{}, reviews: map[string]*recommenderv1.Review{}}
		skips, progress = nil, nil
		st, err := catalogcsv.Import(context.Background(), m, strings.NewReader(products), strings.NewReader(reviews),
			catalogcsv.WithBatchSize(2),
			catalogcsv.WithOnSkip(func(file string, err *catalogcsv.RowError) {
				skips = append(skips, fmt.Sprintf("%s:%d", file, err.Line))
			}),
			catalogcsv.WithProgress(func(p catalogcsv.Progress) { progress = append(progress, p) }, 0))
		if err != nil {
			t.Fatal(err)
		}
		want := catalogcsv.Stats{Products: 5, Reviews: 2, SkippedProducts: 1, SkippedReviews: 2}
		if st != want || len(m.products) != 5 || len(m.reviews) != 2 {
			t.Errorf("run %d: stats %+v, %d products, %d reviews; want %+v", run, st, len(m.products), len(m.reviews), want)
		}
	}
	if want := []string{"products:7", "reviews:3", "reviews:4"}; !slices.Equal(skips, want) {
		t.Errorf("skipped %v, want %v", skips, want)
	}
	if len(progress) == 0 || !progress[len(progress)-1].Done {
		t.Errorf("progress %v, want reports ending with done", progress)
	}
}
