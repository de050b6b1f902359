package breaker

import (
	"errors"
	"fmt"
	"time"

	mercari "github.com/mercari/go-circuitbreaker"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// ErrOpen matches every rejection: errors.Is(err, breaker.ErrOpen).
var ErrOpen = errors.New("circuit breaker open")

// Error details of a rejection.
const (
	// ReasonCircuitOpen is the ErrorInfo reason of a rejection.
	ReasonCircuitOpen = "CIRCUIT_OPEN"
	// ErrorDomain is the ErrorInfo domain of a rejection.
	ErrorDomain = "breakwater"
	// MetadataBreaker is the ErrorInfo metadata key naming the breaker.
	MetadataBreaker = "breaker"
)

// OpenError is the error of a rejected call. As a gRPC status it is
// UNAVAILABLE with an ErrorInfo (reason CIRCUIT_OPEN, domain breakwater,
// metadata breaker=<name>) and a RetryInfo with [OpenError.RetryAfter].
type OpenError struct {
	// Breaker names the breaker that rejected the call.
	Breaker string
	// RetryAfter is how long the caller should wait, rounded up to the
	// millisecond: for an open breaker, the time until it admits probes;
	// forced open, the breaker's first open period (it stays open until an
	// operator acts); half-open with every probe slot taken, the shorter of
	// the call timeout and that period.
	RetryAfter time.Duration
	// Mode is the breaker's mode when it rejected the call.
	Mode Mode
}

func (e *OpenError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("circuit breaker %s open: retry after %v", e.Breaker, e.RetryAfter)
	}
	return fmt.Sprintf("circuit breaker %s open", e.Breaker)
}

// Is makes errors.Is match [ErrOpen], and mercari's ErrOpen for code written
// against the library.
func (e *OpenError) Is(target error) bool {
	return target == ErrOpen || target == mercari.ErrOpen
}

// GRPCStatus lets status.FromError and gRPC servers see UNAVAILABLE with
// details, never UNKNOWN.
func (e *OpenError) GRPCStatus() *status.Status {
	st := status.New(codes.Unavailable, e.Error())
	info := &errdetails.ErrorInfo{
		Reason:   ReasonCircuitOpen,
		Domain:   ErrorDomain,
		Metadata: map[string]string{MetadataBreaker: e.Breaker},
	}
	var err error
	if e.RetryAfter > 0 {
		st, err = st.WithDetails(info, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
	} else {
		st, err = st.WithDetails(info)
	}
	if err != nil {
		// Only a nil detail can fail to marshal; keep the code regardless.
		return status.New(codes.Unavailable, e.Error())
	}
	return st
}
