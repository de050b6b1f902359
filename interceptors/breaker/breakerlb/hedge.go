package breakerlb

import (
	"context"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"
)

// tried is the set of endpoint addresses one logical call has been sent
// to, shared by its attempts (gRPC's retries and this package's hedge)
// through the call's context, so that each attempt goes somewhere new.
type tried struct {
	mu    sync.Mutex
	addrs []string
	live  int // endpoints the connection had at the last pick
}

type triedKey struct{}

func triedFrom(ctx context.Context) *tried {
	t, _ := ctx.Value(triedKey{}).(*tried)
	return t
}

func (t *tried) has(addr string) bool {
	if t == nil {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Contains(t.addrs, addr)
}

// add records a pick of addr among live endpoints.
func (t *tried) add(addr string, live int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	if addr != "" {
		t.addrs = append(t.addrs, addr)
	}
	t.live = live
	t.mu.Unlock()
}

// elsewhere reports whether the connection has an endpoint the call has
// not tried.
func (t *tried) elsewhere() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.live > len(t.addrs)
}

// Option configures [UnaryClientInterceptor].
type Option func(*options)

type options struct {
	hedgeDelay time.Duration
	hedged     map[string]bool
}

// WithHedging sends a second attempt of each call of the given full
// methods ("/adprovider.v1.AdProviderService/GetAds") to another endpoint
// when the first has not answered within delay and the connection has
// another endpoint, and returns whichever answers first with success. gRPC's retry policy re-sends only calls that
// failed, and grpc-go does not implement the service config's hedging
// policy: without this, a replica that hangs costs every call it receives
// its whole deadline. Hedge only idempotent methods.
func WithHedging(delay time.Duration, fullMethods ...string) Option {
	return func(o *options) {
		o.hedgeDelay = delay
		for _, m := range fullMethods {
			o.hedged[m] = true
		}
	}
}

// UnaryClientInterceptor makes every attempt of a call (gRPC's retries,
// hedges) go to an endpoint the call has not tried yet, as long as there is
// one, and hedges the methods [WithHedging] names. Put it after the breaker
// interceptor, so that the method's breaker sees one outcome per call:
//
//	grpc.WithChainUnaryInterceptor(breaker.UnaryClientInterceptor(set), breakerlb.UnaryClientInterceptor())
//
// A hedged call returns the first success, or, when every attempt failed,
// the last failure; the losing attempt is cancelled, and its endpoint's
// breaker judges it by the attribution rule (it ran at least the hedge
// delay). Header, trailer and peer call options receive the winning
// attempt's.
func UnaryClientInterceptor(opts ...Option) grpc.UnaryClientInterceptor {
	o := options{hedged: map[string]bool{}}
	for _, opt := range opts {
		opt(&o)
	}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
		tr := triedFrom(ctx)
		if tr == nil {
			tr = &tried{}
			ctx = context.WithValue(ctx, triedKey{}, tr)
		}
		msg, ok := reply.(proto.Message)
		if !o.hedged[method] || o.hedgeDelay <= 0 || !ok {
			return invoker(ctx, method, req, reply, cc, callOpts...)
		}
		return hedge(ctx, tr, o.hedgeDelay, method, req, msg, cc, invoker, callOpts)
	}
}

// attempt is one hedged attempt: its own reply and call-option targets, so
// that two attempts never write to the caller's at once.
type attempt struct {
	reply   proto.Message
	header  metadata.MD
	trailer metadata.MD
	peer    peer.Peer
	opts    []grpc.CallOption
	err     error
}

func newAttempt(reply proto.Message, callOpts []grpc.CallOption) *attempt {
	a := &attempt{reply: reply.ProtoReflect().New().Interface()}
	a.opts = make([]grpc.CallOption, 0, len(callOpts))
	for _, co := range callOpts {
		switch co.(type) {
		case grpc.HeaderCallOption:
			co = grpc.Header(&a.header)
		case grpc.TrailerCallOption:
			co = grpc.Trailer(&a.trailer)
		case grpc.PeerCallOption:
			co = grpc.Peer(&a.peer)
		}
		a.opts = append(a.opts, co)
	}
	return a
}

// deliver copies the winning attempt's results to the caller's.
func (a *attempt) deliver(reply proto.Message, callOpts []grpc.CallOption) {
	proto.Reset(reply)
	proto.Merge(reply, a.reply)
	for _, co := range callOpts {
		switch co := co.(type) {
		case grpc.HeaderCallOption:
			*co.HeaderAddr = a.header
		case grpc.TrailerCallOption:
			*co.TrailerAddr = a.trailer
		case grpc.PeerCallOption:
			*co.PeerAddr = a.peer
		}
	}
}

func hedge(ctx context.Context, tr *tried, delay time.Duration, method string, req any, reply proto.Message, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, callOpts []grpc.CallOption) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan *attempt, 2)
	launch := func() {
		a := newAttempt(reply, callOpts)
		go func() {
			a.err = invoker(ctx, method, req, a.reply, cc, a.opts...)
			results <- a
		}()
	}
	launch()
	launched, pending := 1, 1
	timer := time.NewTimer(delay)
	defer timer.Stop()
	var last *attempt
	for {
		select {
		case <-timer.C:
			// A hedge to the endpoint that hangs already would only
			// double its load: hedge only when there is another.
			if launched == 1 && pending == 1 && ctx.Err() == nil && tr.elsewhere() {
				launch()
				launched, pending = 2, 2
			}
		case a := <-results:
			pending--
			if a.err == nil {
				a.deliver(reply, callOpts)
				return nil
			}
			last = a
			if pending == 0 {
				// The first attempt failed before the hedge delay (gRPC
				// has already retried what its policy retries), or both
				// failed: the call failed.
				last.deliver(reply, callOpts)
				return last.err
			}
		}
	}
}
