package catalogcsv_test

import (
	"fmt"
	"strings"

	"github.com/breakwater/breakwater/services/recommender/catalogcsv"
)

func ExampleNewProductReader() {
	const csv = `asin,title,description,imUrl,related,salesRank,categories,brand,price
B0010T3QT2,Pilot G2 Gel Pens,,,"{'also_bought': ['B00006IE7F']}",{'Office Products': 120},"[['Office Products', 'Pens']]",Pilot,10.49
`
	pr, err := catalogcsv.NewProductReader(strings.NewReader(csv))
	if err != nil {
		fmt.Println(err)
		return
	}
	p, line, err := pr.Read()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(line, p.Asin, p.Related.AlsoBought, p.SalesRank["Office Products"], p.Categories[0].Path,
		p.Price.Units, p.Price.Nanos)
	// Output: 2 B0010T3QT2 [B00006IE7F] 120 [Office Products Pens] 10 490000000
}
