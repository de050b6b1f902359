package e2e

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	breakerv1 "github.com/breakwater/breakwater/gen/go/breaker/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/interceptors/breaker/breakerlb"
)

// replica is one AdProvider process of a replicated system.
type replica struct {
	name, addr, adminAddr string
	conn                  *grpc.ClientConn
}

// env is the system's environment with this replica's addresses.
func (r *replica) env(s *system) []string {
	return append(s.env(), "ADPROVIDER_ADDR="+r.addr, "ADPROVIDER_ADMIN_ADDR="+r.adminAddr)
}

// endpointBreaker names the Recommender's breaker of this replica.
func (r *replica) endpointBreaker() string {
	return breakerlb.EndpointBreakerName("adprovider", r.addr)
}

// privateReplicatedSystem starts a private system with n AdProvider
// replicas on ports of their own, all sharing the database, and a
// Recommender whose ADPROVIDER_TARGET lists them all. The first replica is
// the system's usual "adprovider"; the others are "adprovider-2" and so on.
func privateReplicatedSystem(t testing.TB, n int) (*system, []*replica) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: builds and starts both services and PostgreSQL; skipped with -short")
	}
	s, reps, err := startReplicatedSystem(n)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("what the services logged:\n%s", s.logs.since(0))
		}
		if err := s.stop(); err != nil {
			t.Errorf("stopping the private system: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("starting a system with %d AdProvider replicas: %v", n, err)
	}
	return s, reps
}

// startReplicatedSystem is privateReplicatedSystem's work. On error the
// returned system holds what did start, for stop and for its logs.
func startReplicatedSystem(n int) (*system, []*replica, error) {
	ports, err := freePorts(2 * n)
	if err != nil {
		return &system{}, nil, err
	}
	reps := make([]*replica, n)
	addrs := make([]string, n)
	for i := range n {
		name := "adprovider"
		if i > 0 {
			name = fmt.Sprintf("adprovider-%d", i+1)
		}
		reps[i] = &replica{name: name, addr: ports[2*i], adminAddr: ports[2*i+1]}
		addrs[i] = reps[i].addr
	}
	s, err := startSystem("ADPROVIDER_ADDR="+reps[0].addr, "ADPROVIDER_TARGET="+strings.Join(addrs, ","))
	if err != nil {
		return s, reps, err
	}
	reps[0].adminAddr = s.adAdminAddr
	reps[0].conn = s.ad
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for _, r := range reps[1:] {
		// One after the other: the first has migrated the shared schema.
		if err := s.startAs(r.name, "adprovider", r.env(s)); err != nil {
			return s, reps, err
		}
		if r.conn, err = grpc.NewClient(r.addr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
			return s, reps, err
		}
		s.conns = append(s.conns, r.conn)
		if err := s.waitServing(ctx, r.conn, adProviderService); err != nil {
			return s, reps, err
		}
	}
	return s, reps, nil
}

// callRecord is one GetAds call through Recommender.
type callRecord struct {
	start, end time.Time
	house      bool // degraded: house ads
	err        error
}

// steadyTraffic calls Recommender's GetAds from a few workers, each with a
// 1 s deadline and a short pause between calls, and records every call.
type steadyTraffic struct {
	mu    sync.Mutex
	calls []callRecord
	stop  context.CancelFunc
	wg    sync.WaitGroup
}

const steadyWorkers, steadyPause = 4, 5 * time.Millisecond

func startSteadyTraffic(s *system) *steadyTraffic {
	ctx, stop := context.WithCancel(context.Background())
	tr := &steadyTraffic{stop: stop}
	client := recommenderv1.NewRecommenderServiceClient(s.rec)
	for range steadyWorkers {
		tr.wg.Go(func() {
			for ctx.Err() == nil {
				cctx, cancel := context.WithTimeout(context.Background(), verdictCallerDL)
				start := time.Now()
				resp, err := client.GetAds(cctx, &recommenderv1.GetAdsRequest{ContextKeys: []string{"pens"}, MaxAds: 2})
				end := time.Now()
				cancel()
				tr.mu.Lock()
				tr.calls = append(tr.calls, callRecord{start: start, end: end, house: err == nil && len(resp.GetDegraded()) > 0, err: err})
				tr.mu.Unlock()
				select {
				case <-ctx.Done():
				case <-time.After(steadyPause):
				}
			}
		})
	}
	return tr
}

