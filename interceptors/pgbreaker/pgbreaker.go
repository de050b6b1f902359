package pgbreaker

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// WriteSuffix is appended to a DB's name to name its write breaker.
const WriteSuffix = "/write"

// DB puts every call on a pgx pool through admission (a bound on the calls
// running at once) and a breaker, under the deadline the breaker owns. It
// is safe for concurrent use.
//
// A DB is one of two views of the same pool, which share the pool and its
// admission (unless [WithReadPool] gives reads a pool of their own) but not
// their breaker: the reads view that [New] returns, and
// the writes view that [DB.Writer] returns. Reads and writes are judged
// apart so that a database that refuses writes (read-only, a standby, a
// fail-over under way) fails the writes alone while reads go on being
// served; see "Reads and writes" in the package documentation.
type DB struct {
	pool  *pgxpool.Pool
	b     *breaker.Breaker
	admit *Admission
	write bool
	views *views
}

// views links the two views of one pool and holds what they share.
type views struct {
	reads, writes *DB
	// cause is why the last write that failed did, cleared when one
	// succeeds: while it is causeReadOnly, rejections of writes say so.
	cause atomic.Int32
	// causeSeq counts the failed writes that set cause: a success clears
	// cause only if no write failed since it began, so a write that was
	// already under way when the server turned read-only, and succeeded,
	// does not hide the refusals that came after it.
	causeSeq atomic.Int64
}

// New wraps pool and returns the reads view. Its breaker is set's breaker
// named by [WithName] (default "postgres/<database>"); the writes view
// ([DB.Writer]) has the breaker of that name plus [WriteSuffix]. Both are
// created on first use as [breaker.KindDatabase] breakers, the reads one
// classifying with [ClassifyRead] and the writes one with [Classify]. DBs
// over the same pool should share the name, so that they share the
// breakers. The caller keeps ownership of pool and set.
func New(pool *pgxpool.Pool, set *breaker.Set, opts ...Option) *DB {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.name == "" {
		o.name = "postgres/" + pool.Config().ConnConfig.Database
	}
	breakerOpts := func(c breaker.Classifier, extra []breaker.Option) []breaker.Option {
		bo := append([]breaker.Option{
			breaker.WithKind(breaker.KindDatabase),
			breaker.WithClassifier(c),
		}, o.breakers...)
		return append(bo, extra...)
	}
	admit := o.admission
	if admit == nil {
		admit = NewAdmission(int(pool.Config().MaxConns), 0, 0)
	}
	v := &views{}
	readPool, readAdmit := pool, admit
	if o.readPool != nil {
		readPool = o.readPool
		readAdmit = NewAdmission(int(readPool.Config().MaxConns), 0, 0)
	}
	v.reads = &DB{pool: readPool, admit: readAdmit, views: v,
		b: set.Breaker(o.name, breakerOpts(ClassifyRead, nil)...)}
	v.writes = &DB{pool: pool, admit: admit, views: v, write: true,
		b: set.Breaker(o.name+WriteSuffix, breakerOpts(Classify, o.writes)...)}
	if !o.noProber {
		// Probes go to the pools directly: they are the breakers' probes,
		// not calls to admit or count twice.
		v.reads.b.SetProber(func(ctx context.Context) error { return readPool.Ping(ctx) }, breaker.ProbeCloses)
		v.writes.b.SetProber(writeProbe(pool), breaker.ProbeCloses)
	}
	return v.reads
}

// Reader returns the reads view: the DB [New] returned.
func (db *DB) Reader() *DB { return db.views.reads }

// Writer returns the writes view: the same pool and admission, judged by
// the write breaker. Route through it every call that may write
// (INSERT, UPDATE, DELETE, DDL, nextval, SELECT … FOR UPDATE), so that a
// database refusing writes opens the write breaker alone.
func (db *DB) Writer() *DB { return db.views.writes }

// IsWriter reports whether db is the writes view.
func (db *DB) IsWriter() bool { return db.write }

// Admission returns the DB's admission control, to share with another DB
// over the same pool ([WithAdmission]) or to read its figures.
func (db *DB) Admission() *Admission { return db.admit }

// Breaker returns the view's breaker, for health checks and admin pages.
func (db *DB) Breaker() *breaker.Breaker { return db.b }

