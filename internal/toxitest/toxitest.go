package toxitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// A Proxy forwards TCP connections to an upstream, with faults on demand.
type Proxy struct {
	proxy *toxiproxy.Proxy
}

// New starts a proxy on 127.0.0.1 (free port) to upstream, a host:port. It
// is closed when tb's test ends.
func New(tb testing.TB, upstream string) *Proxy {
	tb.Helper()
	p, err := Start(upstream)
	if err != nil {
		tb.Fatalf("toxitest: %v", err)
	}
	tb.Cleanup(p.Close)
	return p
}

// Start is [New] for code without a testing.TB; the caller must call
// [Proxy.Close].
func Start(upstream string) (*Proxy, error) {
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	p := toxiproxy.NewProxy(server, "toxitest", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("start proxy: %w", err)
	}
	return &Proxy{proxy: p}, nil
}

// Addr returns the host:port clients should dial instead of the upstream.
// It stays the same across [Proxy.Disable] and [Proxy.Enable].
func (p *Proxy) Addr() string {
	p.proxy.Lock()
	defer p.proxy.Unlock()
	return p.proxy.Listen
}

// Latency delays everything the upstream sends by d (downstream only, so a
// request/response round trip takes d longer). Toxiproxy counts in
// milliseconds: d is truncated to one.
func (p *Proxy) Latency(d time.Duration) {
	p.add("latency", "latency", "downstream", map[string]int64{"latency": d.Milliseconds()})
}

// Cut stops all data in both directions. With after > 0 the connections are
// closed after that time; with 0 they hang until the toxic is removed or the
// client's deadline passes.
func (p *Proxy) Cut(after time.Duration) {
	attrs := map[string]int64{"timeout": after.Milliseconds()}
	p.add("cut_upstream", "timeout", "upstream", attrs)
	p.add("cut_downstream", "timeout", "downstream", attrs)
}

// SlowClose delays by d the close of connections that the upstream closes.
func (p *Proxy) SlowClose(d time.Duration) {
	p.add("slow_close", "slow_close", "downstream", map[string]int64{"delay": d.Milliseconds()})
}

// ResetPeer closes connections with a TCP RST, after when data arrives from
// the client. Connections opened before the call see a plain close instead.
func (p *Proxy) ResetPeer(after time.Duration) {
	p.add("reset_peer", "reset_peer", "upstream", map[string]int64{"timeout": after.Milliseconds()})
}

// RemoveToxics removes every fault added by the methods above.
func (p *Proxy) RemoveToxics() {
	p.proxy.Toxics.ResetToxics(context.Background())
}

// Disable closes the listener and every open connection: clients see their
// connections close and new dials refused.
func (p *Proxy) Disable() {
	p.proxy.Stop()
}

// Enable listens again on the same address after [Proxy.Disable]. It fails
// only if something else took the port meanwhile.
func (p *Proxy) Enable() error {
	p.proxy.Lock()
	enabled := p.proxy.Enabled
	p.proxy.Unlock()
	if enabled {
		return nil
	}
	if err := p.proxy.Start(); err != nil {
		return fmt.Errorf("enable proxy: %w", err)
	}
	return nil
}

// add adds a toxic, or updates it when one with that name exists, so that
// calling Latency twice changes the latency instead of failing. Toxiproxy
// only rejects malformed toxics, which would be a bug here: it panics.
func (p *Proxy) add(name, typ, stream string, attrs map[string]int64) {
	body, err := json.Marshal(map[string]any{
		"name":       name,
		"type":       typ,
		"stream":     stream,
		"toxicity":   1.0,
		"attributes": attrs,
	})
	if err != nil {
		panic(err)
	}
	if p.proxy.Toxics.GetToxic(name) != nil {
		_, err = p.proxy.Toxics.UpdateToxicJson(name, bytes.NewReader(body))
	} else {
		_, err = p.proxy.Toxics.AddToxicJson(bytes.NewReader(body))
	}
	if err != nil {
		panic(fmt.Sprintf("toxitest: add %s toxic: %v", typ, err))
	}
}

// Close stops the proxy and closes every connection. It removes the toxics
// first: a latency toxic sleeps without watching its connection, and
// removing it is what wakes it.
func (p *Proxy) Close() {
	p.proxy.Toxics.ResetToxics(context.Background())
	p.proxy.Stop()
}

// Freezer is a TCP forwarder whose established connections can be frozen:
// [Freezer.FreezeEstablished] stops the bytes of every connection open at
// the time, in both directions, without closing it, as a peer that hangs or
// a middlebox that forgets a connection does, while connections opened
// afterwards work. Toxiproxy's toxics act on every connection, new ones
// too, so they cannot show that a client replaces a silent connection.
type Freezer struct {
	lis      net.Listener
	upstream string
	mu       sync.Mutex
	conns    map[*frozenPair]struct{}
	closed   bool
	wg       sync.WaitGroup
}

type frozenPair struct {
	a, b   net.Conn
	frozen chan struct{} // closed when frozen
	once   sync.Once
}

// NewFreezer starts a Freezer on 127.0.0.1 (free port) to upstream, closed
// when tb's test ends.
func NewFreezer(tb testing.TB, upstream string) *Freezer {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("toxitest: %v", err)
	}
	f := &Freezer{lis: lis, upstream: upstream, conns: map[*frozenPair]struct{}{}}
	f.wg.Add(1)
	go f.accept()
	tb.Cleanup(f.Close)
	return f
}

// Addr returns the host:port clients should dial.
func (f *Freezer) Addr() string { return f.lis.Addr().String() }

// Connections reports how many connections were accepted and are open.
func (f *Freezer) Connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

func (f *Freezer) accept() {
	defer f.wg.Done()
	for {
		c, err := f.lis.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", f.upstream)
		if err != nil {
			c.Close()
			continue
		}
		p := &frozenPair{a: c, b: up, frozen: make(chan struct{})}
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			c.Close()
			up.Close()
			return
		}
		f.conns[p] = struct{}{}
		f.mu.Unlock()
		f.wg.Add(2)
		go f.pipe(p, p.a, p.b)
		go f.pipe(p, p.b, p.a)
	}
}

// pipe copies src to dst until either ends, or stops copying, leaving both
// open, once the pair is frozen.
func (f *Freezer) pipe(p *frozenPair, dst, src net.Conn) {
	defer f.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.frozen:
			<-p.frozen // already closed: fall through to wait for Close
			f.waitClosed(p)
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			f.drop(p)
			return
		}
	}
}

// waitClosed holds a frozen pipe until its connections are closed.
func (f *Freezer) waitClosed(p *frozenPair) {
	buf := make([]byte, 1024)
	for { // discard: nothing gets through, until the peer or Close ends it
		if _, err := p.a.Read(buf); err != nil {
			f.drop(p)
			return
		}
	}
}

func (f *Freezer) drop(p *frozenPair) {
	p.a.Close()
	p.b.Close()
	f.mu.Lock()
	delete(f.conns, p)
	f.mu.Unlock()
}

// FreezeEstablished freezes every connection open now.
func (f *Freezer) FreezeEstablished() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for p := range f.conns {
		p.once.Do(func() { close(p.frozen) })
	}
}

// Close stops accepting and closes every connection.
func (f *Freezer) Close() {
	f.mu.Lock()
	f.closed = true
	for p := range f.conns {
		p.a.Close()
		p.b.Close()
	}
	f.mu.Unlock()
	f.lis.Close()
	f.wg.Wait()
}
