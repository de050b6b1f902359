package adprovider_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	"github.com/breakwater/breakwater/services/adprovider"
	"github.com/breakwater/breakwater/services/adprovider/internal/adtest"
	"github.com/breakwater/breakwater/services/adprovider/store"
)

const testToken = "s3cret-token"

func TestServiceName(t *testing.T) {
	if want := adproviderv1.AdProviderService_ServiceDesc.ServiceName; adprovider.ServiceName != want {
		t.Errorf("ServiceName = %q, want %q", adprovider.ServiceName, want)
	}
}

func TestServerGetAdsAndList(t *testing.T) {
	pool := adtest.NewPool(t)
	st := store.New(pool)
	if _, err := st.LoadSample(context.Background()); err != nil {
		t.Fatal(err)
	}
	client := startServer(t, adprovider.NewServer(st, adprovider.WithAdminToken(testToken)))
	ctx := context.Background()

	resp, err := client.GetAds(ctx, &adproviderv1.GetAdsRequest{ContextKeys: []string{"Staplers & Punches"}, MaxAds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := adtest.AdIDs(resp.GetAds()), []string{"sample-swingline-staplers-2", "sample-paperpro-staplers"}; !slices.Equal(got, want) {
		t.Errorf("GetAds = %v, want %v", got, want)
	}
	for _, ad := range resp.GetAds() {
		if ad.GetPrice().GetCurrencyCode() != "USD" || ad.GetTitle() == "" || !strings.HasPrefix(ad.GetRedirectUrl(), "/product/") {
			t.Errorf("incomplete ad %v", ad)
		}
	}

	// Reads need no token; a page token round-trips through the API.
	first, err := client.ListAds(ctx, &adproviderv1.ListAdsRequest{PageSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	second, err := client.ListAds(ctx, &adproviderv1.ListAdsRequest{PageSize: 20, PageToken: first.GetNextPageToken()})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(first.GetListings()) + len(second.GetListings()); n != len(store.SampleInventory())-1 || second.GetNextPageToken() != "" {
		t.Errorf("two pages hold %d active listings, next %q", n, second.GetNextPageToken())
	}
	_, err = client.ListAds(ctx, &adproviderv1.ListAdsRequest{PageToken: "bogus"})
	if status.Code(err) != codes.InvalidArgument || !slices.Equal(fieldViolations(err), []string{"page_token INVALID_PAGE_TOKEN"}) {
		t.Errorf("bogus token: %v %v", err, fieldViolations(err))
	}
}

func TestServerCreateAdAuth(t *testing.T) {
	pool := adtest.NewPool(t)
	st := store.New(pool)
	ctx := context.Background()
	req := func(id string) *adproviderv1.CreateAdRequest {
		return &adproviderv1.CreateAdRequest{Listing: adtest.Listing(id, "B00004Z5M1", 25, true, []string{"Pens"}, nil)}
	}

	t.Run("no token configured refuses every write", func(t *testing.T) {
		client := startServer(t, adprovider.NewServer(st))
		_, err := client.CreateAd(withToken(ctx, ""), req("a"))
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("got %v, want PermissionDenied", err)
		}
		_, err = client.CreateAd(withToken(ctx, "anything"), req("a"))
		if status.Code(err) != codes.PermissionDenied {
			t.Errorf("got %v, want PermissionDenied", err)
		}
	})

	client := startServer(t, adprovider.NewServer(st, adprovider.WithAdminToken(testToken)))
	for name, ctx := range map[string]context.Context{
		"no metadata":    ctx,
		"wrong token":    withToken(ctx, "guess"),
		"token prefix":   withToken(ctx, testToken[:4]),
		"no scheme":      metadata.AppendToOutgoingContext(ctx, "authorization", testToken),
		"wrong scheme":   metadata.AppendToOutgoingContext(ctx, "authorization", "Basic "+testToken),
		"empty bearer":   metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "),
		"token too long": withToken(ctx, testToken+"x"),
	} {
		if _, err := client.CreateAd(ctx, req("a")); status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: got %v, want Unauthenticated", name, err)
		}
	}
	if n := adtest.CountAds(t, pool); n != 0 {
		t.Fatalf("%d ads written without a token", n)
	}

	resp, err := client.CreateAd(metadata.AppendToOutgoingContext(ctx, "authorization", "bearer "+testToken), req(""))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.GetListing().GetAd().GetAdId(), "ad-") || resp.GetListing().GetCreateTime() == nil {
		t.Errorf("created %v", resp.GetListing())
	}
	if _, err := client.CreateAd(withToken(ctx, testToken), req("fixed")); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateAd(withToken(ctx, testToken), req("fixed")); status.Code(err) != codes.AlreadyExists {
		t.Errorf("duplicate: %v, want AlreadyExists", err)
	}
	if n := adtest.CountAds(t, pool); n != 2 {
		t.Errorf("%d ads stored, want 2", n)
	}
}

// TestServerBadInput sends a request breaking each rule of AdProvider's
// requests, one at a time, to the real server: each is INVALID_ARGUMENT
// naming the field and rule, and nothing is written.
func TestServerBadInput(t *testing.T) {
	pool := adtest.NewPool(t)
	st := store.New(pool)
	if _, err := st.CreateAd(context.Background(), adtest.Listing("existing", "B000000001", 10, true, []string{"Pens"}, nil)); err != nil {
		t.Fatal(err)
	}
	client := startServer(t, adprovider.NewServer(st, adprovider.WithAdminToken(testToken)))
	ctx := withToken(context.Background(), testToken)

	many := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = "k"
		}
		return s
	}
	long := func(n int) string { return strings.Repeat("x", n) }

	getAds := []struct {
		name string
		req  *adproviderv1.GetAdsRequest
		want string
	}{
		{"too many context keys", &adproviderv1.GetAdsRequest{ContextKeys: many(21)}, "context_keys repeated.max_items"},
		{"empty context key", &adproviderv1.GetAdsRequest{ContextKeys: []string{"ok", ""}}, "context_keys[1] string.min_len"},
		{"long context key", &adproviderv1.GetAdsRequest{ContextKeys: []string{long(101)}}, "context_keys[0] string.max_len"},
		{"bad asin", &adproviderv1.GetAdsRequest{Asin: "b00004z5m1"}, "asin string.pattern"},
		{"short asin", &adproviderv1.GetAdsRequest{Asin: "B0000"}, "asin string.pattern"},
		{"negative max_ads", &adproviderv1.GetAdsRequest{MaxAds: -1}, "max_ads int32.gte_lte"},
		{"max_ads over 10", &adproviderv1.GetAdsRequest{MaxAds: 11}, "max_ads int32.gte_lte"},
	}
	for _, tt := range getAds {
		t.Run("GetAds/"+tt.name, func(t *testing.T) {
			_, err := client.GetAds(ctx, tt.req)
			checkInvalid(t, err, tt.want)
		})
	}

	listAds := []struct {
		name string
		req  *adproviderv1.ListAdsRequest
		want string
	}{
		{"negative page size", &adproviderv1.ListAdsRequest{PageSize: -1}, "page_size int32.gte_lte"},
		{"page size over 500", &adproviderv1.ListAdsRequest{PageSize: 501}, "page_size int32.gte_lte"},
		{"long page token", &adproviderv1.ListAdsRequest{PageToken: long(513)}, "page_token string.max_len"},
	}
	for _, tt := range listAds {
		t.Run("ListAds/"+tt.name, func(t *testing.T) {
			_, err := client.ListAds(ctx, tt.req)
			checkInvalid(t, err, tt.want)
		})
	}

	// Each case breaks one rule of an otherwise valid listing.
	createAd := []struct {
		name   string
		mutate func(l *adproviderv1.AdListing) *adproviderv1.AdListing
		want   string
	}{
		{"no listing", func(*adproviderv1.AdListing) *adproviderv1.AdListing { return nil }, "listing required"},
		{"no ad", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Ad = nil; return l }, "listing.ad required"},
		{"bad ad id", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Ad.AdId = "Bad_ID"; return l }, "listing.ad.ad_id string.pattern"},
		{"ad id too long", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Ad.AdId = "a" + long(63); return l }, "listing.ad.ad_id string.pattern"},
		{"ad id starting with a dash", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Ad.AdId = "-a"; return l }, "listing.ad.ad_id string.pattern"},
		{"bad asin", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Ad.Asin = "B00004Z5M"; return l }, "listing.ad.asin string.pattern"},
		{"no asin", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Ad.Asin = ""; return l }, "listing.ad.asin string.pattern"},
		{"empty title", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Ad.Title = ""; return l }, "listing.ad.title string.min_len"},
		{"long title", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Ad.Title = long(201); return l }, "listing.ad.title string.max_len"},
		{"relative image url", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Ad.ImageUrl = "img/a.png"; return l }, "listing.ad.image_url string.uri"},
		{"no price", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Ad.Price = nil; return l }, "listing.ad.price required"},
		{"price currency", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Ad.Price.CurrencyCode = "usd"; return l }, "listing.ad.price.currency_code string.pattern"},
		{"price nanos", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Ad.Price.Nanos = 1_000_000_000; return l }, "listing.ad.price.nanos int32.gte_lte"},
		{"price signs", func(l *adproviderv1.AdListing) *adproviderv1.AdListing {
			l.Ad.Price = &moneyv1.Money{CurrencyCode: "USD", Units: 1, Nanos: -1}
			return l
		}, "listing.ad.price money.sign"},
		{"long text", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Ad.Text = long(501); return l }, "listing.ad.text string.max_len"},
		{"long redirect url", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Ad.RedirectUrl = long(2049); return l }, "listing.ad.redirect_url string.max_bytes"},
		{"too many categories", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Categories = many(33); return l }, "listing.categories repeated.max_items"},
		{"empty category", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Categories = []string{""}; return l }, "listing.categories[0] string.min_len"},
		{"long category", func(l *adproviderv1.AdListing) *adproviderv1.AdListing {
			l.Categories = []string{"a", long(101)}
			return l
		}, "listing.categories[1] string.max_len"},
		{"too many keywords", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Keywords = many(33); return l }, "listing.keywords repeated.max_items"},
		{"empty keyword", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Keywords = []string{""}; return l }, "listing.keywords[0] string.min_len"},
		{"long keyword", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Keywords = []string{long(101)}; return l }, "listing.keywords[0] string.max_len"},
		{"no bid", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Bid = nil; return l }, "listing.bid required"},
		{"bid currency", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Bid.CurrencyCode = "US"; return l }, "listing.bid.currency_code string.pattern"},
		{"bid nanos", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Bid.Nanos = -1_000_000_000; return l }, "listing.bid.nanos int32.gte_lte"},
		{"bid signs", func(l *adproviderv1.AdListing) *adproviderv1.AdListing {
			l.Bid = &moneyv1.Money{CurrencyCode: "USD", Units: -1, Nanos: 5}
			return l
		}, "listing.bid money.sign"},
		// Rules the proto cannot express, checked by the server.
		{"negative bid", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Bid.Units = -1; l.Bid.Nanos = 0; return l }, "listing.bid INVALID_BID"},
		{"bid finer than a micro", func(l *adproviderv1.AdListing) *adproviderv1.AdListing { l.Bid.Nanos = 1; return l }, "listing.bid INVALID_BID"},
		{"negative price", func(l *adproviderv1.AdListing) *adproviderv1.AdListing {
			l.Ad.Price.Units = -5
			l.Ad.Price.Nanos = 0
			return l
		}, "listing.ad.price INVALID_PRICE"},
	}
	valid := adtest.Listing("new-ad", "B00004Z5M1", 25, true, []string{"Pens"}, []string{"gel"})
	valid.Ad.ImageUrl = "https://example.com/a.png"
	for _, tt := range createAd {
		t.Run("CreateAd/"+tt.name, func(t *testing.T) {
			before := adtest.CountAds(t, pool)
			_, err := client.CreateAd(ctx, &adproviderv1.CreateAdRequest{Listing: tt.mutate(proto.CloneOf(valid))})
			checkInvalid(t, err, tt.want)
			if after := adtest.CountAds(t, pool); after != before {
				t.Errorf("%d ads before, %d after", before, after)
			}
		})
	}

	// The valid listing itself goes through, so each case above failed for
	// its one broken rule.
	if _, err := client.CreateAd(ctx, &adproviderv1.CreateAdRequest{Listing: valid}); err != nil {
		t.Fatalf("valid listing: %v", err)
	}
}

func checkInvalid(t *testing.T, err error, want string) {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("got %v, want InvalidArgument", err)
	}
	if got := fieldViolations(err); !slices.Equal(got, []string{want}) {
		t.Errorf("violations %q, want [%q]", got, want)
	}
}
