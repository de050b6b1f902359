package breaker

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"unsafe"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Header metadata set on calls answered by a fallback. Read them with the
// grpc.Header call option and [FallbackServed].
const (
	// FallbackHeader names the breaker whose fallback served the reply.
	FallbackHeader = "x-breakwater-fallback"
	// FallbackReasonHeader says why: "CIRCUIT_OPEN" when a breaker rejected
	// the call (this one, or one further down whose ErrorInfo came back),
	// otherwise the failed call's gRPC code ("DEADLINE_EXCEEDED").
	FallbackReasonHeader = "x-breakwater-fallback-reason"
	// FallbackRejectedByHeader names the breaker that rejected the call,
	// when one did: this breaker, or the downstream breaker named in the
	// failure's ErrorInfo (AdProvider's database breaker, say).
	FallbackRejectedByHeader = "x-breakwater-fallback-rejected-by"
)

// Fallback answers a call in place of the dependency: it fills reply and
// returns nil, or returns the error the caller should get. cause is the
// *[OpenError] of a rejection, or the failure-class error of a call that
// failed when [WithFallbackOnFailure] is set.
type Fallback func(ctx context.Context, method string, req, reply any, cause error) error

// FallbackInfo says which fallback served a reply, and why.
type FallbackInfo struct {
	// Breaker is the breaker whose fallback served the reply.
	Breaker string
	// Reason is "CIRCUIT_OPEN" or the failed call's gRPC code name.
	Reason string
	// RejectedBy names the breaker that rejected the call, if one did.
	RejectedBy string
}

// FallbackServed reports whether header (from grpc.Header) marks the reply
// as a fallback, and which breaker served it and why.
func FallbackServed(header metadata.MD) (FallbackInfo, bool) {
	v := header.Get(FallbackHeader)
	if len(v) == 0 {
		return FallbackInfo{}, false
	}
	info := FallbackInfo{Breaker: v[0]}
	if r := header.Get(FallbackReasonHeader); len(r) > 0 {
		info.Reason = r[0]
	}
	if r := header.Get(FallbackRejectedByHeader); len(r) > 0 {
		info.RejectedBy = r[0]
	}
	return info, true
}

// UnaryClientInterceptor puts every unary call through the breaker of its
// (target, method) in set:
//   - a call whose context is already done is not sent and not counted: it
//     fails with the context's status (DEADLINE_EXCEEDED or CANCELLED);
//   - rejected calls never reach the invoker (so gRPC retries never see
//     them) and are answered by the method's fallback, if any, or fail
//     with UNAVAILABLE and the breaker's ErrorInfo and RetryInfo;
//   - admitted calls run under the deadline the breaker owns
//     ([Breaker.CallContext]: the method's timeout caps the caller's);
//   - the final outcome, after gRPC's own retries, is judged (see
//     "Attribution" in the package documentation) and counted, and a
//     failure is answered by the fallback when [WithFallbackOnFailure] is
//     set and the caller is still waiting.
func UnaryClientInterceptor(set *Set, opts ...InterceptorOption) grpc.UnaryClientInterceptor {
	var o interceptorOptions
	for _, opt := range opts {
		opt(&o)
	}
	cache := new(breakerCache)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		if err := ctx.Err(); err != nil {
			return status.FromContextError(err).Err()
		}
		for _, co := range callOpts {
			if _, ok := co.(probeCall); ok { // a recovery probe: not a call to count
				return invoker(ctx, method, req, reply, cc, callOpts...)
			}
		}
		target := o.target
		if target == "" {
			target = cc.Target()
		}
		b := cache.get(set, target, method)
		p, err := b.Allow()
		if err != nil {
			return b.fallback(ctx, method, req, reply, callOpts, err)
		}
		if p.ph.state == StateHalfOpen && cc != nil {
			// A probe must meet the dependency, not a channel still waiting
			// out its connect back-off from the outage.
			cc.ResetConnectBackoff()
			callOpts = append(callOpts[:len(callOpts):len(callOpts)], grpc.WaitForReady(true))
		}
		callCtx, cancel := b.CallContext(ctx, p)
		err = invoker(callCtx, method, req, reply, cc, callOpts...)
		if err == nil {
			cancel()
			b.record(p, nil, false, false, -1)
			return nil
		}
		p.Finish(callCtx, err)
		cancel()
		if o.healthProbe && cc != nil && !b.hasProber() {
			service, _ := splitMethod(method)
			b.SetProber(HealthProber(cc, service), ProbeHalfOpens)
		}
		if b.cfg.FallbackOnFailure && ctx.Err() == nil && b.cfg.Outcome(err) == Failure {
			return b.fallback(ctx, method, req, reply, callOpts, err)
		}
		return err
	}
}

