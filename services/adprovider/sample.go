package adprovider

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
	id, asin, title string
	price, bid      int64 // US cents
	text            string
	categories      []string
	keywords        []string
}

// sampleAds are office products in the shape of the originals' catalogue
// (meta_office.csv): categories are its leaf categories, never the root
// "Office Products", which every product has and which would make every ad
// match every page.
var sampleAds = []sampleAd{
	{"sample-gel-pens", "B00004Z5M1", "Pilot G2 Retractable Gel Ink Pens, Fine Point, Black, 12 Pack", 1499, 95,
		"Smooth gel ink that writes the first time, every time.",
		[]string{"Pens & Refills", "Writing & Correction Supplies"}, []string{"pen", "pens", "gel", "ink"}},
	{"sample-ballpoint", "B00006IE7J", "BIC Round Stic Xtra Life Ballpoint Pens, Medium Point, Blue, 60 Count", 899, 40,
		"Sixty reliable pens for the whole office.",
		[]string{"Pens & Refills", "Writing & Correction Supplies"}, []string{"pen", "pens", "ballpoint"}},
	{"sample-fineliner", "B0000AQO0R", "Sharpie Fine Point Permanent Markers, Assorted Colors, 24 Pack", 1899, 85,
		"Bold, permanent, and in every colour you need.",
		[]string{"Markers", "Writing & Correction Supplies"}, []string{"marker", "markers", "permanent"}},
	{"sample-highlighter", "B00006JNJ3", "Sharpie Tank Style Highlighters, Chisel Tip, Assorted, 12 Count", 799, 55,
		"Highlights that stay bright and never smear.",
		[]string{"Highlighters", "Writing & Correction Supplies"}, []string{"highlighter", "highlighters", "study"}},
	{"sample-pencils", "B00125Q75Y", "Ticonderoga Wood-Cased Pencils, #2 HB Soft, Pre-Sharpened, 30 Count", 699, 45,
		"The pencil teachers trust, sharpened and ready.",
		[]string{"Pencils", "Writing & Correction Supplies"}, []string{"pencil", "pencils", "school"}},
	{"sample-correction", "B0007LBWMS", "BIC Wite-Out Brand EZ Correct Correction Tape, 10 Count", 1149, 30,
		"Fix mistakes cleanly, with no drying time.",
		[]string{"Correction Supplies", "Writing & Correction Supplies"}, []string{"correction", "tape", "whiteout"}},
	{"sample-copy-paper", "B001JEPWNS", "HammerMill Copy Plus Paper, 8.5 x 11, 20 lb, 92 Bright, 5000 Sheets", 5299, 120,
		"A case of dependable paper for every printer.",
		[]string{"Paper", "Copy & Printer Paper"}, []string{"paper", "printer", "copy"}},
	{"sample-legal-pads", "B0019LZ9BM", "Ampad Evidence Legal Pads, 8.5 x 11.75, Canary, 12 Pack", 1699, 50,
		"Perforated yellow pads for meetings and notes.",
		[]string{"Paper", "Notebooks & Writing Pads"}, []string{"notepad", "legal", "pad", "notes"}},
	{"sample-notebook", "B0026RHG5E", "Five Star Spiral Notebook, 1 Subject, College Ruled, 100 Sheets", 499, 35,
		"Tough covers and pockets that keep notes together.",
		[]string{"Notebooks & Writing Pads", "Paper"}, []string{"notebook", "school", "notes"}},
	{"sample-sticky-notes", "B00006JNN3", "Post-it Super Sticky Notes, 3 x 3 in, Assorted Colors, 12 Pads", 1599, 75,
		"Notes that stick to walls, monitors and more.",
		[]string{"Notebooks & Writing Pads", "Labels, Indexes & Stamps"}, []string{"sticky", "notes", "post-it"}},
	{"sample-index-cards", "B0006HXAGQ", "Oxford Ruled Index Cards, 3 x 5, White, 500 Pack", 749, 25,
		"Study, plan and sort with sturdy ruled cards.",
		[]string{"Paper", "Labels, Indexes & Stamps"}, []string{"index", "cards", "study"}},
	{"sample-stapler", "B00006IBLJ", "Swingline Stapler, Commercial Desk Stapler, 20 Sheet Capacity, Black", 1849, 90,
		"Jam-free stapling, built for the busy desk.",
		[]string{"Staplers & Punches", "Desk Accessories & Workspace Organizers"}, []string{"stapler", "staples"}},
	{"sample-staples", "B00006IBLP", "Swingline Standard Staples, 1/4 Inch Length, 5000 Per Box, 5 Boxes", 1099, 30,
		"Twenty-five thousand staples that never jam.",
		[]string{"Staplers & Punches", "Tape, Adhesives & Fasteners"}, []string{"staples", "stapler"}},
	{"sample-hole-punch", "B0006HXC36", "Bostitch Office 3-Hole Punch, 12 Sheet Capacity, Black", 1399, 40,
		"Clean holes every time, with a snap-off chip tray.",
		[]string{"Staplers & Punches"}, []string{"punch", "binder", "holes"}},
	{"sample-tape", "B00006IFHD", "Scotch Magic Tape, 3/4 x 1000 Inches, 6 Rolls", 1299, 60,
		"Invisible on paper, writes on easily.",
		[]string{"Tape, Adhesives & Fasteners"}, []string{"tape", "scotch", "wrapping"}},
	{"sample-glue-sticks", "B00006IFI1", "Elmer's All Purpose Glue Sticks, Washable, 0.24 oz, 30 Count", 1049, 35,
		"Washable glue for school and office projects.",
		[]string{"Tape, Adhesives & Fasteners"}, []string{"glue", "school", "crafts"}},
	{"sample-binder-clips", "B000BQQ4IS", "Officemate Binder Clips, Assorted Sizes, 60 Pack", 899, 30,
		"Hold thick stacks without punching a hole.",
		[]string{"Tape, Adhesives & Fasteners", "Desk Accessories & Workspace Organizers"}, []string{"clips", "binder"}},
	{"sample-paper-clips", "B000J0EHOS", "ACCO Paper Clips, Smooth Finish, Jumbo, 10 Boxes of 100", 649, 20,
		"A thousand clips for a thousand documents.",
		[]string{"Tape, Adhesives & Fasteners"}, []string{"clips", "paperclips"}},
	{"sample-desk-organizer", "B001E6DMKY", "Mesh Desk Organizer with 5 Compartments and Sliding Drawer, Black", 2499, 110,
		"Everything on your desk, exactly where you left it.",
		[]string{"Desk Accessories & Workspace Organizers"}, []string{"organizer", "desk", "storage"}},
	{"sample-monitor-stand", "B00ESOWLGM", "Monitor Stand Riser with Storage Drawer, Mesh Metal, Black", 2999, 130,
		"Raise your screen to eye level and clear your desk.",
		[]string{"Desk Accessories & Workspace Organizers", "Office Electronics"}, []string{"monitor", "desk", "ergonomic"}},
	{"sample-desk-lamp", "B00NAHDIK0", "LED Desk Lamp, Dimmable, 5 Color Modes, USB Charging Port", 3599, 140,
		"Light that is kind to your eyes, late into the night.",
		[]string{"Desk Accessories & Workspace Organizers", "Office Electronics"}, []string{"lamp", "light", "desk"}},
	{"sample-calculator", "B00000JBNX", "Texas Instruments TI-84 Plus Graphing Calculator, Black", 10999, 150,
		"The graphing calculator classrooms are built around.",
		[]string{"Calculators", "Office Electronics"}, []string{"calculator", "graphing", "math", "school"}},
	{"sample-desk-calculator", "B00004TS17", "Casio Desktop Calculator, Extra Large Display, Solar and Battery", 1199, 45,
		"Big keys and a big display for everyday sums.",
		[]string{"Calculators", "Office Electronics"}, []string{"calculator", "math"}},
	{"sample-label-maker", "B005X9VZ70", "Brother P-touch Label Maker, Handheld, with Tape", 2999, 125,
		"Label shelves, files and cables in seconds.",
		[]string{"Labels, Indexes & Stamps", "Office Electronics"}, []string{"labels", "label", "organize"}},
	{"sample-shipping-labels", "B0006HW6GK", "Avery Shipping Labels, Laser Printers, 2 x 4 in, 1000 Labels", 2799, 70,
		"Print a thousand shipping labels that stay put.",
		[]string{"Labels, Indexes & Stamps", "Paper"}, []string{"labels", "shipping", "printer"}},
	{"sample-file-folders", "B0006HXBTU", "Smead File Folders, 1/3-Cut Tab, Letter Size, Manila, 100 Per Box", 1899, 65,
		"The classic manila folder, by the hundred.",
		[]string{"Filing Products"}, []string{"folders", "files", "filing"}},
	{"sample-hanging-folders", "B0006HXBAS", "Pendaflex Hanging File Folders, Letter Size, Assorted Colors, 25 Pack", 2199, 60,
		"Colour-coded hanging files for a tidy drawer.",
		[]string{"Filing Products"}, []string{"folders", "hanging", "filing"}},
	{"sample-binder", "B001B0CX4Y", "Avery Heavy Duty View 3 Ring Binder, 2 Inch, One Touch Rings, White", 1249, 55,
		"Holds 540 sheets and opens with one touch.",
		[]string{"Filing Products", "Binders & Binding Systems"}, []string{"binder", "rings", "presentation"}},
	{"sample-shredder", "B00HFJWKWK", "AmazonBasics 12-Sheet Cross-Cut Paper and Credit Card Shredder", 5499, 140,
		"Cross-cut shredding for papers, cards and peace of mind.",
		[]string{"Office Electronics", "Shredders"}, []string{"shredder", "security", "paper"}},
	{"sample-whiteboard", "B000FKCZNQ", "Quartet Magnetic Whiteboard, 3 x 2 ft, Aluminum Frame", 4599, 115,
		"A magnetic board for plans that keep changing.",
		[]string{"Presentation Boards", "Desk Accessories & Workspace Organizers"}, []string{"whiteboard", "dry erase", "board"}},
	{"sample-dry-erase", "B00006JNM3", "EXPO Low Odor Dry Erase Markers, Chisel Tip, Assorted, 16 Count", 1749, 80,
		"Bright colours that wipe clean, with a low odour.",
		[]string{"Markers", "Presentation Boards"}, []string{"marker", "markers", "whiteboard", "dry erase"}},
	{"sample-envelopes", "B0006HXA3K", "Quality Park Security Tint Envelopes, #10, Self Seal, 500 Box", 2399, 40,
		"Private, self-sealing business envelopes.",
		[]string{"Envelopes & Mailing Supplies"}, []string{"envelopes", "mailing", "shipping"}},
	// An inactive ad: in the inventory, never shown.
	{"sample-fax-paper", "B0000DIZP4", "Thermal Fax Paper Rolls, 8.5 in x 98 ft, 6 Rolls", 2099, 10,
		"For the fax machine that still runs the office.",
		[]string{"Paper"}, []string{"fax", "paper"}},
}

