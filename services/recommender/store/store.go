package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/breakwater/breakwater/internal/storeerr"
)

// DB is what the store needs from PostgreSQL: *pgxpool.Pool satisfies it, and
// so does pgbreaker.DB, which puts every call through the database breaker.
// Every write is a single statement, so the store needs no transactions.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Errors of the store, for errors.Is; each is a storeerr.Error, which
// storeerr.Status maps to its gRPC code. Everything else it returns comes
// from storeerr.Translate: a data exception (storeerr.ErrInvalidData), an
// unreachable database (storeerr.ErrUnavailable), the breaker's rejection, or
// a failure wrapped once with what the store was doing.
var (
	// ErrNotFound: the product does not exist.
	ErrNotFound = storeerr.New(storeerr.NotFound, "product not found")
	// ErrAlreadyExists: the ASIN is taken, or the request id was used for a
	// different request.
	ErrAlreadyExists = storeerr.New(storeerr.AlreadyExists, "already exists")
	// ErrInvalidPageToken: the page token is malformed or belongs to a
	// request with a different filter. It names the page_token field.
	ErrInvalidPageToken = storeerr.Invalid(nil, "page_token",
		"not a next_page_token of a previous response to the same request", "INVALID_PAGE_TOKEN")
)

// SQLSTATE codes the store translates.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// Store reads and writes the recommender schema.
type Store struct {
	db   DB // catalog reads
	w    DB // writes
	rank DB // the queries of Recommend
}

// An Option configures a [Store].
type Option func(*Store)

// WithWriter sends the store's writes (CreateProduct, CreateReview and the
// imports) through w instead of db: pgbreaker.DB's Writer view, so that a
// database that refuses writes opens the write breaker and not the one
// guarding reads.
func WithWriter(w DB) Option { return func(s *Store) { s.w = w } }

// New returns a store over db, whose search_path must be the recommender
// schema. Without [WithWriter] and [WithRecommendationDB], writes and
// Recommend go to db too.
func New(db DB, opts ...Option) *Store {
	s := &Store{db: db, w: db, rank: db}
	for _, o := range opts {
		o(s)
	}
	return s
}

// WithRecommendationDB sends the queries of [Store.Recommend] to db instead:
// the service gives them a database breaker of their own over the same pool
// (a bulkhead), so a ranking query that runs slow opens that breaker and
// never the one guarding catalog reads and writes.
func WithRecommendationDB(db DB) Option {
	return func(s *Store) { s.rank = db }
}

// translate maps PostgreSQL's answers to the store's errors at its edge, so
// nobody above it looks at SQLSTATEs or pgx sentinels.
func translate(err error, doing string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case uniqueViolation:
			return storeerr.Wrap(ErrAlreadyExists, "a product with this ASIN already exists")
		case foreignKeyViolation:
			return ErrNotFound
		}
	}
	return storeerr.Translate(err, doing)
}
