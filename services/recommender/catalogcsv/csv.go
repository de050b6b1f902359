package catalogcsv

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/types/known/timestamppb"

	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
)

// Column names of the originals' files.
var (
	// ProductColumns are the columns of meta_office.csv, in order.
	ProductColumns = []string{"asin", "title", "description", "imUrl", "related", "salesRank", "categories", "brand", "price"}
	// ReviewColumns are the columns of office_both_set.csv, in order.
	ReviewColumns = []string{"reviewerID", "asin", "reviewerName", "helpful", "reviewText", "overall", "summary", "unixReviewTime", "reviewTime"}
)

// RowError is a malformed row: its line in the file (1 is the header) and
// what is wrong with it. Readers return it and carry on with the next row.
type RowError struct {
	Line int
	Err  error
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

var (
	asinPattern     = regexp.MustCompile(`^[0-9A-Z]{10}$`)
	reviewerPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// table reads a CSV file with a header, by column name, so extra columns
// (such as a pandas index) and a different order are fine.
type table struct {
	r    *csv.Reader
	cols map[string]int
	line int
	rec  []string
}

func newTable(r io.Reader, required ...string) (*table, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked per row, to report the row and go on
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	t := &table{r: cr, cols: make(map[string]int, len(header))}
	for i, h := range header {
		t.cols[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, c := range required {
		if _, ok := t.cols[c]; !ok {
			return nil, fmt.Errorf("header has no %q column", c)
		}
	}
	return t, nil
}

// next reads a row; a malformed one is a *RowError, the end io.EOF.
func (t *table) next() error {
	rec, err := t.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			t.line = pe.StartLine
			return &RowError{Line: pe.StartLine, Err: pe.Err}
		}
		return err
	}
	t.line, _ = t.r.FieldPos(0)
	t.rec = rec
	if len(rec) < len(t.cols) {
		return &RowError{Line: t.line, Err: fmt.Errorf("%d fields, want %d", len(rec), len(t.cols))}
	}
	return nil
}

func (t *table) get(col string) string {
	i, ok := t.cols[col]
	if !ok {
		return ""
	}
	return strings.TrimSpace(t.rec[i])
}

// ProductReader reads products from a file shaped like meta_office.csv.
type ProductReader struct{ t *table }

// NewProductReader reads the header of r; it needs an asin column, and reads
// the other columns of [ProductColumns] when present.
func NewProductReader(r io.Reader) (*ProductReader, error) {
	t, err := newTable(r, "asin")
	if err != nil {
		return nil, err
	}
	return &ProductReader{t: t}, nil
}

// Read returns the next product and its line, io.EOF at the end, or a
// *RowError for a malformed row, after which Read goes on with the next row.
func (pr *ProductReader) Read() (*recommenderv1.Product, int, error) {
	t := pr.t
	if err := t.next(); err != nil {
		return nil, t.line, err
	}
	p, err := parseProduct(t)
	if err == nil {
		// The API's rules hold for imported rows too, so that every stored
		// product fits the response-size arithmetic in the proto comments.
		err = protovalidate.Validate(p)
	}
	if err != nil {
		return nil, t.line, &RowError{Line: t.line, Err: err}
	}
	return p, t.line, nil
}

func parseProduct(t *table) (*recommenderv1.Product, error) {
	p := &recommenderv1.Product{
		Asin:        t.get("asin"),
		Title:       t.get("title"),
		Description: t.get("description"),
		ImageUrl:    t.get("imUrl"),
		Brand:       t.get("brand"),
	}
	if !asinPattern.MatchString(p.Asin) {
		return nil, fmt.Errorf("asin %q is not ten upper-case letters or digits", p.Asin)
	}
	var err error
	if p.Related, err = parseRelated(t.get("related")); err != nil {
		return nil, fmt.Errorf("related: %w", err)
	}
	if p.SalesRank, err = parseSalesRank(t.get("salesRank")); err != nil {
		return nil, fmt.Errorf("salesRank: %w", err)
	}
	if p.Categories, err = parseCategories(t.get("categories")); err != nil {
		return nil, fmt.Errorf("categories: %w", err)
	}
	if p.Price, err = parsePrice(t.get("price")); err != nil {
		return nil, fmt.Errorf("price: %w", err)
	}
	return p, nil
}

// empty tells the ways the originals write "nothing": pandas writes NaN.
func empty(s string) bool { return s == "" || s == "nan" || s == "NaN" || s == "None" }

func parseRelated(s string) (*recommenderv1.RelatedProducts, error) {
	if empty(s) {
		return nil, nil
	}
	v, err := parsePyLiteral(s)
	if err != nil {
		return nil, err
	}
	d, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a dict, got %T", v)
	}
	r := &recommenderv1.RelatedProducts{}
	for key, dst := range map[string]*[]string{
		"also_bought": &r.AlsoBought, "also_viewed": &r.AlsoViewed,
		"bought_together": &r.BoughtTogether, "buy_after_viewing": &r.BuyAfterViewing,
	} {
		if d[key] == nil {
			continue
		}
		if *dst, err = stringList(d[key]); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	return r, nil
}

func parseSalesRank(s string) (map[string]int64, error) {
	if empty(s) {
		return nil, nil
	}
	v, err := parsePyLiteral(s)
	if err != nil {
		return nil, err
	}
	d, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a dict, got %T", v)
	}
	out := make(map[string]int64, len(d))
	for k, v := range d {
		switch n := v.(type) {
		case int64:
			out[k] = n
		case float64:
			out[k] = int64(n)
		default:
			return nil, fmt.Errorf("rank of %q is %T, want a number", k, v)
		}
	}
	return out, nil
}

func parseCategories(s string) ([]*recommenderv1.CategoryPath, error) {
	if empty(s) {
		return nil, nil
	}
	v, err := parsePyLiteral(s)
	if err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want a list of lists, got %T", v)
	}
	var out []*recommenderv1.CategoryPath
	for _, item := range list {
		path, err := stringList(item)
		if err != nil {
			return nil, err
		}
		if len(path) > 0 {
			out = append(out, &recommenderv1.CategoryPath{Path: path})
		}
	}
	return out, nil
}

