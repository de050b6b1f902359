package breaker

import (
	"context"
	"net"
	"testing"
	"time"

	mercari "github.com/mercari/go-circuitbreaker"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func noopInvoker(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
	return nil
}

// BenchmarkUnaryClientInterceptor measures the interceptor alone on a
// no-op invoker: none is the invoker called directly, closed and open the
// interceptor in each state, mercari the raw library's Do in the same run
// for a ratio. Callers' contexts carry a deadline (an hour away, so that it
// outlasts the run) within the method's timeout (two hours here), so the
// breaker keeps it; closed-capped has the default 5 s timeout, so the
// breaker must cut the caller's deadline and pays for
// context.WithTimeoutCause (its timer and context).
func BenchmarkUnaryClientInterceptor(b *testing.B) {
	cc, err := grpc.NewClient("passthrough:///bench", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	req, reply := &healthpb.HealthCheckRequest{}, &healthpb.HealthCheckResponse{}

	b.Run("none", func(b *testing.B) {
		invoker := grpc.UnaryInvoker(noopInvoker) // called through a func value, as the interceptor does
		b.ReportAllocs()
		for b.Loop() {
			_ = invoker(ctx, checkMethod, req, reply, cc)
		}
	})
	within := WithDefaults(WithTimeout(2 * time.Hour))
	b.Run("closed", func(b *testing.B) {
		set := NewSet(within)
		defer set.Close()
		intercept := UnaryClientInterceptor(set)
		b.ReportAllocs()
		for b.Loop() {
			_ = intercept(ctx, checkMethod, req, reply, cc, noopInvoker)
		}
	})
	b.Run("closed-capped", func(b *testing.B) {
		set := NewSet()
		defer set.Close()
		intercept := UnaryClientInterceptor(set)
		b.ReportAllocs()
		for b.Loop() {
			_ = intercept(ctx, checkMethod, req, reply, cc, noopInvoker)
		}
	})
	b.Run("open", func(b *testing.B) {
		set := NewSet(within, WithDefaults(WithConsecutiveFailures(1), WithOpenTimeout(time.Hour, time.Hour)))
		defer set.Close()
		intercept := UnaryClientInterceptor(set)
		_ = intercept(ctx, checkMethod, req, reply, cc, func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
			return errDown
		})
		b.ReportAllocs()
		for b.Loop() {
			if err := intercept(ctx, checkMethod, req, reply, cc, noopInvoker); err == nil {
				b.Fatal("admitted")
			}
		}
	})
	b.Run("mercari", func(b *testing.B) {
		// The library as it is meant to be used, minus its counter ticker
		// (a goroutine that would outlive the benchmark).
		cb := mercari.New(mercari.WithCounterResetInterval(-1))
		b.ReportAllocs()
		for b.Loop() {
			_, _ = cb.Do(ctx, func() (any, error) {
				return nil, noopInvoker(ctx, checkMethod, req, reply, cc)
			})
		}
	})
}

// BenchmarkUnaryClientInterceptorParallel shows the cost under contention
// on one breaker, which is where a per-breaker lock would hurt.
func BenchmarkUnaryClientInterceptorParallel(b *testing.B) {
	cc, err := grpc.NewClient("passthrough:///bench", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.Run("closed", func(b *testing.B) {
		set := NewSet(WithDefaults(WithTimeout(2 * time.Hour)))
		defer set.Close()
		intercept := UnaryClientInterceptor(set)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = intercept(ctx, checkMethod, nil, nil, cc, noopInvoker)
			}
		})
	})
	b.Run("mercari", func(b *testing.B) {
		cb := mercari.New(mercari.WithCounterResetInterval(-1))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = cb.Do(ctx, func() (any, error) { return nil, noopInvoker(ctx, checkMethod, nil, nil, cc) })
			}
		})
	})
}

// BenchmarkRoundTrip is a real unary call over loopback TCP, without and
// with the interceptor. End-to-end times drift between runs; run with
// -count and compare the medians of the two in the same run.
func BenchmarkRoundTrip(b *testing.B) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, &fakeHealth{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	// breaker keeps the caller's minute (within its two hours); capped cuts
	// it to the default 5 s timeout, paying for a timer per call.
	set := NewSet(WithDefaults(WithTimeout(2 * time.Hour)))
	defer set.Close()
	capped := NewSet()
	defer capped.Close()
	for _, c := range []struct {
		name string
		opts []grpc.DialOption
	}{
		{"direct", nil},
		{"breaker", []grpc.DialOption{grpc.WithUnaryInterceptor(UnaryClientInterceptor(set))}},
		{"breaker-capped", []grpc.DialOption{grpc.WithUnaryInterceptor(UnaryClientInterceptor(capped))}},
	} {
		b.Run(c.name, func(b *testing.B) {
			cc, err := grpc.NewClient(lis.Addr().String(), append(c.opts, grpc.WithTransportCredentials(insecure.NewCredentials()))...)
			if err != nil {
				b.Fatal(err)
			}
			defer cc.Close()
			client := healthpb.NewHealthClient(cc)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := client.Check(ctx, checkReq()); err != nil { // connect
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.Check(ctx, checkReq()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
