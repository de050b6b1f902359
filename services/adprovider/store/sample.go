package store

import (
	"context"
	"encoding/json"
	"fmt"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
)

// sampleAd is one row of the sample inventory, kept terse so the table reads
// like a catalogue.
type sampleAd struct {
	id, asin, title, image string
	price, bid             int64 // US cents
	text                   string
	categories             []string
	keywords               []string
}

// inactiveSample is the one sample ad that is in the inventory but never
// shown.
const inactiveSample = "sample-amazonbasics-shredders-3"

// sampleAds advertise products of the Recommender's sample catalogue
// (services/recommender/samplecatalog): same ASINs, titles, images and
// prices, so that an ad leads to a product the catalogue has. Its four house
// ads are left out, so a page shows whether an ad came from AdProvider or from
// Recommender's fallback. Categories are the catalogue's, without the ones
// every product shares ("Office Products", "Office & School Supplies",
// "Office Electronics"), which would make every ad match every page.
//
// The rows are copied, not read from that package: services do not import
// each other, and the inventory must not change when the catalogue is
// regenerated.
var sampleAds = []sampleAd{
	{"sample-wilson-jones-binders", "B0000981GE", "Wilson Jones Deluxe Durable Binder, 1 in Rings", "http://ecx.images-amazon.com/images/I/41PI6XnT4Pw.jpg", 444, 71,
		"Wilson Jones: every page in order, meeting after meeting.",
		[]string{"Binders & Binding Systems", "Binders"}, []string{"binder", "binders", "rings"}},
	{"sample-wilson-jones-binders-2", "B003EFI08D", "Wilson Jones Professional Heavy Duty View Binder, 2 in", "http://ecx.images-amazon.com/images/I/41684XRGsNm.jpg", 2123, 87,
		"Wilson Jones: every page in order, meeting after meeting.",
		[]string{"Binders & Binding Systems", "Binders"}, []string{"binder", "binders", "rings"}},
	{"sample-cardinal-binders", "B004L4J5AU", "Cardinal Professional Economy Binder, 3 Pack", "http://ecx.images-amazon.com/images/I/41Qs6W3yk7D.jpg", 481, 96,
		"Cardinal: every page in order, meeting after meeting.",
		[]string{"Binders & Binding Systems", "Binders"}, []string{"binder", "binders", "rings"}},
	{"sample-georgia-pacific-copy", "B0001MUMWD", "Georgia-Pacific Deluxe Bright White Printer Paper, 2 Pack", "http://ecx.images-amazon.com/images/I/41SFo78JNEq.jpg", 5238, 54,
		"Georgia-Pacific: jam-free sheets for every printer.",
		[]string{"Paper", "Copy & Multipurpose Paper"}, []string{"paper", "printer", "copy"}},
	{"sample-hp-copy", "B001UO143B", "HP Deluxe Copy Paper, 8.5 x 11, 500 Sheets, 7 Pack", "http://ecx.images-amazon.com/images/I/41qMobaMCh8.jpg", 2060, 137,
		"HP: jam-free sheets for every printer.",
		[]string{"Paper", "Copy & Multipurpose Paper"}, []string{"paper", "printer", "copy"}},
	{"sample-hammermill-copy", "B0020MC85V", "Hammermill Bulk Copy Paper, 8.5 x 11, 500 Sheets", "http://ecx.images-amazon.com/images/I/41lkbhIvdXf.jpg", 3561, 149,
		"Hammermill: jam-free sheets for every printer.",
		[]string{"Paper", "Copy & Multipurpose Paper"}, []string{"paper", "printer", "copy"}},
	{"sample-rolodex-desk-organizers", "B0012EPEJV", "Rolodex Bulk Mesh Desk Organizer, 8 Pack", "http://ecx.images-amazon.com/images/I/419LeCREzac.jpg", 2664, 105,
		"Rolodex: a clear desk and everything within reach.",
		[]string{"Desk Accessories & Workspace Organizers", "Desk Organizers"}, []string{"organizer", "desk", "storage"}},
	{"sample-rolodex-desk-organizers-2", "B001RGYHWA", "Rolodex Everyday Mesh Desk Organizer", "http://ecx.images-amazon.com/images/I/41ibF9V1AFi.jpg", 1473, 17,
		"Rolodex: a clear desk and everything within reach.",
		[]string{"Desk Accessories & Workspace Organizers", "Desk Organizers"}, []string{"organizer", "desk", "storage"}},
	{"sample-mindspace-desk-organizers", "B002XVZIJA", "Mindspace Premium Mesh Desk Organizer, 3 Pack", "http://ecx.images-amazon.com/images/I/41BXF8lAiyb.jpg", 1534, 101,
		"Mindspace: a clear desk and everything within reach.",
		[]string{"Desk Accessories & Workspace Organizers", "Desk Organizers"}, []string{"organizer", "desk", "storage"}},
	{"sample-elmers-kids", "B002MOT2ZZ", "Elmer's Eco-Friendly Construction Paper Pad, 5 Pack", "http://ecx.images-amazon.com/images/I/41Hf7UOOJu5.jpg", 308, 129,
		"Elmer's: ready for the first day of school.",
		[]string{"Kids' Crafts & School Supplies"}, []string{"school", "kids", "crafts"}},
	{"sample-crayola-kids", "B003MKP29O", "Crayola Deluxe Kids' Scissors, Blunt Tip", "http://ecx.images-amazon.com/images/I/41XZJ7jNaVz.jpg", 1695, 29,
		"Crayola: ready for the first day of school.",
		[]string{"Kids' Crafts & School Supplies"}, []string{"school", "kids", "crafts"}},
	{"sample-elmers-kids-2", "B004US4P3M", "Elmer's Everyday Washable Glue Sticks, 12 Pack", "http://ecx.images-amazon.com/images/I/41pUvls2W5k.jpg", 493, 120,
		"Elmer's: ready for the first day of school.",
		[]string{"Kids' Crafts & School Supplies"}, []string{"school", "kids", "crafts"}},
	{"sample-crayola-markers", "B005KNLFV3", "Crayola Compact Highlighters, Chisel Tip", "http://ecx.images-amazon.com/images/I/41bipUikFrS.jpg", 2185, 28,
		"Crayola: bold colour that lasts.",
		[]string{"Writing & Correction Supplies", "Markers & Highlighters"}, []string{"marker", "markers", "highlighter"}},
	{"sample-crayola-markers-2", "B006ZWS9A3", "Crayola Value Pack Permanent Markers, 3 Pack", "http://ecx.images-amazon.com/images/I/41lcLvVTJ1q.jpg", 2119, 70,
		"Crayola: bold colour that lasts.",
		[]string{"Writing & Correction Supplies", "Markers & Highlighters"}, []string{"marker", "markers", "highlighter"}},
	{"sample-expo-markers", "B007WLIWL6", "Expo Premium Dry Erase Markers", "http://ecx.images-amazon.com/images/I/41Z6N2OY0A5.jpg", 2002, 108,
		"Expo: bold colour that lasts.",
		[]string{"Writing & Correction Supplies", "Markers & Highlighters"}, []string{"marker", "markers", "highlighter"}},
	{"sample-mead-notebooks", "B000Y3X2UA", "Mead Compact Composition Book", "http://ecx.images-amazon.com/images/I/41aErwNZZ8F.jpg", 2138, 42,
		"Mead: pages worth filling.",
		[]string{"Paper", "Notebooks & Writing Pads"}, []string{"notebook", "notes", "journal"}},
	{"sample-moleskine-notebooks", "B001F2S3B5", "Moleskine Everyday Legal Pads, 12 Pack", "http://ecx.images-amazon.com/images/I/41oFcz0rJE7.jpg", 710, 67,
		"Moleskine: pages worth filling.",
		[]string{"Paper", "Notebooks & Writing Pads"}, []string{"notebook", "notes", "journal"}},
	{"sample-oxford-notebooks", "B001RDA3BO", "Oxford Deluxe Spiral Notebook, College Ruled", "http://ecx.images-amazon.com/images/I/412xUv7zKUF.jpg", 2084, 15,
		"Oxford: pages worth filling.",
		[]string{"Paper", "Notebooks & Writing Pads"}, []string{"notebook", "notes", "journal"}},
	{"sample-dixon-ticonderoga-pencils", "B0009EFS5K", "Dixon Ticonderoga Deluxe Pencil Lead Refills, 9 Pack", "http://ecx.images-amazon.com/images/I/41JtPtHm8Wg.jpg", 542, 43,
		"Dixon Ticonderoga: sharp ideas, all day long.",
		[]string{"Writing & Correction Supplies", "Pencils"}, []string{"pencil", "pencils", "school"}},
	{"sample-pentel-pencils", "B000IJQZDX", "Pentel Eco-Friendly Pencil Lead Refills", "http://ecx.images-amazon.com/images/I/41T8oXynzmj.jpg", 849, 115,
		"Pentel: sharp ideas, all day long.",
		[]string{"Writing & Correction Supplies", "Pencils"}, []string{"pencil", "pencils", "school"}},
	{"sample-paper-mate-pencils", "B006L630WI", "Paper Mate Value Pack Wood-Cased #2 Pencils", "http://ecx.images-amazon.com/images/I/41EygKLtguy.jpg", 829, 68,
		"Paper Mate: sharp ideas, all day long.",
		[]string{"Writing & Correction Supplies", "Pencils"}, []string{"pencil", "pencils", "school"}},
	{"sample-pentel-pens", "B000V8ZYS0", "Pentel Deluxe Retractable Gel Pens", "http://ecx.images-amazon.com/images/I/418smgGbT0N.jpg", 1886, 24,
		"Pentel: smooth writing, every time.",
		[]string{"Writing & Correction Supplies", "Pens"}, []string{"pen", "pens", "ink"}},
	{"sample-zebra-pens", "B000YFJ2LM", "Zebra Eco-Friendly Fountain Pen, 2 Pack", "http://ecx.images-amazon.com/images/I/41jGZCIDmbh.jpg", 1079, 138,
		"Zebra: smooth writing, every time.",
		[]string{"Writing & Correction Supplies", "Pens"}, []string{"pen", "pens", "ink"}},
	{"sample-bic-pens", "B0065KH0UO", "BIC Assorted Colors Ballpoint Stick Pens", "http://ecx.images-amazon.com/images/I/41x4LRgI4bE.jpg", 2342, 47,
		"BIC: smooth writing, every time.",
		[]string{"Writing & Correction Supplies", "Pens"}, []string{"pen", "pens", "ink"}},
	{"sample-sharp-scientific", "B0016DWVWO", "Sharp Professional Scientific Calculator, 9 Pack", "http://ecx.images-amazon.com/images/I/41XdGfnParh.jpg", 11763, 39,
		"Sharp: the answers, fast.",
		[]string{"Calculators", "Scientific"}, []string{"calculator", "math", "school"}},
	{"sample-texas-instruments-scientific", "B001EXOEER", "Texas Instruments Premium Graphing Calculator, 11 Pack", "http://ecx.images-amazon.com/images/I/41yc9Yo4n3D.jpg", 13926, 54,
		"Texas Instruments: the answers, fast.",
		[]string{"Calculators", "Scientific"}, []string{"calculator", "math", "school"}},
	{"sample-sharp-scientific-2", "B0026TKGTK", "Sharp Professional Scientific Calculator", "http://ecx.images-amazon.com/images/I/41J6KtGbonx.jpg", 6177, 68,
		"Sharp: the answers, fast.",
		[]string{"Calculators", "Scientific"}, []string{"calculator", "math", "school"}},
	{"sample-amazonbasics-shredders", "B003AOYYUM", "AmazonBasics Assorted Colors Micro-Cut Shredder, 8 Pack", "http://ecx.images-amazon.com/images/I/41mgi6s1S4g.jpg", 10409, 96,
		"AmazonBasics: your documents, kept private.",
		[]string{"Shredders"}, []string{"shredder", "security"}},
	{"sample-amazonbasics-shredders-2", "B006UMZB3T", "AmazonBasics Bulk Cross-Cut Paper Shredder, 8 Sheet, 4 Pack", "http://ecx.images-amazon.com/images/I/41tvLjssO5A.jpg", 4628, 140,
		"AmazonBasics: your documents, kept private.",
		[]string{"Shredders"}, []string{"shredder", "security"}},
	{"sample-amazonbasics-shredders-3", "B008SDPYGT", "AmazonBasics Bulk Cross-Cut Paper Shredder, 8 Sheet", "http://ecx.images-amazon.com/images/I/41Y9MrsNWkZ.jpg", 3340, 138,
		"AmazonBasics: your documents, kept private.",
		[]string{"Shredders"}, []string{"shredder", "security"}},
	{"sample-swingline-staplers", "B000ZV7LM4", "Swingline Bulk Electric Stapler", "http://ecx.images-amazon.com/images/I/41HMFfO3Caa.jpg", 4321, 100,
		"Swingline: stapling that never jams.",
		[]string{"Staplers & Punches", "Staplers"}, []string{"stapler", "staples"}},
	{"sample-swingline-staplers-2", "B001CBQIT8", "Swingline Value Pack Desk Stapler, 20 Sheet Capacity", "http://ecx.images-amazon.com/images/I/41AXU7qpaMZ.jpg", 1818, 150,
		"Swingline: stapling that never jams.",
		[]string{"Staplers & Punches", "Staplers"}, []string{"stapler", "staples"}},
	{"sample-paperpro-staplers", "B001SVXCU5", "PaperPro Deluxe Mini Stapler", "http://ecx.images-amazon.com/images/I/41GaV7RixYa.jpg", 2737, 101,
		"PaperPro: stapling that never jams.",
		[]string{"Staplers & Punches", "Staplers"}, []string{"stapler", "staples"}},
	{"sample-post-it-sticky-notes", "B0011BSRFX", "Post-it Assorted Colors Page Markers, 9 Pack", "http://ecx.images-amazon.com/images/I/41c8Zs4tWLX.jpg", 303, 43,
		"Post-it: notes that stay where you put them.",
		[]string{"Paper", "Sticky Notes"}, []string{"sticky", "notes", "post-it"}},
	{"sample-bazic-sticky-notes", "B001NPRHO7", "BAZIC Classic Super Sticky Notes, 3 x 3 in, 2 Pack", "http://ecx.images-amazon.com/images/I/41Xax4ibhXJ.jpg", 1781, 72,
		"BAZIC: notes that stay where you put them.",
		[]string{"Paper", "Sticky Notes"}, []string{"sticky", "notes", "post-it"}},
	{"sample-post-it-sticky-notes-2", "B002F9D8UV", "Post-it Everyday Lined Sticky Notes, 4 x 6 in", "http://ecx.images-amazon.com/images/I/41hlVAeFefL.jpg", 1324, 98,
		"Post-it: notes that stay where you put them.",
		[]string{"Paper", "Sticky Notes"}, []string{"sticky", "notes", "post-it"}},
	{"sample-3m-tape", "B0004BJPJH", "3M Eco-Friendly Magic Tape, 6 Rolls, 6 Pack", "http://ecx.images-amazon.com/images/I/41cI4MKGoB0.jpg", 637, 23,
		"3M: holds on when it matters.",
		[]string{"Tape, Adhesives & Fasteners", "Tape"}, []string{"tape", "packaging"}},
	{"sample-duck-tape", "B002B5HJ96", "Duck Compact Double Sided Tape", "http://ecx.images-amazon.com/images/I/41ev9BQRLOc.jpg", 429, 112,
		"Duck: holds on when it matters.",
		[]string{"Tape, Adhesives & Fasteners", "Tape"}, []string{"tape", "packaging"}},
	{"sample-duck-tape-2", "B0044ATVKI", "Duck Value Pack Packaging Tape with Dispenser", "http://ecx.images-amazon.com/images/I/41YMoVDB0O6.jpg", 1429, 33,
		"Duck: holds on when it matters.",
		[]string{"Tape, Adhesives & Fasteners", "Tape"}, []string{"tape", "packaging"}},
}

