package pgbreaker

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// Classify is the database breaker's [breaker.Classifier]. A failure means
// the database is unreachable, unwell or too slow:
//
//   - connection errors: *pgconn.ConnectError (refused, reset, TLS,
//     authentication, "starting up" during connect …), net.Error, io.EOF,
//     io.ErrUnexpectedEOF, pgconn.ErrConnClosed, and whatever
//     pgconn.SafeToRetry says failed before anything was sent;
//   - timeouts: context.DeadlineExceeded and pgconn.Timeout, whoever set the
//     deadline, because a database that only hangs must trip the breaker;
//   - SQLSTATE classes 08 (connection exception), 53 (insufficient
//     resources: too many connections, disk full, out of memory), 57
//     (operator intervention: 57P01 admin shutdown, 57P02 crash shutdown,
//     57P03 cannot connect now, 57014 query canceled), 58 (system error) and
//     XX (internal error), plus 25006 (read-only transaction: a write reached
//     a server that cannot take writes, as after a fail-over).
//
// 57014 is a failure because the server cancels a statement on its own only
// when statement_timeout (or an operator) stops it: the database was too
// slow. A caller's own cancellation reaches pgx as context.Canceled, not
// 57014.
//
// Neutral, not counted: context.Canceled (the caller gave up; that says
// nothing about the database), a closed pool (the program is shutting down)
// and an open breaker inside a transaction function (another dependency).
//
// Everything else is a success, because the database answered: nil,
// pgx.ErrNoRows, data errors (class 22), constraint violations (class 23),
// syntax and access errors (class 42), serialization failures and deadlocks
// (class 40: contention, not ill health), other SQLSTATEs, and errors that
// did not come from the connection at all (scan errors, a store's own errors
// returned from a transaction function).
func Classify(err error) breaker.Outcome {
	if err == nil || errors.Is(err, pgx.ErrNoRows) {
		return breaker.Success
	}
	// Cancellation first: pgconn wraps a cancelled context in a timeout
	// error, which must not count as the database being slow.
	if errors.Is(err, context.Canceled) {
		return breaker.Neutral
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return breaker.Failure
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return ClassifySQLState(pgErr.Code)
	}
	if errors.Is(err, breaker.ErrOpen) {
		return breaker.Neutral
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err),
		errors.As(err, &netErr),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, pgconn.ErrConnClosed),
		pgconn.SafeToRetry(err):
		return breaker.Failure
	}
	if errors.Is(err, puddle.ErrClosedPool) { // pgxpool's error after Close
		return breaker.Neutral
	}
	return breaker.Success
}

// ClassifyRead is the reads breaker's [breaker.Classifier]: [Classify],
// except that a read-only refusal (SQLSTATE 25006, [IsReadOnly]) is
// neutral. A database that refuses writes still answers reads, so the
// refusal of a call sent through the reads view (a write nobody marked as
// one) must not open the breaker that guards the reads; the writes view
// counts it.
func ClassifyRead(err error) breaker.Outcome {
	if IsReadOnly(err) {
		return breaker.Neutral
	}
	return Classify(err)
}

// ClassifySQLState gives the outcome of an error the server reported, by
// its SQLSTATE, as described for [Classify].
func ClassifySQLState(code string) breaker.Outcome {
	if len(code) != 5 {
		return breaker.Failure // not something a PostgreSQL server sends
	}
	switch code[:2] {
	case "08", "53", "57", "58", "XX":
		return breaker.Failure
	}
	if code == "25006" { // read_only_sql_transaction
		return breaker.Failure
	}
	return breaker.Success
}
