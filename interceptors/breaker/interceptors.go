package breaker

import (
	"context"
	"io"
	"sync/atomic"
	"unsafe"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// FallbackHeader is the header metadata key set on calls answered by a
// fallback; its value is the breaker's name. Read it with the grpc.Header
// call option (see [FallbackServed]).
const FallbackHeader = "x-breakwater-fallback"

// Fallback answers a call in place of the dependency: it fills reply and
// returns nil, or returns the error the caller should get. cause is the
// *[OpenError] of a rejection, or the failure-class error of a call that
// failed when [WithFallbackOnFailure] is set.
type Fallback func(ctx context.Context, method string, req, reply any, cause error) error

// FallbackServed reports whether header (from grpc.Header) marks the reply
// as a fallback, and which breaker served it.
func FallbackServed(header metadata.MD) (breaker string, ok bool) {
	if v := header.Get(FallbackHeader); len(v) > 0 {
		return v[0], true
	}
	return "", false
}

// UnaryClientInterceptor puts every unary call through the breaker of its
// (target, method) in set: rejected calls never reach the invoker (so gRPC
// retries never see them) and are answered by the method's fallback, if
// any, or fail with UNAVAILABLE; admitted calls without a deadline get the
// method's default timeout; the final outcome, after gRPC's own retries,
// is counted.
func UnaryClientInterceptor(set *Set, opts ...InterceptorOption) grpc.UnaryClientInterceptor {
	var o interceptorOptions
	for _, opt := range opts {
		opt(&o)
	}
	cache := new(breakerCache)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		target := o.target
		if target == "" {
			target = cc.Target()
		}
		b := cache.get(set, target, method)
		p, err := b.Allow()
		if err != nil {
			return b.fallback(ctx, method, req, reply, callOpts, err)
		}
		if b.cfg.Timeout > 0 {
			if _, ok := ctx.Deadline(); !ok {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, b.cfg.Timeout)
				defer cancel()
			}
		}
		err = invoker(ctx, method, req, reply, cc, callOpts...)
		if err == nil {
			b.record(p, Success, nil)
			return nil
		}
		out := b.cfg.Outcome(err)
		b.record(p, out, err)
		if out == Failure && b.cfg.FallbackOnFailure {
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
			*h.HeaderAddr = md
		}
	}
	return nil
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
