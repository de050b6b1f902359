package store_test

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	"github.com/breakwater/breakwater/services/adprovider/internal/adtest"
	"github.com/breakwater/breakwater/services/adprovider/store"
)

func cloneLowerKeywords(l *adproviderv1.AdListing) *adproviderv1.AdListing {
	l = proto.CloneOf(l)
	for i, k := range l.Keywords {
		l.Keywords[i] = strings.ToLower(k)
	}
	return l
}

// targetingInventory: pens ads at three bids (one by keyword only), an
// inactive pens ad with the highest bid, two ads for one product, and ads
// that only match on other words.
var targetingInventory = []*adproviderv1.AdListing{
	adtest.Listing("gel", "B000000001", 50, true, []string{"Pens"}, []string{"Gel"}),
	adtest.Listing("ballpoint", "B000000002", 70, true, []string{"Pens", "Writing"}, nil),
	adtest.Listing("marker", "B000000003", 30, true, []string{"Markers"}, []string{"pens"}),
	adtest.Listing("inactive-pen", "B000000004", 99, false, []string{"Pens"}, nil),
	adtest.Listing("stapler", "B000000005", 90, true, []string{"Staplers"}, []string{"desk"}),
	adtest.Listing("stapler-cheap", "B000000005", 10, true, []string{"Staplers"}, nil),
	adtest.Listing("paper", "B000000006", 20, true, []string{"Paper"}, []string{"printer"}),
}

