package recommender_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/pgtest"
	"github.com/breakwater/breakwater/services/recommender/store"
)

// TestCatalogRPCs goes through every catalog RPC over gRPC, with the
// validation interceptor the service runs with.
func TestCatalogRPCs(t *testing.T) {
	e := newEnv(t, pgtest.Shared(t).NewDatabase(t), false)
	ctx := testContext(t)
	c := e.client
	p := &recommenderv1.Product{Asin: "B000000001", Title: "Gel pens", Brand: "Pilot",
		Categories: []*recommenderv1.CategoryPath{{Path: []string{"Office Products", "Pens"}}},
		Price:      &moneyv1.Money{CurrencyCode: "USD", Units: 3, Nanos: 490000000}}
	created, err := c.CreateProduct(asAdmin(ctx), &recommenderv1.CreateProductRequest{Product: p})
	if err != nil || !proto.Equal(created.Product, p) {
		t.Fatalf("CreateProduct = %v, %v", created, err)
	}
	code := func(err error, want codes.Code, what string) {
		t.Helper()
		if status.Code(err) != want {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
	}
	_, err = c.CreateProduct(asAdmin(ctx), &recommenderv1.CreateProductRequest{Product: p})
	code(err, codes.AlreadyExists, "CreateProduct of a taken ASIN")
	_, err = c.CreateProduct(ctx, &recommenderv1.CreateProductRequest{Product: &recommenderv1.Product{Asin: "B000000002"}})
	code(err, codes.Unauthenticated, "CreateProduct without the admin token")
	_, err = c.CreateProduct(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer wrong"),
		&recommenderv1.CreateProductRequest{Product: &recommenderv1.Product{Asin: "B000000002"}})
	code(err, codes.Unauthenticated, "CreateProduct with a wrong token")
	_, err = c.CreateProduct(asAdmin(ctx), &recommenderv1.CreateProductRequest{Product: &recommenderv1.Product{Asin: "lower"}})
	code(err, codes.InvalidArgument, "CreateProduct with a malformed ASIN")

	got, err := c.GetProduct(ctx, &recommenderv1.GetProductRequest{Asin: p.Asin})
	if err != nil || !proto.Equal(got.Product, p) {
		t.Errorf("GetProduct = %v, %v", got, err)
	}
	_, err = c.GetProduct(ctx, &recommenderv1.GetProductRequest{Asin: "B999999999"})
	code(err, codes.NotFound, "GetProduct of an unknown ASIN")

	list, err := c.ListProducts(ctx, &recommenderv1.ListProductsRequest{Category: "Pens"})
	if err != nil || len(list.Products) != 1 || list.NextPageToken != "" {
		t.Errorf("ListProducts(Pens) = %v, %v", list, err)
	}
	_, err = c.ListProducts(ctx, &recommenderv1.ListProductsRequest{PageToken: "not-a-token"})
	code(err, codes.InvalidArgument, "ListProducts with a bad token")

	review := &recommenderv1.Review{Asin: p.Asin, ReviewerId: "A1", Overall: 5, Summary: "Smooth"}
	r, err := c.CreateReview(ctx, &recommenderv1.CreateReviewRequest{Review: review, RequestId: "r-1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateReview(ctx, &recommenderv1.CreateReviewRequest{Review: review, RequestId: "r-1"})
	if err != nil || !proto.Equal(again.Review, r.Review) {
		t.Errorf("replayed CreateReview = %v, %v; want %v", again, err, r.Review)
	}
	other := proto.Clone(review).(*recommenderv1.Review)
	other.Overall = 2
	_, err = c.CreateReview(ctx, &recommenderv1.CreateReviewRequest{Review: other, RequestId: "r-1"})
	code(err, codes.AlreadyExists, "CreateReview reusing a request id")
	for _, overall := range []int32{0, 6} {
		bad := proto.Clone(review).(*recommenderv1.Review)
		bad.Overall = overall
		_, err = c.CreateReview(ctx, &recommenderv1.CreateReviewRequest{Review: bad})
		code(err, codes.InvalidArgument, "CreateReview with overall outside 1-5")
	}
	unknown := proto.Clone(review).(*recommenderv1.Review)
	unknown.Asin = "B999999999"
	_, err = c.CreateReview(ctx, &recommenderv1.CreateReviewRequest{Review: unknown})
	code(err, codes.NotFound, "CreateReview of an unknown product")

	reviews, err := c.ListReviews(ctx, &recommenderv1.ListReviewsRequest{Asin: p.Asin})
	if err != nil || len(reviews.Reviews) != 1 || !proto.Equal(reviews.Reviews[0], r.Review) {
		t.Errorf("ListReviews = %v, %v; want the one review", reviews, err)
	}

	recs, err := c.ListRecommendations(ctx, &recommenderv1.ListRecommendationsRequest{})
	if err != nil || len(recs.Recommendations) != 1 || recs.Recommendations[0].Reason != store.ReasonPopular {
		t.Errorf("ListRecommendations() = %v, %v; want the one product as popular", recs, err)
	}
	_, err = c.ListRecommendations(ctx, &recommenderv1.ListRecommendationsRequest{Asin: "B999999999"})
	code(err, codes.NotFound, "ListRecommendations for an unknown ASIN")
}
