package recommender_test

import (
	"fmt"

	"github.com/breakwater/breakwater/services/recommender"
)

// The house ads are products of the sample catalog, so a click lands on a
// product page that exists.
func ExampleHouseAds() {
	for _, ad := range recommender.HouseAds() {
		fmt.Println(ad.Asin, ad.RedirectUrl)
	}
	// Output:
	// B0010T3QT2 /product/B0010T3QT2
	// B00006IE7F /product/B00006IE7F
	// B004Y6PWPQ /product/B004Y6PWPQ
	// B00006HQUR /product/B00006HQUR
}
