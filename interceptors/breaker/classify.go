package breaker

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Outcome is what a finished call means for the health of a dependency.
type Outcome uint8

// Outcomes.
const (
	// Success: the dependency answered, even if the answer was an error
	// that is the caller's fault (NOT_FOUND, INVALID_ARGUMENT, ...).
	Success Outcome = iota
	// Failure: the dependency is unwell (UNAVAILABLE, DEADLINE_EXCEEDED, ...).
	Failure
	// Neutral: the call says nothing about the dependency (the caller
	// cancelled it); it is not counted.
	Neutral
)

func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Neutral:
		return "neutral"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// MarshalText makes outcomes readable in JSON and logs.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Classifier maps the error a call returned (nil for none) to an [Outcome].
// It must be cheap and safe for concurrent use.
type Classifier func(err error) Outcome

// numCodes bounds the canonical gRPC codes (OK … UNAUTHENTICATED).
const numCodes = 17

// codeTable gives the outcome of every canonical gRPC code.
type codeTable [numCodes]Outcome

// defaultCodes is the table of docs/architecture.md ("The rules", 3):
// server-side trouble fails, answers that are the caller's fault succeed,
// caller cancellation is neutral.
var defaultCodes = func() codeTable {
	var t codeTable // zero value: Success
	for _, c := range []codes.Code{
		codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted,
		codes.Internal, codes.Unknown, codes.DataLoss,
	} {
		t[c] = Failure
	}
	t[codes.Canceled] = Neutral
	return t
}()

// DefaultOutcome reports the default outcome of a gRPC code: failures are
// UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN and
// DATA_LOSS; CANCELLED is neutral; every other code is a success because the
// dependency answered.
func DefaultOutcome(c codes.Code) Outcome {
	if int(c) >= numCodes {
		return Failure
	}
	return defaultCodes[c]
}

// DefaultClassifier classifies with the default code table. It is what a
// breaker uses unless [WithClassifier] or [WithCodes] says otherwise.
func DefaultClassifier(err error) Outcome { return defaultCodes.classify(err) }

type grpcStatuser interface{ GRPCStatus() *status.Status }

// classify never trusts the caller's context to explain an error (the
// library's guess): a deadline is a failure wherever it came from, because a
// dependency that only hangs must trip the breaker.
func (t *codeTable) classify(err error) Outcome {
	if err == nil {
		return Success
	}
	switch e := err.(type) {
	case *OpenError:
		// A breaker further down is open: the dependency is unavailable.
		return Failure
	case grpcStatuser:
		return t.code(e.GRPCStatus().Code())
	}
	switch {
	case errors.Is(err, context.Canceled):
		return t[codes.Canceled]
	case errors.Is(err, context.DeadlineExceeded):
		return t[codes.DeadlineExceeded]
	case errors.Is(err, ErrOpen):
		return Failure
	}
	var gs grpcStatuser
	if errors.As(err, &gs) {
		return t.code(gs.GRPCStatus().Code())
	}
	return Failure
}

func (t *codeTable) code(c codes.Code) Outcome {
	if int(c) >= numCodes {
		return Failure
	}
	return t[c]
}
