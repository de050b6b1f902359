package recommender

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
)

// houseAds are the originals' default_ads made useful: real products of the
// sample catalog (samplecatalog; the generator fixes these ASINs), so a click
// on a house ad lands on a product page that exists.
var houseAds = []*adproviderv1.Ad{
	{
		AdId: "house-pilot-g2", Asin: "B0010T3QT2",
		Title:       "Pilot G2 Gel Pens, Fine Point, 12 Count",
		ImageUrl:    "http://ecx.images-amazon.com/images/I/41C6InmzCPc.jpg",
		Price:       &moneyv1.Money{CurrencyCode: "USD", Units: 10, Nanos: 490000000},
		Text:        "America's favourite gel pen: smooth, retractable, refillable.",
		RedirectUrl: "/product/B0010T3QT2",
	},
	{
		AdId: "house-swingline-747", Asin: "B00006IE7F",
		Title:       "Swingline Classic 747 Desk Stapler",
		ImageUrl:    "http://ecx.images-amazon.com/images/I/41nDBvxbM2U.jpg",
		Price:       &moneyv1.Money{CurrencyCode: "USD", Units: 18, Nanos: 990000000},
		Text:        "All-metal, 20-sheet capacity, built to outlast the office.",
		RedirectUrl: "/product/B00006IE7F",
	},
	{
		AdId: "house-post-it-super-sticky", Asin: "B004Y6PWPQ",
		Title:       "Post-it Super Sticky Notes, 24 Pads",
		ImageUrl:    "http://ecx.images-amazon.com/images/I/41hHSOguach.jpg",
		Price:       &moneyv1.Money{CurrencyCode: "USD", Units: 19, Nanos: 990000000},
		Text:        "Twice the sticking power, in bright colours.",
		RedirectUrl: "/product/B004Y6PWPQ",
	},
	{
		AdId: "house-sharpie-fine", Asin: "B00006HQUR",
		Title:       "Sharpie Permanent Markers, Fine Point, 12 Count",
		ImageUrl:    "http://ecx.images-amazon.com/images/I/41JUzvOrCWW.jpg",
		Price:       &moneyv1.Money{CurrencyCode: "USD", Units: 8, Nanos: 990000000},
		Text:        "Marks on paper, plastic, metal and more. Fade and water resistant.",
		RedirectUrl: "/product/B00006HQUR",
	},
}

// HouseAds returns a copy of the default house ads: four products of the
// sample catalog, served when AdProvider cannot answer.
func HouseAds() []*adproviderv1.Ad {
	out := make([]*adproviderv1.Ad, len(houseAds))
	for i, ad := range houseAds {
		out[i] = proto.Clone(ad).(*adproviderv1.Ad)
	}
	return out
}

// defaultMaxAds is how many house ads answer a request that names no
// max_ads, as AdProvider does.
const defaultMaxAds = 3

// HouseAdsFallback is the GetAds fallback the breaker serves when it
// rejects a call to AdProvider, or when the call fails (AdProviderBreakers
// sets both): at most the request's max_ads (3 when unset) of ads, never the
// product being viewed, copied so that callers may modify them. It is the
// only place house ads are chosen; the server calls it too when it has no
// AdProvider at all.
func HouseAdsFallback(ads []*adproviderv1.Ad) breaker.Fallback {
	return func(_ context.Context, _ string, req, reply any, _ error) error {
		in, ok := req.(*adproviderv1.GetAdsRequest)
		out, ok2 := reply.(*adproviderv1.GetAdsResponse)
		if !ok || !ok2 {
			return fmt.Errorf("house ads: not a GetAds call (%T, %T)", req, reply)
		}
		n := int(in.GetMaxAds())
		if n <= 0 {
			n = defaultMaxAds
		}
		out.Ads = out.Ads[:0]
		for _, ad := range ads {
			if len(out.Ads) == n {
				break
			}
			if ad.GetAsin() != in.GetAsin() {
				out.Ads = append(out.Ads, proto.Clone(ad).(*adproviderv1.Ad))
			}
		}
		return nil
	}
}
