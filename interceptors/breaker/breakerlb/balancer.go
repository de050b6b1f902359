package breakerlb

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/roundrobin"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/serviceconfig"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// Name is the load-balancing policy's name in a service config.
const Name = "breakwater_breaker_round_robin"

// Defaults of an endpoint breaker, below any options given to [Config]:
// three failures in a row take an endpoint out, for a quarter of a second
// at first and at most a second, so a replica that comes back is in
// rotation again within about a second of answering.
const (
	DefaultConsecutiveFailures = 3
	DefaultOpenTimeout         = 250 * time.Millisecond
	DefaultMaxOpenTimeout      = time.Second
)

func init() { balancer.Register(builder{}) }

// registry maps the ids in service configs to the sets they stand for. A
// service config is JSON and cannot carry a pointer; the entries hold the
// set weakly, so a dropped set is not kept alive by its connection's
// config.
var registry struct {
	mu      sync.Mutex
	next    uint64
	entries map[string]*entry
}

type entry struct {
	set    weak.Pointer[breaker.Set]
	target string
	opts   []breaker.Option
}

// Config returns a service config whose load-balancing policy is this
// package's, for a connection whose endpoint breakers live in set and are
// named "<target>@<address>" ("adprovider@10.0.0.7:8001"). opts tune the
// endpoint breakers after this package's defaults
// ([DefaultConsecutiveFailures], [DefaultOpenTimeout],
// [DefaultMaxOpenTimeout]). methodConfig, when not empty, is the JSON array
// of the service config's "methodConfig" (retry policies and so on);
// healthService, when not empty, turns on gRPC's client-side health
// checking of every endpoint under that service name (the program must
// import google.golang.org/grpc/health).
//
// Pass the result to grpc.WithDefaultServiceConfig. Each call registers the
// set under a new id for as long as the set lives.
func Config(set *breaker.Set, target, healthService, methodConfig string, opts ...breaker.Option) string {
	registry.mu.Lock()
	if registry.entries == nil {
		registry.entries = make(map[string]*entry)
	}
	for id, e := range registry.entries { // forget the sets that are gone
		if e.set.Value() == nil {
			delete(registry.entries, id)
		}
	}
	registry.next++
	id := strconv.FormatUint(registry.next, 10)
	registry.entries[id] = &entry{set: weak.Make(set), target: target, opts: opts}
	registry.mu.Unlock()

	lb, _ := json.Marshal(map[string]any{Name: lbConfigJSON{Set: id}})
	sc := `{"loadBalancingConfig":[` + string(lb) + `]`
	if healthService != "" {
		hs, _ := json.Marshal(healthService)
		sc += `,"healthCheckConfig":{"serviceName":` + string(hs) + `}`
	}
	if methodConfig != "" {
		sc += `,"methodConfig":` + methodConfig
	}
	return sc + "}"
}

type lbConfigJSON struct {
	Set string `json:"set"`
}

type lbConfig struct {
	serviceconfig.LoadBalancingConfig
	set    *breaker.Set
	target string
	opts   []breaker.Option
}

type builder struct{}

func (builder) Name() string { return Name }

func (builder) ParseConfig(js json.RawMessage) (serviceconfig.LoadBalancingConfig, error) {
	var c lbConfigJSON
	if err := json.Unmarshal(js, &c); err != nil {
		return nil, fmt.Errorf("breakerlb: %w", err)
	}
	registry.mu.Lock()
	e := registry.entries[c.Set]
	registry.mu.Unlock()
	if e == nil {
		return nil, fmt.Errorf("breakerlb: no breaker set registered as %q (use breakerlb.Config)", c.Set)
	}
	set := e.set.Value()
	if set == nil {
		return nil, fmt.Errorf("breakerlb: the breaker set registered as %q is gone", c.Set)
	}
	return &lbConfig{set: set, target: e.target, opts: e.opts}, nil
}

func (builder) Build(cc balancer.ClientConn, opts balancer.BuildOptions) balancer.Balancer {
	b := &lb{cc: cc}
	b.child = balancer.Get(roundrobin.Name).Build(&childCC{ClientConn: cc, lb: b}, opts)
	return b
}

// lb is round_robin with a breaker in front of every endpoint: it builds
// a round_robin child through a ClientConn that remembers each SubConn's
// address, and wraps the child's pickers.
type lb struct {
	cc    balancer.ClientConn
	child balancer.Balancer

	cfg       atomic.Pointer[lbConfig]
	endpoints sync.Map     // balancer.SubConn -> *endpoint
	live      atomic.Int32 // SubConns not shut down
}

// endpoint is one address of the target, and its breaker once there is
// more than one.
type endpoint struct {
	addr    string
	breaker atomic.Pointer[breaker.Breaker]
}

func (b *lb) UpdateClientConnState(s balancer.ClientConnState) error {
	if c, ok := s.BalancerConfig.(*lbConfig); ok {
		b.cfg.Store(c)
	}
	s.BalancerConfig = nil // round_robin takes none
	return b.child.UpdateClientConnState(s)
}