// SampleInventory returns the sample ads, in a fixed order. Every ad is
// active except "sample-fax-paper". Prices and bids are in US dollars.
func SampleInventory() []*adproviderv1.AdListing {
	out := make([]*adproviderv1.AdListing, len(sampleAds))
	for i, s := range sampleAds {
		out[i] = &adproviderv1.AdListing{
			Ad: &adproviderv1.Ad{
				AdId:        s.id,
				Asin:        s.asin,
				Title:       s.title,
				Price:       usd(s.price),
				Text:        s.text,
				RedirectUrl: "/product/" + s.asin,
			},
			Categories: s.categories,
			Keywords:   s.keywords,
			Bid:        usd(s.bid),
			Active:     s.id != "sample-fax-paper",
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
SELECT ad_id, asin, title, '', price_currency, price_units, price_nanos,
       ad_text, redirect_url, categories,
       ARRAY(SELECT lower(c) FROM unnest(categories) c),
       ARRAY(SELECT lower(k) FROM unnest(keywords) k),
       bid_currency, bid_micros, active
FROM jsonb_to_recordset($1::jsonb) AS x(
    ad_id text, asin text, title text, price_currency text, price_units bigint,
    price_nanos integer, ad_text text, redirect_url text, categories text[],
    keywords text[], bid_currency text, bid_micros bigint, active boolean)
WHERE NOT EXISTS (SELECT 1 FROM ads)
ON CONFLICT (ad_id) DO NOTHING`

type sampleRow struct {
	AdID          string   `json:"ad_id"`
	ASIN          string   `json:"asin"`
	Title         string   `json:"title"`
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
			AdID: l.Ad.AdId, ASIN: l.Ad.Asin, Title: l.Ad.Title,
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
	tag, err := s.db.Exec(ctx, loadSampleSQL, string(doc))
	if err != nil {
		return 0, fmt.Errorf("load sample: %w", translate(err))
	}
	return tag.RowsAffected(), nil
}
