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
	db DB // reads
	w  DB // writes
}

// An Option configures a [Store].
type Option func(*Store)

// WithWriter sends the store's writes (CreateProduct, CreateReview and the
// imports) through w instead of db: pgbreaker.DB's Writer view, so that a
// database that refuses writes opens the write breaker and not the one
// guarding reads.
func WithWriter(w DB) Option { return func(s *Store) { s.w = w } }

// New returns a store over db, whose search_path must be the recommender
// schema.
func New(db DB, opts ...Option) *Store {
	s := &Store{db: db, w: db}
	for _, o := range opts {
		o(s)
	}
	return s
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
