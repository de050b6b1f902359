package catalogcsv_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/services/recommender/catalogcsv"
)

func TestProductReader(t *testing.T) {
	const in = `asin,title,description,imUrl,related,salesRank,categories,brand,price
B00004Z5M1,"Avery's Binder, 2 in",A binder.,http://x/i.jpg,"{'also_bought': ['B000000001'], 'buy_after_viewing': ['B000000002']}",{'Office Products': 1234},"[['Office Products', 'Binders'], [""Kids' Crafts""]]",Avery,12.9
bad-asin,Nope,,,,,,,
B000000003,Broken,,,"{'also_bought': [",,,,
B000000004,No price,,,nan,,,,
`
	pr, err := catalogcsv.NewProductReader(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &recommenderv1.Product{
		Asin: "B00004Z5M1", Title: "Avery's Binder, 2 in", Description: "A binder.", ImageUrl: "http://x/i.jpg",
		Related:   &recommenderv1.RelatedProducts{AlsoBought: []string{"B000000001"}, BuyAfterViewing: []string{"B000000002"}},
		SalesRank: map[string]int64{"Office Products": 1234},
		Categories: []*recommenderv1.CategoryPath{
			{Path: []string{"Office Products", "Binders"}}, {Path: []string{"Kids' Crafts"}},
		},
		Brand: "Avery", Price: &moneyv1.Money{CurrencyCode: "USD", Units: 12, Nanos: 900000000},
	}
	p, line, err := pr.Read()
	if err != nil || line != 2 || !proto.Equal(p, want) {
		t.Errorf("row 1 = %v, line %d, %v; want %v on line 2", p, line, err, want)
	}
	for _, wantLine := range []int{3, 4} {
		_, _, err := pr.Read()
		var rowErr *catalogcsv.RowError
		if !errors.As(err, &rowErr) || rowErr.Line != wantLine {
			t.Errorf("malformed row: %v, want a RowError on line %d", err, wantLine)
		}
	}
	p, _, err = pr.Read()
	if err != nil || p.GetAsin() != "B000000004" || p.Price != nil || p.Related != nil {
		t.Errorf("row 4 = %v, %v; want B000000004 without price or related", p, err)
	}
	if _, _, err := pr.Read(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last row: %v, want io.EOF", err)
	}
}

func TestReviewReader(t *testing.T) {
	const in = `reviewerID,asin,reviewerName,helpful,reviewText,overall,summary,unixReviewTime,reviewTime
A3BW5FMN8G5YHV,B00004Z5M1,"Ann ""A"" B.","[2, 3]","Good, sturdy.",5.0,Great,1405555200,"07 17, 2014"
A1,B00004Z5M1,Bob,"[0, 0]",Meh,4.5,Meh,1405555200,"07 17, 2014"
A2,B00004Z5M1,Cy,"[5, 3]",Meh,4.0,Meh,1405555200,"07 17, 2014"
A3,B00004Z5M1,Di,,Ok,3.0,Ok,,"01 2, 2006"
`
	rr, err := catalogcsv.NewReviewReader(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	r, id, line, err := rr.Read()
	if err != nil {
		t.Fatal(err)
	}
	if id != "csv:A3BW5FMN8G5YHV:B00004Z5M1" || line != 2 || r.Overall != 5 || r.ReviewerName != `Ann "A" B.` ||
		r.Helpful.GetHelpfulVotes() != 2 || r.Helpful.GetTotalVotes() != 3 || r.ReviewTime.GetSeconds() != 1405555200 {
		t.Errorf("row 1 = %v (id %q, line %d)", r, id, line)
	}
	for _, wantLine := range []int{3, 4} { // overall 4.5; helpful above total
		_, _, _, err := rr.Read()
		var rowErr *catalogcsv.RowError
		if !errors.As(err, &rowErr) || rowErr.Line != wantLine {
			t.Errorf("malformed row: %v, want a RowError on line %d", err, wantLine)
		}
	}
	r, _, _, err = rr.Read()
	if err != nil || r.ReviewTime.AsTime().Format("2006-01-02") != "2006-01-02" {
		t.Errorf("row with reviewTime only = %v, %v; want 2006-01-02", r, err)
	}
}

// TestReadersApplyTheAPIRules: a row the API would refuse (a related entry
// that is not an ASIN, a NUL in a title, a review text over its byte bound)
// is a RowError, skipped like a malformed row, so imported data keeps the
// same bounds as data written through the API.
func TestReadersApplyTheAPIRules(t *testing.T) {
	pr, err := catalogcsv.NewProductReader(strings.NewReader("asin,title,related\n" +
		"B000000001,ok,\"{'also_bought': ['B000000002']}\"\n" +
		"B000000003,bad,\"{'also_bought': ['not an asin']}\"\n" +
		"B000000004,\"a\x00b\",\n"))
	if err != nil {
		t.Fatal(err)
	}
	var good, bad int
	for {
		_, _, err := pr.Read()
		if err == io.EOF {
			break
		}
		var re *catalogcsv.RowError
		switch {
		case err == nil:
			good++
		case errors.As(err, &re):
			bad++
		default:
			t.Fatal(err)
		}
	}
	if good != 1 || bad != 2 {
		t.Errorf("%d rows read, %d skipped; want 1 and 2", good, bad)
	}
	rr, err := catalogcsv.NewReviewReader(strings.NewReader("reviewerID,asin,overall,reviewText\n" +
		"A1,B000000001,5," + strings.Repeat("x", 24001) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	var re *catalogcsv.RowError
	if _, _, _, err := rr.Read(); !errors.As(err, &re) {
		t.Errorf("a review text over its bound: %v, want a RowError", err)
	}
}
