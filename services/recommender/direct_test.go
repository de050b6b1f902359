package recommender_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/statustest"
	"github.com/breakwater/breakwater/services/recommender"
)

// TestInvalidWithoutTheInterceptor: called directly, without the validation
// interceptor (tests, other wiring), the server's own checks answer
// INVALID_ARGUMENT with a field violation, as the interceptor would.
func TestInvalidWithoutTheInterceptor(t *testing.T) {
	srv := recommender.NewServer(nil, nil, recommender.WithAdminToken("tok"))
	admin := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer tok"))
	for _, tc := range []struct {
		field string
		call  func() error
	}{
		{"review", func() error {
			_, err := srv.CreateReview(context.Background(), &recommenderv1.CreateReviewRequest{})
			return err
		}},
		{"review.overall", func() error {
			_, err := srv.CreateReview(context.Background(), &recommenderv1.CreateReviewRequest{
				Review: &recommenderv1.Review{Asin: "B00006IE7F", ReviewerId: "r", Overall: 9}})
			return err
		}},
		{"review.reviewer_id", func() error {
			_, err := srv.CreateReview(context.Background(), &recommenderv1.CreateReviewRequest{
				Review: &recommenderv1.Review{Asin: "B00006IE7F", Overall: 3}})
			return err
		}},
		{"product.asin", func() error {
			_, err := srv.CreateProduct(admin, &recommenderv1.CreateProductRequest{Product: &recommenderv1.Product{Title: "x"}})
			return err
		}},
	} {
		err := tc.call()
		fields := statustest.Fields(err)
		if status.Code(err) != codes.InvalidArgument || len(fields) != 1 || fields[0] != tc.field {
			t.Errorf("%s: %v with violations on %v, want INVALID_ARGUMENT on %s", tc.field, err, fields, tc.field)
		}
	}
}
