package pgbreaker

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// Querier is the query interface the stores use. [*DB] satisfies it; a
// store written against it runs on any pool wrapped by [New].
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	// InTx runs fn in a transaction: committed if fn returns nil, rolled
	// back otherwise (and on panic).
	InTx(ctx context.Context, fn func(pgx.Tx) error) error
}

var _ Querier = (*DB)(nil)

// DB puts every call on a pgx pool through the pool's breaker, under a
// deadline. It is safe for concurrent use.
type DB struct {
	pool    *pgxpool.Pool
	b       *breaker.Breaker
	timeout time.Duration
}

// New wraps pool. The breaker is set's breaker named by [WithName]
// (default "postgres/<database>"), created on first use as a
// [breaker.KindDatabase] breaker classifying with [Classify]. DBs over the
// same pool should share the name, so that they share the breaker. The
// caller keeps ownership of pool and set.
func New(pool *pgxpool.Pool, set *breaker.Set, opts ...Option) *DB {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.name == "" {
		o.name = "postgres/" + pool.Config().ConnConfig.Database
	}
	bopts := append([]breaker.Option{
		breaker.WithKind(breaker.KindDatabase),
		breaker.WithClassifier(Classify),
	}, o.breakers...)
	b := set.Breaker(o.name, bopts...)
	timeout := o.timeout
	if timeout == 0 {
		timeout = b.Settings().Timeout
	}
	return &DB{pool: pool, b: b, timeout: timeout}
}

// Breaker returns the pool's breaker, for health checks and admin pages.
func (db *DB) Breaker() *breaker.Breaker { return db.b }

// Pool returns the wrapped pool. Calls made on it directly bypass the
// breaker; migrations at start-up are the expected use.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Exec runs sql through the breaker. A rejection returns the breaker's
// *[breaker.OpenError] (errors.Is(err, breaker.ErrOpen)).
func (db *DB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := db.run(ctx, func(ctx context.Context) error {
		var err error
		tag, err = db.pool.Exec(ctx, sql, args...)
		return err
	})
	return tag, err
}

// Query runs sql through the breaker. The call's outcome is recorded when
// the rows are closed, or when Next returns false, with rows.Err(); the
// deadline covers reading the rows and is released then too. Rows must be
// closed, as with pgx. A rejection returns the *[breaker.OpenError], also
// from the returned rows' Err.
func (db *DB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	p, err := db.b.Allow()
	if err != nil {
		return errRows{err: err}, err
	}
	qctx, cancel := db.deadline(ctx)
	rows, err := db.pool.Query(qctx, sql, args...)
	if err != nil {
		cancel()
		p.Done(verdict(ctx, err))
		return rows, err
	}
	return &trackedRows{Rows: rows, ctx: ctx, permit: p, cancel: cancel}, nil
}

// QueryRow runs sql through the breaker; the outcome is recorded by Scan,
// which must be called, as with pgx. No rows ([pgx.ErrNoRows]) is a success.
// A rejection is returned by Scan.
func (db *DB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	p, err := db.b.Allow()
	if err != nil {
		return errRow{err: err}
	}
	qctx, cancel := db.deadline(ctx)
	return &trackedRow{row: db.pool.QueryRow(qctx, sql, args...), ctx: ctx, permit: p, cancel: cancel}
}

// InTx runs fn in a read-write transaction with the server's default
// isolation; see [DB.InTxOptions].
func (db *DB) InTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.InTxOptions(ctx, pgx.TxOptions{}, fn)
}

// InTxOptions runs fn in a transaction started with txOptions, committed if
// fn returns nil and rolled back otherwise or on panic. The whole
// transaction is one call of the breaker under one deadline, and its
// outcome is that of the error returned: fn's own errors (a store's "not
// found") count as successes, because the database answered.
func (db *DB) InTxOptions(ctx context.Context, txOptions pgx.TxOptions, fn func(pgx.Tx) error) error {
	return db.run(ctx, func(ctx context.Context) error {
		return pgx.BeginTxFunc(ctx, db.pool, txOptions, fn)
	})
}

// Ping checks the database through the breaker: while it is open, Ping
// fails fast with the *[breaker.OpenError].
func (db *DB) Ping(ctx context.Context) error {
	return db.run(ctx, db.pool.Ping)
}

// run is the breaker's Do, with two differences that matter for a pool:
// a panic in fn releases the permit (a lost half-open probe slot would keep
// the breaker from ever closing), and the caller's own cancellation is
// judged on the caller's context, not guessed from the error.
func (db *DB) run(ctx context.Context, fn func(context.Context) error) error {
	p, err := db.b.Allow()
	if err != nil {
		return err
	}
	cctx, cancel := db.deadline(ctx)
	defer cancel()
	finished := false
	defer func() {
		if !finished {
			p.Done(context.Canceled) // neutral: a panic says nothing about the database
		}
	}()
	err = fn(cctx)
	finished = true
	p.Done(verdict(ctx, err))
	return err
}

func nop() {}

// deadline gives ctx the default timeout unless it has a deadline already.
func (db *DB) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if db.timeout <= 0 {
		return ctx, nop
	}
	if _, ok := ctx.Deadline(); ok {
		return ctx, nop
	}
	return context.WithTimeout(ctx, db.timeout)
}

// verdict is the error the breaker classifies: when the caller cancelled,
// whatever pgx made of it is neutral.
func verdict(ctx context.Context, err error) error {
	if err != nil && ctx.Err() == context.Canceled {
		return context.Canceled
	}
	return err
}

// trackedRows records the query's outcome once, when the rows end.
type trackedRows struct {
	pgx.Rows
	ctx    context.Context
	permit breaker.Permit
	cancel context.CancelFunc
	done   bool
}

func (r *trackedRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.finish()
	return false
}

func (r *trackedRows) Close() {
	r.Rows.Close()
	r.finish()
}

func (r *trackedRows) finish() {
	if r.done {
		return
	}
	r.done = true
	r.Rows.Close() // pgx has closed them when Next returned false; Close is idempotent
	err := r.Rows.Err()
	r.cancel()
	r.permit.Done(verdict(r.ctx, err))
}

// trackedRow records the query's outcome at Scan.
type trackedRow struct {
	row    pgx.Row
	ctx    context.Context
	permit breaker.Permit
	cancel context.CancelFunc
	done   bool
}

func (r *trackedRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if !r.done {
		r.done = true
		r.cancel()
		r.permit.Done(verdict(r.ctx, err))
	}
	return err
}

// errRows and errRow carry a rejection, as pgxpool's do an acquire error,
// for callers that read the error from the rows.
type errRows struct{ err error }

func (errRows) Close()                                       {}
func (e errRows) Err() error                                 { return e.err }
func (errRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (errRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (errRows) Next() bool                                   { return false }
func (e errRows) Scan(...any) error                          { return e.err }
func (e errRows) Values() ([]any, error)                     { return nil, e.err }
func (errRows) RawValues() [][]byte                          { return nil }
func (errRows) Conn() *pgx.Conn                              { return nil }
func (errRows) TypeMap() *pgtype.Map                         { return nil }

type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }
