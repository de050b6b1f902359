package e2e

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	breakerv1 "github.com/breakwater/breakwater/gen/go/breaker/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/toxitest"
)

// recoveryBound is the goal: back within a second of the
// dependency's return, whatever the outage.
const recoveryBound = time.Second

// kill ends the named process with SIGKILL and forgets it.
func (s *system) kill(t *testing.T, name string) {
	t.Helper()
	for i, p := range s.procs {
		if p.name == name {
			_ = p.cmd.Process.Kill()
			<-p.done
			s.procs = append(s.procs[:i], s.procs[i+1:]...)
			return
		}
	}
	t.Fatalf("no process %s", name)
}

// adsTraffic calls Recommender's GetAds every 20 ms until stopped, and
// answers when the first real ads (not degraded) came after a moment.
type adsTraffic struct {
	mu    sync.Mutex
	real  []time.Time // answers with AdProvider's ads
	other int
	stop  context.CancelFunc
	done  chan struct{}
}

func startAdsTraffic(s *system) *adsTraffic {
	ctx, stop := context.WithCancel(context.Background())
	tr := &adsTraffic{stop: stop, done: make(chan struct{})}
	client := recommenderv1.NewRecommenderServiceClient(s.rec)
	go func() {
		defer close(tr.done)
		for ctx.Err() == nil {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			resp, err := client.GetAds(cctx, &recommenderv1.GetAdsRequest{ContextKeys: []string{"pens"}, MaxAds: 2})
			cancel()
			tr.mu.Lock()
			if err == nil && len(resp.GetDegraded()) == 0 {
				tr.real = append(tr.real, time.Now())
			} else {
				tr.other++
			}
			tr.mu.Unlock()
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return tr
}

func (tr *adsTraffic) close() { tr.stop(); <-tr.done }

// firstRealAfter waits for the first real ads answered after t.
func (tr *adsTraffic) firstRealAfter(t *testing.T, after time.Time, within time.Duration) time.Time {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(5 * time.Millisecond) {
		tr.mu.Lock()
		for _, at := range tr.real {
			if at.After(after) {
				tr.mu.Unlock()
				return at
			}
		}
		tr.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no real ads within %v of %v", within, after.Format(time.StampMilli))
		}
	}
}

// waitHealthServing polls a service's health every 10 ms and returns when
// it first says SERVING.
func waitHealthServing(t *testing.T, conn *grpc.ClientConn, service string, within time.Duration) time.Time {
	t.Helper()
	hc := healthpb.NewHealthClient(conn)
	for deadline := time.Now().Add(within); ; time.Sleep(10 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not SERVING within %v: %v %v", service, within, resp.GetStatus(), err)
		}
	}
}

// TestRecoveryAfterAdProviderOutage: AdProvider killed for 60 s under
// steady GetAds traffic, then restarted on the same port: real ads come
// back within a second of AdProvider reporting SERVING, with no restart of
// the Recommender (the breaker's health probe half-opens it, and the probe
// call meets a fresh connection, not the channel's back-off).
func TestRecoveryAfterAdProviderOutage(t *testing.T) {
	s := privateSystem(t)
	tr := startAdsTraffic(s)
	defer tr.close()
	tr.firstRealAfter(t, time.Time{}, 10*time.Second)

	s.kill(t, "adprovider")
	waitBreaker(t, s.rec, getAdsBreaker, breakerv1.BreakerState_BREAKER_STATE_OPEN)
	time.Sleep(60 * time.Second)
	b := getBreaker(t, s.rec, getAdsBreaker)
	t.Logf("after 60 s: %s %v, open for %v more", b.GetName(), b.GetState(), b.GetOpenRemaining().AsDuration())

	if err := s.start("adprovider", s.env()); err != nil {
		t.Fatal(err)
	}
	serving := waitHealthServing(t, s.ad, adProviderService, time.Minute)
	real := tr.firstRealAfter(t, serving, time.Minute)
	took := real.Sub(serving)
	t.Logf("real ads %v after AdProvider reported SERVING (60 s outage)", took.Round(time.Millisecond))
	if took > recoveryBound {
		t.Errorf("real ads came %v after AdProvider was SERVING, want within %v", took, recoveryBound)
	}
}

