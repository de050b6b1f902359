// Package pgbreaker is the database breaker: it puts every call on a pgx
// pool through one circuit breaker per pool, under a deadline, and decides
// which database errors mean the database is unwell.
//
// A store is written against [Querier]; [New] wraps a *pgxpool.Pool (passed
// in, never global) into a [DB] that satisfies it. While the database is
// down, starting up or too slow, the breaker opens and calls fail at once
// with the breaker's *breaker.OpenError, which a gRPC server turns into
// UNAVAILABLE with a RetryInfo, instead of every request waiting on a dead
// database.
//
// # Sections
//
//   - Calls and outcomes
//   - Deadlines
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
// # Deadlines
//
// A call whose context has no deadline gets the default timeout
// ([WithTimeout]; by default the breaker's own, five seconds unless
// configured), so a database that hangs shows up as failures rather than
// goroutines piling up. For Query the deadline lasts until the rows end.
//
// # Classification
//
// [Classify] follows DESIGN.md: connection errors, timeouts and the
// SQLSTATE classes 08, 53, 57 (57P01–57P03 and 57014 among them), 58 and XX
// are failures; no rows, data and constraint errors (classes 22, 23) and
// every other answer from the server are successes; the caller's own
// cancellation is neutral, decided on the caller's context rather than
// guessed from pgx's error.
//
// # Rejections
//
// A rejected call returns the breaker's *breaker.OpenError:
// errors.Is(err, breaker.ErrOpen) holds, and status.Code(err) is
// UNAVAILABLE. Query returns it both as the error and from the rows' Err;
// QueryRow returns it from Scan.
package pgbreaker
