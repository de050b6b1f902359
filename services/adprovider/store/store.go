package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	"github.com/breakwater/breakwater/internal/storeerr"
)

// DB is what the store needs from PostgreSQL: the query methods of
// *pgxpool.Pool, which pgbreaker.DB and a pgx.Tx have too, so the same
// store runs behind the database breaker in the service, in the start-up
// transaction that loads the sample, and on a bare pool in benchmarks.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Errors the store returns for outcomes callers act on, each a
// storeerr.Error that storeerr.Status maps to its gRPC code. Anything else
// comes from storeerr.Translate: a data exception, an unreachable database,
// the breaker's rejection, or a failure wrapped with the operation that met
// it.
var (
	// ErrAlreadyExists: an ad with that id is already in the inventory.
	ErrAlreadyExists = storeerr.New(storeerr.AlreadyExists, "an ad with this ad_id already exists")
	// ErrInvalidPageToken: the page token was not issued by ListAds for the
	// same request. It names the page_token field.
	ErrInvalidPageToken = storeerr.Invalid(nil, "page_token",
		"not a next_page_token of a previous response to the same request", "INVALID_PAGE_TOKEN")
	// ErrInvalid: the listing breaks a rule of the schema that validation
	// did not catch (such as a bid finer than a micro).
	ErrInvalid = storeerr.New(storeerr.InvalidArgument, "invalid listing")
)

// Limits of GetAds and ListAds, as the API documents them.
const (
	DefaultMaxAds   = 3
	MaxMaxAds       = 10
	DefaultPageSize = 50
	MaxPageSize     = 100 // a larger page_size (up to 500) is read as 100: see ListAdsRequest
)

// Store reads and writes the ads inventory. It holds no state of its own;
// all of it is in the database.
type Store struct {
	db DB // reads
	w  DB // writes
}

// An Option configures a [Store].
type Option func(*Store)

// WithWriter sends the store's writes (CreateAd, the sample load) through w
// instead of db: pgbreaker.DB's Writer view, so that a database that
// refuses writes opens the write breaker and not the one guarding reads.
func WithWriter(w DB) Option { return func(s *Store) { s.w = w } }

// New returns a store over db, whose search_path must be AdProvider's
// schema (as internal/database.Open sets it).
func New(db DB, opts ...Option) *Store {
	s := &Store{db: db, w: db}
	for _, o := range opts {
		o(s)
	}
	return s
}

// AdQuery is what a page shows: the words of its context and the product
// being viewed.
type AdQuery struct {
	// Keys are context keys: categories, keywords, search terms. They are
	// matched case-insensitively and whole (a key "pen" does not match the
	// keyword "pens").
	Keys []string
	// ASIN is the product being viewed, or empty.
	ASIN string
	// Max caps the number of ads: 0 means DefaultMaxAds, and it is clamped
	// to MaxMaxAds.
	Max int
}

// adColumns are the columns of an Ad, in the order scanAd reads them.
const adColumns = `ad_id, asin, title, image_url, price_currency, price_units, price_nanos, ad_text, redirect_url`

// getAdsSQL does the targeting in one round trip.
//
// The viewed product's categories come from the inventory itself: AdProvider
// does not own the product catalogue, so the categories of every ad (active
// or not) for that ASIN stand for the product's categories. A product nobody
// advertises contributes nothing, and only the context keys target.
//
// An ad matches when its categories or keywords share a key with the context
// keys plus those categories. Each product is shown once (its highest bid),
// never the viewed one. When nothing matches, the second branch picks random
// active products (each with its highest-bid ad); ORDER BY random() reads every active row, which is fine for an
// inventory of thousands and is what the partial index on active keeps small.
// Both branches come out highest bid first.
const getAdsSQL = `
WITH viewed AS (
    SELECT coalesce(array_agg(DISTINCT k), '{}'::text[]) AS keys
    FROM ads, unnest(category_keys) AS k
    WHERE $2 <> '' AND asin = $2
), wanted AS (
    SELECT $1::text[] || viewed.keys AS keys FROM viewed
), matched AS (
    SELECT DISTINCT ON (a.asin) ` + adColumns + `, a.bid_micros
    FROM ads a, wanted w
    WHERE a.active AND a.asin <> $2
      AND (a.category_keys && w.keys OR a.keywords && w.keys)
    ORDER BY a.asin, a.bid_micros DESC, a.ad_id
), top AS (
    SELECT * FROM matched ORDER BY bid_micros DESC, ad_id LIMIT $3
), fallback AS (
    SELECT * FROM (
        SELECT DISTINCT ON (asin) ` + adColumns + `, bid_micros
        FROM ads
        WHERE active AND asin <> $2 AND NOT EXISTS (SELECT 1 FROM top)
        ORDER BY asin, bid_micros DESC, ad_id
    ) one_per_product
    ORDER BY random() LIMIT $3
)
SELECT ` + adColumns + ` FROM (
    SELECT * FROM top UNION ALL SELECT * FROM fallback
) ads
ORDER BY bid_micros DESC, ad_id`

