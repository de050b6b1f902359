// Package pgbreaker is the database breaker: it puts every call on a pgx
// pool through one circuit breaker per pool, under a deadline, and decides
// which database errors mean the database is unwell.
//
// A store is written against [Querier]; [New] wraps a *pgxpool.Pool (passed
// in, never global) into a [DB] that satisfies it. While the database is
// down, starting up or too slow, the breaker opens and calls fail at once
// with the breaker's *breaker.OpenError, which a gRPC server turns into
// UNAVAILABLE with a RetryInfo, instead of every request waiting on a dead
// database:
//
//	pool, err := pgxpool.New(ctx, databaseURL) // never connects eagerly
//	set := breaker.NewSet(breaker.WithConfig(cfg))
//	defer set.Close()
//	var db pgbreaker.Querier = pgbreaker.New(pool, set, pgbreaker.WithName("adprovider/postgres"))
//	err = db.QueryRow(ctx, "SELECT count(*) FROM ads").Scan(&n) // through the breaker
//	if errors.Is(err, breaker.ErrOpen) { /* rejected at once: the database is unwell */ }
//
// The package's examples (example_test.go) run the same against a real
// server.
//
// # Sections
//
//   - Calls and outcomes
//   - Deadlines and attribution
//   - Admission: overload is not the database's fault
//   - Classification
//   - Rejections
//
// # Calls and outcomes
//
// Exec, Ping and the transaction helpers are one breaker call each. Query is
// admitted when it starts and recorded when its rows end (Close, or Next
// returning false) with rows.Err(), because that is where pgx reports errors
// that arrive while rows stream. QueryRow is recorded at Scan. A whole
// transaction ([DB.InTx]) is one call: begin, fn, commit or rollback. A
// panic inside it rolls back and counts as neutral, releasing the call's
// half-open probe slot.
//
// # Deadlines and attribution
//
// The pool's breaker owns every call's deadline (breaker.Breaker.CallContext):
// its Timeout, from configuration or [WithTimeout], caps the caller's
// deadline, so a database that hangs shows up as failures rather than
// goroutines piling up, and an operator's timeout is the one that applies.
// For Query the deadline lasts until the rows end.
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
// [Classify] says: connection errors, timeouts and the
// SQLSTATE classes 08, 53, 57 (57P01–57P03 and 57014 among them), 58 and XX
// are failures; no rows, data and constraint errors (classes 22, 23) and
// every other answer from the server are successes; give-ups are judged as
// above.
//
// # Rejections
//
// A rejected call returns the breaker's *breaker.OpenError:
// errors.Is(err, breaker.ErrOpen) holds, and status.Code(err) is
// UNAVAILABLE. Query returns it both as the error and from the rows' Err;
// QueryRow returns it from Scan.
package pgbreaker