// Pool returns the view's pool: the one given to [New], or for the reads
// view the one given to [WithReadPool]. Calls made on it directly bypass the
// breakers; migrations at start-up are the expected use.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Stat returns the view's pool's statistics (no database call, no breaker).
func (db *DB) Stat() *pgxpool.Stat { return db.pool.Stat() }

// Exec runs sql through the view's breaker. A rejection returns the
// breaker's *[breaker.OpenError] (errors.Is(err, breaker.ErrOpen)), or on
// the writes view of a read-only database a *[ReadOnlyError] wrapping it.
func (db *DB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := db.run(ctx, func(ctx context.Context, conn *pgxpool.Conn) error {
		var err error
		tag, err = conn.Exec(ctx, sql, args...)
		return err
	})
	return tag, err
}

// Query runs sql through the breaker. The call's outcome is recorded when
// the rows are closed, or when Next returns false, with rows.Err(); the
// deadline covers reading the rows and the connection is held until then
// too. Rows must be closed, as with pgx. A rejection returns the error of
// [DB.Exec], also from the returned rows' Err.
func (db *DB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c, qctx, err := db.begin(ctx)
	if err != nil {
		return errRows{err: err}, err
	}
	rows, err := c.conn.Query(qctx, sql, args...)
	if err != nil {
		err = c.end(qctx, err)
		return errRows{err: err}, err
	}
	return &trackedRows{Rows: rows, ctx: qctx, call: c}, nil
}

// QueryRow runs sql through the breaker; the outcome is recorded by Scan,
// which must be called, as with pgx (the connection is held until then).
// No rows ([pgx.ErrNoRows]) is a success. A rejection is returned by Scan.
func (db *DB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c, qctx, err := db.begin(ctx)
	if err != nil {
		return errRow{err: err}
	}
	return &trackedRow{row: c.conn.QueryRow(qctx, sql, args...), ctx: qctx, call: c}
}

// SendBatch sends the queued queries of b in one round trip, through the
// breaker, as one call: its outcome is recorded when the results are
// closed, with the first error the batch met (Close returns it, as with
// pgx), and the deadline lasts until then. The results must be closed. A
// rejection is returned by every method of the results.
func (db *DB) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	c, bctx, err := db.begin(ctx)
	if err != nil {
		return errBatch{err: err}
	}
	return &trackedBatch{br: c.conn.SendBatch(bctx, b), ctx: bctx, call: c}
}

