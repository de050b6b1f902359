package e2e

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	breakerv1 "github.com/breakwater/breakwater/gen/go/breaker/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
)

const (
	getAdsBreaker    = "adprovider/adprovider.v1.AdProviderService/GetAds"
	adDBBreaker      = "adprovider/postgres"
	recDBBreaker     = "recommender/postgres"
	verdictCallerDL  = time.Second // what the callers send
	verdictHandfulOf = 10          // "the breaker opens within a handful of calls"
)

// resetBreakers resets every breaker of both services, so that a subtest
// starts from nothing.
func (s *system) resetBreakers(t *testing.T) {
	t.Helper()
	ctx := adminContext(context.Background())
	for _, conn := range []*grpc.ClientConn{s.rec, s.ad} {
		bc := breakerv1.NewBreakerAdminServiceClient(conn)
		list, err := bc.ListBreakers(ctx, &breakerv1.ListBreakersRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range list.GetBreakers() {
			if _, err := bc.ResetBreaker(ctx, &breakerv1.ResetBreakerRequest{Name: b.GetName()}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func getBreaker(t *testing.T, conn *grpc.ClientConn, name string) *breakerv1.Breaker {
	t.Helper()
	resp, err := breakerv1.NewBreakerAdminServiceClient(conn).GetBreaker(context.Background(), &breakerv1.GetBreakerRequest{Name: name})
	if err != nil {
		t.Fatalf("GetBreaker %s: %v", name, err)
	}
	return resp.GetBreaker()
}

// waitBreaker waits for the breaker to reach state (a guard against a hang,
// not a timing assertion).
func waitBreaker(t *testing.T, conn *grpc.ClientConn, name string, state breakerv1.BreakerState) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b := getBreaker(t, conn, name)
		if b.GetState() == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("breaker %s is %v, want %v", name, b.GetState(), state)
		}
	}
}

// TestRightVerdicts runs the system and judges its breakers as real callers
// meet them: impatient callers on healthy dependencies open nothing; a hung
// AdProvider (SIGSTOP) and a locked table trip their breakers although the
// callers send 1 s deadlines; 2,000 concurrent calls on one connection are
// shed, not blamed on the database. Figures are logged.
func TestRightVerdicts(t *testing.T) {
	s := privateSystem(t)
	ctx := context.Background()
	rec := recommenderv1.NewRecommenderServiceClient(s.rec)
	ads := adproviderv1.NewAdProviderServiceClient(s.ad)
	adsReq := &recommenderv1.GetAdsRequest{ContextKeys: []string{"pens"}, MaxAds: 2}

	t.Run("impatient callers open nothing", func(t *testing.T) {
		expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
		defer cancel()
		for range 100 {
			_, _ = rec.GetAds(expired, adsReq)
			_, _ = ads.GetAds(expired, &adproviderv1.GetAdsRequest{ContextKeys: []string{"pens"}})
		}
		for range 100 {
			c1, cancel1 := context.WithTimeout(ctx, time.Millisecond)
			_, _ = rec.GetAds(c1, adsReq)
			cancel1()
			c2, cancel2 := context.WithTimeout(ctx, 1500*time.Microsecond)
			_, _ = ads.GetAds(c2, &adproviderv1.GetAdsRequest{ContextKeys: []string{"pens"}})
			cancel2()
		}
		for _, b := range []*breakerv1.Breaker{getBreaker(t, s.rec, getAdsBreaker), getBreaker(t, s.ad, adDBBreaker)} {
			t.Logf("%s: %v, counters %v", b.GetName(), b.GetState(), b.GetCounters())
			if b.GetState() != breakerv1.BreakerState_BREAKER_STATE_CLOSED || b.GetCounters().GetFailures() != 0 {
				t.Errorf("%s is %v with %d failures after impatient callers, want closed with none",
					b.GetName(), b.GetState(), b.GetCounters().GetFailures())
			}
		}
		resp, err := rec.GetAds(ctx, adsReq)
		if err != nil || len(resp.GetDegraded()) != 0 || len(resp.GetAds()) == 0 {
			t.Fatalf("the next patient caller: %v, degraded %v, err %v; want real ads", resp.GetAds(), resp.GetDegraded(), err)
		}
		h, err := healthpb.NewHealthClient(s.ad).Check(ctx, &healthpb.HealthCheckRequest{Service: adProviderService})
		if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("AdProvider health %v, %v; want SERVING", h.GetStatus(), err)
		}
	})

	t.Run("2000 concurrent calls on one connection are shed, not blamed", func(t *testing.T) {
		s.resetBreakers(t)
		conn, err := grpc.NewClient(s.recAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		client := recommenderv1.NewRecommenderServiceClient(conn)
		var okN, exhausted atomic.Int64
		var mu sync.Mutex
		others := map[string]int{}
		var wg sync.WaitGroup
		start := time.Now()
		for i := range 2000 {
			wg.Go(func() {
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				var err error
				if i%2 == 0 {
					_, err = client.ListRecommendations(cctx, &recommenderv1.ListRecommendationsRequest{Asin: "B00006IE7F", MaxResults: int32(1 + i%10)})
				} else {
					_, err = client.ListProducts(cctx, &recommenderv1.ListProductsRequest{PageSize: 20})
				}
				switch status.Code(err) {
				case codes.OK:
					okN.Add(1)
				case codes.ResourceExhausted:
					exhausted.Add(1)
				default:
					mu.Lock()
					others[status.Code(err).String()+": "+status.Convert(err).Message()]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		t.Logf("2000 concurrent calls in %v: %d answered, %d RESOURCE_EXHAUSTED, others %v",
			time.Since(start).Round(time.Millisecond), okN.Load(), exhausted.Load(), others)
		for msg := range others {
			if strings.Contains(msg, "database unavailable") || strings.HasPrefix(msg, "Unavailable") || strings.HasPrefix(msg, "Internal") {
				t.Errorf("a call got %s", msg)
			}
		}
		if b := getBreaker(t, s.rec, recDBBreaker); b.GetState() != breakerv1.BreakerState_BREAKER_STATE_CLOSED || b.GetCounters().GetFailures() != 0 {
			t.Errorf("%s is %v with %d failures under overload, want closed with none", b.GetName(), b.GetState(), b.GetCounters().GetFailures())
		}
	})

	t.Run("a locked table trips the database breaker of callers with 1 s deadlines", func(t *testing.T) {
		s.resetBreakers(t)
		conn, err := pgx.Connect(ctx, s.dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "LOCK TABLE adprovider.ads IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		calls := 0
		for getBreaker(t, s.ad, adDBBreaker).GetState() != breakerv1.BreakerState_BREAKER_STATE_OPEN {
			if calls == verdictHandfulOf {
				t.Fatalf("%s still closed after %d callers waited %v each on a locked table", adDBBreaker, calls, verdictCallerDL)
			}
			var wg sync.WaitGroup
			for range 5 { // five callers at a time, each with its own 1 s deadline
				wg.Go(func() {
					cctx, cancel := context.WithTimeout(ctx, verdictCallerDL)
					defer cancel()
					_, _ = ads.GetAds(cctx, &adproviderv1.GetAdsRequest{ContextKeys: []string{"pens"}})
				})
			}
			wg.Wait()
			calls += 5
		}
		t.Logf("%s opened after %d callers with %v deadlines", adDBBreaker, calls, verdictCallerDL)
		start := time.Now()
		_, err = ads.GetAds(ctx, &adproviderv1.GetAdsRequest{ContextKeys: []string{"pens"}})
		t.Logf("a later caller was answered in %v: %v", time.Since(start), status.Code(err))
		if !isOpenStatus(err, adDBBreaker) {
			t.Fatalf("later caller: %v, want CIRCUIT_OPEN from %s", err, adDBBreaker)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		waitBreaker(t, s.ad, adDBBreaker, breakerv1.BreakerState_BREAKER_STATE_CLOSED)
	})

	t.Run("a hung AdProvider trips GetAds for callers with 1 s deadlines", func(t *testing.T) {
		s.resetBreakers(t)
		p := s.process("adprovider")
		if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = p.cmd.Process.Signal(syscall.SIGCONT) }()
		var slow []time.Duration
		for getBreaker(t, s.rec, getAdsBreaker).GetState() != breakerv1.BreakerState_BREAKER_STATE_OPEN {
			if len(slow) == verdictHandfulOf {
				t.Fatalf("%s still closed after %d calls to a hung AdProvider", getAdsBreaker, len(slow))
			}
			cctx, cancel := context.WithTimeout(ctx, verdictCallerDL)
			start := time.Now()
			resp, err := rec.GetAds(cctx, adsReq)
			slow = append(slow, time.Since(start).Round(time.Millisecond))
			cancel()
			if err != nil || len(resp.GetDegraded()) != 1 || resp.GetDegraded()[0].GetFallback() != "house_ads" {
				t.Fatalf("call to a hung AdProvider: %v, %v; want house ads", resp, err)
			}
		}
		var fast []time.Duration
		for range 5 {
			cctx, cancel := context.WithTimeout(ctx, verdictCallerDL)
			start := time.Now()
			resp, err := rec.GetAds(cctx, adsReq)
			fast = append(fast, time.Since(start).Round(time.Microsecond))
			cancel()
			d := resp.GetDegraded()
			if err != nil || len(d) != 1 || d[0].GetReason() != "circuit_open" || d[0].GetBreaker() != getAdsBreaker {
				t.Fatalf("with the breaker open: %v, %v; want house ads from %s", d, err, getAdsBreaker)
			}
		}
		t.Logf("hung AdProvider: %d slow calls %v before %s opened, then house ads in %v", len(slow), slow, getAdsBreaker, fast)
	})
}

// isOpenStatus reports whether err is UNAVAILABLE with a CIRCUIT_OPEN
// ErrorInfo naming breaker and a RetryInfo.
func isOpenStatus(err error, breaker string) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		return false
	}
	var info, retry bool
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d.GetReason() == "CIRCUIT_OPEN" && d.GetMetadata()["breaker"] == breaker
		case *errdetails.RetryInfo:
			retry = d.GetRetryDelay().AsDuration() > 0
		}
	}
	return info && retry
}
