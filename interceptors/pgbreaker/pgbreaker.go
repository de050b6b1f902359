package pgbreaker

import (
	"context"

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

// DB puts every call on a pgx pool through admission (a bound on the calls
// running at once) and the pool's breaker, under the deadline the breaker
// owns. It is safe for concurrent use.
type DB struct {
	pool  *pgxpool.Pool
	b     *breaker.Breaker
	admit *Admission
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
	admit := o.admission
	if admit == nil {
		admit = NewAdmission(int(pool.Config().MaxConns), 0, 0)
	}
	if !o.noProber {
		// Pings go to the pool directly: they are the breaker's probes, not
		// calls to admit or count twice.
		b.SetProber(func(ctx context.Context) error { return pool.Ping(ctx) }, breaker.ProbeCloses)
	}
	return &DB{pool: pool, b: b, admit: admit}
}

// Admission returns the DB's admission control, to share with another DB
// over the same pool ([WithAdmission]) or to read its figures.
func (db *DB) Admission() *Admission { return db.admit }

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
	c, qctx, err := db.begin(ctx)
	if err != nil {
		return errRows{err: err}, err
	}
	rows, err := db.pool.Query(qctx, sql, args...)
	if err != nil {
		c.end(qctx, err)
		return rows, err
	}
	return &trackedRows{Rows: rows, ctx: qctx, call: c}, nil
}

// QueryRow runs sql through the breaker; the outcome is recorded by Scan,
// which must be called, as with pgx. No rows ([pgx.ErrNoRows]) is a success.
// A rejection is returned by Scan.
func (db *DB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c, qctx, err := db.begin(ctx)
	if err != nil {
		return errRow{err: err}
	}
	return &trackedRow{row: db.pool.QueryRow(qctx, sql, args...), ctx: qctx, call: c}
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

// call is one admitted call: its admission slot, its breaker permit and
// its deadline, all released by end.
type call struct {
	db     *DB
	permit breaker.Permit
	cancel context.CancelFunc
}

// begin admits a call, in this order: a context already done is returned
// as it is, nothing counted (the database never saw the call); then
// admission, which sheds what does not fit with a *[ShedError], nothing
// counted (waiting for a local slot is not the database's fault); then the
// breaker, which may reject with its *breaker.OpenError. The breaker's
// clock starts only then, so the time judged is the database's alone.
func (db *DB) begin(ctx context.Context) (*call, context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctx, err
	}
	if err := db.admit.acquire(ctx); err != nil {
		return nil, ctx, err
	}
	p, err := db.b.Allow()
	if err != nil {
		db.admit.release()
		return nil, ctx, err
	}
	cctx, cancel := db.b.CallContext(ctx, p)
	return &call{db: db, permit: p, cancel: cancel}, cctx, nil
}

// end records the call's result and releases what begin took. When the
// call's context is done, the result is a give-up whatever pgx made of it
// (a context error, 57014 query_canceled after pgx's cancel request, a
// closed connection), so the breaker judges it by the one rule for
// deadlines and cancellations, whichever timer fired first.
func (c *call) end(ctx context.Context, err error) {
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && c.db.b.Settings().Outcome(err) != breaker.Success {
			err = cerr
		}
	}
	c.permit.Finish(ctx, err)
	c.cancel()
	c.db.admit.release()
}

// run is one call of fn under begin and end. A panic in fn counts as
// neutral, releasing the half-open probe slot (a lost one would keep the
// breaker from ever closing) and the admission slot.
func (db *DB) run(ctx context.Context, fn func(context.Context) error) error {
	c, cctx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	finished := false
	defer func() {
		if !finished { // a panic says nothing about the database
			c.cancel()
			c.permit.DoneWith(breaker.Neutral, nil)
			db.admit.release()
		}
	}()
	err = fn(cctx)
	finished = true
	c.end(cctx, err)
	return err
}

// trackedRows records the query's outcome once, when the rows end.
type trackedRows struct {
	pgx.Rows
	ctx  context.Context
	call *call
	done bool
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
	r.call.end(r.ctx, r.Rows.Err())
}

// trackedRow records the query's outcome at Scan.
type trackedRow struct {
	row  pgx.Row
	ctx  context.Context
	call *call
	done bool
}

func (r *trackedRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if !r.done {
		r.done = true
		r.call.end(r.ctx, err)
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
