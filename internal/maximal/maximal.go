// Package maximal builds messages with every field at its protovalidate
// bound, for tests that prove responses fit a default gRPC client's 4 MiB
// limit (the arithmetic is in the proto comments) and that stores take the
// largest valid values. Each message it returns is valid.
package maximal

import (
	"fmt"
	"math"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
)

// Text returns seed (ASCII) followed by 4-byte characters, then ASCII, so
// that the string is as long in bytes as maxBytes allows without exceeding
// maxChars characters: the largest value a field bounded by both can hold.
func Text(seed string, maxChars, maxBytes int) string {
	rem, chars := maxBytes-len(seed), maxChars-len(seed)
	k := min(rem/4, chars)
	m := min(rem-4*k, chars-k)
	return seed + strings.Repeat("😀", k) + strings.Repeat("x", m)
}

// ASIN returns the i-th ten-character ASIN of a family.
func ASIN(prefix byte, i int) string { return fmt.Sprintf("%c%09d", prefix, i) }

func asins(prefix byte, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = ASIN(prefix, i)
	}
	return out
}

// URL returns an absolute URL of exactly n bytes.
func URL(seed string, n int) string {
	u := "https://example.com/" + seed + "/"
	return u + strings.Repeat("a", n-len(u))
}

// Product returns a product with every field at its bound.
func Product(asin string) *recommenderv1.Product {
	sr := make(map[string]int64, 8)
	for i := range 8 {
		sr[Text(fmt.Sprintf("%d-%s", i, asin), 200, 200)] = math.MinInt64
	}
	cats := make([]*recommenderv1.CategoryPath, 10)
	for i := range cats {
		path := make([]string, 8)
		for j := range path {
			path[j] = Text(fmt.Sprintf("%d.%d", i, j), 100, 100)
		}
		cats[i] = &recommenderv1.CategoryPath{Path: path}
	}
	return &recommenderv1.Product{
		Asin:        asin,
		Title:       Text(asin, 1000, 2000),
		Description: Text(asin, 12000, 12000),
		ImageUrl:    URL(asin, 2048),
		Related: &recommenderv1.RelatedProducts{
			AlsoBought: asins('B', 100), AlsoViewed: asins('V', 100),
			BoughtTogether: asins('T', 100), BuyAfterViewing: asins('A', 100),
		},
		SalesRank:  sr,
		Categories: cats,
		Brand:      Text(asin, 200, 400),
		Price:      &moneyv1.Money{CurrencyCode: "USD", Units: math.MinInt64, Nanos: -999_999_999},
	}
}

// Review returns a review of asin with every field at its bound.
// review_id is left empty, as a client sends it.
func Review(asin, reviewer string) *recommenderv1.Review {
	return &recommenderv1.Review{
		Asin:         asin,
		ReviewerId:   reviewer,
		ReviewerName: Text(reviewer, 200, 400),
		Helpful:      &recommenderv1.Helpfulness{HelpfulVotes: 1<<31 - 1, TotalVotes: 1<<31 - 1},
		ReviewText:   Text(reviewer, 24000, 24000),
		Overall:      5,
		Summary:      Text(reviewer, 1000, 1000),
		ReviewTime:   timestamppb.New(time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)),
	}
}

// Ad returns an ad with every field at its bound; adID may be empty for the
// server to assign one.
func Ad(adID, asin string) *adproviderv1.Ad {
	return &adproviderv1.Ad{
		AdId:        adID,
		Asin:        asin,
		Title:       Text(asin, 200, 800),
		ImageUrl:    URL(asin, 2048),
		Price:       &moneyv1.Money{CurrencyCode: "USD", Units: math.MaxInt64, Nanos: 999_999_999},
		Text:        Text(asin, 500, 2000),
		RedirectUrl: Text("/product/"+asin, 2048, 2048),
	}
}

// Listing returns an ad listing with every field at its bound.
func Listing(adID, asin string) *adproviderv1.AdListing {
	kw := func(seed string) []string {
		out := make([]string, 32)
		for i := range out {
			out[i] = Text(fmt.Sprintf("%s%d", seed, i), 100, 400)
		}
		return out
	}
	return &adproviderv1.AdListing{
		Ad:         Ad(adID, asin),
		Categories: kw("c"),
		Keywords:   kw("k"),
		// The largest bid AdProvider stores: whole micros within int64.
		Bid:        &moneyv1.Money{CurrencyCode: "USD", Units: math.MaxInt64/1_000_000 - 1, Nanos: 999_999_000},
		Active:     true,
		CreateTime: timestamppb.New(time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)),
	}
}
