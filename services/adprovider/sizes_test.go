package adprovider_test

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	"github.com/breakwater/breakwater/internal/maximal"
	"github.com/breakwater/breakwater/services/adprovider"
	"github.com/breakwater/breakwater/services/adprovider/internal/adtest"
	"github.com/breakwater/breakwater/services/adprovider/store"
)

// TestLargestAnswersFitDefaultClients stores maximal listings (every field
// at its bound), enough for the largest page, and asks for the largest
// ListAds page and GetAds answer through a default client: each fits 4 MiB.
func TestLargestAnswersFitDefaultClients(t *testing.T) {
	client := startServer(t, adprovider.NewServer(store.New(adtest.NewPool(t)), adprovider.WithAdminToken(testToken)))
	ctx := withToken(context.Background(), testToken)
	var keyword string
	for i := range 100 {
		l := maximal.Listing(fmt.Sprintf("max-%02d", i), maximal.ASIN('M', i))
		keyword = l.GetKeywords()[0]
		if _, err := client.CreateAd(ctx, &adproviderv1.CreateAdRequest{Listing: l}); err != nil {
			t.Fatalf("CreateAd of maximal listing %d: %v", i, err)
		}
	}
	list, err := client.ListAds(ctx, &adproviderv1.ListAdsRequest{PageSize: 500, IncludeInactive: true})
	if err != nil {
		t.Fatal(err)
	}
	ads, err := client.GetAds(ctx, &adproviderv1.GetAdsRequest{ContextKeys: []string{keyword}, MaxAds: 10})
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]proto.Message{"ListAds": list, "GetAds": ads} {
		size := proto.Size(m)
		t.Logf("%s: %d bytes (%.0f%% of 4 MiB)", name, size, 100*float64(size)/(4<<20))
		if size >= 4<<20 {
			t.Errorf("%s: %d bytes", name, size)
		}
	}
	if len(list.GetListings()) != store.MaxPageSize || len(ads.GetAds()) != 10 {
		t.Errorf("%d listings, %d ads; the test means the largest answers", len(list.GetListings()), len(ads.GetAds()))
	}
}
