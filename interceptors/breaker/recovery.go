package breaker

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Defaults of recovery probing.
const (
	// DefaultProbeInterval is the mean time between recovery probes of an
	// open breaker (each is jittered by ±20%): well under a second, so a
	// dependency that returns is noticed within about that long whatever
	// the open period.
	DefaultProbeInterval = 250 * time.Millisecond
	// DefaultProbeTimeout bounds one recovery probe (and the breaker's
	// timeout bounds it too, when shorter).
	DefaultProbeTimeout = time.Second
)

// Prober asks a dependency, out of band, whether it answers again: nil
// means it does. A gRPC connection's prober is the standard health Check
// ([HealthProber]); a database pool's is a ping. It must respect ctx.
type Prober func(ctx context.Context) error

// ProbeMode says what a successful recovery probe may do.
type ProbeMode uint8

// Probe modes.
const (
	// ProbeHalfOpens: a successful probe moves an open breaker to
	// half-open at once; real calls then decide whether it closes. For
	// probes that prove less than a real call does (a health check says the
	// server is up, not that the method works).
	ProbeHalfOpens ProbeMode = iota
	// ProbeCloses: probes also run as half-open probe calls, so that a
	// breaker without traffic closes by itself; for probes that exercise
	// what calls need (a database ping).
	ProbeCloses
)

// SetProber gives the breaker a recovery prober. While the breaker is open
// (in auto mode), and half-open with [ProbeCloses], one goroutine of the set
// calls p every ProbeInterval (jittered ±20%), one probe at a time, each
// under ProbeTimeout; a success half-opens the breaker at once, so recovery
// no longer waits for the open period, which stays the upper bound. Nothing
// runs while the breaker is closed, and [Set.Close] stops the probing.
// While a prober is set, an open breaker's RetryInfo says when the next
// probe is due rather than the whole open period.
func (b *Breaker) SetProber(p Prober, mode ProbeMode) {
	b.prober.Store(&proberEntry{probe: p, mode: mode})
	b.mu.Lock()
	defer b.mu.Unlock()
	if ph := b.cur.Load(); ph.state != StateClosed && ph.mode == ModeAuto {
		b.startProbing()
	}
}

type proberEntry struct {
	probe Prober
	mode  ProbeMode
}

// hasProber reports whether a prober is set (read on the rejection path).
func (b *Breaker) hasProber() bool { return b.prober.Load() != nil }

// startProbing starts the probe goroutine unless it runs. Callers hold b.mu.
func (b *Breaker) startProbing() {
	if b.prober.Load() == nil || !b.probing.CompareAndSwap(false, true) {
		return
	}
	if !b.set.probes.add() {
		b.probing.Store(false)
		return
	}
	go b.probeLoop()
}

// probeLoop probes while the breaker is open or half-open in auto mode,
// and exits when it is closed, forced, or the set is closed.
func (b *Breaker) probeLoop() {
	defer b.set.probes.done()
	for {
		if !b.set.probes.sleep(b.set, jitter(b.cfg.ProbeInterval)) {
			b.probing.Store(false)
			return
		}
		if !b.probeOnce() {
			b.probing.Store(false)
			// A state change may have raced with the store above.
			b.mu.Lock()
			again := false
			if ph := b.cur.Load(); ph.state != StateClosed && ph.mode == ModeAuto {
				again = b.probing.CompareAndSwap(false, true)
			}
			b.mu.Unlock()
			if !again {
				return
			}
		}
	}
}

// probeOnce runs one probe if the state calls for one, and reports whether
// probing should go on.
func (b *Breaker) probeOnce() bool {
	pe := b.prober.Load()
	ph := b.cur.Load()
	if pe == nil || ph.mode != ModeAuto {
		return false
	}
	now := b.set.now()
	switch ph.state {
	case StateClosed:
		return false
	case StateOpen:
		if ph.hinted && now < ph.until {
			return true // the dependency said when to come back
		}
		if err := b.runProbe(pe.probe); err != nil {
			return true
		}
		b.mu.Lock()
		if b.cur.Load() == ph {
			b.probeWins = 0
			b.transition(b.set.now(), StateHalfOpen, ModeAuto, 0, "recovery probe succeeded", nil)
		}
		b.mu.Unlock()
		return true
	default: // half-open
		if pe.mode != ProbeCloses {
			return true // real calls decide; keep watching in case it reopens
		}
		p, err := b.Allow()
		if err != nil {
			return true // every probe slot is busy with real calls
		}
		p.Done(b.runProbe(pe.probe))
		return true
	}
}

