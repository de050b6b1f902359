package adprovider_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/timestamppb"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	"github.com/breakwater/breakwater/internal/statustest"
	"github.com/breakwater/breakwater/services/adprovider"
	"github.com/breakwater/breakwater/services/adprovider/internal/adtest"
	"github.com/breakwater/breakwater/services/adprovider/store"
)

// TestBadInput sends hostile and careless inputs of issue 14 through the
// real chain (validation interceptor, handler, store, PostgreSQL): each is
// INVALID_ARGUMENT naming the field, none is INTERNAL or "cannot be
// stored", and nothing is written.
func TestBadInput(t *testing.T) {
	pool := adtest.NewPool(t)
	st := store.New(pool)
	if _, err := st.LoadSample(context.Background()); err != nil {
		t.Fatal(err)
	}
	client := startServer(t, adprovider.NewServer(st, adprovider.WithAdminToken(testToken)))
	ctx := withToken(context.Background(), testToken)
	count := func() int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM ads) + (SELECT count(*) FROM ad_requests)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := count()
	listing := func(mut func(l *adproviderv1.AdListing)) *adproviderv1.CreateAdRequest {
		l := &adproviderv1.AdListing{
			Ad:  &adproviderv1.Ad{Asin: "B0010T3QT2", Title: "Pilot G2", Price: &moneyv1.Money{CurrencyCode: "USD", Units: 10}},
			Bid: &moneyv1.Money{CurrencyCode: "USD", Nanos: 500_000_000}, Active: true,
		}
		mut(l)
		return &adproviderv1.CreateAdRequest{Listing: l, RequestId: "bad-1"}
	}
	const nul = "a\x00b"
	tok := func(json string) string { return base64.RawURLEncoding.EncodeToString([]byte(json)) }
	for _, tt := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"NUL in a GetAds context key", func() error {
			_, err := client.GetAds(ctx, &adproviderv1.GetAdsRequest{ContextKeys: []string{nul}})
			return err
		}, "context_keys[0]"},
		{"NUL in an ad title", func() error {
			_, err := client.CreateAd(ctx, listing(func(l *adproviderv1.AdListing) { l.Ad.Title = nul }))
			return err
		}, "listing.ad.title"},
		{"NUL in ad text", func() error {
			_, err := client.CreateAd(ctx, listing(func(l *adproviderv1.AdListing) { l.Ad.Text = nul }))
			return err
		}, "listing.ad.text"},
		{"NUL in a keyword", func() error {
			_, err := client.CreateAd(ctx, listing(func(l *adproviderv1.AdListing) { l.Keywords = []string{nul} }))
			return err
		}, "listing.keywords[0]"},
		{"NUL in a redirect URL", func() error {
			_, err := client.CreateAd(ctx, listing(func(l *adproviderv1.AdListing) { l.Ad.RedirectUrl = "/p/" + nul }))
			return err
		}, "listing.ad.redirect_url"},
		{"a 1 MB image URL", func() error {
			_, err := client.CreateAd(ctx, listing(func(l *adproviderv1.AdListing) { l.Ad.ImageUrl = "https://x.example/" + strings.Repeat("a", 1<<20) }))
			return err
		}, "listing.ad.image_url"},
		{"create_time with negative nanos", func() error {
			_, err := client.CreateAd(ctx, listing(func(l *adproviderv1.AdListing) { l.CreateTime = &timestamppb.Timestamp{Nanos: -1} }))
			return err
		}, "listing.create_time"},
		{"create_time in year 10000", func() error {
			_, err := client.CreateAd(ctx, listing(func(l *adproviderv1.AdListing) { l.CreateTime = &timestamppb.Timestamp{Seconds: 253402300800} }))
			return err
		}, "listing.create_time"},
		{"a bad request_id", func() error {
			r := listing(func(*adproviderv1.AdListing) {})
			r.RequestId = nul
			_, err := client.CreateAd(ctx, r)
			return err
		}, "request_id"},
		{"page token with NUL in the ad id", func() error {
			_, err := client.ListAds(ctx, &adproviderv1.ListAdsRequest{PageToken: tok(`{"t":1,"id":"a\u0000b"}`)})
			return err
		}, "page_token"},
		{"page token out of time's range", func() error {
			_, err := client.ListAds(ctx, &adproviderv1.ListAdsRequest{PageToken: tok(`{"t":9223372036854775807,"id":"a"}`)})
			return err
		}, "page_token"},
		{"page token of garbage", func() error {
			_, err := client.ListAds(ctx, &adproviderv1.ListAdsRequest{PageToken: "%%%"})
			return err
		}, "page_token"},
	} {
		statustest.InvalidOn(t, tt.name, tt.call(), tt.field)
	}
	if after := count(); after != before {
		t.Errorf("ads and request records: %d before, %d after: bad input was written", before, after)
	}
}