// CopyFrom copies rows into tableName with the COPY protocol, through the
// breaker, as one call; it returns the number of rows copied.
func (db *DB) CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error) {
	var n int64
	err := db.run(ctx, func(ctx context.Context, conn *pgxpool.Conn) error {
		var err error
		n, err = conn.CopyFrom(ctx, tableName, columnNames, rowSrc)
		return err
	})
	return n, err
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
// found") count as successes, because the database answered; a database
// error fn returns, wrapped or not, is judged as it is.
func (db *DB) InTxOptions(ctx context.Context, txOptions pgx.TxOptions, fn func(pgx.Tx) error) error {
	return db.run(ctx, func(ctx context.Context, conn *pgxpool.Conn) error {
		return pgx.BeginTxFunc(ctx, conn, txOptions, fn)
	})
}

// Begin starts a transaction with the server's defaults; see [DB.BeginTx].
func (db *DB) Begin(ctx context.Context) (pgx.Tx, error) {
	return db.BeginTx(ctx, pgx.TxOptions{})
}

// BeginTx starts a transaction, for code written against a pool's
// BeginTx. The transaction is one call of the breaker, from BeginTx to
// Commit or Rollback, under one deadline (the breaker's, or ctx's if
// earlier): its statements count once, together. The outcome is the
// first error a statement met that the breaker counts (a failure or a
// neutral), else the error of Commit or Rollback. The transaction must end
// with Commit or Rollback, which release its connection; a rollback after
// a commit returns [pgx.ErrTxClosed] and does nothing, as with pgx, so
// `defer tx.Rollback(ctx)` is the usual guard. A
// rejection is returned as the error of [DB.Exec].
func (db *DB) BeginTx(ctx context.Context, txOptions pgx.TxOptions) (pgx.Tx, error) {
	c, tctx, err := db.begin(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := c.conn.BeginTx(tctx, txOptions)
	if err != nil {
		return nil, c.end(tctx, err)
	}
	return &trackedTx{Tx: tx, ctx: tctx, call: c}, nil
}

// Ping checks the database through the breaker: while it is open, Ping
// fails fast with the *[breaker.OpenError].
func (db *DB) Ping(ctx context.Context) error {
	return db.run(ctx, func(ctx context.Context, conn *pgxpool.Conn) error { return conn.Ping(ctx) })
}

// call is one admitted call: its admission slot, its breaker permit, its
// deadline and its connection, all released by end.
type call struct {
	db     *DB
	permit breaker.Permit
	cancel context.CancelFunc
	conn   *pgxpool.Conn
	seq    int64 // the views' causeSeq when the call began
}

// begin admits a call, in this order: a context already done is returned
// as it is, nothing counted (the database never saw the call); then
// admission, which sheds what does not fit with a *[ShedError], nothing
// counted (waiting for a local slot is not the database's fault); for a
// write, the reads breaker if an operator forced it open; then the
// view's breaker, which may reject with its *breaker.OpenError (on the writes view
// of a read-only database, wrapped in a *[ReadOnlyError]). The breaker's
// clock starts only then, so the time judged is the database's alone:
// acquiring a connection (and so connecting) is part of the call.
func (db *DB) begin(ctx context.Context) (*call, context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, ctx, err
	}
	if err := db.admit.acquire(ctx); err != nil {
		return nil, ctx, err
	}
	if db.write {
		// An operator who forced the reads breaker open cut the database
		// off, writes too; the write breaker alone cuts only writes.
		if r := db.views.reads.b; r.Mode() == breaker.ModeForcedOpen {
			rp, err := r.Allow()
			if err != nil {
				db.admit.release()
				return nil, ctx, err
			}
			rp.Release() // the mode changed meanwhile
		}
	}
	p, err := db.b.Allow()
	if err != nil && db.write && db.views.cause.Load() == causeReadOnly {
		err = newReadOnlyError(db.b.Name(), err)
	}
	if err != nil {
		db.admit.release()
		return nil, ctx, err
	}
	cctx, cancel := db.b.CallContext(ctx, p)
	c := &call{db: db, permit: p, cancel: cancel, seq: db.views.causeSeq.Load()}
	c.conn, err = db.pool.Acquire(cctx)
	if err != nil {
		return nil, cctx, c.end(cctx, err)
	}
	return c, cctx, nil
}

// end records the call's result, drops the connection if the error says it
// must not be reused, releases what begin took, and returns the error for
// the caller (a read-only refusal as a *[ReadOnlyError]). When the call's
// context is done, the result is a give-up whatever pgx made of it (a
// context error, 57014 query_canceled after pgx's cancel request, a closed
// connection), so the breaker judges it by the one rule for deadlines and
// cancellations, whichever timer fired first.
func (c *call) end(ctx context.Context, err error) error {
	judged := err
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && c.db.b.Settings().Outcome(err) != breaker.Success {
			judged = cerr
		}
	}
	if c.conn != nil {
		if err != nil && (mustDiscard(err) || IsReadOnly(err) && inRecovery(c.conn)) {
			discard(c.conn)
		}
		c.conn.Release()
		c.conn = nil
	}
	// The cause first: a write rejected as soon as this failure opens the
	// breaker must already find it.
	out := c.db.noteResult(err, c.seq)
	c.permit.Finish(ctx, judged)
	c.cancel()
	c.db.admit.release()
	return out
}

// abandon ends a call that panicked: it says nothing about the database,
// so it counts as neutral, releasing the half-open probe slot (a lost one
// would keep the breaker from ever closing) and the admission slot. The
// connection is closed, as its state is unknown.
func (c *call) abandon() {
	if c.conn != nil {
		discard(c.conn)
		c.conn.Release()
		c.conn = nil
	}
	c.cancel()
	c.permit.DoneWith(breaker.Neutral, nil)
	c.db.admit.release()
}

// run is one call of fn under begin and end.
func (db *DB) run(ctx context.Context, fn func(context.Context, *pgxpool.Conn) error) error {
	c, cctx, err := db.begin(ctx)
	if err != nil {
		return err
	}
	finished := false
	defer func() {
		if !finished {
			c.abandon()
		}
	}()
	err = fn(cctx, c.conn)
	finished = true
	return c.end(cctx, err)
}