func stringList(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want a list, got %T", v)
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("want strings, got %T", item)
		}
		out = append(out, s)
	}
	return out, nil
}

// parsePrice reads a decimal such as "12.99" exactly (no float), in US
// dollars, which is what the originals' prices are.
func parsePrice(s string) (*moneyv1.Money, error) {
	s = strings.TrimPrefix(s, "$")
	if empty(s) {
		return nil, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	units, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || units < 0 || len(frac) > 9 || strings.ContainsAny(frac, "+-") {
		return nil, fmt.Errorf("%q is not a price", s)
	}
	nanos := int64(0)
	if frac != "" {
		n, err := strconv.ParseUint(frac, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%q is not a price", s)
		}
		nanos = int64(n) * int64(math.Pow10(9-len(frac)))
	}
	return &moneyv1.Money{CurrencyCode: "USD", Units: units, Nanos: int32(nanos)}, nil
}

// ReviewReader reads reviews from a file shaped like office_both_set.csv.
type ReviewReader struct{ t *table }

// NewReviewReader reads the header of r; it needs reviewerID, asin and
// overall, and reads the other columns of [ReviewColumns] when present.
func NewReviewReader(r io.Reader) (*ReviewReader, error) {
	t, err := newTable(r, "reviewerID", "asin", "overall")
	if err != nil {
		return nil, err
	}
	return &ReviewReader{t: t}, nil
}

// Read returns the next review with its idempotency key
// ("csv:<reviewerID>:<asin>", so a re-run replaces rather than duplicates),
// its line, io.EOF at the end, or a *RowError for a malformed row, after
// which Read goes on with the next row.
func (rr *ReviewReader) Read() (*recommenderv1.Review, string, int, error) {
	t := rr.t
	if err := t.next(); err != nil {
		return nil, "", t.line, err
	}
	r, err := parseReview(t)
	if err == nil {
		err = protovalidate.Validate(r) // as for products
	}
	if err != nil {
		return nil, "", t.line, &RowError{Line: t.line, Err: err}
	}
	return r, "csv:" + r.ReviewerId + ":" + r.Asin, t.line, nil
}

func parseReview(t *table) (*recommenderv1.Review, error) {
	r := &recommenderv1.Review{
		ReviewerId:   t.get("reviewerID"),
		Asin:         t.get("asin"),
		ReviewerName: t.get("reviewerName"),
		ReviewText:   t.get("reviewText"),
		Summary:      t.get("summary"),
	}
	if empty(r.ReviewerName) {
		r.ReviewerName = ""
	}
	if !reviewerPattern.MatchString(r.ReviewerId) {
		return nil, fmt.Errorf("reviewerID %q is not 1 to 64 letters, digits, '-' or '_'", r.ReviewerId)
	}
	if !asinPattern.MatchString(r.Asin) {
		return nil, fmt.Errorf("asin %q is not ten upper-case letters or digits", r.Asin)
	}
	overall, err := strconv.ParseFloat(t.get("overall"), 64)
	if err != nil || overall != math.Trunc(overall) || overall < 1 || overall > 5 {
		return nil, fmt.Errorf("overall %q is not a whole number from 1 to 5", t.get("overall"))
	}
	r.Overall = int32(overall)
	if h := t.get("helpful"); !empty(h) {
		v, err := parsePyLiteral(h)
		list, ok := v.([]any)
		if err != nil || !ok || len(list) != 2 {
			return nil, fmt.Errorf("helpful %q is not [helpful, total]", h)
		}
		a, ok1 := list[0].(int64)
		b, ok2 := list[1].(int64)
		if !ok1 || !ok2 || a < 0 || a > b || b > math.MaxInt32 {
			return nil, fmt.Errorf("helpful %q is not [helpful, total] with 0 ≤ helpful ≤ total", h)
		}
		r.Helpful = &recommenderv1.Helpfulness{HelpfulVotes: int32(a), TotalVotes: int32(b)}
	}
	switch unix, text := t.get("unixReviewTime"), t.get("reviewTime"); {
	case !empty(unix):
		sec, err := strconv.ParseInt(unix, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("unixReviewTime %q is not a number", unix)
		}
		r.ReviewTime = timestamppb.New(time.Unix(sec, 0).UTC())
	case !empty(text):
		at, err := time.Parse("01 2, 2006", text)
		if err != nil {
			return nil, fmt.Errorf("reviewTime %q is not like \"07 17, 2014\"", text)
		}
		r.ReviewTime = timestamppb.New(at)
	default:
		return nil, errors.New("no unixReviewTime or reviewTime")
	}
	return r, nil
}
