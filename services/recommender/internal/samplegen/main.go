// Command samplegen writes the Recommender's sample catalog: a few hundred
// office products and a few thousand reviews from a few hundred reviewers, in
// the shapes of the originals' meta_office.csv and office_both_set.csv,
// gzipped. The output depends on nothing but the fixed seed, so running it
// again rewrites the same bytes:
//
//	go run ./services/recommender/internal/samplegen -out services/recommender/samplecatalog
//
// Reviewers have favourite categories and products have a hidden quality, so
// the reviews carry real co-review signal for the recommendations to find.
package main

import (
	"compress/gzip"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

const (
	seed      = 20140717
	products  = 320
	reviewers = 350
)

type category struct {
	path   []string
	brands []string
	nouns  []string
	low    int // price range in cents
	high   int
}

var supplies = []string{"Office Products", "Office & School Supplies"}

var categories = []category{
	{path: append(supplies, "Writing & Correction Supplies", "Pens"), brands: []string{"Pilot", "Uni-ball", "BIC", "Paper Mate", "Zebra", "Pentel"},
		nouns: []string{"Retractable Gel Pens", "Ballpoint Stick Pens", "Rollerball Pens", "Fountain Pen", "Felt Tip Pens"}, low: 299, high: 2499},
	{path: append(supplies, "Writing & Correction Supplies", "Markers & Highlighters"), brands: []string{"Sharpie", "Expo", "Crayola", "Avery"},
		nouns: []string{"Permanent Markers", "Dry Erase Markers", "Highlighters, Chisel Tip", "Fine Point Markers"}, low: 399, high: 2999},
	{path: append(supplies, "Writing & Correction Supplies", "Pencils"), brands: []string{"Dixon Ticonderoga", "Pentel", "Staedtler", "Paper Mate"},
		nouns: []string{"Wood-Cased #2 Pencils", "Mechanical Pencils, 0.7 mm", "Colored Pencils", "Pencil Lead Refills"}, low: 199, high: 1999},
	{path: append(supplies, "Paper", "Copy & Multipurpose Paper"), brands: []string{"Hammermill", "HP", "Boise", "Georgia-Pacific"},
		nouns: []string{"Copy Paper, 8.5 x 11, 500 Sheets", "Premium Multipurpose Paper, 10 Reams", "Bright White Printer Paper"}, low: 699, high: 5499},
	{path: append(supplies, "Paper", "Notebooks & Writing Pads"), brands: []string{"Mead", "Five Star", "Moleskine", "Oxford", "Rhodia"},
		nouns: []string{"Spiral Notebook, College Ruled", "Composition Book", "Legal Pads, 12 Pack", "Hardcover Notebook, Dotted"}, low: 249, high: 2499},
	{path: append(supplies, "Paper", "Sticky Notes"), brands: []string{"Post-it", "BAZIC", "Avery"},
		nouns: []string{"Super Sticky Notes, 3 x 3 in", "Page Markers", "Lined Sticky Notes, 4 x 6 in"}, low: 299, high: 2199},
	{path: append(supplies, "Binders & Binding Systems", "Binders"), brands: []string{"Avery", "Cardinal", "Wilson Jones", "Samsill"},
		nouns: []string{"Heavy Duty View Binder, 2 in", "Durable Binder, 1 in Rings", "Economy Binder, 3 Pack"}, low: 349, high: 2999},
	{path: append(supplies, "Staplers & Punches", "Staplers"), brands: []string{"Swingline", "Bostitch", "PaperPro", "Stanley"},
		nouns: []string{"Desk Stapler, 20 Sheet Capacity", "Electric Stapler", "Heavy Duty Stapler, 100 Sheets", "Mini Stapler"}, low: 599, high: 4999},
	{path: append(supplies, "Tape, Adhesives & Fasteners", "Tape"), brands: []string{"Scotch", "Duck", "3M"},
		nouns: []string{"Magic Tape, 6 Rolls", "Packaging Tape with Dispenser", "Double Sided Tape"}, low: 299, high: 2499},
	{path: append(supplies, "Desk Accessories & Workspace Organizers", "Desk Organizers"), brands: []string{"Rolodex", "Mindspace", "AmazonBasics", "Fellowes"},
		nouns: []string{"Mesh Desk Organizer", "Letter Tray, Stackable", "Drawer Organizer", "Monitor Stand with Drawer"}, low: 999, high: 4999},
	{path: []string{"Office Products", "Office Electronics", "Calculators", "Scientific"}, brands: []string{"Texas Instruments", "Casio", "Sharp"},
		nouns: []string{"Scientific Calculator", "Graphing Calculator", "Financial Calculator"}, low: 999, high: 14999},
	{path: []string{"Office Products", "Office Electronics", "Shredders"}, brands: []string{"Fellowes", "AmazonBasics", "Aurora"},
		nouns: []string{"Cross-Cut Paper Shredder, 8 Sheet", "Micro-Cut Shredder", "Strip-Cut Shredder with Basket"}, low: 2999, high: 14999},
	{path: append(supplies, "Kids' Crafts & School Supplies"), brands: []string{"Crayola", "Elmer's", "Fiskars"},
		nouns: []string{"Washable Glue Sticks, 12 Pack", "Kids' Scissors, Blunt Tip", "Construction Paper Pad"}, low: 199, high: 1999},
}

// hero products are the house ads of the service: fixed, so that the code
// can name them (services/recommender/houseads.go).
var heroes = []struct {
	asin, title, brand string
	cat                int
	cents              int
}{
	{"B0010T3QT2", "Pilot G2 Retractable Premium Gel Ink Roller Ball Pens, Fine Point, Black Ink, 12 Count", "Pilot", 0, 1049},
	{"B00006IE7F", "Swingline Stapler, Classic 747 Desk Stapler, 20 Sheet Capacity, Black", "Swingline", 7, 1899},
	{"B004Y6PWPQ", "Post-it Super Sticky Notes, 3 in x 3 in, Rio de Janeiro Collection, 24 Pads", "Post-it", 5, 1999},
	{"B00006HQUR", "Sharpie Permanent Markers, Fine Point, Black, 12 Count", "Sharpie", 1, 899},
}

var adjectives = []string{"Classic", "Premium", "Everyday", "Professional", "Value Pack", "Eco-Friendly", "Deluxe", "Compact", "Assorted Colors", "Bulk"}

var firstNames = []string{"Ann", "Ben", "Carla", "Dev", "Elena", "Frank", "Grace", "Hiro", "Ines", "Jamal", "Kate", "Liam", "Maya", "Noah",
	"Olga", "Pat", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera", "Will", "Xena", "Yusuf", "Zoe"}

var praise = []string{"Works exactly as described.", "Great value for the price.", "I use it every day at the office.",
	"Sturdy and well made.", "Arrived quickly and well packed.", "Would buy again.", "Better than the store brand."}
var complaints = []string{"Broke after a week.", "Not what the picture shows.", "Cheaply made.", "Ink dries out fast.",
	"Stopped working after a month.", "Too flimsy for daily use."}

const asinAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

type product struct {
	asin, title, brand, image string
	cat                       int
	cents                     int
	quality                   float64 // mean rating, hidden
	rank                      int
	bought, viewed            []string
}

func main() {
	out := flag.String("out", "services/recommender/samplecatalog", "directory to write meta_office.csv.gz and office_both_set.csv.gz to")
	flag.Parse()
	if err := run(*out); err != nil {
		log.Fatal(err)
	}
}

func run(dir string) error {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ps := makeProducts(rng)
	if err := writeGzip(filepath.Join(dir, "meta_office.csv.gz"), func(w io.Writer) error { return writeProducts(w, ps) }); err != nil {
		return err
	}
	return writeGzip(filepath.Join(dir, "office_both_set.csv.gz"), func(w io.Writer) error { return writeReviews(w, rng, ps) })
}

func makeProducts(rng *rand.Rand) []*product {
	seen := map[string]bool{}
	var ps []*product
	for _, h := range heroes {
		seen[h.asin] = true
		ps = append(ps, &product{asin: h.asin, title: h.title, brand: h.brand, cat: h.cat, cents: h.cents, quality: 4.6})
	}
	for len(ps) < products {
		asin := "B00" + randString(rng, asinAlphabet, 7)
		if seen[asin] {
			continue
		}
		seen[asin] = true
		ci := rng.IntN(len(categories))
		c := categories[ci]
		brand := c.brands[rng.IntN(len(c.brands))]
		title := fmt.Sprintf("%s %s %s", brand, adjectives[rng.IntN(len(adjectives))], c.nouns[rng.IntN(len(c.nouns))])
		if rng.IntN(4) == 0 {
			title += fmt.Sprintf(", %d Pack", 2+rng.IntN(11))
		}
		ps = append(ps, &product{asin: asin, title: title, brand: brand, cat: ci,
			cents: c.low + rng.IntN(c.high-c.low), quality: 2.2 + 2.8*rng.Float64()})
	}
	for _, p := range ps {
		p.image = "http://ecx.images-amazon.com/images/I/41" + randString(rng, asinAlphabet+"abcdefghijklmnopqrstuvwxyz", 9) + ".jpg"
		p.rank = 1 + rng.IntN(500000)
		for range rng.IntN(5) {
			if q := ps[rng.IntN(len(ps))]; q.cat == p.cat && q != p {
				p.bought = append(p.bought, q.asin)
			}
		}
		for range rng.IntN(4) {
			p.viewed = append(p.viewed, ps[rng.IntN(len(ps))].asin)
		}
	}
	return ps
}

func randString(rng *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// pyStr writes s as Python's repr does: single quotes unless s holds a
// single quote and no double quote.
func pyStr(s string) string {
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

func pyList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = pyStr(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func writeProducts(w io.Writer, ps []*product) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"asin", "title", "description", "imUrl", "related", "salesRank", "categories", "brand", "price"})
	sorted := append([]*product(nil), ps...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].asin < sorted[j].asin })
	for i, p := range sorted {
		c := categories[p.cat]
		var related []string
		if len(p.bought) > 0 {
			related = append(related, "'also_bought': "+pyList(p.bought))
		}
		if len(p.viewed) > 0 {
			related = append(related, "'also_viewed': "+pyList(p.viewed))
		}
		rel := ""
		if related != nil {
			rel = "{" + strings.Join(related, ", ") + "}"
		}
		cats := "[" + pyList(c.path)
		if i%7 == 0 { // some products sit in a second, shorter path, as in the originals
			cats += ", " + pyList(c.path[:1])
		}
		cats += "]"
		price := fmt.Sprintf("%d.%02d", p.cents/100, p.cents%100)
		if i%23 == 5 {
			price = "" // the originals lack some prices
		}
		desc := fmt.Sprintf("%s from %s. %s", strings.TrimSuffix(c.nouns[0], "s"), p.brand, praise[i%len(praise)])
		cw.Write([]string{p.asin, p.title, desc, p.image, rel,
			fmt.Sprintf("{'Office Products': %d}", p.rank), cats, p.brand, price})
	}
	cw.Flush()
	return cw.Error()
}

