package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is what the store needs from PostgreSQL: *pgxpool.Pool satisfies it, and
// so does pgbreaker.DB, which puts every call through the database breaker.
// Every write is a single statement, so the store needs no transactions.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Errors of the store, for errors.Is. Everything else it returns is a
// database failure, wrapped once with what the store was doing.
var (
	// ErrNotFound: the product does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the ASIN is taken, or the request id was used for a
	// different review.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalidPageToken: the page token is malformed or belongs to a
	// request with a different filter.
	ErrInvalidPageToken = errors.New("invalid page token")
)

// SQLSTATE codes the store translates.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// Store reads and writes the recommender schema.
type Store struct {
	db   DB // catalog reads and writes
	rank DB // the queries of Recommend
}

// New returns a store over db, whose search_path must be the recommender
// schema. Without [WithRecommendationDB], Recommend queries db too.
func New(db DB, opts ...Option) *Store {
	s := &Store{db: db, rank: db}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Option configures a [Store].
type Option func(*Store)

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
			return ErrAlreadyExists
		case foreignKeyViolation:
			return ErrNotFound
		}
	}
	return fmt.Errorf("%s: %w", doing, err)
}
