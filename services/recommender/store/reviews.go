package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/storeerr"
)

const reviewColumns = `review_id, asin, reviewer_id, reviewer_name, helpful_votes, total_votes,
	review_text, overall, summary, review_time`

// createReview inserts a review unless its request id was seen, and returns
// either the new row (inserted = true) or the one the id made first. One
// statement, so a review is never half-written and a retry never duplicates.
const createReview = `
WITH ins AS (
	INSERT INTO reviews (asin, reviewer_id, reviewer_name, helpful_votes, total_votes,
		review_text, overall, summary, review_time, request_id, request_hash)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9, now()), NULLIF($10, ''), $11)
	ON CONFLICT (request_id) DO NOTHING
	RETURNING ` + reviewColumns + `, request_hash
)
SELECT ` + reviewColumns + `, request_hash, true FROM ins
UNION ALL
SELECT ` + reviewColumns + `, request_hash, false FROM reviews
WHERE request_id = NULLIF($10, '') AND NOT EXISTS (SELECT 1 FROM ins)`

// CreateReview stores a review and returns it as stored, with its id.
//
// requestID makes retries safe: when a review was already created with it,
// CreateReview returns that review and writes nothing, provided the request
// is the same (compared by a hash of the review as sent); the same id with a
// different review is ErrAlreadyExists. An empty requestID creates a review
// every time. A review of an unknown product is ErrNotFound. The review's
// time defaults to the time of creation.
func (s *Store) CreateReview(ctx context.Context, r *recommenderv1.Review, requestID string) (*recommenderv1.Review, error) {
	hash := requestHash(r)
	var at *time.Time
	if r.GetReviewTime() != nil {
		t := r.GetReviewTime().AsTime()
		at = &t
	}
	args := []any{r.GetAsin(), r.GetReviewerId(), r.GetReviewerName(), r.GetHelpful().GetHelpfulVotes(),
		r.GetHelpful().GetTotalVotes(), r.GetReviewText(), r.GetOverall(), r.GetSummary(), at, requestID, hash}
	// A concurrent first request that commits after this statement's snapshot
	// makes ON CONFLICT skip the insert while the SELECT cannot see its row
	// yet: no row comes back. The next statement has a newer snapshot.
	for range 3 {
		rows, err := s.w.Query(ctx, createReview, args...)
		if err != nil {
			return nil, translate(err, "create review")
		}
		var stored []byte
		var inserted bool
		got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*recommenderv1.Review, error) {
			return scanReview(row, &stored, &inserted)
		})
		if err != nil {
			return nil, translate(err, "create review")
		}
		if len(got) == 0 {
			continue
		}
		if !inserted && !bytes.Equal(stored, hash) {
			return nil, errRequestIDReused
		}
		return got[0], nil
	}
	return nil, errors.New("create review: request id neither inserted nor found")
}

// errRequestIDReused: the request id was used for a different review.
var errRequestIDReused = storeerr.Wrap(ErrAlreadyExists,
	"request_id was already used for a different review: retry with the same review, or use a new request_id")

// requestHash fingerprints the review as the client sent it, without the
// output-only id, so a replay matches and a different review does not.
func requestHash(r *recommenderv1.Review) []byte {
	c := proto.Clone(r).(*recommenderv1.Review)
	c.ReviewId = ""
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c) // a valid message always marshals
	sum := sha256.Sum256(b)
	return sum[:]
}

// ListReviewsParams selects a page of reviews.
type ListReviewsParams struct {
	// ASIN keeps the reviews of one product; empty means all reviews.
	ASIN      string
	PageSize  int32
	PageToken string
}

// ListReviews returns a page of reviews, newest first (ties by id, newest
// first), and the token of the next page, empty on the last page. Pages are
// keyed by the last review's (time, id), so reviews created meanwhile never
// shift a later page.
func (s *Store) ListReviews(ctx context.Context, p ListReviewsParams) ([]*recommenderv1.Review, string, error) {
	tok, ok, err := decodePageToken(p.PageToken, p.ASIN)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		// After every valid review_time (the API allows up to the end of
		// 9999; PostgreSQL's timestamptz goes far beyond).
		tok.Time, tok.ID = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), math.MaxInt64
	}
	n := pageSize(p.PageSize)
	var rows pgx.Rows
	if p.ASIN == "" {
		rows, err = s.db.Query(ctx, `SELECT `+reviewColumns+` FROM reviews
			WHERE (review_time, review_id) < ($1, $2)
			ORDER BY review_time DESC, review_id DESC LIMIT $3`, tok.Time, tok.ID, n+1)
	} else {
		rows, err = s.db.Query(ctx, `SELECT `+reviewColumns+` FROM reviews
			WHERE asin = $4 AND (review_time, review_id) < ($1, $2)
			ORDER BY review_time DESC, review_id DESC LIMIT $3`, tok.Time, tok.ID, n+1, p.ASIN)
	}
	if err != nil {
		return nil, "", translate(err, "list reviews")
	}
	var keys []pageToken
	reviews, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*recommenderv1.Review, error) {
		r, err := scanReview(row)
		if err == nil {
			id, _ := strconv.ParseInt(r.ReviewId, 10, 64)
			keys = append(keys, pageToken{Time: r.GetReviewTime().AsTime(), ID: id})
		}
		return r, err
	})
	if err != nil {
		return nil, "", translate(err, "list reviews")
	}
	next := ""
	if len(reviews) > n {
		reviews = reviews[:n]
		k := keys[n-1]
		k.Filter = p.ASIN
		next = k.encode()
	}
	return reviews, next, nil
}

