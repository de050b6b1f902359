package breaker

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func errCode(c codes.Code) error { return status.Error(c, c.String()) }

func TestCodeTable(t *testing.T) {
	want := map[codes.Code]Outcome{
		codes.OK:                 Success,
		codes.Canceled:           Neutral,
		codes.Unknown:            Failure,
		codes.InvalidArgument:    Success,
		codes.DeadlineExceeded:   Failure,
		codes.NotFound:           Success,
		codes.AlreadyExists:      Success,
		codes.PermissionDenied:   Success,
		codes.ResourceExhausted:  Failure,
		codes.FailedPrecondition: Success,
		codes.Aborted:            Success,
		codes.OutOfRange:         Success,
		codes.Unimplemented:      Success,
		codes.Internal:           Failure,
		codes.Unavailable:        Failure,
		codes.DataLoss:           Failure,
		codes.Unauthenticated:    Success,
	}
	if len(want) != numCodes {
		t.Fatalf("table covers %d codes", len(want))
	}
	for c, o := range want {
		if got := DefaultOutcome(c); got != o {
			t.Errorf("DefaultOutcome(%v) = %v, want %v", c, got, o)
		}
		if c == codes.OK {
			continue
		}
		if got := DefaultClassifier(errCode(c)); got != o {
			t.Errorf("DefaultClassifier(%v) = %v, want %v", c, got, o)
		}
		if got := DefaultClassifier(fmt.Errorf("wrapped: %w", errCode(c))); got != o {
			t.Errorf("wrapped %v = %v, want %v", c, got, o)
		}
	}
	for _, c := range []struct {
		err  error
		want Outcome
	}{
		{nil, Success},
		{context.Canceled, Neutral},
		{fmt.Errorf("query: %w", context.Canceled), Neutral},
		{context.DeadlineExceeded, Failure}, // even the caller's: a hanging dependency must trip
		{errors.New("connection reset"), Failure},
		{&OpenError{Breaker: "downstream"}, Failure},
		{status.Error(codes.Code(99), "future code"), Failure},
	} {
		if got := DefaultClassifier(c.err); got != c.want {
			t.Errorf("DefaultClassifier(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestClassificationOverrides(t *testing.T) {
	set, _ := newSet(t, WithMethod("svc", "", WithCodes(Failure, codes.NotFound), WithCodes(Success, codes.Unavailable)))
	s := set.grpcBreaker("t", "/svc/M").Settings()
	if s.Outcome(errCode(codes.NotFound)) != Failure || s.Outcome(errCode(codes.Unavailable)) != Success ||
		s.Outcome(errCode(codes.Internal)) != Failure {
		t.Fatal("per-method code overrides not applied")
	}
	other := set.grpcBreaker("t", "/other/M").Settings()
	if other.Outcome(errCode(codes.NotFound)) != Success {
		t.Fatal("override leaked to another service")
	}
	custom := set.Breaker("custom", WithClassifier(func(err error) Outcome {
		if err != nil && err.Error() == "meh" {
			return Neutral
		}
		return Failure
	})).Settings()
	if custom.Outcome(errors.New("meh")) != Neutral || custom.Outcome(nil) != Failure {
		t.Fatal("custom classifier not used")
	}
}

// The library matches its Ignore/MarkAsSuccess wrappers by type assertion
// on the outer error only; ours looks through wrapping.
func TestClassificationSeesThroughWrapping(t *testing.T) {
	err := fmt.Errorf("store: %w", fmt.Errorf("rpc: %w", errCode(codes.NotFound)))
	if got := DefaultClassifier(err); got != Success {
		t.Fatalf("got %v", got)
	}
}
