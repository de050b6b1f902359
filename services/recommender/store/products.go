package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
)

// productColumns are what a product is read from: its jsonb columns through
// the arrays PostgreSQL generates from them (migration 00003), so reading
// decodes no JSON.
const productColumns = `asin, title, description, image_url,
	also_bought, also_viewed, bought_together, buy_after_viewing, sales_rank_keys, sales_rank_values,
	category_path_names, category_path_lengths, brand, price_currency, price_units, price_nanos`

// insertProducts inserts the rows of parallel arrays. category_names and
// leaf_categories are derived here, in SQL, so CreateProduct and the import
// cannot disagree on them.
const insertProducts = insertProductsSelect + `
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
	$8::text[], $9::text[], $10::bigint[], $11::integer[])
	AS u(asin, title, description, image_url, related, sales_rank, categories, brand, price_currency, price_units, price_nanos)`

// insertProductsSelect inserts rows u of products' text columns; the bulk
// import selects them from its staging table.
const insertProductsSelect = `
INSERT INTO products (asin, title, description, image_url, related, sales_rank, categories,
	category_names, leaf_categories, brand, price_currency, price_units, price_nanos)
SELECT u.asin, u.title, u.description, u.image_url, u.related::jsonb, u.sales_rank::jsonb, u.categories::jsonb,
	ARRAY(SELECT DISTINCT n FROM jsonb_array_elements(u.categories::jsonb) AS p, jsonb_array_elements_text(p) AS n ORDER BY 1),
	ARRAY(SELECT DISTINCT p->>-1 FROM jsonb_array_elements(u.categories::jsonb) AS p WHERE jsonb_array_length(p) > 0 ORDER BY 1),
	u.brand, NULLIF(u.price_currency, ''), u.price_units, u.price_nanos`

// relatedJSON is the jsonb shape of products.related: the originals' keys.
type relatedJSON struct {
	AlsoBought      []string `json:"also_bought,omitempty"`
	AlsoViewed      []string `json:"also_viewed,omitempty"`
	BoughtTogether  []string `json:"bought_together,omitempty"`
	BuyAfterViewing []string `json:"buy_after_viewing,omitempty"`
}

// productColumnsArgs holds a batch of products as the parallel arrays
// insertProducts takes.
type productArgs struct {
	asin, title, description, imageURL, related, salesRank, categories, brand, currency []string
	units                                                                               []int64
	nanos                                                                               []int32
}

func (a *productArgs) add(p *recommenderv1.Product) {
	rel := relatedJSON{}
	if r := p.GetRelated(); r != nil {
		rel = relatedJSON{r.GetAlsoBought(), r.GetAlsoViewed(), r.GetBoughtTogether(), r.GetBuyAfterViewing()}
	}
	cats := make([][]string, 0, len(p.GetCategories()))
	for _, c := range p.GetCategories() {
		cats = append(cats, c.GetPath())
	}
	sr := p.GetSalesRank()
	if sr == nil {
		sr = map[string]int64{}
	}
	a.asin = append(a.asin, p.GetAsin())
	a.title = append(a.title, p.GetTitle())
	a.description = append(a.description, p.GetDescription())
	a.imageURL = append(a.imageURL, p.GetImageUrl())
	a.related = append(a.related, mustJSON(rel))
	a.salesRank = append(a.salesRank, mustJSON(sr))
	a.categories = append(a.categories, mustJSON(cats))
	a.brand = append(a.brand, p.GetBrand())
	a.currency = append(a.currency, p.GetPrice().GetCurrencyCode())
	a.units = append(a.units, p.GetPrice().GetUnits())
	a.nanos = append(a.nanos, p.GetPrice().GetNanos())
}

// row returns the i-th product as a row of the same columns, for COPY.
func (a *productArgs) row(i int) []any {
	return []any{a.asin[i], a.title[i], a.description[i], a.imageURL[i], a.related[i], a.salesRank[i],
		a.categories[i], a.brand[i], a.currency[i], a.units[i], a.nanos[i]}
}

func (a *productArgs) args() []any {
	return []any{a.asin, a.title, a.description, a.imageURL, a.related, a.salesRank, a.categories,
		a.brand, a.currency, a.units, a.nanos}
}

// mustJSON marshals slices, maps and structs of strings and integers, which
// cannot fail.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("store: marshal %T: %v", v, err))
	}
	return string(b)
}

// GetProduct returns the product with the given ASIN, or ErrNotFound.
func (s *Store) GetProduct(ctx context.Context, asin string) (*recommenderv1.Product, error) {
	rows, err := s.db.Query(ctx, `SELECT `+productColumns+` FROM products WHERE asin = $1`, asin)
	if err != nil {
		return nil, translate(err, "get product")
	}
	p, err := pgx.CollectExactlyOneRow(rows, scanProduct)
	return p, translate(err, "get product")
}

// ListProductsParams selects a page of the catalog.
type ListProductsParams struct {
	PageSize  int32
	PageToken string
	// Category keeps products with this name at any level of a category path.
	Category string
}