func (tr *steadyTraffic) close() { tr.stop(); tr.wg.Wait() }

// window returns the calls that started in [from, to).
func (tr *steadyTraffic) window(from, to time.Time) []callRecord {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var out []callRecord
	for _, c := range tr.calls {
		if !c.start.Before(from) && c.start.Before(to) {
			out = append(out, c)
		}
	}
	return out
}

// judge checks the calls of a fault's window: at most 0.5% house ads after
// the first 100 ms, no error, no call past its deadline. It returns a
// summary for the log.
func judge(t *testing.T, what string, fault time.Time, calls []callRecord) string {
	t.Helper()
	var house, houseEarly, errs, counted int
	var lat []time.Duration
	for _, c := range calls {
		d := c.end.Sub(c.start)
		lat = append(lat, d)
		if c.err != nil {
			errs++
			t.Errorf("%s: a call failed: %v", what, c.err)
		}
		if d >= verdictCallerDL {
			t.Errorf("%s: a call ran %v, past its %v deadline", what, d, verdictCallerDL)
		}
		if c.start.Before(fault.Add(100 * time.Millisecond)) {
			if c.house {
				houseEarly++
			}
			continue
		}
		counted++
		if c.house {
			house++
		}
	}
	if counted == 0 {
		t.Fatalf("%s: no calls after the first 100 ms", what)
	}
	share := float64(house) / float64(counted)
	if share > 0.005 {
		t.Errorf("%s: %d of %d calls after the first 100 ms got house ads (%.2f%%), want at most 0.5%%", what, house, counted, 100*share)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return fmt.Sprintf("%s: %d calls, house ads %d in the first 100 ms and %d of %d after, %d errors; latency p50 %v p99 %v max %v",
		what, len(calls), houseEarly, house, counted, errs,
		lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*99/100].Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
}

// getAdsStaysClosed fails unless the Recommender's GetAds breaker is closed
// and has not moved since before.
func getAdsStaysClosed(t *testing.T, s *system, what string, before *breakerv1.Breaker) {
	t.Helper()
	b := getBreaker(t, s.rec, getAdsBreaker)
	if b.GetState() != breakerv1.BreakerState_BREAKER_STATE_CLOSED ||
		!b.GetLastTransitionTime().AsTime().Equal(before.GetLastTransitionTime().AsTime()) {
		t.Errorf("%s: %s is %v (last transition %v, before %v), want closed throughout", what, getAdsBreaker,
			b.GetState(), b.GetLastTransitionTime().AsTime(), before.GetLastTransitionTime().AsTime())
	}
}

// successes reads the Recommender's count of successful calls per replica
// (its endpoint breakers' counters).
func successes(t *testing.T, s *system, reps []*replica) []int64 {
	t.Helper()
	out := make([]int64, len(reps))
	for i, r := range reps {
		out[i] = getBreaker(t, s.rec, r.endpointBreaker()).GetCounters().GetSuccesses()
	}
	return out
}

// spread measures each replica's share of the successful calls over d.
func spread(t *testing.T, s *system, reps []*replica, d time.Duration) []int64 {
	t.Helper()
	before := successes(t, s, reps)
	time.Sleep(d)
	after := successes(t, s, reps)
	for i := range after {
		after[i] -= before[i]
	}
	return after
}

// withinShare fails unless every count is within ±20% of their mean.
func withinShare(t *testing.T, what string, counts []int64) {
	t.Helper()
	var sum int64
	for _, c := range counts {
		sum += c
	}
	mean := float64(sum) / float64(len(counts))
	for i, c := range counts {
		if math.Abs(float64(c)-mean) > 0.2*mean {
			t.Errorf("%s: replica %d got %d calls, the mean is %.0f: outside ±20%% (%v)", what, i+1, c, mean, counts)
		}
	}
}

// takesShareWithin waits for replica i to take its share again after
// since: the first 250 ms window in which its count is within ±20% of the
// others' mean. It returns the time it took.
func takesShareWithin(t *testing.T, s *system, reps []*replica, i int, since time.Time, within time.Duration) time.Duration {
	t.Helper()
	for {
		counts := spread(t, s, reps, 250*time.Millisecond)
		var others int64
		for j, c := range counts {
			if j != i {
				others += c
			}
		}
		mean := float64(others) / float64(len(counts)-1)
		if mean > 0 && math.Abs(float64(counts[i])-mean) <= 0.2*mean {
			return time.Since(since)
		}
		if time.Since(since) > within {
			t.Fatalf("replica %d has not taken its share within %v of coming back: %v", i+1, within, counts)
		}
	}
}

// TestReplicas runs three AdProvider replicas behind one Recommender under
// steady GetAds traffic and breaks one at a time (killed, hung with
// SIGSTOP, answering UNAVAILABLE), then all three.
func TestReplicas(t *testing.T) {
	s, reps := privateReplicatedSystem(t, 3)
	tr := startSteadyTraffic(s)
	defer tr.close()
	const faultWindow = 2 * time.Second
	const backWithin = 2 * time.Second

	// Every replica answering: calls spread evenly.
	time.Sleep(500 * time.Millisecond)
	counts := spread(t, s, reps, 2*time.Second)
	t.Logf("healthy: calls per replica over 2 s: %v", counts)
	withinShare(t, "healthy replicas", counts)

	t.Run("one replica killed", func(t *testing.T) {
		before := getBreaker(t, s.rec, getAdsBreaker)
		r := reps[2]
		fault := time.Now()
		s.kill(t, r.name)
		time.Sleep(faultWindow)
		t.Log(judge(t, "killed", fault, tr.window(fault, time.Now())))
		getAdsStaysClosed(t, s, "killed", before)
		counts := spread(t, s, reps, time.Second)
		t.Logf("replica 3 killed: calls per replica over 1 s: %v", counts)
		withinShare(t, "the two healthy replicas", counts[:2])

		if err := s.startAs(r.name, "adprovider", r.env(s)); err != nil {
			t.Fatal(err)
		}
		serving := waitHealthServing(t, r.conn, adProviderService, time.Minute)
		took := takesShareWithin(t, s, reps, 2, serving, backWithin)
		t.Logf("replica 3 took its share %v after it was SERVING again", took.Round(time.Millisecond))
	})

	t.Run("one replica hung", func(t *testing.T) {
		before := getBreaker(t, s.rec, getAdsBreaker)
		p := s.process(reps[1].name)
		fault := time.Now()
		if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		stopped := true
		defer func() {
			if stopped {
				_ = p.cmd.Process.Signal(syscall.SIGCONT)
			}
		}()
		time.Sleep(faultWindow)
		t.Log(judge(t, "hung", fault, tr.window(fault, time.Now())))
		getAdsStaysClosed(t, s, "hung", before)
		eb := getBreaker(t, s.rec, reps[1].endpointBreaker())
		t.Logf("%s: %v, last transition %v", eb.GetName(), eb.GetState(), transitionSummary(eb))
		if eb.GetState() == breakerv1.BreakerState_BREAKER_STATE_CLOSED {
			t.Errorf("%s closed with its replica hung, want open or half-open", eb.GetName())
		}

		back := time.Now()
		if err := p.cmd.Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		stopped = false
		took := takesShareWithin(t, s, reps, 1, back, backWithin)
		t.Logf("replica 2 took its share %v after SIGCONT", took.Round(time.Millisecond))
	})

	t.Run("one replica answering UNAVAILABLE", func(t *testing.T) {
		before := getBreaker(t, s.rec, getAdsBreaker)
		bc := breakerv1.NewBreakerAdminServiceClient(reps[0].conn)
		ctx := adminContext(context.Background())
		fault := time.Now()
		if _, err := bc.SetBreakerMode(ctx, &breakerv1.SetBreakerModeRequest{Name: adDBBreaker, Mode: breakerv1.BreakerMode_BREAKER_MODE_FORCED_OPEN}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(faultWindow)
		t.Log(judge(t, "UNAVAILABLE", fault, tr.window(fault, time.Now())))
		getAdsStaysClosed(t, s, "UNAVAILABLE", before)
		eb := getBreaker(t, s.rec, reps[0].endpointBreaker())
		t.Logf("%s: %v, %v", eb.GetName(), eb.GetState(), transitionSummary(eb))
		if eb.GetState() == breakerv1.BreakerState_BREAKER_STATE_CLOSED || eb.GetLastTransitionTime() == nil ||
			len(eb.GetRecentTransitions()) == 0 || eb.GetRecentTransitions()[0].GetReason() == "" {
			t.Errorf("%s: %v, last transition %v, %v; want it out, since when and why", eb.GetName(), eb.GetState(),
				eb.GetLastTransitionTime(), eb.GetRecentTransitions())
		}
		// The metrics say which replica is out too.
		metrics := httpGet(t, "http://"+s.recAdminAddr+"/metrics")
		outLine := fmt.Sprintf(`breakwater_breaker_state{breaker=%q,kind="grpc",state="closed"} 0`, reps[0].endpointBreaker())
		if !strings.Contains(metrics, outLine) {
			t.Errorf("/metrics lacks %s", outLine)
		}
		// breakerctl lists every replica's breakers side by side: the
		// forced database breaker on replica 1 only.
		out := breakerctl(t, s, reps, "list")
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(strings.ReplaceAll(line, ", forced", ",forced")); len(f) == 4 && f[0] == adDBBreaker {
				if f[1] != "open,forced" || f[2] != "closed" || f[3] != "closed" {
					t.Errorf("breakerctl list: %q, want %s forced open on replica 1 only", line, adDBBreaker)
				}
			}
		}
		if !strings.Contains(out, adDBBreaker) {
			t.Errorf("breakerctl list:\n%s\nwant a row for %s", out, adDBBreaker)
		}

		back := time.Now()
		// Back to AUTO on every replica with one command.
		breakerctl(t, s, reps, "auto", adDBBreaker)
		took := takesShareWithin(t, s, reps, 0, back, backWithin)
		t.Logf("replica 1 took its share %v after its database breaker was back to AUTO", took.Round(time.Millisecond))
	})

	t.Run("all three killed", func(t *testing.T) {
		tr.close()
		for _, r := range reps {
			s.kill(t, r.name)
		}
		rec := recommenderv1.NewRecommenderServiceClient(s.rec)
		req := &recommenderv1.GetAdsRequest{ContextKeys: []string{"pens"}, MaxAds: 2}
		ctx := context.Background()
		var before []string
		for calls := 0; getBreaker(t, s.rec, getAdsBreaker).GetState() != breakerv1.BreakerState_BREAKER_STATE_OPEN; calls++ {
			if calls == verdictHandfulOf {
				t.Fatalf("%s still closed after %d calls with every replica killed", getAdsBreaker, calls)
			}
			start := time.Now()
			resp, err := rec.GetAds(ctx, req)
			before = append(before, fmt.Sprintf("%v %s", time.Since(start).Round(10*time.Microsecond), degradedSummary(resp, err)))
		}
		var fast []time.Duration
		for range 5 {
			start := time.Now()
			resp, err := rec.GetAds(ctx, req)
			fast = append(fast, time.Since(start).Round(time.Microsecond))
			d := resp.GetDegraded()
			if err != nil || len(d) != 1 || d[0].GetReason() != "circuit_open" || d[0].GetFallback() != "house_ads" {
				t.Fatalf("with every replica killed and the breaker open: %v, %v; want house ads from the open breaker", d, err)
			}
		}
		t.Logf("every replica killed: %d calls before %s opened %v, then house ads in %v", len(before), getAdsBreaker, before, fast)
	})
}

// breakerctl runs cmd/breakerctl against every replica and returns its
// output.
func breakerctl(t *testing.T, s *system, reps []*replica, args ...string) string {
	t.Helper()
	var targets []string
	for _, r := range reps {
		targets = append(targets, r.addr)
	}
	cmd := exec.Command(filepath.Join(s.bin, "breakerctl"), append([]string{"-targets", strings.Join(targets, ",")}, args...)...)
	cmd.Env = append(os.Environ(), "ADMIN_TOKEN="+adminToken)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("breakerctl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func transitionSummary(b *breakerv1.Breaker) string {
	var parts []string
	for _, tr := range b.GetRecentTransitions() {
		parts = append(parts, fmt.Sprintf("%s %v→%v (%s)", tr.GetTime().AsTime().Format("15:04:05.000"), tr.GetFrom(), tr.GetTo(), tr.GetReason()))
	}
	return strings.Join(parts, "; ")
}

func degradedSummary(resp *recommenderv1.GetAdsResponse, err error) string {
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, d := range resp.GetDegraded() {
		parts = append(parts, d.GetReason()+"/"+d.GetFallback())
	}
	return strings.Join(parts, ",")
}

// replicaPorts returns free addresses for runAll whose AdProvider gRPC and
// admin ports (ports[1], ports[3]) have free ports 10 and 20 above them too:
// run-all puts replicas 2 and 3 there.
func replicaPorts(t *testing.T) []string {
	t.Helper()
	for range 50 {
		ports, err := freePorts(5)
		if err != nil {
			t.Fatal(err)
		}
		ok := true
		for _, base := range []string{ports[1], ports[3]} {
			host, p, _ := net.SplitHostPort(base)
			n, _ := strconv.Atoi(p)
			for _, d := range []int{10, 20} {
				l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(n+d)))
				if err != nil {
					ok = false
					break
				}
				_ = l.Close()
			}
		}
		if ok {
			return ports
		}
	}
	t.Fatal("no free ports with room for two replicas above them")
	return nil
}