// noteResult keeps the read-only mark of the views up to date and turns a
// read-only refusal into a *ReadOnlyError.
func (db *DB) noteResult(err error, seq int64) error {
	if db.write {
		v := db.views
		set := func(c int32) {
			v.causeSeq.Add(1)
			v.cause.Store(c)
		}
		switch {
		case err == nil:
			if v.causeSeq.Load() == seq {
				v.cause.Store(causeNone)
			}
		case IsReadOnly(err):
			set(causeReadOnly)
		case Classify(err) == breaker.Failure:
			set(causeOther)
		}
	}
	if err == nil || !IsReadOnly(err) {
		return err
	}
	return newReadOnlyError(db.views.writes.b.Name(), err)
}

// Causes of the last failed write.
const (
	causeNone     int32 = iota
	causeReadOnly       // 25006: the server refuses writes
	causeOther          // gone, slow, out of resources, …
)

// writeProbe is the write breaker's recovery prober: it asks the database
// whether it takes writes (SHOW transaction_read_only, on a pooled
// connection or a new one, which with target_session_attrs=read-write
// reaches a newly promoted primary). A server that answers "on" fails the
// probe as a 25006 refusal would, so a database that is up but read-only
// keeps the write breaker open while the reads breaker closes.
func writeProbe(pool *pgxpool.Pool) breaker.Prober {
	return func(ctx context.Context) error {
		var ro string
		if err := pool.QueryRow(ctx, "SHOW transaction_read_only").Scan(&ro); err != nil {
			return err
		}
		if ro != "off" {
			return &pgconn.PgError{Severity: "ERROR", Code: sqlStateReadOnly,
				Message: "recovery probe: the server is read-only (transaction_read_only = " + ro + ")"}
		}
		return nil
	}
}

// trackedRows records the query's outcome once, when the rows end.
type trackedRows struct {
	pgx.Rows
	ctx  context.Context
	call *call
	done bool
	err  error
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

// Err returns the rows' error, a read-only refusal as a *ReadOnlyError.
func (r *trackedRows) Err() error {
	if r.done {
		return r.err
	}
	return r.Rows.Err()
}

func (r *trackedRows) finish() {
	if r.done {
		return
	}
	r.done = true
	r.Rows.Close() // pgx has closed them when Next returned false; Close is idempotent
	r.err = r.call.end(r.ctx, r.Rows.Err())
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
		err = r.call.end(r.ctx, err)
	}
	return err
}

// trackedBatch records the batch's outcome at Close, or, for a batch that
// begins a transaction ([pgx.Batch.BeginTx]) and succeeds, when that
// transaction ends.
type trackedBatch struct {
	br   pgx.BatchResults
	ctx  context.Context
	call *call
	tx   *trackedTx
	done bool
	err  error
}

func (b *trackedBatch) Exec() (pgconn.CommandTag, error) { return b.br.Exec() }
func (b *trackedBatch) Query() (pgx.Rows, error)         { return b.br.Query() }
func (b *trackedBatch) QueryRow() pgx.Row                { return b.br.QueryRow() }

// Tx returns the transaction the batch began, which then holds the call
// until its Commit or Rollback.
func (b *trackedBatch) Tx() pgx.Tx {
	if b.tx == nil {
		tx := b.br.Tx()
		if tx == nil {
			return nil
		}
		b.tx = &trackedTx{Tx: tx, ctx: b.ctx, call: b.call}
	}
	return b.tx
}

func (b *trackedBatch) Close() error {
	if b.done {
		return b.err
	}
	b.done = true
	err := b.br.Close()
	if err == nil && b.Tx() != nil {
		return nil // the transaction goes on; it ends the call
	}
	if b.tx != nil {
		b.tx.ended = true
	}
	b.err = b.call.end(b.ctx, err)
	return b.err
}

// trackedTx is a transaction begun by [DB.BeginTx]: one call, ended by
// Commit or Rollback. It notes the first error of its statements that the
// breaker would count, because after it the transaction is aborted and
// Commit reports only that it rolled back.
type trackedTx struct {
	pgx.Tx
	ctx   context.Context
	call  *call
	ended bool
	first error
}

