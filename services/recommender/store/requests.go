package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/storeerr"
)

// errProductRequestReused: the request id was used for a different product.
var errProductRequestReused = storeerr.Wrap(ErrAlreadyExists,
	"request_id was already used for a different product: retry with the same product, or use a new request_id")

// createProductOnce records the request id and inserts the product in one
// statement, so that both or neither are written; a request id already
// recorded inserts nothing and returns the recorded ASIN and hash instead.
// $12 is the request id, $13 the hash.
var createProductOnce = `
WITH req AS (
	INSERT INTO product_requests (request_id, asin, request_hash) VALUES ($12, ($1::text[])[1], $13)
	ON CONFLICT (request_id) DO NOTHING
	RETURNING asin, request_hash
), ins AS (` + insertProducts + `
	WHERE EXISTS (SELECT 1 FROM req)
	RETURNING asin
)
SELECT req.asin, req.request_hash, true FROM req JOIN ins USING (asin)
UNION ALL
SELECT asin, request_hash, false FROM product_requests
WHERE request_id = $12 AND NOT EXISTS (SELECT 1 FROM req)`

// CreateProductOnce is CreateProduct made safe to retry (AIP-155), as
// CreateReview is: when a product was already created with requestID, it
// returns that product as stored now and writes nothing, provided the
// product sent is the same (compared by a hash of it); the same id with a
// different product is ErrAlreadyExists, and so is an ASIN taken by another
// request. The request id and the product are written in one statement:
// both or neither.
func (s *Store) CreateProductOnce(ctx context.Context, p *recommenderv1.Product, requestID string) (*recommenderv1.Product, error) {
	hash := productHash(p)
	var a productArgs
	a.add(p)
	args := append(a.args(), requestID, hash)
	// A concurrent first request that commits after this statement's snapshot
	// makes ON CONFLICT skip the insert while the SELECT cannot see its row
	// yet: no row comes back. The next statement has a newer snapshot.
	for range 3 {
		var (
			asin     string
			stored   []byte
			inserted bool
		)
		err := s.w.QueryRow(ctx, createProductOnce, args...).Scan(&asin, &stored, &inserted)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // no row: see above
		}
		if err != nil {
			return nil, translate(err, "create product")
		}
		if !inserted && !bytes.Equal(stored, hash) {
			return nil, errProductRequestReused
		}
		// The product as stored now: the first request's answer.
		return s.GetProduct(ctx, asin)
	}
	return nil, errors.New("create product: request id neither inserted nor found")
}

// productHash fingerprints the product as the client sent it, so a replay
// matches and a different product does not.
func productHash(p *recommenderv1.Product) []byte {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(p) // a valid message always marshals
	sum := sha256.Sum256(b)
	return sum[:]
}