func newTargetingStore(t *testing.T) *store.Store {
	t.Helper()
	st := store.New(adtest.NewPool(t))
	for _, l := range targetingInventory {
		if _, err := st.CreateAd(context.Background(), l); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func TestGetAdsTargeting(t *testing.T) {
	st := newTargetingStore(t)
	ctx := context.Background()

	tests := []struct {
		name string
		q    store.AdQuery
		want []string
	}{
		{"category and keyword match, bid order, inactive never", store.AdQuery{Keys: []string{"pens"}, Max: 10},
			[]string{"ballpoint", "gel", "marker"}},
		{"keys match case-insensitively", store.AdQuery{Keys: []string{" PENS "}, Max: 10},
			[]string{"ballpoint", "gel", "marker"}},
		{"several keys", store.AdQuery{Keys: []string{"gel", "printer"}, Max: 10},
			[]string{"gel", "paper"}},
		{"viewed product's categories target, the product itself never", store.AdQuery{ASIN: "B000000001", Max: 10},
			[]string{"ballpoint", "marker"}},
		{"viewed product excluded even when the keys match it", store.AdQuery{Keys: []string{"gel", "pens"}, ASIN: "B000000001", Max: 10},
			[]string{"ballpoint", "marker"}},
		{"an inactive viewed product still lends its categories", store.AdQuery{ASIN: "B000000004", Max: 10},
			[]string{"ballpoint", "gel", "marker"}},
		{"one ad per product, its highest bid", store.AdQuery{Keys: []string{"staplers"}, Max: 10},
			[]string{"stapler"}},
		{"cap", store.AdQuery{Keys: []string{"pens"}, Max: 2},
			[]string{"ballpoint", "gel"}},
		{"default cap is 3", store.AdQuery{Keys: []string{"pens", "staplers", "paper"}},
			[]string{"stapler", "ballpoint", "gel"}},
		{"cap clamped to 10", store.AdQuery{Keys: []string{"pens"}, Max: 1000},
			[]string{"ballpoint", "gel", "marker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ads, err := st.GetAds(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := adtest.AdIDs(ads); !slices.Equal(got, tt.want) {
				t.Errorf("GetAds(%+v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestGetAdsRandomFallback(t *testing.T) {
	st := newTargetingStore(t)
	ctx := context.Background()

	// Active products other than the viewed one, each once.
	eligible := []string{"gel", "ballpoint", "marker", "stapler", "paper"}

	t.Run("all of them with a large cap, highest bid first", func(t *testing.T) {
		ads, err := st.GetAds(ctx, store.AdQuery{Keys: []string{"no such thing"}, Max: 10})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"stapler", "ballpoint", "gel", "marker", "paper"}
		if got := adtest.AdIDs(ads); !slices.Equal(got, want) {
			t.Errorf("fallback = %v, want %v", got, want)
		}
	})
	t.Run("a capped random choice, never the viewed product", func(t *testing.T) {
		seen := map[string]bool{}
		for range 20 {
			ads, err := st.GetAds(ctx, store.AdQuery{Keys: []string{"nothing"}, ASIN: "B000000006"})
			if err != nil {
				t.Fatal(err)
			}
			if len(ads) != 3 {
				t.Fatalf("got %d ads, want 3", len(ads))
			}
			for i, a := range ads {
				if !slices.Contains(eligible, a.GetAdId()) || a.GetAdId() == "paper" {
					t.Fatalf("fallback served %q", a.GetAdId())
				}
				if i > 0 && ads[i-1].GetAdId() == a.GetAdId() {
					t.Fatalf("duplicate %q", a.GetAdId())
				}
				seen[a.GetAdId()] = true
			}
		}
		// 20 draws of 3 out of 4 all missing the same one has chance 4·(1/4)^20.
		if len(seen) != 4 {
			t.Errorf("20 random draws only ever showed %v", seen)
		}
	})
	t.Run("no context at all", func(t *testing.T) {
		ads, err := st.GetAds(ctx, store.AdQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(ads) != 3 {
			t.Errorf("got %v, want 3 random ads", adtest.AdIDs(ads))
		}
	})
}

func TestGetAdsEmptyInventory(t *testing.T) {
	st := store.New(adtest.NewPool(t))
	ads, err := st.GetAds(context.Background(), store.AdQuery{Keys: []string{"pens"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ads) != 0 {
		t.Errorf("got %v from an empty inventory", adtest.AdIDs(ads))
	}
}

func TestCreateAd(t *testing.T) {
	pool := adtest.NewPool(t)
	st := store.New(pool)
	ctx := context.Background()

	in := adtest.Listing("", "B0000AQO0R", 45, true, []string{"Markers", "Writing"}, []string{"Permanent", "MARKER"})
	in.Ad.ImageUrl = "https://example.com/m.jpg"
	got, err := st.CreateAd(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^ad-[a-z2-7]{26}$`).MatchString(got.GetAd().GetAdId()) {
		t.Errorf("assigned id %q", got.GetAd().GetAdId())
	}
	if in.GetAd().GetAdId() != "" {
		t.Error("CreateAd changed its argument")
	}
	if got.GetAd().GetRedirectUrl() != "/product/B0000AQO0R" {
		t.Errorf("redirect url %q", got.GetAd().GetRedirectUrl())
	}
	if !slices.Equal(got.GetKeywords(), []string{"permanent", "marker"}) {
		t.Errorf("keywords %v, want lower-cased", got.GetKeywords())
	}
	if !slices.Equal(got.GetCategories(), []string{"Markers", "Writing"}) {
		t.Errorf("categories %v, want as given", got.GetCategories())
	}
	if got.GetCreateTime() == nil {
		t.Error("no create time")
	}

	// What ListAds reads back is what CreateAd returned.
	page, _, err := st.ListAds(ctx, store.ListPage{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 1 || !proto.Equal(page[0], got) {
		t.Errorf("listed %v, want %v", page, got)
	}

	dup := adtest.Listing("dup", "B0000AQO0R", 10, true, nil, nil)
	if _, err := st.CreateAd(ctx, dup); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAd(ctx, dup); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("second create: %v, want ErrAlreadyExists", err)
	}

	fine := adtest.Listing("fine", "B0000AQO0R", 0, true, nil, nil)
	fine.Bid.Nanos = 1 // a billionth: finer than the micros bids are kept in
	if _, err := st.CreateAd(ctx, fine); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("sub-micro bid: %v, want ErrInvalid", err)
	}
	if n := adtest.CountAds(t, pool); n != 2 {
		t.Errorf("%d ads stored, want 2", n)
	}
}

func TestListAdsPagination(t *testing.T) {
	st := store.New(adtest.NewPool(t))
	ctx := context.Background()
	var want []string // newest first
	for i := range 7 {
		id := string(rune('a'+i)) + "-ad"
		if _, err := st.CreateAd(ctx, adtest.Listing(id, "B000000001", 10, i%3 != 0, nil, nil)); err != nil {
			t.Fatal(err)
		}
		want = append([]string{id}, want...)
	}
	activeWant := slices.DeleteFunc(slices.Clone(want), func(id string) bool {
		return id == "a-ad" || id == "d-ad" || id == "g-ad"
	})

	walk := func(t *testing.T, size int, inactive bool) (ids []string, pages int) {
		t.Helper()
		tok := ""
		for {
			page, next, err := st.ListAds(ctx, store.ListPage{Size: size, Token: tok, IncludeInactive: inactive})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, l := range page {
				ids = append(ids, l.GetAd().GetAdId())
			}
			if next == "" {
				return ids, pages
			}
			if len(page) != size {
				t.Fatalf("short page of %d before the end", len(page))
			}
			tok = next
		}
	}
	for _, tt := range []struct {
		size      int
		inactive  bool
		want      []string
		wantPages int
	}{
		{3, true, want, 3},
		{7, true, want, 1},
		{0, true, want, 1},
		{1, false, activeWant, 4},
		{2, false, activeWant, 2},
	} {
		ids, pages := walk(t, tt.size, tt.inactive)
		if !slices.Equal(ids, tt.want) || pages != tt.wantPages {
			t.Errorf("size %d, inactive %v: %v in %d pages, want %v in %d", tt.size, tt.inactive, ids, pages, tt.want, tt.wantPages)
		}
	}

	t.Run("bad tokens", func(t *testing.T) {
		_, next, err := st.ListAds(ctx, store.ListPage{Size: 2})
		if err != nil || next == "" {
			t.Fatalf("first page: %q, %v", next, err)
		}
		for name, p := range map[string]store.ListPage{
			"garbage":        {Token: "not a token"},
			"base64 of junk": {Token: "e30"}, // "{}"
			"other filter":   {Token: next, IncludeInactive: true},
		} {
			if _, _, err := st.ListAds(ctx, p); !errors.Is(err, store.ErrInvalidPageToken) {
				t.Errorf("%s: %v, want ErrInvalidPageToken", name, err)
			}
		}
	})
}

func TestSampleInventory(t *testing.T) {
	pool := adtest.NewPool(t)
	st := store.New(pool)
	ctx := context.Background()
	sample := store.SampleInventory()

	t.Run("every listing passes the API's rules", func(t *testing.T) {
		v, err := protovalidate.New()
		if err != nil {
			t.Fatal(err)
		}
		asins := map[string]bool{}
		for _, l := range sample {
			if err := v.Validate(&adproviderv1.CreateAdRequest{Listing: l}); err != nil {
				t.Errorf("%s: %v", l.GetAd().GetAdId(), err)
			}
			if asins[l.GetAd().GetAsin()] {
				t.Errorf("%s: ASIN %s used twice", l.GetAd().GetAdId(), l.GetAd().GetAsin())
			}
			asins[l.GetAd().GetAsin()] = true
		}
	})

	n, err := st.LoadSample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int(n) != len(sample) || adtest.CountAds(t, pool) != len(sample) {
		t.Fatalf("loaded %d, stored %d, want %d", n, adtest.CountAds(t, pool), len(sample))
	}
	if n, err := st.LoadSample(ctx); err != nil || n != 0 {
		t.Errorf("second load: %d, %v; want 0, nil", n, err)
	}

	for _, tt := range []struct {
		name string
		q    store.AdQuery
		want []string
	}{
		{"beside a pen: writing supplies", store.AdQuery{ASIN: "B000YFJ2LM"},
			[]string{"sample-pentel-pencils", "sample-expo-markers", "sample-crayola-markers-2"}},
		{"a search", store.AdQuery{Keys: []string{"Stapler"}, Max: 5},
			[]string{"sample-swingline-staplers-2", "sample-paperpro-staplers", "sample-swingline-staplers"}},
		// The Pilot G2 is in the catalogue but nobody advertises it, so
		// its categories are unknown here: only the context keys target.
		{"beside a product without ads", store.AdQuery{ASIN: "B0010T3QT2", Keys: []string{"ink"}},
			[]string{"sample-zebra-pens", "sample-bic-pens", "sample-pentel-pens"}},
		{"the inactive ad never", store.AdQuery{Keys: []string{"shredder"}},
			[]string{"sample-amazonbasics-shredders-2", "sample-amazonbasics-shredders"}},
	} {
		ads, err := st.GetAds(ctx, tt.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := adtest.AdIDs(ads); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// The listings read back equal the sample, apart from the creation time.
	page, _, err := st.ListAds(ctx, store.ListPage{Size: 500, IncludeInactive: true})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*adproviderv1.AdListing{}
	for _, l := range page {
		l.CreateTime = nil
		byID[l.GetAd().GetAdId()] = l
	}
	for _, l := range sample {
		want := cloneLowerKeywords(l)
		if got := byID[l.GetAd().GetAdId()]; !proto.Equal(got, want) {
			t.Errorf("stored %v, want %v", got, want)
		}
	}

	t.Run("not over an operator's inventory", func(t *testing.T) {
		st := store.New(adtest.NewPool(t))
		if _, err := st.CreateAd(ctx, adtest.Listing("mine", "B000000001", 10, true, nil, nil)); err != nil {
			t.Fatal(err)
		}
		if n, err := st.LoadSample(ctx); err != nil || n != 0 {
			t.Errorf("load over one ad: %d, %v; want 0, nil", n, err)
		}
	})
}

// TestSampleMatchesCatalog checks that every sample ad advertises a product
// of the Recommender's sample catalogue, as it is: same ASIN, title, price
// and image.
func TestSampleMatchesCatalog(t *testing.T) {
	// The catalogue is in this repository: a missing file is a moved path,
	// not a reason to skip.
	f, err := os.Open("../../recommender/samplecatalog/meta_office.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(zr)
	head, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	catalog := map[string][]string{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		catalog[rec[col["asin"]]] = rec
	}
	for _, l := range store.SampleInventory() {
		ad := l.GetAd()
		rec, ok := catalog[ad.GetAsin()]
		if !ok {
			t.Errorf("%s: ASIN %s is not in the catalogue", ad.GetAdId(), ad.GetAsin())
			continue
		}
		price := fmt.Sprintf("%d.%02d", ad.GetPrice().GetUnits(), ad.GetPrice().GetNanos()/10_000_000)
		if rec[col["title"]] != ad.GetTitle() || rec[col["price"]] != price || rec[col["imUrl"]] != ad.GetImageUrl() {
			t.Errorf("%s: %q %s %s, catalogue has %q %s %s", ad.GetAdId(),
				ad.GetTitle(), price, ad.GetImageUrl(), rec[col["title"]], rec[col["price"]], rec[col["imUrl"]])
		}
	}
}