func (b *lb) ResolverError(err error) { b.child.ResolverError(err) }

func (b *lb) UpdateSubConnState(sc balancer.SubConn, s balancer.SubConnState) {
	b.child.UpdateSubConnState(sc, s) //nolint:staticcheck // forwarded for completeness; listeners carry the states
}

func (b *lb) Close() { b.child.Close() }

func (b *lb) ExitIdle() {
	if ei, ok := b.child.(balancer.ExitIdler); ok {
		ei.ExitIdle()
	}
}

// childCC is the ClientConn round_robin sees.
type childCC struct {
	balancer.ClientConn
	lb *lb
}

func (c *childCC) NewSubConn(addrs []resolver.Address, opts balancer.NewSubConnOptions) (balancer.SubConn, error) {
	var sc balancer.SubConn
	ep := &endpoint{}
	if len(addrs) > 0 {
		ep.addr = addrs[0].Addr
	}
	listener := opts.StateListener
	opts.StateListener = func(s balancer.SubConnState) {
		if s.ConnectivityState == connectivity.Shutdown {
			if _, ok := c.lb.endpoints.LoadAndDelete(sc); ok {
				c.lb.live.Add(-1)
			}
		}
		if listener != nil {
			listener(s)
		}
	}
	sc, err := c.ClientConn.NewSubConn(addrs, opts)
	if err != nil {
		return nil, err
	}
	c.lb.endpoints.Store(sc, ep)
	if c.lb.live.Add(1) >= 2 {
		c.lb.ensureBreakers()
	}
	return sc, nil
}

// ensureBreakers gives every endpoint its breaker as soon as there are two,
// so operators see (and can force) each replica's before any call.
func (b *lb) ensureBreakers() {
	cfg := b.cfg.Load()
	if cfg == nil || cfg.set == nil {
		return
	}
	b.endpoints.Range(func(_, v any) bool {
		b.breakerOf(v.(*endpoint), cfg)
		return true
	})
}

func (c *childCC) UpdateState(s balancer.State) {
	if s.Picker != nil {
		s.Picker = &picker{child: s.Picker, lb: c.lb}
	}
	c.ClientConn.UpdateState(s)
}

// breakerOf returns ep's breaker, creating it on first use.
func (b *lb) breakerOf(ep *endpoint, cfg *lbConfig) *breaker.Breaker {
	if br := ep.breaker.Load(); br != nil {
		return br
	}
	opts := append([]breaker.Option{
		breaker.WithKind(breaker.KindGRPC),
		breaker.WithConsecutiveFailures(DefaultConsecutiveFailures),
		breaker.WithOpenTimeout(DefaultOpenTimeout, DefaultMaxOpenTimeout),
	}, cfg.opts...)
	br := cfg.set.Breaker(EndpointBreakerName(cfg.target, ep.addr), opts...)
	ep.breaker.CompareAndSwap(nil, br)
	return ep.breaker.Load()
}

// EndpointBreakerName is the name of the breaker of the endpoint at addr
// ("10.0.0.7:8001") of the connection named target ("adprovider").
func EndpointBreakerName(target, addr string) string { return target + "@" + addr }

// picker chooses among round_robin's ready endpoints the next one that has
// not been tried by this call and whose breaker admits a call. When none
// does, every endpoint is out, and the call goes where round_robin sends
// it: whether the service as a whole has failed is the per-method breaker's
// question, and it needs the service's own answer to judge it.
type picker struct {
	child balancer.Picker
	lb    *lb
}

func (p *picker) Pick(info balancer.PickInfo) (balancer.PickResult, error) {
	cfg := p.lb.cfg.Load()
	n := int(p.lb.live.Load())
	tr := triedFrom(info.Ctx)
	if cfg == nil || cfg.set == nil || n < 2 {
		res, err := p.child.Pick(info)
		if err == nil {
			tr.add(p.lb.addrOf(res.SubConn), n)
		}
		return res, err
	}
	var first balancer.PickResult
	var firstEP *endpoint
	for i := 0; i <= n; i++ {
		res, err := p.child.Pick(info)
		if err != nil {
			return res, err
		}
		v, ok := p.lb.endpoints.Load(res.SubConn)
		if !ok {
			return res, nil // not one of ours; cannot happen
		}
		ep := v.(*endpoint)
		if firstEP == nil {
			first, firstEP = res, ep
		}
		if tr.has(ep.addr) {
			continue
		}
		permit, err := p.lb.breakerOf(ep, cfg).Allow()
		if err != nil {
			continue
		}
		tr.add(ep.addr, n)
		done := res.Done
		res.Done = func(di balancer.DoneInfo) {
			permit.Done(di.Err)
			if done != nil {
				done(di)
			}
		}
		return res, nil
	}
	tr.add(firstEP.addr, n)
	return first, nil
}

func (b *lb) addrOf(sc balancer.SubConn) string {
	if v, ok := b.endpoints.Load(sc); ok {
		return v.(*endpoint).addr
	}
	return ""
}