// bound gives a statement the transaction's deadline (the breaker's, set
// at BeginTx) when it is earlier than ctx's: the whole transaction is one
// call under one deadline, whatever contexts its statements are given.
func (t *trackedTx) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := t.ctx.Deadline(); ok {
		if cur, ok := ctx.Deadline(); !ok || dl.Before(cur) {
			return context.WithDeadline(ctx, dl)
		}
	}
	return ctx, func() {}
}

func (t *trackedTx) note(err error) error {
	if err != nil && t.first == nil && t.call.db.b.Settings().Outcome(err) != breaker.Success {
		t.first = err
	}
	return err
}

func (t *trackedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	tag, err := t.Tx.Exec(ctx, sql, args...)
	return tag, t.note(err)
}

func (t *trackedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	ctx, cancel := t.bound(ctx)
	rows, err := t.Tx.Query(ctx, sql, args...)
	if err != nil {
		cancel()
		return rows, t.note(err)
	}
	return &txRows{Rows: rows, tx: t, cancel: cancel}, nil
}

func (t *trackedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	ctx, cancel := t.bound(ctx)
	return txRow{row: t.Tx.QueryRow(ctx, sql, args...), tx: t, cancel: cancel}
}

func (t *trackedTx) CopyFrom(ctx context.Context, tableName pgx.Identifier, columnNames []string, rowSrc pgx.CopyFromSource) (int64, error) {
	ctx, cancel := t.bound(ctx)
	defer cancel()
	n, err := t.Tx.CopyFrom(ctx, tableName, columnNames, rowSrc)
	return n, t.note(err)
}

func (t *trackedTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	ctx, cancel := t.bound(ctx)
	return &txBatch{BatchResults: t.Tx.SendBatch(ctx, b), tx: t, cancel: cancel}
}

func (t *trackedTx) Commit(ctx context.Context) error {
	if t.ended {
		return pgx.ErrTxClosed // as pgx does after Commit or Rollback
	}
	ctx, cancel := t.bound(ctx)
	defer cancel()
	err := t.Tx.Commit(ctx)
	return t.finish(err)
}

func (t *trackedTx) Rollback(ctx context.Context) error {
	if t.ended {
		return pgx.ErrTxClosed // as pgx does after Commit or Rollback
	}
	ctx, cancel := t.bound(ctx)
	defer cancel()
	err := t.Tx.Rollback(ctx)
	return t.finish(err)
}

func (t *trackedTx) finish(err error) error {
	if t.ended {
		return err
	}
	t.ended = true
	judged := t.first
	if judged == nil {
		judged = err
	}
	out := t.call.end(t.ctx, judged)
	if err == nil {
		return nil
	}
	if out != judged {
		return out // the refusal, as a *ReadOnlyError
	}
	return err
}

type txRows struct {
	pgx.Rows
	tx     *trackedTx
	cancel context.CancelFunc
}

func (r *txRows) Close() {
	r.Rows.Close()
	r.tx.note(r.Rows.Err())
	r.cancel()
}

func (r *txRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.tx.note(r.Rows.Err())
	r.cancel()
	return false
}

type txRow struct {
	row    pgx.Row
	tx     *trackedTx
	cancel context.CancelFunc
}

func (r txRow) Scan(dest ...any) error {
	defer r.cancel()
	return r.tx.note(r.row.Scan(dest...))
}

type txBatch struct {
	pgx.BatchResults
	tx     *trackedTx
	cancel context.CancelFunc
}

func (b *txBatch) Exec() (pgconn.CommandTag, error) {
	tag, err := b.BatchResults.Exec()
	return tag, b.tx.note(err)
}

func (b *txBatch) Close() error {
	defer b.cancel()
	return b.tx.note(b.BatchResults.Close())
}

func (b *txBatch) Tx() pgx.Tx { return nil } // a batch in a transaction begins none

// errRows, errRow and errBatch carry a rejection, as pgxpool's do an
// acquire error, for callers that read the error from the results.
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

type errBatch struct{ err error }

func (e errBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, e.err }
func (e errBatch) Query() (pgx.Rows, error)         { return errRows(e), e.err }
func (e errBatch) QueryRow() pgx.Row                { return errRow(e) }
func (e errBatch) Close() error                     { return e.err }
func (errBatch) Tx() pgx.Tx                         { return nil }