// SampleInventory returns the sample ads, in a fixed order. Every ad is
// active except "sample-amazonbasics-shredders-3". Prices and bids are in US
// dollars.
func SampleInventory() []*adproviderv1.AdListing {
	out := make([]*adproviderv1.AdListing, len(sampleAds))
	for i, s := range sampleAds {
		out[i] = &adproviderv1.AdListing{
			Ad: &adproviderv1.Ad{
				AdId:        s.id,
				Asin:        s.asin,
				Title:       s.title,
				ImageUrl:    s.image,
				Price:       usd(s.price),
				Text:        s.text,
				RedirectUrl: "/product/" + s.asin,
			},
			Categories: s.categories,
			Keywords:   s.keywords,
			Bid:        usd(s.bid),
			Active:     s.id != inactiveSample,
		}
	}
	return out
}

func usd(cents int64) *moneyv1.Money {
	return &moneyv1.Money{CurrencyCode: "USD", Units: cents / 100, Nanos: int32(cents%100) * 10_000_000}
}

// loadSampleSQL inserts the whole inventory in one statement, and only into
// an empty table: replicas starting together may both run it (the primary
// key keeps one copy), and an operator's inventory is never touched.
const loadSampleSQL = `
INSERT INTO ads (ad_id, asin, title, image_url, price_currency, price_units, price_nanos,
                 ad_text, redirect_url, categories, category_keys, keywords,
                 bid_currency, bid_micros, active)
SELECT ad_id, asin, title, image_url, price_currency, price_units, price_nanos,
       ad_text, redirect_url, categories,
       ARRAY(SELECT lower(c) FROM unnest(categories) c),
       ARRAY(SELECT lower(k) FROM unnest(keywords) k),
       bid_currency, bid_micros, active
FROM jsonb_to_recordset($1::jsonb) AS x(
    ad_id text, asin text, title text, image_url text, price_currency text, price_units bigint,
    price_nanos integer, ad_text text, redirect_url text, categories text[],
    keywords text[], bid_currency text, bid_micros bigint, active boolean)
WHERE NOT EXISTS (SELECT 1 FROM ads)
ON CONFLICT (ad_id) DO NOTHING`