// ListProducts returns a page of products in ASIN order and the token of the
// next page, empty on the last page. A token from a request with another
// category is ErrInvalidPageToken.
func (s *Store) ListProducts(ctx context.Context, p ListProductsParams) ([]*recommenderv1.Product, string, error) {
	tok, _, err := decodePageToken(p.PageToken, p.Category)
	if err != nil {
		return nil, "", err
	}
	n := pageSize(p.PageSize)
	// Two statements rather than "$1 = '' OR ...", so each keeps a plan that
	// uses its index once pgx's statement cache makes the plan generic.
	var rows pgx.Rows
	if p.Category == "" {
		rows, err = s.db.Query(ctx, `SELECT `+productColumns+` FROM products
			WHERE asin > $1 ORDER BY asin LIMIT $2`, tok.ASIN, n+1)
	} else {
		// product_categories keeps a category's products in ASIN order, so
		// a page reads its rows and no more, however big the category.
		rows, err = s.db.Query(ctx, `SELECT `+productColumns+` FROM products
			WHERE asin IN (SELECT asin FROM product_categories WHERE name = $3 AND asin > $1 ORDER BY asin LIMIT $2)
			ORDER BY asin`, tok.ASIN, n+1, p.Category)
	}
	if err != nil {
		return nil, "", translate(err, "list products")
	}
	products, err := pgx.CollectRows(rows, scanProduct)
	if err != nil {
		return nil, "", translate(err, "list products")
	}
	next := ""
	if len(products) > n {
		products = products[:n]
		next = pageToken{Filter: p.Category, ASIN: products[n-1].GetAsin()}.encode()
	}
	return products, next, nil
}

// CreateProduct stores a new product and returns it as stored; an ASIN that
// is taken is ErrAlreadyExists.
func (s *Store) CreateProduct(ctx context.Context, p *recommenderv1.Product) (*recommenderv1.Product, error) {
	var a productArgs
	a.add(p)
	rows, err := s.w.Query(ctx, insertProducts+` RETURNING `+productColumns, a.args()...)
	if err != nil {
		return nil, translate(err, "create product")
	}
	created, err := pgx.CollectExactlyOneRow(rows, scanProduct)
	return created, translate(err, "create product")
}

// UpsertProducts inserts products, replacing those whose ASIN exists, in one
// statement: a batch is written whole or not at all. It is what makes a
// re-run of the import idempotent. Later duplicates in a batch win.
func (s *Store) UpsertProducts(ctx context.Context, products []*recommenderv1.Product) error {
	if len(products) == 0 {
		return nil
	}
	a := lastProducts(products)
	_, err := s.w.Exec(ctx, insertProducts+upsertProducts, a.args()...)
	return translate(err, "upsert products")
}

// lastProducts keeps the last of a batch's products with one ASIN: ON
// CONFLICT DO UPDATE may not touch a row twice in one statement.
func lastProducts(products []*recommenderv1.Product) *productArgs {
	last := make(map[string]int, len(products))
	for i, p := range products {
		last[p.GetAsin()] = i
	}
	var a productArgs
	for i, p := range products {
		if last[p.GetAsin()] == i {
			a.add(p)
		}
	}
	return &a
}

// upsertProducts makes insertProducts replace the products that exist.
const upsertProducts = `
		ON CONFLICT (asin) DO UPDATE SET title = EXCLUDED.title, description = EXCLUDED.description,
			image_url = EXCLUDED.image_url, related = EXCLUDED.related, sales_rank = EXCLUDED.sales_rank,
			categories = EXCLUDED.categories, category_names = EXCLUDED.category_names,
			leaf_categories = EXCLUDED.leaf_categories, brand = EXCLUDED.brand,
			price_currency = EXCLUDED.price_currency, price_units = EXCLUDED.price_units,
			price_nanos = EXCLUDED.price_nanos`

// CountProducts returns the size of the catalog, to tell an empty database.
func (s *Store) CountProducts(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM products`).Scan(&n)
	return n, translate(err, "count products")
}

// productsByASIN returns the products with the given ASINs, keyed by ASIN.
func (s *Store) productsByASIN(ctx context.Context, db DB, asins []string) (map[string]*recommenderv1.Product, error) {
	rows, err := db.Query(ctx, `SELECT `+productColumns+` FROM products WHERE asin = ANY($1)`, asins)
	if err != nil {
		return nil, err
	}
	ps, err := pgx.CollectRows(rows, scanProduct)
	if err != nil {
		return nil, err
	}
	m := make(map[string]*recommenderv1.Product, len(ps))
	for _, p := range ps {
		m[p.GetAsin()] = p
	}
	return m, nil
}

func scanProduct(row pgx.CollectableRow) (*recommenderv1.Product, error) {
	var (
		p                  recommenderv1.Product
		rel                recommenderv1.RelatedProducts
		rankKeys, catNames []string
		rankValues         []int64
		catLengths         []int32
		currency           *string
		units              int64
		nanos              int32
	)
	if err := row.Scan(&p.Asin, &p.Title, &p.Description, &p.ImageUrl,
		&rel.AlsoBought, &rel.AlsoViewed, &rel.BoughtTogether, &rel.BuyAfterViewing, &rankKeys, &rankValues,
		&catNames, &catLengths, &p.Brand, &currency, &units, &nanos); err != nil {
		return nil, err
	}
	if len(rel.AlsoBought) > 0 || len(rel.AlsoViewed) > 0 || len(rel.BoughtTogether) > 0 || len(rel.BuyAfterViewing) > 0 {
		p.Related = &rel
	}
	if len(rankKeys) > 0 && len(rankKeys) == len(rankValues) {
		p.SalesRank = make(map[string]int64, len(rankKeys))
		for i, k := range rankKeys {
			p.SalesRank[k] = rankValues[i]
		}
	}
	if len(catLengths) > 0 {
		p.Categories = make([]*recommenderv1.CategoryPath, 0, len(catLengths))
		for _, n := range catLengths {
			n = min(n, int32(len(catNames)))
			p.Categories = append(p.Categories, &recommenderv1.CategoryPath{Path: catNames[:n:n]})
			catNames = catNames[n:]
		}
	}
	if currency != nil {
		p.Price = &moneyv1.Money{CurrencyCode: *currency, Units: units, Nanos: nanos}
	}
	return &p, nil
}
