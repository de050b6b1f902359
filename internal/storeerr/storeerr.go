package storeerr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
)

// Kind is what a store error means to a caller.
type Kind int

// Kinds, each with its gRPC code (see the package documentation).
const (
	NotFound Kind = iota + 1
	AlreadyExists
	InvalidArgument
	Unavailable
)

// Error is a store error a caller may see: its Message is sent as the
// status message, so it names no table, constraint or value.
type Error struct {
	Kind    Kind
	Message string
	// Violations are the fields at fault, for InvalidArgument.
	Violations []*errdetails.BadRequest_FieldViolation
	// Err is the cause: a parent sentinel (so errors.Is finds it) or a
	// database error (logged, never sent).
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns a sentinel error of kind with a caller-safe message.
func New(kind Kind, message string) *Error { return &Error{Kind: kind, Message: message} }

// Wrap returns an error of parent's kind with a more precise message, for
// which errors.Is(err, parent) holds.
func Wrap(parent *Error, message string) *Error {
	return &Error{Kind: parent.Kind, Message: message, Violations: parent.Violations, Err: parent}
}

// Invalid returns an InvalidArgument error wrapping parent (which may be
// nil) with one field violation: field in protovalidate's path spelling
// ("page_token", "review.review_time"), description for a person, reason
// an UPPER_SNAKE_CASE identifier.
func Invalid(parent error, field, description, reason string) *Error {
	msg := "invalid " + field + ": " + description
	return &Error{Kind: InvalidArgument, Message: msg, Err: parent,
		Violations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: description, Reason: reason}}}
}

// dataException is SQLSTATE class 22: a value PostgreSQL cannot take (NUL in
// text, a timestamp out of range, a number too large).
const dataException = "22"

// ErrInvalidData is the parent of every data exception [Translate] returns.
var ErrInvalidData = New(InvalidArgument, "a value in the request cannot be stored")

// ErrUnavailable is the parent of every connection-level failure
// [Translate] returns.
var ErrUnavailable = New(Unavailable, "database unavailable")

// Translate is the shared part of a store's edge, for errors the store has
// no meaning of its own for: a data exception becomes [ErrInvalidData], a
// failure the database breaker counts (connection lost, server shutting
// down, …; pgbreaker.Classify) becomes [ErrUnavailable], and anything else
// is wrapped with what the store was doing (returned as is when doing is
// empty, for stores that wrap it themselves). A breaker's rejection passes
// through unchanged, as does any error that carries a gRPC status (a shed
// call), so that [Status] keeps its details.
func Translate(err error, doing string) error {
	if err == nil {
		return nil
	}
	var withStatus interface{ GRPCStatus() *status.Status }
	if errors.As(err, &withStatus) {
		return err // the breaker's rejection or a shed call: already a status
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, dataException) {
		return &Error{Kind: InvalidArgument, Message: ErrInvalidData.Message, Err: fmt.Errorf("%s: %w: %w", doing, ErrInvalidData, err)}
	}
	if pgbreaker.Classify(err) == breaker.Failure {
		return &Error{Kind: Unavailable, Message: ErrUnavailable.Message, Err: fmt.Errorf("%s: %w: %w", doing, ErrUnavailable, err)}
	}
	if doing == "" {
		return err
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// Status returns the gRPC status error a caller gets for err, a store's
// error, and logs what the caller does not see: data errors at WARN,
// unavailability at WARN, everything unexpected at ERROR.
func Status(ctx context.Context, log *slog.Logger, err error) error {
	var withStatus interface{ GRPCStatus() *status.Status }
	if errors.As(err, &withStatus) {
		// The breaker's rejection (UNAVAILABLE with ErrorInfo and
		// RetryInfo) or a shed call (RESOURCE_EXHAUSTED with RetryInfo):
		// already the caller's status.
		return withStatus.GRPCStatus().Err()
	}
	if ctx.Err() != nil {
		// The caller gave up; what the database did since is not news.
		return status.FromContextError(ctx.Err()).Err()
	}
	var se *Error
	if errors.As(err, &se) {
		switch se.Kind {
		case NotFound:
			return status.Error(codes.NotFound, se.Message)
		case AlreadyExists:
			return status.Error(codes.AlreadyExists, se.Message)
		case InvalidArgument:
			if errors.Is(err, ErrInvalidData) {
				log.WarnContext(ctx, "database refused a value of the request", "error", err)
			}
			return badRequest(se)
		case Unavailable:
			log.WarnContext(ctx, "database call failed", "error", err)
			return status.Error(codes.Unavailable, se.Message)
		}
	}
	log.ErrorContext(ctx, "store call failed", "error", err)
	return status.Error(codes.Internal, "internal error")
}

func badRequest(se *Error) error {
	st := status.New(codes.InvalidArgument, se.Message)
	if len(se.Violations) == 0 {
		return st.Err()
	}
	if d, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: se.Violations}); err == nil {
		st = d
	}
	return st.Err()
}

// KindOf returns the Kind of the first [Error] in err's chain, or 0.
func KindOf(err error) Kind {
	var se *Error
	if errors.As(err, &se) {
		return se.Kind
	}
	return 0
}