type sampleRow struct {
	AdID          string   `json:"ad_id"`
	ASIN          string   `json:"asin"`
	Title         string   `json:"title"`
	ImageURL      string   `json:"image_url"`
	PriceCurrency string   `json:"price_currency"`
	PriceUnits    int64    `json:"price_units"`
	PriceNanos    int32    `json:"price_nanos"`
	Text          string   `json:"ad_text"`
	RedirectURL   string   `json:"redirect_url"`
	Categories    []string `json:"categories"`
	Keywords      []string `json:"keywords"`
	BidCurrency   string   `json:"bid_currency"`
	BidMicros     int64    `json:"bid_micros"`
	Active        bool     `json:"active"`
}

// LoadSample fills an empty inventory with SampleInventory and returns how
// many ads it added: all of them on an empty table, none otherwise. It is
// safe to call on every start.
func (s *Store) LoadSample(ctx context.Context) (int64, error) {
	inv := SampleInventory()
	rows := make([]sampleRow, len(inv))
	for i, l := range inv {
		bid, err := MoneyToMicros(l.Bid)
		if err != nil {
			return 0, fmt.Errorf("load sample %s: %w", l.Ad.AdId, err)
		}
		rows[i] = sampleRow{
			AdID: l.Ad.AdId, ASIN: l.Ad.Asin, Title: l.Ad.Title, ImageURL: l.Ad.ImageUrl,
			PriceCurrency: l.Ad.Price.CurrencyCode, PriceUnits: l.Ad.Price.Units, PriceNanos: l.Ad.Price.Nanos,
			Text: l.Ad.Text, RedirectURL: l.Ad.RedirectUrl,
			Categories: l.Categories, Keywords: l.Keywords,
			BidCurrency: l.Bid.CurrencyCode, BidMicros: bid, Active: l.Active,
		}
	}
	doc, err := json.Marshal(rows)
	if err != nil {
		return 0, fmt.Errorf("load sample: %w", err)
	}
	tag, err := s.w.Exec(ctx, loadSampleSQL, string(doc))
	if err != nil {
		return 0, fmt.Errorf("load sample: %w", translate(err))
	}
	return tag.RowsAffected(), nil
}