func (b *Breaker) runProbe(probe Prober) error {
	d := b.cfg.ProbeTimeout
	if b.cfg.Timeout > 0 {
		d = min(d, b.cfg.Timeout)
	}
	ctx, cancel := context.WithTimeout(b.set.probes.ctx, d)
	defer cancel()
	return probe(ctx)
}

func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// probeGroup owns the set's probe goroutines. Its lock is taken under a
// breaker's (startProbing) and never the other way round.
type probeGroup struct {
	ctx    context.Context // cancelled by stop: ends probes in flight
	cancel context.CancelFunc
	mu     sync.Mutex
	n      int
	closed bool
	idle   chan struct{} // closed when n drops to 0 after stop
}

func newProbeGroup() *probeGroup {
	ctx, cancel := context.WithCancel(context.Background())
	return &probeGroup{ctx: ctx, cancel: cancel, idle: make(chan struct{})}
}

func (g *probeGroup) add() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

func (g *probeGroup) done() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n--; g.n == 0 && g.closed {
		close(g.idle)
	}
}

// sleep waits d on the set's clock; false when the group was stopped.
func (g *probeGroup) sleep(s *Set, d time.Duration) bool {
	if s.clock == nil {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-g.ctx.Done():
			return false
		}
	}
	t := s.clock.Timer(d)
	defer t.Stop()
	if probeArmed != nil {
		probeArmed(d)
	}
	select {
	case <-t.C:
		return true
	case <-g.ctx.Done():
		return false
	}
}

// probeArmed, when a test sets it, hears each mock-clock probe timer armed,
// so that the test can move the clock exactly to the next probe.
var probeArmed func(d time.Duration)

// stop ends every probe goroutine and waits for them.
func (g *probeGroup) stop() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	g.cancel()
	wait := g.n > 0
	g.mu.Unlock()
	if wait {
		<-g.idle
	}
}

// retryHintOf is the delay a failure asks for: an OpenError's, or a gRPC
// status's RetryInfo (a server whose own breaker is open says when to come
// back). Zero when it asks for none.
func retryHintOf(err error) time.Duration {
	if err == nil {
		return 0
	}
	var open *OpenError
	if errors.As(err, &open) {
		return open.RetryAfter
	}
	st, ok := status.FromError(err)
	if !ok || st.Code() == codes.OK {
		return 0
	}
	for _, d := range st.Details() {
		if ri, isRI := d.(*errdetails.RetryInfo); isRI && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

// probeCall marks the calls a [HealthProber] makes, so that the breaker
// interceptor on the same connection lets them through uncounted.
type probeCall struct{ grpc.EmptyCallOption }

// HealthProber returns a [Prober] that asks cc's server, through the
// standard grpc.health.v1 Check, whether service is SERVING. It first tells
// the channel to reconnect now if it is waiting in its connect back-off
// (ResetConnectBackoff), and waits for the connection within the probe's
// timeout (WaitForReady), so a probe is never answered by a stale
// TRANSIENT_FAILURE. A server without the health service (UNIMPLEMENTED)
// counts as answering. The call passes the breaker interceptor uncounted.
func HealthProber(cc *grpc.ClientConn, service string) Prober {
	client := healthpb.NewHealthClient(cc)
	return func(ctx context.Context) error {
		cc.ResetConnectBackoff()
		resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: service}, grpc.WaitForReady(true), probeCall{})
		switch {
		case status.Code(err) == codes.Unimplemented:
			return nil
		case err != nil:
			return err
		case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
			return errNotServing
		}
		return nil
	}
}

var errNotServing = errors.New("health: not serving")