func writeReviews(w io.Writer, rng *rand.Rand, ps []*product) error {
	byCat := map[int][]*product{}
	for _, p := range ps {
		byCat[p.cat] = append(byCat[p.cat], p)
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"reviewerID", "asin", "reviewerName", "helpful", "reviewText", "overall", "summary", "unixReviewTime", "reviewTime"})
	start := time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	span := time.Date(2014, 7, 1, 0, 0, 0, 0, time.UTC).Unix() - start
	ids := map[string]bool{}
	for range reviewers {
		id := "A" + randString(rng, asinAlphabet, 13)
		for ids[id] {
			id = "A" + randString(rng, asinAlphabet, 13)
		}
		ids[id] = true
		name := firstNames[rng.IntN(len(firstNames))] + " " + string(rune('A'+rng.IntN(26))) + "."
		favs := []int{rng.IntN(len(categories)), rng.IntN(len(categories))}
		n := 4 + rng.IntN(15)
		done := map[string]bool{}
		for range n {
			var p *product
			if rng.IntN(5) < 4 {
				list := byCat[favs[rng.IntN(2)]]
				p = list[rng.IntN(len(list))]
			} else {
				p = ps[rng.IntN(len(ps))]
			}
			if done[p.asin] {
				continue
			}
			done[p.asin] = true
			rating := int(p.quality + rng.NormFloat64()*0.9 + 0.5)
			rating = max(1, min(5, rating))
			total := rng.IntN(12)
			helpful := 0
			if total > 0 {
				helpful = rng.IntN(total + 1)
			}
			text := praise[rng.IntN(len(praise))]
			summary := "Five stars"
			switch {
			case rating <= 2:
				text, summary = complaints[rng.IntN(len(complaints))], "Disappointed"
			case rating == 3:
				text, summary = text+" "+complaints[rng.IntN(len(complaints))], "It's okay"
			case rating == 4:
				summary = "Good, not perfect"
			}
			at := time.Unix(start+rng.Int64N(span), 0).UTC()
			cw.Write([]string{id, p.asin, name, fmt.Sprintf("[%d, %d]", helpful, total), text,
				fmt.Sprintf("%d.0", rating), summary, fmt.Sprint(at.Unix()), at.Format("01 2, 2006")})
		}
	}
	cw.Flush()
	return cw.Error()
}

func writeGzip(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(f) // no name or time in the header: same bytes every run
	if err := write(zw); err != nil {
		f.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
