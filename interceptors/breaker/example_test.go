package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/benbjohnson/clock"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// deadAddress is an address nobody listens on: calls to it fail with
// UNAVAILABLE at once.
func deadAddress() string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

func ExampleUnaryClientInterceptor() {
	set := breaker.NewSet(breaker.WithDefaults(breaker.WithConsecutiveFailures(2)))
	defer set.Close()
	conn, err := grpc.NewClient(deadAddress(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(breaker.UnaryClientInterceptor(set, breaker.WithTarget("health"))),
	)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	for i := range 3 {
		_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
		fmt.Println(i+1, status.Code(err), errors.Is(err, breaker.ErrOpen))
	}
	b, _ := set.Get("health/grpc.health.v1.Health/Check")
	fmt.Println(b.Name(), b.State())
	// Output:
	// 1 Unavailable false
	// 2 Unavailable false
	// 3 Unavailable true
	// health/grpc.health.v1.Health/Check open
}

func ExampleWithFallback() {
	houseAnswer := func(_ context.Context, _ string, _, reply any, cause error) error {
		reply.(*healthpb.HealthCheckResponse).Status = healthpb.HealthCheckResponse_NOT_SERVING
		return nil
	}
	set := breaker.NewSet(breaker.WithMethod("grpc.health.v1.Health", "Check",
		breaker.WithFallback(houseAnswer),
		breaker.WithFallbackOnFailure(true),
		breaker.WithConsecutiveFailures(1),
	))
	defer set.Close()
	conn, err := grpc.NewClient(deadAddress(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(breaker.UnaryClientInterceptor(set, breaker.WithTarget("health"))),
	)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	for range 2 { // the failure, then the rejection, both answered
		var header metadata.MD
		resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{}, grpc.Header(&header))
		info, served := breaker.FallbackServed(header)
		fmt.Printf("%v %v %v by=%s reason=%s rejected_by=%q\n", resp.GetStatus(), err, served, info.Breaker, info.Reason, info.RejectedBy)
	}
	// Output:
	// NOT_SERVING <nil> true by=health/grpc.health.v1.Health/Check reason=Unavailable rejected_by=""
	// NOT_SERVING <nil> true by=health/grpc.health.v1.Health/Check reason=CIRCUIT_OPEN rejected_by="health/grpc.health.v1.Health/Check"
}

func ExampleBreaker_Do() {
	clk := clock.NewMock() // tests move time; production leaves WithClock out
	set := breaker.NewSet(breaker.WithClock(clk), breaker.WithDefaults(
		breaker.WithConsecutiveFailures(3),
		breaker.WithOpenTimeout(10*time.Second, time.Minute),
		breaker.WithHalfOpen(1, 1),
	))
	defer set.Close()
	db := set.Breaker("recommender-db", breaker.WithKind(breaker.KindDatabase))

	errDown := errors.New("connection refused")
	for range 3 {
		_ = db.Do(context.Background(), func(context.Context) error { return errDown })
	}
	clk.Add(4 * time.Second)
	err := db.Do(context.Background(), func(context.Context) error { return nil })
	var open *breaker.OpenError
	if errors.As(err, &open) {
		fmt.Println(db.State(), open.RetryAfter)
	}
	clk.Add(6 * time.Second)
	err = db.Do(context.Background(), func(context.Context) error { return nil }) // the probe
	fmt.Println(err, db.State())
	// Output:
	// open 6s
	// <nil> closed
}

func ExampleLoadConfig() {
	cfg, err := breaker.LoadConfig("testdata/breakers.json")
	if err != nil {
		panic(err)
	}
	set := breaker.NewSet(breaker.WithConfig(cfg))
	defer set.Close()
	s := set.Breaker("recommender-db").Settings()
	fmt.Println(s.Timeout, s.HalfOpenMaxProbes, s.FailureRateThreshold, s.MinimumCalls, s.Window)
	// Output: 1.5s 2 0.5 20 10s
}

func ExampleNewSlogListener() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a stable output for the example
			}
			return a
		},
	}))
	set := breaker.NewSet(
		breaker.WithListener(breaker.NewSlogListener(logger)),
		breaker.WithDefaults(breaker.WithConsecutiveFailures(1)),
	)
	b := set.Breaker("payments")
	_ = b.Do(context.Background(), func(context.Context) error { return errors.New("boom") })
	b.SetMode(breaker.ModeForcedClosed)
	_ = set.Close() // delivers the queued events
	// Output:
	// level=WARN msg="breaker state changed" breaker=payments kind=generic from=closed to=open mode=auto reason="consecutive failures: 1 in a row (threshold 1)" generation=1 last_error=boom
	// level=INFO msg="breaker state changed" breaker=payments kind=generic from=open to=closed mode=forced-closed reason="mode forced-closed" generation=2
}

// A listener that follows one breaker is added once that breaker exists,
// and compares the event's breaker by identity, not by name.
func ExampleSet_AddListener() {
	set := breaker.NewSet(breaker.WithDefaults(breaker.WithConsecutiveFailures(1)))
	db := set.Breaker("orders/postgres")
	set.AddListener(breaker.ListenerFunc(func(e breaker.Event) {
		if e.Breaker == db {
			fmt.Println(e.Breaker.Name(), e.From, "→", e.To)
		}
	}), breaker.EventStateChange)
	_ = set.Breaker("other").Do(context.Background(), func(context.Context) error { return errors.New("boom") })
	_ = db.Do(context.Background(), func(context.Context) error { return errors.New("boom") })
	_ = set.Close() // delivers the queued events
	// Output: orders/postgres closed → open
}