// TestRunAllReplicas: ADPROVIDER_REPLICAS=3 make run-all starts three
// AdProvider processes, prints breakerctl lines that work on all three as
// printed, and stops them all, callers first.
func TestRunAllReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the whole system")
	}
	ports := replicaPorts(t)
	sc, out, runDir := runAll(t, ports, runAllOptions{env: []string{"ADPROVIDER_REPLICAS=3"}})
	tr, ready := transcript(out, "Ctrl-C stops everything")
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("run-all ended before the system was up:\n%s", tr.since(0))
		}
	case <-time.After(4 * time.Minute):
		t.Fatalf("run-all not up after 4 minutes:\n%s", tr.since(0))
	}
	var printed []string
	for _, line := range strings.Split(tr.since(0), "\n") {
		line = strings.TrimPrefix(line, "run-all | ")
		if strings.HasPrefix(line, "  ") && strings.Contains(line, "/breakerctl ") {
			printed = append(printed, strings.TrimSpace(line))
		}
	}
	if len(printed) != 2 {
		t.Fatalf("run-all printed %d breakerctl lines, want list and force-open:\n%s", len(printed), tr.since(0))
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range printed {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, "bash", "-c", line)
		cmd.Dir = root // the lines name .run/bin relative to the repository
		cmd.Env = append(os.Environ(), "ADMIN_TOKEN=runall-test-token")
		answer, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("printed line failed: %s\n%v\n%s", line, err, answer)
		}
		switch {
		case strings.Contains(line, " list"):
			header := strings.Fields(strings.SplitN(string(answer), "\n", 2)[0])
			if len(header) != 4 {
				t.Errorf("breakerctl list: header %q, want BREAKER and three replicas", header)
			}
		case strings.Contains(line, " force-open "):
			if n := strings.Count(string(answer), "open, forced"); n != 3 {
				t.Errorf("breakerctl force-open: %d replicas forced open, want 3:\n%s", n, answer)
			}
		}
	}
	if err := sc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sc.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("run-all still running two minutes after SIGTERM:\n%s", tr.since(0))
	}
	text := tr.since(0)
	if sc.err != nil {
		t.Errorf("run-all ended with %v, want exit status 0:\n%s", sc.err, text)
	}
	last := -1
	for _, step := range []string{"stopped recommender", "stopped adprovider-3", "stopped adprovider-2", "stopped adprovider\n",
		"stopped PostgreSQL", "run-all stopped (recommender, adprovider-3, adprovider-2, adprovider, PostgreSQL)"} {
		i := strings.Index(text, step)
		if i < 0 || i < last {
			t.Errorf("want %q after the previous step:\n%s", step, text)
		}
		last = i
	}
	if left := processesUsing(runDir); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}
