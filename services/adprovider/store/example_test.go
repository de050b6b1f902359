package store_test

import (
	"fmt"

	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	"github.com/breakwater/breakwater/services/adprovider/store"
)

// Bids are stored in micros of their currency; amounts finer than that are
// refused rather than rounded.
func ExampleMoneyToMicros() {
	micros, err := store.MoneyToMicros(&moneyv1.Money{CurrencyCode: "USD", Units: 1, Nanos: 250_000_000})
	fmt.Println(micros, err)
	back := store.MicrosToMoney("USD", micros)
	fmt.Println(back.GetUnits(), back.GetNanos())

	_, err = store.MoneyToMicros(&moneyv1.Money{CurrencyCode: "USD", Nanos: 1})
	fmt.Println(err)
	// Output:
	// 1250000 <nil>
	// 1 250000000
	// invalid listing: must be a whole number of micros
}

func ExampleSampleInventory() {
	inv := store.SampleInventory()
	first := inv[0]
	fmt.Println(len(inv), "ads")
	fmt.Println(first.GetAd().GetAdId(), first.GetAd().GetAsin(), first.GetCategories())
	// Output:
	// 39 ads
	// sample-wilson-jones-binders B0000981GE [Binders & Binding Systems Binders]
}
