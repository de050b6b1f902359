package maximal_test

import (
	"strings"
	"testing"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/maximal"
)

// defaultMaxRecv is a default gRPC client's receive limit.
const defaultMaxRecv = 4 << 20

// TestMaximalSizes checks the arithmetic written in the proto comments:
// each maximal message is valid, no larger than its comment says, and the
// largest page of each list RPC fits a default client's limit.
func TestMaximalSizes(t *testing.T) {
	v, err := protovalidate.New()
	if err != nil {
		t.Fatal(err)
	}
	product := maximal.Product("B000000001")
	review := maximal.Review("B000000001", "A1")
	review.ReviewId = "01234567-89ab-cdef-0123-456789abcdef-xyz" // 40 bytes: longer than any the server assigns
	listing := maximal.Listing("ad-"+strings.Repeat("a", 60), "B000000001")
	for _, c := range []struct {
		m     proto.Message
		bound int
	}{
		{product, 31_331},
		{review, 25_557},
		{listing.GetAd(), 7_009},
		{listing, 32_780},
	} {
		if err := v.Validate(c.m); err != nil {
			t.Errorf("%T is not valid: %v", c.m, err)
		}
		if got := proto.Size(c.m); got > c.bound {
			t.Errorf("%T: %d bytes, more than the %d the proto comment says", c.m, got, c.bound)
		} else {
			t.Logf("%T: %d bytes (bound %d)", c.m, got, c.bound)
		}
	}
	token := maximal.Text("", 512, 512)
	pages := map[string]proto.Message{
		"ListProducts": &recommenderv1.ListProductsResponse{Products: repeat(product, 100), NextPageToken: token},
		"ListReviews":  &recommenderv1.ListReviewsResponse{Reviews: repeat(review, 100), NextPageToken: token},
		"ListAds":      &adproviderv1.ListAdsResponse{Listings: repeat(listing, 100), NextPageToken: token},
		"ListRecommendations": &recommenderv1.ListRecommendationsResponse{
			Recommendations: repeat(&recommenderv1.Recommendation{Product: product, Score: 1e300, Reason: "popular_in_category"}, 100),
			Ads:             repeat(listing.GetAd(), 10),
			Degraded: repeat(&recommenderv1.Degradation{Dependency: "adprovider", Reason: "deadline_exceeded",
				Fallback: "last_good_answer"}, 3),
		},
	}
	for name, m := range pages {
		if got := proto.Size(m); got >= defaultMaxRecv {
			t.Errorf("largest %s page: %d bytes ≥ %d", name, got, defaultMaxRecv)
		} else {
			t.Logf("largest %s page: %d bytes (%.0f%% of 4 MiB)", name, got, 100*float64(got)/defaultMaxRecv)
		}
	}
}

func repeat[T any](x T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = x
	}
	return out
}
