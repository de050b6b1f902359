package pgbreaker

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Defaults of admission control.
const (
	// DefaultQueueFactor times the limit is how many calls may wait for a
	// slot; more are shed at once. With queries of 1-2 ms, a line of 128
	// per connection drains within DefaultMaxWait.
	DefaultQueueFactor = 128
	// DefaultMaxWait is the longest a call waits for a slot before it is
	// shed. Half a second keeps a burst that the pool drains in time
	// (a few thousand short queries a second on four connections here)
	// from being shed, and sheds the rest while the caller can still act.
	DefaultMaxWait = 500 * time.Millisecond
)

// ReasonPoolExhausted is the ErrorInfo reason of a shed call.
const ReasonPoolExhausted = "POOL_EXHAUSTED"

// Admission bounds the calls that run on a pool at once, so that waiting
// happens here, where it is counted as what it is (local overload), and
// not inside pgxpool's Acquire, where it would look like a slow database
// and open the breaker for every caller. Calls beyond the limit wait in
// line, at most maxWait and at most queue of them; the rest are shed with
// a *[ShedError]. Nothing shed reaches the breaker.
//
// The limit should not exceed the pool's MaxConns: then an admitted call
// finds a connection idle or creatable, and its time is the database's.
// DBs over one pool share one Admission ([WithAdmission]).
type Admission struct {
	slots   chan struct{}
	queue   int64
	maxWait time.Duration
	waiting atomic.Int64
	shed    atomic.Uint64
}

// NewAdmission admits limit calls at once (at least 1), lets queue more
// wait (0: [DefaultQueueFactor] × limit) for at most maxWait (0:
// [DefaultMaxWait]).
func NewAdmission(limit, queue int, maxWait time.Duration) *Admission {
	limit = max(limit, 1)
	if queue <= 0 {
		queue = DefaultQueueFactor * limit
	}
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	return &Admission{slots: make(chan struct{}, limit), queue: int64(queue), maxWait: maxWait}
}

// Limit is the number of calls admitted at once.
func (a *Admission) Limit() int { return cap(a.slots) }

// Running is the number of calls admitted now.
func (a *Admission) Running() int { return len(a.slots) }

// Waiting is the number of calls waiting for a slot now.
func (a *Admission) Waiting() int { return int(a.waiting.Load()) }

// Shed counts the calls shed since the Admission was made.
func (a *Admission) Shed() uint64 { return a.shed.Load() }

func (a *Admission) acquire(ctx context.Context) error {
	select {
	case a.slots <- struct{}{}:
		return nil
	default:
	}
	if a.waiting.Add(1) > a.queue {
		a.waiting.Add(-1)
		return a.shedError(0)
	}
	defer a.waiting.Add(-1)
	start := time.Now()
	t := time.NewTimer(a.maxWait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		// The caller gave up while waiting here; the database never saw it.
		return ctx.Err()
	case <-t.C:
		return a.shedError(time.Since(start))
	}
}

func (a *Admission) release() { <-a.slots }

func (a *Admission) shedError(waited time.Duration) error {
	a.shed.Add(1)
	return &ShedError{Waited: waited, RetryAfter: a.maxWait, Limit: a.Limit()}
}

// ShedError is the error of a call that admission shed: the pool was busy
// with Limit calls and the line was full or too slow. As a gRPC status it is
// RESOURCE_EXHAUSTED with an ErrorInfo (reason POOL_EXHAUSTED, domain
// breakwater) and a RetryInfo, so a client backs off instead of retrying at
// once. It never counts against the database's breaker.
type ShedError struct {
	Waited     time.Duration // how long the call waited (0: the line was full)
	RetryAfter time.Duration
	Limit      int
}

func (e *ShedError) Error() string {
	return fmt.Sprintf("database busy: %d calls running, shed after waiting %v", e.Limit, e.Waited.Round(time.Millisecond))
}

// GRPCStatus makes the error RESOURCE_EXHAUSTED with its details.
func (e *ShedError) GRPCStatus() *status.Status {
	st := status.New(codes.ResourceExhausted, "database busy: retry later")
	if d, err := st.WithDetails(
		&errdetails.ErrorInfo{Reason: ReasonPoolExhausted, Domain: "breakwater"},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)},
	); err == nil {
		return d
	}
	return st
}
