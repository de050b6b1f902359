// Package pgbreaker is the database breaker: it puts every call on a pgx
// pool through a circuit breaker, under a deadline, judging reads and
// writes apart, and decides which database errors mean the database is
// unwell.
//
// A store declares, where it is used, an interface of the query methods of
// *pgxpool.Pool it needs (both services' store.DB: Exec, Query and
// QueryRow), which [DB] satisfies: it has Exec, Query, QueryRow, Begin,
// BeginTx, SendBatch, CopyFrom, Ping and Stat with the pool's signatures,
// so the package exports no query interface of its own. [New] wraps a *pgxpool.Pool (passed in, never global) into a [DB]. While the
// database is down, starting up or too slow, the breaker opens and calls
// fail at once with the breaker's *breaker.OpenError, which a gRPC server
// turns into UNAVAILABLE with a RetryInfo, instead of every request waiting
// on a dead database:
//
//	pool, err := pgxpool.New(ctx, databaseURL) // never connects eagerly
//	set := breaker.NewSet(breaker.WithConfig(cfg))
//	defer set.Close()
//	db := pgbreaker.New(pool, set, pgbreaker.WithName("adprovider/postgres"))
//	err = db.QueryRow(ctx, "SELECT count(*) FROM ads").Scan(&n) // through the breaker
//	if errors.Is(err, breaker.ErrOpen) { /* rejected at once: the database is unwell */ }
//
// The package's examples (example_test.go) run the same against a real
// server.
//
// # Sections
//
//   - Reads and writes
//   - Calls and outcomes
//   - Connections
//   - Deadlines and attribution
//   - Admission: overload is not the database's fault
//   - Classification
//   - Rejections
//   - Metrics
//
// # Reads and writes
//
// A pool has two breakers. [New] returns the reads view, judged by the
// breaker named by [WithName] (default "postgres/<database>") with
// [ClassifyRead]; [DB.Writer] returns the writes view of the same pool and
// admission, judged by the breaker of that name plus [WriteSuffix] with
// [Classify]. A store sends what may write (INSERT, UPDATE, DELETE, DDL,
// SELECT … FOR UPDATE) through the writes view and the rest through the
// reads view; both stores of this repository take the writes view as an
// option (WithWriter). [WithReadPool] puts the reads view on a pool of its
// own, such as a hot standby's, so reads go on while the primary is away.
//
// The split is for a database that refuses writes and still answers reads:
// default_transaction_read_only switched on for maintenance, a hot standby,
// a fail-over under way. Such a server answers a write with SQLSTATE 25006
// read_only_sql_transaction ("cannot execute INSERT in a read-only
// transaction"); that counts against the write breaker only (the reads
// breaker calls it neutral, for a write nobody marked), so reads keep being
// served while writes fail fast. A refusal, and a rejection by the write
// breaker while the last failed write was refused so, is a
// *[ReadOnlyError]: UNAVAILABLE with an ErrorInfo of reason
// DATABASE_READ_ONLY and a RetryInfo. Every other failure (a dead server,
// a timeout) counts where it happened: a dead server fails both views'
// calls and so opens both breakers.
//
// Operators force the breakers (breaker.v1.BreakerAdminService): forcing
// the reads breaker open cuts the database off, writes included (a write
// is then rejected by the reads breaker, under its name); forcing the
// write breaker open cuts writes alone, as for planned maintenance.
//
// Both breakers have a recovery prober (breaker.Breaker.SetProber; off
// with [WithoutRecoveryProbe]): while open, the reads breaker pings its
// pool, and the write breaker asks whether the database takes writes
// (SHOW transaction_read_only, on a pooled or new connection, which with
// target_session_attrs=read-write reaches a newly promoted primary; "on"
// fails the probe as a 25006 would). Writes therefore resume within about
// one probe interval of the switch back, or of a promotion (0.1–0.3 s in
// this repository's tests), not after the breaker's open timeout.
//
// # Calls and outcomes
//
// Exec, CopyFrom, Ping and InTx are one breaker call each. Query is
// admitted when it starts and recorded when its rows end (Close, or Next
// returning false) with rows.Err(), because that is where pgx reports
// errors that arrive while rows stream. QueryRow is recorded at Scan.
// SendBatch is one call recorded at the results' Close, with the batch's
// first error.
//
// A transaction is one call, counted once: InTx from begin to commit or
// rollback, with the error returned as its outcome (a store's own errors
// from fn count as successes, the database answered); BeginTx from begin to
// Commit or Rollback, with the first statement error the breaker counts,
// else the error of Commit or Rollback as its outcome, because after a
// failed statement PostgreSQL aborts the transaction and Commit only says
// it rolled back. A panic inside InTx rolls back and counts as neutral,
// releasing the call's half-open probe slot.
//
// # Connections
//
// Each call acquires its own connection from the pool and releases it when
// recorded. A connection that failed in a way that says the server is gone
// or going (57P01 admin_shutdown and the rest of class 57P, class 08,
// broken sockets, EOF) is closed rather than returned, so the pool never
// hands it out again; so is one that answered 25006 from a server in
// recovery (a standby, or a demoted primary), so the pool reconnects and,
// with a multi-host URL, finds the primary. A connection to a primary that
// is read-only for maintenance is kept: reads go on over it, and the same
// server takes writes after the switch back. internal/database.Open sets
// the pool's maximum connection lifetime and health-check period.
//
// # Deadlines and attribution
//
// The pool's breaker owns every call's deadline (breaker.Breaker.CallContext):
// its Timeout, from configuration or [WithTimeout], caps the caller's
// deadline, so a database that hangs shows up as failures rather than
// goroutines piling up, and an operator's timeout is the one that applies.
// For Query, SendBatch and BeginTx the deadline lasts until the rows, the
// results or the transaction end.
//
// A call whose context is already done is returned as the context's error,
// not sent and not counted. A call that ends because its context ended
// (the caller's deadline or cancel, a gRPC client's RST_STREAM, the breaker's
// timeout), whatever pgx made of it (a context error, 57014 after pgx's
// cancel request, a closed connection), is judged by the breaker package's
// attribution rule: a failure only if it ran longer than the dependency's
// fair chance (see "Attribution" in package breaker), so 1 ms callers never
// open the breaker of a healthy database, and 1 s callers of a locked table
// do. A driver's own connect timeout, with the caller's context alive, is a
// connection failure as [Classify] says.
//
// # Admission: overload is not the database's fault
//
// Time spent waiting for a pool connection is local queueing, not database
// latency. An [Admission] (by default one per DB, as wide as the pool's
// MaxConns) lets that many calls run at once and the next ones wait in a
// bounded line ([DefaultQueueFactor] per slot, at most [DefaultMaxWait]);
// what does not fit is shed at once with a *[ShedError]: RESOURCE_EXHAUSTED
// with a RetryInfo, never counted by the breaker. The breaker's clock starts
// after admission, so the time it judges is the database's. DBs over one
// pool (a bulkhead breaker for heavy queries, say) share one Admission
// ([WithAdmission]). The pool's size is pgxpool's pool_max_conns in the
// database URL (pgx's default: the larger of 4 and the number of CPUs).
//
// # Classification
//
// [Classify] counts connection errors, timeouts and the SQLSTATE classes
// 08, 53, 57 (57P01–57P03 and 57014 among them), 58 and XX, and 25006, as
// failures; no rows, data and constraint errors (classes 22, 23) and every
// other answer from the server are successes; give-ups are judged as
// above. [ClassifyRead] is the same with 25006 neutral.
//
// # Rejections
//
// A rejected call returns the breaker's *breaker.OpenError:
// errors.Is(err, breaker.ErrOpen) holds, and status.Code(err) is
// UNAVAILABLE; on the writes view of a read-only database it is wrapped in
// a *ReadOnlyError. Query returns it both as the error and from the rows'
// Err; QueryRow returns it from Scan; SendBatch from every method of the
// results.
//
// # Metrics
//
// [NewPoolCollector] exports the pool's statistics (connections acquired,
// idle and constructing, acquires and their time, waits, new and destroyed
// connections) and admission's figures as Prometheus metrics; both
// services register it with internal/serve's registry. The breakers'
// states and counts are breakerprom's, one series per breaker, reads and
// writes apart.
package pgbreaker
