package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	"github.com/breakwater/breakwater/internal/storeerr"
)

// errRequestIDReused: the request id was used for a different listing.
var errRequestIDReused = storeerr.Wrap(ErrAlreadyExists,
	"request_id was already used for a different listing: retry with the same listing, or use a new request_id")

// createAdOnceSQL records the request id and inserts the ad in one
// statement, so that both or neither are written; a request id already
// recorded inserts nothing and returns the recorded ad id and hash instead.
// $16 is the request id, $17 the hash.
const createAdOnceSQL = `
WITH req AS (
	INSERT INTO ad_requests (request_id, ad_id, request_hash) VALUES ($16, $1, $17)
	ON CONFLICT (request_id) DO NOTHING
	RETURNING ad_id, request_hash
), ins AS (
	INSERT INTO ads (ad_id, asin, title, image_url, price_currency, price_units, price_nanos,
	                 ad_text, redirect_url, categories, category_keys, keywords,
	                 bid_currency, bid_micros, active)
	SELECT $1, $2, $3, $4, $5, $6::bigint, $7::integer, $8, $9, $10::text[], $11::text[], $12::text[],
	       $13, $14::bigint, $15::boolean
	WHERE EXISTS (SELECT 1 FROM req)
	RETURNING ad_id
)
SELECT req.ad_id, req.request_hash, true FROM req JOIN ins USING (ad_id)
UNION ALL
SELECT ad_id, request_hash, false FROM ad_requests
WHERE request_id = $16 AND NOT EXISTS (SELECT 1 FROM req)`

const getListingSQL = `SELECT ` + listColumns + ` FROM ads WHERE ad_id = $1`

// CreateAdOnce is CreateAd made safe to retry (AIP-155): when an ad was
// already created with requestID, it returns that ad as stored and writes
// nothing, provided the listing sent is the same (compared by a hash of it,
// before the server fills in an id or a redirect URL); the same id with a
// different listing is ErrAlreadyExists. The request id and the ad are
// written in one statement: both or neither.
func (s *Store) CreateAdOnce(ctx context.Context, l *adproviderv1.AdListing, requestID string) (*adproviderv1.AdListing, error) {
	hash := listingHash(l)
	args, err := createAdArgs(proto.CloneOf(l))
	if err != nil {
		return nil, err
	}
	args = append(args, requestID, hash)
	// A concurrent first request that commits after this statement's
	// snapshot makes ON CONFLICT skip the insert while the SELECT cannot see
	// its row yet: no row comes back. The next statement has a newer one.
	for range 3 {
		var (
			adID     string
			stored   []byte
			inserted bool
		)
		err := s.w.QueryRow(ctx, createAdOnceSQL, args...).Scan(&adID, &stored, &inserted)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create ad %q: %w", args[0], translate(err))
		}
		if !inserted && !bytes.Equal(stored, hash) {
			return nil, errRequestIDReused
		}
		return s.getListing(ctx, adID)
	}
	return nil, errors.New("create ad: request id neither inserted nor found")
}

// getListing returns the listing with the given id as stored.
func (s *Store) getListing(ctx context.Context, adID string) (*adproviderv1.AdListing, error) {
	var (
		l       adproviderv1.AdListing
		bidCur  string
		micros  int64
		created time.Time
	)
	ad, err := scanAd(s.w.QueryRow(ctx, getListingSQL, adID), &l.Categories, &l.Keywords, &bidCur, &micros, &l.Active, &created)
	if err != nil {
		return nil, fmt.Errorf("get ad %q: %w", adID, translate(err))
	}
	l.Ad, l.Bid, l.CreateTime = ad, MicrosToMoney(bidCur, micros), timestamppb.New(created)
	return &l, nil
}

// listingHash fingerprints the listing as the client sent it, without the
// output-only creation time.
func listingHash(l *adproviderv1.AdListing) []byte {
	c := proto.CloneOf(l)
	c.CreateTime = nil
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c) // a valid message always marshals
	sum := sha256.Sum256(b)
	return sum[:]
}