// GetAds returns the ads for q, highest bid first. See getAdsSQL for how
// they are chosen.
func (s *Store) GetAds(ctx context.Context, q AdQuery) ([]*adproviderv1.Ad, error) {
	limit := bounded(q.Max, DefaultMaxAds, MaxMaxAds)
	keys := make([]string, 0, len(q.Keys))
	for _, k := range q.Keys {
		if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
			keys = append(keys, k)
		}
	}
	rows, err := s.db.Query(ctx, getAdsSQL, keys, q.ASIN, limit)
	if err != nil {
		return nil, fmt.Errorf("get ads: %w", translate(err))
	}
	defer rows.Close()
	ads := make([]*adproviderv1.Ad, 0, limit)
	for rows.Next() {
		ad, err := scanAd(rows)
		if err != nil {
			return nil, fmt.Errorf("get ads: %w", translate(err))
		}
		ads = append(ads, ad)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get ads: %w", translate(err))
	}
	return ads, nil
}

func scanAd(row pgx.Row, extra ...any) (*adproviderv1.Ad, error) {
	ad := &adproviderv1.Ad{Price: &moneyv1.Money{}}
	dest := append([]any{
		&ad.AdId, &ad.Asin, &ad.Title, &ad.ImageUrl,
		&ad.Price.CurrencyCode, &ad.Price.Units, &ad.Price.Nanos,
		&ad.Text, &ad.RedirectUrl,
	}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	return ad, nil
}

const createAdSQL = `
INSERT INTO ads (ad_id, asin, title, image_url, price_currency, price_units, price_nanos,
                 ad_text, redirect_url, categories, category_keys, keywords,
                 bid_currency, bid_micros, active)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
RETURNING create_time`

// CreateAd stores a copy of l and returns it as stored: with an id ("ad-"
// and random letters) when l has none, a redirect URL ("/product/<asin>")
// when it has none, keywords lower-cased and the creation time set. It
// returns ErrAlreadyExists when the id is taken and ErrInvalid when the bid
// or price cannot be stored.
func (s *Store) CreateAd(ctx context.Context, l *adproviderv1.AdListing) (*adproviderv1.AdListing, error) {
	l = proto.CloneOf(l)
	args, err := createAdArgs(l)
	if err != nil {
		return nil, err
	}
	var created time.Time
	if err := s.w.QueryRow(ctx, createAdSQL, args...).Scan(&created); err != nil {
		return nil, fmt.Errorf("create ad %q: %w", l.Ad.AdId, translate(err))
	}
	l.CreateTime = timestamppb.New(created)
	return l, nil
}

// createAdArgs fills in what the server assigns (an id, a redirect URL,
// lower-cased keywords) in l, which must be the store's own copy, and
// returns the 15 arguments of createAdSQL.
func createAdArgs(l *adproviderv1.AdListing) ([]any, error) {
	if l.GetAd() == nil || l.GetAd().GetPrice() == nil || l.GetBid() == nil {
		return nil, fmt.Errorf("create ad: %w: ad, price and bid are required", ErrInvalid)
	}
	ad := l.Ad
	if ad.AdId == "" {
		ad.AdId = NewAdID()
	}
	if ad.RedirectUrl == "" {
		ad.RedirectUrl = "/product/" + ad.Asin
	}
	bid, err := MoneyToMicros(l.Bid)
	if err != nil {
		return nil, fmt.Errorf("create ad: bid: %w", err)
	}
	if l.Categories == nil {
		l.Categories = []string{}
	}
	l.Keywords = lowerAll(l.Keywords)
	return []any{ad.AdId, ad.Asin, ad.Title, ad.ImageUrl,
		ad.Price.CurrencyCode, ad.Price.Units, ad.Price.Nanos,
		ad.Text, ad.RedirectUrl, l.Categories, lowerAll(l.Categories), l.Keywords,
		l.Bid.CurrencyCode, bid, l.Active}, nil
}

// NewAdID returns a fresh server-assigned ad id: "ad-" and 26 random
// base32 letters, which fits the API's id pattern.
func NewAdID() string {
	return "ad-" + strings.ToLower(rand.Text())
}

func lowerAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = strings.ToLower(s)
	}
	return out
}

