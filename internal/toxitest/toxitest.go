package toxitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
