package recommender_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/internal/statustest"
)

// token spells a page token the way the store encodes one, with whatever
// an attacker puts inside.
func token(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }

// TestBadInput sends every hostile or careless input of issue 14 through the
// real chain (validation interceptor, handler, store, PostgreSQL): each is
// INVALID_ARGUMENT naming the field, none is INTERNAL, and nothing is
// written.
func TestBadInput(t *testing.T) {
	e := newEnv(t, pgtest.Shared(t).NewDatabase(t), true)
	ctx := asAdmin(testContext(t))
	c := e.client
	counts := func() [3]int {
		var n [3]int
		if err := e.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM products), (SELECT count(*) FROM reviews),
			(SELECT count(*) FROM product_requests)`).Scan(&n[0], &n[1], &n[2]); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := counts()
	product := func(mut func(p *recommenderv1.Product)) *recommenderv1.CreateProductRequest {
		p := &recommenderv1.Product{Asin: "B0BADINPUT", Title: "t",
			Categories: []*recommenderv1.CategoryPath{{Path: []string{"Office Products"}}}}
		mut(p)
		return &recommenderv1.CreateProductRequest{Product: p, RequestId: "bad-1"}
	}
	review := func(mut func(r *recommenderv1.Review)) *recommenderv1.CreateReviewRequest {
		r := &recommenderv1.Review{Asin: "B00006IE7F", ReviewerId: "A1", Overall: 5}
		mut(r)
		return &recommenderv1.CreateReviewRequest{Review: r, RequestId: "bad-1"}
	}
	many := func(n int, s string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = s
		}
		return out
	}
	const nul = "a\x00b"
	for _, tt := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"NUL in ListProducts.category", func() error {
			_, err := c.ListProducts(ctx, &recommenderv1.ListProductsRequest{Category: nul})
			return err
		}, "category"},
		{"NUL in a product title", func() error {
			_, err := c.CreateProduct(ctx, product(func(p *recommenderv1.Product) { p.Title = nul }))
			return err
		}, "product.title"},
		{"NUL in a category", func() error {
			_, err := c.CreateProduct(ctx, product(func(p *recommenderv1.Product) { p.Categories[0].Path[0] = nul }))
			return err
		}, "product.categories[0].path[0]"},
		{"NUL in a sales-rank key", func() error {
			_, err := c.CreateProduct(ctx, product(func(p *recommenderv1.Product) { p.SalesRank = map[string]int64{nul: 1} }))
			return err
		}, `product.sales_rank["a\x00b"]`},
		{"NUL in review text", func() error {
			_, err := c.CreateReview(ctx, review(func(r *recommenderv1.Review) { r.ReviewText = nul }))
			return err
		}, "review.review_text"},
		{"NUL in a reviewer name", func() error {
			_, err := c.CreateReview(ctx, review(func(r *recommenderv1.Review) { r.ReviewerName = nul }))
			return err
		}, "review.reviewer_name"},
		{"review_time in year 10000", func() error {
			_, err := c.CreateReview(ctx, review(func(r *recommenderv1.Review) { r.ReviewTime = &timestamppb.Timestamp{Seconds: 253402300800} }))
			return err
		}, "review.review_time"},
		{"review_time with negative nanos", func() error {
			_, err := c.CreateReview(ctx, review(func(r *recommenderv1.Review) { r.ReviewTime = &timestamppb.Timestamp{Seconds: 1, Nanos: -1} }))
			return err
		}, "review.review_time"},
		{"also_bought entry not an ASIN", func() error {
			_, err := c.CreateProduct(ctx, product(func(p *recommenderv1.Product) {
				p.Related = &recommenderv1.RelatedProducts{AlsoBought: []string{"not an asin"}}
			}))
			return err
		}, "product.related.also_bought[0]"},
		{"1 MB description", func() error {
			_, err := c.CreateProduct(ctx, product(func(p *recommenderv1.Product) { p.Description = strings.Repeat("x", 1<<20) }))
			return err
		}, "product.description"},
		{"3.6 MB of related ASINs", func() error {
			_, err := c.CreateProduct(ctx, product(func(p *recommenderv1.Product) {
				// 3.6 MB: under the server's 4 MiB receive limit.
				p.Related = &recommenderv1.RelatedProducts{AlsoBought: many(300_000, "B000000001")}
			}))
			return err
		}, "product.related.also_bought"},
		{"33 sales-rank keys", func() error {
			_, err := c.CreateProduct(ctx, product(func(p *recommenderv1.Product) {
				p.SalesRank = map[string]int64{}
				for i := range 33 {
					p.SalesRank[strings.Repeat("k", i+1)] = 1
				}
			}))
			return err
		}, "product.sales_rank"},
		{"a 1 KB sales-rank key", func() error {
			_, err := c.CreateProduct(ctx, product(func(p *recommenderv1.Product) { p.SalesRank = map[string]int64{strings.Repeat("k", 1024): 1} }))
			return err
		}, `product.sales_rank["` + strings.Repeat("k", 1024) + `"]`},
	} {
		err := tt.call()
		statustest.InvalidOn(t, tt.name, err, tt.field)
	}

	// Page tokens: every defect is INVALID_ARGUMENT on page_token, never
	// INTERNAL, whatever the token carries.
	for name, tok := range map[string]string{
		"not base64":         "!!!",
		"not JSON":           token("{"),
		"another version":    token(`{"v":2}`),
		"another filter":     token(`{"v":1,"f":"Pens"}`),
		"NUL in the ASIN":    token(`{"v":1,"a":"B00\u000000000"}`),
		"not an ASIN":        token(`{"v":1,"a":"'; DROP TABLE products; --"}`),
		"a negative id":      token(`{"v":1,"t":"2020-01-01T00:00:00Z","i":-1}`),
		"an id overflowing":  token(`{"v":1,"t":"2020-01-01T00:00:00Z","i":99999999999999999999}`),
		"a time of year 0":   token(`{"v":1,"t":"0000-01-01T00:00:00Z","i":1}`),
		"a time not RFC3339": token(`{"v":1,"t":"yesterday","i":1}`),
	} {
		_, err := c.ListProducts(ctx, &recommenderv1.ListProductsRequest{PageToken: tok})
		statustest.InvalidOn(t, "ListProducts page token: "+name, err, "page_token")
		_, err = c.ListReviews(ctx, &recommenderv1.ListReviewsRequest{PageToken: tok})
		statustest.InvalidOn(t, "ListReviews page token: "+name, err, "page_token")
	}

	if after := counts(); after != before {
		t.Errorf("rows (products, reviews, product requests) %v before, %v after: bad input was written", before, after)
	}
}