// MoneyToMicros converts an amount to millionths of a unit, the precision
// bids are stored and compared in. A negative amount, an amount finer than a
// micro, or one too large for int64 micros is ErrInvalid.
func MoneyToMicros(m *moneyv1.Money) (int64, error) {
	units, nanos := m.GetUnits(), int64(m.GetNanos())
	switch {
	case units < 0 || nanos < 0:
		return 0, fmt.Errorf("%w: must not be negative", ErrInvalid)
	case nanos%1000 != 0:
		return 0, fmt.Errorf("%w: must be a whole number of micros", ErrInvalid)
	case units > (math.MaxInt64-999_999)/1_000_000:
		return 0, fmt.Errorf("%w: too large", ErrInvalid)
	}
	return units*1_000_000 + nanos/1000, nil
}

// MicrosToMoney is the inverse of MoneyToMicros.
func MicrosToMoney(currency string, micros int64) *moneyv1.Money {
	return &moneyv1.Money{
		CurrencyCode: currency,
		Units:        micros / 1_000_000,
		Nanos:        int32(micros%1_000_000) * 1000,
	}
}

const listColumns = adColumns + `, categories, keywords, bid_currency, bid_micros, active, create_time`

const (
	listFirstSQL = `SELECT ` + listColumns + ` FROM ads
WHERE ($1 OR active)
ORDER BY create_time DESC, ad_id DESC LIMIT $2`
	listAfterSQL = `SELECT ` + listColumns + ` FROM ads
WHERE ($1 OR active) AND (create_time, ad_id) < ($3, $4)
ORDER BY create_time DESC, ad_id DESC LIMIT $2`
)

// ListPage asks for one page of ListAds.
type ListPage struct {
	// Size is the most listings to return: 0 means DefaultPageSize, and it
	// is clamped to MaxPageSize.
	Size int
	// Token is the NextToken of the previous page, or empty for the first.
	Token string
	// IncludeInactive lists inactive ads too. It must not change between
	// the pages of one listing.
	IncludeInactive bool
}

// ListAds returns one page of the inventory, newest first, and the token of
// the next page (empty on the last). The token is opaque to callers; a token
// from another listing, or garbage, is ErrInvalidPageToken. Pages are keyset
// pages: an ad created while a caller pages is never shown twice, and the
// cost of a page does not grow with how deep it is.
func (s *Store) ListAds(ctx context.Context, p ListPage) ([]*adproviderv1.AdListing, string, error) {
	size := bounded(p.Size, DefaultPageSize, MaxPageSize)
	var (
		rows pgx.Rows
		err  error
	)
	if p.Token == "" {
		rows, err = s.db.Query(ctx, listFirstSQL, p.IncludeInactive, size+1)
	} else {
		cur, derr := decodePageToken(p.Token)
		if derr != nil || cur.IncludeInactive != p.IncludeInactive {
			return nil, "", ErrInvalidPageToken
		}
		rows, err = s.db.Query(ctx, listAfterSQL, p.IncludeInactive, size+1, time.UnixMicro(cur.CreateMicros), cur.AdID)
	}
	if err != nil {
		return nil, "", fmt.Errorf("list ads: %w", translate(err))
	}
	defer rows.Close()
	listings := make([]*adproviderv1.AdListing, 0, min(size+1, 64))
	for rows.Next() {
		var (
			l       adproviderv1.AdListing
			bidCur  string
			micros  int64
			created time.Time
		)
		ad, err := scanAd(rows, &l.Categories, &l.Keywords, &bidCur, &micros, &l.Active, &created)
		if err != nil {
			return nil, "", fmt.Errorf("list ads: %w", translate(err))
		}
		l.Ad, l.Bid, l.CreateTime = ad, MicrosToMoney(bidCur, micros), timestamppb.New(created)
		listings = append(listings, &l)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list ads: %w", translate(err))
	}
	if len(listings) <= size {
		return listings, "", nil
	}
	listings = listings[:size]
	last := listings[size-1]
	next := encodePageToken(pageCursor{
		CreateMicros:    last.CreateTime.AsTime().UnixMicro(),
		AdID:            last.Ad.AdId,
		IncludeInactive: p.IncludeInactive,
	})
	return listings, next, nil
}

// bounded is n capped at most, or def when n is 0 or less: how the API
// reads max_ads and page_size.
func bounded(n, def, most int) int {
	switch {
	case n <= 0:
		return def
	case n > most:
		return most
	}
	return n
}

// translate turns database outcomes callers act on into the store's errors
// and leaves failures as they are, for the caller to report as unavailable.
func translate(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505": // unique_violation
			return ErrAlreadyExists
		case strings.HasPrefix(pgErr.Code, "23"):
			// Constraint errors are the caller's input, not an outage; the
			// server's validation should have caught them first. The message
			// names tables and constraints, so only the code travels with the
			// error.
			return fmt.Errorf("%w (sqlstate %s)", ErrInvalid, pgErr.Code)
		}
	}
	// Data exceptions (class 22), outages and the breaker's rejection.
	return storeerr.Translate(err, "")
}