// TestRecoveryAfterDatabaseStartup: PostgreSQL answering 57P03 for 15 s;
// writes succeed within a second of it accepting connections again.
func TestRecoveryAfterDatabaseStartup(t *testing.T) {
	s := privateSystem(t)
	client := recommenderv1.NewRecommenderServiceClient(s.rec)
	var mu sync.Mutex
	var ok []time.Time
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { // a steady writer, each review with its own request id
		defer close(done)
		for i := 0; ctx.Err() == nil; i++ {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err := client.CreateReview(cctx, &recommenderv1.CreateReviewRequest{
				RequestId: fmt.Sprintf("startup-%d", i),
				Review:    &recommenderv1.Review{Asin: "B00006IE7F", ReviewerId: fmt.Sprintf("startup-writer-%d", i), Overall: 4},
			})
			cancel()
			if err == nil {
				mu.Lock()
				ok = append(ok, time.Now())
				mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	defer func() { stop(); <-done }()

	s.pg.HoldInStartup(t)
	// The load is writes, judged by the database's write breaker.
	waitBreaker(t, s.rec, recDBBreaker+"/write", breakerv1.BreakerState_BREAKER_STATE_OPEN)
	time.Sleep(15 * time.Second)
	s.pg.Restart(t)
	accepting := time.Now()
	for deadline := accepting.Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		var first time.Time
		for _, at := range ok {
			if at.After(accepting) {
				first = at
				break
			}
		}
		mu.Unlock()
		if !first.IsZero() {
			took := first.Sub(accepting)
			t.Logf("first write %v after PostgreSQL accepted connections again (15 s of 57P03)", took.Round(time.Millisecond))
			if took > recoveryBound {
				t.Errorf("writes resumed %v after the database accepted, want within %v", took, recoveryBound)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no write succeeded within a minute of the database accepting")
		}
	}
}

// TestRecoveryAfterSharedDatabaseCrash: a crash of the database both
// services share; real ads come back within a second of AdProvider's
// database breaker closing (the Recommender's GetAds breaker honours
// AdProvider's RetryInfo, which says when AdProvider's next probe is due,
// instead of doubling its own open period).
func TestRecoveryAfterSharedDatabaseCrash(t *testing.T) {
	s := privateSystem(t)
	tr := startAdsTraffic(s)
	defer tr.close()
	tr.firstRealAfter(t, time.Time{}, 10*time.Second)

	s.pg.Kill(t)
	waitBreaker(t, s.ad, adDBBreaker, breakerv1.BreakerState_BREAKER_STATE_OPEN)
	time.Sleep(5 * time.Second)
	s.pg.Restart(t)
	waitBreaker(t, s.ad, adDBBreaker, breakerv1.BreakerState_BREAKER_STATE_CLOSED)
	closed := time.Now()
	real := tr.firstRealAfter(t, closed.Add(-recoveryBound), time.Minute)
	took := real.Sub(closed)
	t.Logf("real ads %v after AdProvider's database breaker closed", took.Round(time.Millisecond))
	if took > recoveryBound {
		t.Errorf("real ads came %v after %s closed, want within %v", took, adDBBreaker, recoveryBound)
	}
}

// TestFrozenConnectionIsReplaced: the established Recommender→AdProvider
// connection goes silent (every byte stops, nothing closes); keepalive
// finds it and a new connection serves real ads again within the keepalive
// time (10 s + 2 s) plus a second.
func TestFrozenConnectionIsReplaced(t *testing.T) {
	ports, err := freePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	freezer := toxitest.NewFreezer(t, ports[0])
	s := privateSystem(t, "ADPROVIDER_ADDR="+ports[0], "ADPROVIDER_TARGET="+freezer.Addr())
	tr := startAdsTraffic(s)
	defer tr.close()
	tr.firstRealAfter(t, time.Time{}, 10*time.Second)

	frozen := time.Now()
	freezer.FreezeEstablished()
	real := tr.firstRealAfter(t, frozen.Add(time.Second), time.Minute)
	took := real.Sub(frozen)
	bound := 12*time.Second + recoveryBound
	t.Logf("real ads again %v after the connection froze", took.Round(time.Millisecond))
	if took > bound {
		t.Errorf("the frozen connection was replaced after %v, want within %v", took, bound)
	}
}

// TestShutdownWithDatabaseFrozen: SIGTERM while PostgreSQL is frozen
// (SIGSTOP) and calls wait on it: the Recommender exits within its drain
// bound (10 s) plus a second.
func TestShutdownWithDatabaseFrozen(t *testing.T) {
	s := privateSystem(t)
	conn, err := grpc.NewClient(s.recAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := recommenderv1.NewRecommenderServiceClient(conn)
	// Warm the pool: open connections are what a frozen server holds.
	for range 4 {
		if _, err := client.ListProducts(context.Background(), &recommenderv1.ListProductsRequest{PageSize: 5}); err != nil {
			t.Fatal(err)
		}
	}
	s.pg.Pause(t)
	defer s.pg.Resume(t)
	for range 4 { // calls that will hang on the frozen database
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, _ = client.ListProducts(ctx, &recommenderv1.ListProductsRequest{PageSize: 5})
		}()
	}
	time.Sleep(200 * time.Millisecond)
	p := s.process("recommender")
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	bound := 10*time.Second + time.Second
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the Recommender did not exit within 30 s of SIGTERM")
	}
	took := time.Since(start)
	t.Logf("exited %v after SIGTERM with the database frozen (exit: %v)", took.Round(time.Millisecond), p.err)
	if took > bound {
		t.Errorf("exit took %v, want within %v", took, bound)
	}
	if p.err != nil {
		t.Errorf("exit status: %v", p.err)
	}
	for i, q := range s.procs { // stopped: nothing left for the clean-up to stop
		if q == p {
			s.procs = append(s.procs[:i], s.procs[i+1:]...)
			break
		}
	}
}