// fallback serves the method's fallback, marking the header, or returns
// cause when there is none.
func (b *Breaker) fallback(ctx context.Context, method string, req, reply any, callOpts []grpc.CallOption, cause error) error {
	if b.cfg.fallback == nil {
		return cause
	}
	if err := b.cfg.fallback(ctx, method, req, reply, cause); err != nil {
		return err
	}
	for _, opt := range callOpts {
		if h, ok := opt.(grpc.HeaderCallOption); ok && h.HeaderAddr != nil {
			md := h.HeaderAddr.Copy()
			md.Set(FallbackHeader, b.name)
			reason, rejectedBy := fallbackCause(cause)
			md.Set(FallbackReasonHeader, reason)
			if rejectedBy != "" {
				md.Set(FallbackRejectedByHeader, rejectedBy)
			}
			*h.HeaderAddr = md
		}
	}
	return nil
}

// fallbackCause names why a fallback was served: a rejection, here or
// downstream (read from the status's ErrorInfo), or the failure's code.
func fallbackCause(cause error) (reason, rejectedBy string) {
	var open *OpenError
	if errors.As(cause, &open) {
		return ReasonCircuitOpen, open.Breaker
	}
	if by, ok := RejectedDownstream(cause); ok {
		return ReasonCircuitOpen, by
	}
	return status.Code(cause).String(), ""
}

// RejectedDownstream reports whether err is a status carrying a breaker
// rejection's ErrorInfo (reason CIRCUIT_OPEN, domain breakwater), as a
// server returns when its own breaker rejected the work, and names that
// breaker.
func RejectedDownstream(err error) (breaker string, ok bool) {
	st, isStatus := status.FromError(err)
	if !isStatus || st.Code() != codes.Unavailable {
		return "", false
	}
	for _, d := range st.Details() {
		if info, isInfo := d.(*errdetails.ErrorInfo); isInfo && info.GetReason() == ReasonCircuitOpen && info.GetDomain() == ErrorDomain {
			return info.GetMetadata()[MetadataBreaker], true
		}
	}
	return "", false
}

// StreamClientInterceptor puts every stream through the breaker of its
// (target, method) in set. A failure to establish the stream is counted at
// once; otherwise the stream's final status is counted when RecvMsg returns
// it (io.EOF is a success) or when its context ends, whichever comes first.
// As gRPC itself requires, receive until an error or cancel the context: a
// stream left open holds its admission (in half-open, a probe slot). Streams
// get no default deadline, being long-lived by nature, and no fallback.
func StreamClientInterceptor(set *Set, opts ...InterceptorOption) grpc.StreamClientInterceptor {
	var o interceptorOptions
	for _, opt := range opts {
		opt(&o)
	}
	cache := new(breakerCache)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
		target := o.target
		if target == "" {
			target = cc.Target()
		}
		if err := ctx.Err(); err != nil {
			return nil, status.FromContextError(err).Err()
		}
		b := cache.get(set, target, method)
		p, err := b.Allow()
		if err != nil {
			return nil, err
		}
		cs, err := streamer(ctx, desc, cc, method, callOpts...)
		if err != nil {
			p.Done(err)
			return nil, err
		}
		s := &stream{ClientStream: cs, p: p, serverStreams: desc.ServerStreams}
		// A caller that abandons the stream cancels its context; count
		// that then, so a half-open probe slot is never held forever.
		s.stop = context.AfterFunc(ctx, func() { s.record(ctx.Err()) })
		return s, nil
	}
}

type stream struct {
	grpc.ClientStream
	p             Permit
	serverStreams bool
	done          atomic.Bool
	stop          func() bool
}

func (s *stream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case err == io.EOF:
		s.finish(nil)
	case err != nil:
		s.finish(err)
	case !s.serverStreams:
		// A unary response: gRPC has already read the final OK status.
		s.finish(nil)
	}
	return err
}

// finish runs on the caller's goroutine, after s.stop was set.
func (s *stream) finish(err error) {
	s.stop()
	s.record(err)
}

// record counts the stream once, whichever of RecvMsg and the context
// ends it first.
func (s *stream) record(err error) {
	if s.done.CompareAndSwap(false, true) {
		s.p.Done(err)
	}
}

// breakerCache sits in front of the set's map, per interceptor. Method
// names are constants of generated code and the target a field of the
// connection, so both compare by pointer in a couple of nanoseconds where
// hashing them costs twenty. A slot is filled once and never replaced:
// methods that collide take the map, and no call allocates.
type breakerCache [64]atomic.Pointer[cacheEntry]

type cacheEntry struct {
	target, method string
	b              *Breaker
}

func (c *breakerCache) get(set *Set, target, method string) *Breaker {
	slot := &c[(uintptr(unsafe.Pointer(unsafe.StringData(method)))>>4^uintptr(len(method)))%uintptr(len(c))]
	if e := slot.Load(); e != nil && e.method == method && e.target == target {
		return e.b
	}
	b := set.grpcBreaker(target, method)
	if slot.Load() == nil {
		slot.CompareAndSwap(nil, &cacheEntry{target: target, method: method, b: b})
	}
	return b
}
