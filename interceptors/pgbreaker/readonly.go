package pgbreaker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// ReasonReadOnly is the ErrorInfo reason of a *[ReadOnlyError].
const ReasonReadOnly = "DATABASE_READ_ONLY"

// ReadOnlyRetryAfter is the RetryInfo delay of a *[ReadOnlyError]. A
// read-only spell (a maintenance switch, a fail-over) lasts seconds at
// least; the write breaker's recovery prober notices its end within about
// its probe interval (250ms by default), so a client retrying after a
// second finds writes back as soon as they are.
const ReadOnlyRetryAfter = time.Second

// sqlStateReadOnly is 25006 read_only_sql_transaction: a write reached a
// server that does not take writes (default_transaction_read_only, a hot
// standby: "cannot execute INSERT in a read-only transaction").
const sqlStateReadOnly = "25006"

// IsReadOnly reports whether err says the server refused a write because it
// is read-only: SQLSTATE 25006 read_only_sql_transaction, which both a
// primary with default_transaction_read_only and a hot standby send, or a
// *[ReadOnlyError].
func IsReadOnly(err error) bool {
	var roErr *ReadOnlyError
	if errors.As(err, &roErr) {
		return true
	}
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == sqlStateReadOnly
}

// ReadOnlyError is the error of a write the database refused because it is
// read-only (SQLSTATE 25006), or that the write breaker rejected while the
// database was read-only. As a gRPC status it is UNAVAILABLE with an
// ErrorInfo (reason DATABASE_READ_ONLY, domain breakwater, metadata
// breaker=<the write breaker>) and a RetryInfo of [ReadOnlyRetryAfter]:
// the database is there, but writes must wait (maintenance, fail-over).
// Err is the *pgconn.PgError or the *breaker.OpenError, for errors.As and
// errors.Is (a rejection still matches breaker.ErrOpen).
type ReadOnlyError struct {
	Breaker    string
	RetryAfter time.Duration
	Err        error
}

func newReadOnlyError(breakerName string, err error) *ReadOnlyError {
	var roErr *ReadOnlyError
	if errors.As(err, &roErr) {
		return roErr
	}
	return &ReadOnlyError{Breaker: breakerName, RetryAfter: ReadOnlyRetryAfter, Err: err}
}

func (e *ReadOnlyError) Error() string {
	return fmt.Sprintf("database is read-only: writes refused (%v)", e.Err)
}

func (e *ReadOnlyError) Unwrap() error { return e.Err }

// GRPCStatus makes the error UNAVAILABLE with its details.
func (e *ReadOnlyError) GRPCStatus() *status.Status {
	st := status.New(codes.Unavailable, "database is read-only: retry the write later")
	if d, err := st.WithDetails(
		&errdetails.ErrorInfo{Reason: ReasonReadOnly, Domain: breaker.ErrorDomain,
			Metadata: map[string]string{breaker.MetadataBreaker: e.Breaker}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)},
	); err == nil {
		return d
	}
	return st
}

// mustDiscard reports whether the connection that returned err must not be
// reused: it is [unreachable]'s error. pgx already closes a connection on
// most of these; closing it here too makes sure the pool never hands it out
// again. A read-only refusal is decided apart ([inRecovery]).
func mustDiscard(err error) bool { return unreachable(err) }

// unreachable reports whether err says the server is gone or going, as
// opposed to slow: a failed connection attempt (refused, reset, a server
// that target_session_attrs turned down), the server shutting down (class
// 57P: 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
// cannot_connect_now), a broken connection (class 08, network errors other
// than timeouts, EOF).
func unreachable(err error) bool {
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return len(pgErr.Code) == 5 && (pgErr.Code[:3] == "57P" || pgErr.Code[:2] == "08")
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return !netErr.Timeout()
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed)
}

// inRecovery reports whether the server behind conn is a standby (or the
// question cannot be answered), asked after a read-only refusal. A
// connection to a standby (a demoted primary, or one reached before
// target_session_attrs could say no) is dropped, so the pool reconnects and
// finds the primary; one to a primary that is read-only for maintenance is
// kept, because reads go on over it and the same server takes writes
// again after the switch back.
func inRecovery(conn *pgxpool.Conn) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var standby bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby); err != nil {
		return true
	}
	return standby
}

// discard closes conn so that the pool destroys it on release instead of
// reusing it.
func discard(conn *pgxpool.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = conn.Conn().Close(ctx)
}
