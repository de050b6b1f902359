package recommender_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/maximal"
	"github.com/breakwater/breakwater/internal/pgtest"
)

// defaultMaxRecv is what a default gRPC client accepts.
const defaultMaxRecv = 4 << 20

// TestLargestAnswersFitDefaultClients fills the catalog with maximal
// products and reviews (every field at its bound), enough for the largest
// page of every list, and calls every RPC through a default client with
// the largest sizes a caller may ask for: each answers, within 4 MiB.
func TestLargestAnswersFitDefaultClients(t *testing.T) {
	e := newEnv(t, pgtest.Shared(t).NewDatabase(t), false)
	ctx := asAdmin(testContext(t))
	c := e.client
	const n = 100 // the largest page
	asins := make([]string, n)
	for i := range asins {
		asins[i] = maximal.ASIN('M', i)
		if _, err := c.CreateProduct(ctx, &recommenderv1.CreateProductRequest{Product: maximal.Product(asins[i])}); err != nil {
			t.Fatalf("CreateProduct of maximal product %d: %v", i, err)
		}
		// One reviewer reviews every product, so each is co-reviewed with
		// every other.
		if _, err := c.CreateReview(ctx, &recommenderv1.CreateReviewRequest{Review: maximal.Review(asins[i], "A1")}); err != nil {
			t.Fatalf("CreateReview of maximal review %d: %v", i, err)
		}
	}
	for name, call := range map[string]func() (proto.Message, int, error){
		"GetProduct": func() (proto.Message, int, error) {
			r, err := c.GetProduct(ctx, &recommenderv1.GetProductRequest{Asin: asins[0]})
			return r, 1, err
		},
		"ListProducts": func() (proto.Message, int, error) {
			r, err := c.ListProducts(ctx, &recommenderv1.ListProductsRequest{PageSize: 1000})
			return r, len(r.GetProducts()), err
		},
		"ListReviews": func() (proto.Message, int, error) {
			r, err := c.ListReviews(ctx, &recommenderv1.ListReviewsRequest{PageSize: 1000})
			return r, len(r.GetReviews()), err
		},
		"ListRecommendations": func() (proto.Message, int, error) {
			r, err := c.ListRecommendations(ctx, &recommenderv1.ListRecommendationsRequest{Asin: asins[0], MaxResults: 100})
			return r, len(r.GetRecommendations()), err
		},
		"ListRecommendations for the reviewer": func() (proto.Message, int, error) {
			r, err := c.ListRecommendations(ctx, &recommenderv1.ListRecommendationsRequest{MaxResults: 100})
			return r, len(r.GetRecommendations()), err
		},
		"GetAds": func() (proto.Message, int, error) {
			r, err := c.GetAds(ctx, &recommenderv1.GetAdsRequest{MaxAds: 10, ContextKeys: []string{"pens"}})
			return r, len(r.GetAds()), err
		},
	} {
		resp, items, err := call()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		size := proto.Size(resp)
		t.Logf("%s: %d items, %d bytes (%.0f%% of 4 MiB)", name, items, size, 100*float64(size)/defaultMaxRecv)
		if size >= defaultMaxRecv {
			t.Errorf("%s: %d bytes", name, size)
		}
		if name != "GetProduct" && name != "GetAds" && items < 99 {
			t.Errorf("%s: %d items; the test means the largest page", name, items)
		}
	}
}