// scanReview scans reviewColumns, then any extra columns into extra.
func scanReview(row pgx.CollectableRow, extra ...any) (*recommenderv1.Review, error) {
	var (
		r       recommenderv1.Review
		id      int64
		helpful recommenderv1.Helpfulness
		overall int16
		at      time.Time
	)
	dest := append([]any{&id, &r.Asin, &r.ReviewerId, &r.ReviewerName, &helpful.HelpfulVotes,
		&helpful.TotalVotes, &r.ReviewText, &overall, &r.Summary, &at}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	r.ReviewId = strconv.FormatInt(id, 10)
	if helpful.HelpfulVotes != 0 || helpful.TotalVotes != 0 {
		r.Helpful = &helpful
	}
	r.Overall = int32(overall)
	r.ReviewTime = timestamppb.New(at)
	return &r, nil
}

// ImportedReview is a review of the originals' data set with the idempotency
// key the import gives it.
type ImportedReview struct {
	RequestID string
	Review    *recommenderv1.Review
}

// UpsertReviews inserts reviews, replacing those whose request id exists, in
// one statement. Reviews of products that do not exist are left out, not
// failed; their request ids are returned so the caller can report them.
func (s *Store) UpsertReviews(ctx context.Context, reviews []ImportedReview) (skipped []string, err error) {
	if len(reviews) == 0 {
		return nil, nil
	}
	a := newReviewArgs(reviews)
	rows, err := s.w.Query(ctx, upsertReviews+`
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::integer[],
			$7::text[], $8::smallint[], $9::text[], $10::timestamptz[])
			AS u(request_id, asin, reviewer_id, reviewer_name, helpful_votes, total_votes,
				review_text, overall, summary, review_time)`+upsertReviewsConflict, a.args()...)
	if err != nil {
		return nil, translate(err, "upsert reviews")
	}
	written, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, translate(err, "upsert reviews")
	}
	return notWritten(a.rid, written), nil
}

// notWritten returns the ids of want that are not in written.
func notWritten(want, written []string) (skipped []string) {
	done := make(map[string]bool, len(written))
	for _, id := range written {
		done[id] = true
	}
	for _, id := range want {
		if !done[id] {
			skipped = append(skipped, id)
		}
	}
	return skipped
}

// upsertReviews inserts rows u of the imported columns, replacing the rows
// with their request id, and leaving out reviews of unknown products.
const upsertReviews = `
		INSERT INTO reviews (request_id, asin, reviewer_id, reviewer_name, helpful_votes, total_votes,
			review_text, overall, summary, review_time)
		SELECT u.request_id, u.asin, u.reviewer_id, u.reviewer_name, u.helpful_votes, u.total_votes,
			u.review_text, u.overall, u.summary, u.review_time`

const upsertReviewsConflict = `
		WHERE EXISTS (SELECT 1 FROM products p WHERE p.asin = u.asin)
		ON CONFLICT (request_id) DO UPDATE SET asin = EXCLUDED.asin, reviewer_id = EXCLUDED.reviewer_id,
			reviewer_name = EXCLUDED.reviewer_name, helpful_votes = EXCLUDED.helpful_votes,
			total_votes = EXCLUDED.total_votes, review_text = EXCLUDED.review_text,
			overall = EXCLUDED.overall, summary = EXCLUDED.summary, review_time = EXCLUDED.review_time
		RETURNING request_id`

// reviewArgs holds a batch of imported reviews as parallel arrays, in the
// order of upsertReviews' columns.
type reviewArgs struct {
	rid, asin, reviewer, name, text, summary []string
	helpful, total                           []int32
	overall                                  []int16
	at                                       []time.Time
}

// newReviewArgs keeps the last of a batch's reviews with one request id: ON
// CONFLICT DO UPDATE may not touch a row twice in one statement.
func newReviewArgs(reviews []ImportedReview) *reviewArgs {
	last := make(map[string]int, len(reviews))
	for i, r := range reviews {
		last[r.RequestID] = i
	}
	a := &reviewArgs{}
	for i, ir := range reviews {
		if last[ir.RequestID] != i {
			continue
		}
		r := ir.Review
		a.rid = append(a.rid, ir.RequestID)
		a.asin = append(a.asin, r.GetAsin())
		a.reviewer = append(a.reviewer, r.GetReviewerId())
		a.name = append(a.name, r.GetReviewerName())
		a.helpful = append(a.helpful, r.GetHelpful().GetHelpfulVotes())
		a.total = append(a.total, r.GetHelpful().GetTotalVotes())
		a.text = append(a.text, r.GetReviewText())
		a.overall = append(a.overall, int16(r.GetOverall()))
		a.summary = append(a.summary, r.GetSummary())
		a.at = append(a.at, r.GetReviewTime().AsTime())
	}
	return a
}

func (a *reviewArgs) args() []any {
	return []any{a.rid, a.asin, a.reviewer, a.name, a.helpful, a.total, a.text, a.overall, a.summary, a.at}
}

// row returns the i-th review as a row of the same columns, for COPY.
func (a *reviewArgs) row(i int) []any {
	return []any{a.rid[i], a.asin[i], a.reviewer[i], a.name[i], a.helpful[i], a.total[i], a.text[i],
		a.overall[i], a.summary[i], a.at[i]}
}
