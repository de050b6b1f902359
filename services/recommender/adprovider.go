package recommender

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/keepalive"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
)

// AdProviderTarget names the AdProvider connection in breaker names:
// "adprovider/adprovider.v1.AdProviderService/GetAds".
const AdProviderTarget = "adprovider"

// adProviderServiceConfig retries GetAds on UNAVAILABLE (a refused or reset
// connection, a restarting AdProvider) a couple of times, quickly. gRPC runs
// these retries inside the breaker interceptor, which sees only the final
// outcome: one logical call is one count, and a call the breaker rejects is
// never retried. DEADLINE_EXCEEDED is not retried: the deadline is spent.
const adProviderServiceConfig = `{
  "methodConfig": [{
    "name": [{"service": "adprovider.v1.AdProviderService", "method": "GetAds"}],
    "retryPolicy": {
      "maxAttempts": 3,
      "initialBackoff": "0.02s",
      "maxBackoff": "0.1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
}`

// Connection settings of the AdProvider channel. A dependency that comes
// back must be noticed within a second, whatever the outage: the reconnect
// back-off is capped at a second (gRPC's default grows to two minutes), and
// the breakers' recovery probes reset it. A connection that goes silent (a
// frozen peer, a middlebox that drops it) is found by keepalive pings: one
// after 10 s without activity (gRPC's minimum for clients), given 2 s to
// answer, so within 12 s it is closed and a new one dialled. The servers'
// enforcement policy (internal/serve) allows pings this often.
var (
	adProviderBackoff = grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
		MinConnectTimeout: 2 * time.Second,
	}
	adProviderKeepalive = keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 2 * time.Second, PermitWithoutStream: true}
)

// DialAdProvider returns a client connection to AdProvider for the server's
// life: every unary call passes breaker.UnaryClientInterceptor(set), so each
// method has its own breaker, which probes AdProvider's grpc.health.v1 while
// it is open and half-opens as soon as AdProvider answers; GetAds is retried
// on UNAVAILABLE inside the breaker. Reconnection is quick and keepalive
// finds silent connections (see the settings above). opts add to these,
// typically transport credentials, and may replace the connection settings.
func DialAdProvider(target string, set *breaker.Set, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	base := []grpc.DialOption{
		grpc.WithDefaultServiceConfig(adProviderServiceConfig),
		grpc.WithConnectParams(adProviderBackoff),
		grpc.WithKeepaliveParams(adProviderKeepalive),
		grpc.WithChainUnaryInterceptor(breaker.UnaryClientInterceptor(set,
			breaker.WithTarget(AdProviderTarget), breaker.WithHealthProbe())),
	}
	conn, err := grpc.NewClient(target, append(base, opts...)...)
	if err != nil {
		return nil, err
	}
	// Every method's breaker exists from the start, so operators can see and
	// force it before the first call.
	for _, m := range adproviderv1.AdProviderService_ServiceDesc.Methods {
		set.MethodBreaker(AdProviderTarget, "/"+adproviderv1.AdProviderService_ServiceDesc.ServiceName+"/"+m.MethodName)
	}
	return conn, nil
}

// GetAdsTimeout is the GetAds breaker's default timeout, which caps every
// call to AdProvider whatever the caller's deadline: ads are worth a third
// of a second of a shopper's time, no more.
const GetAdsTimeout = 300 * time.Millisecond

// AdProviderBreakers gives GetAds its breaker defaults: the [GetAdsTimeout]
// cap, a quick trip (5 failures in a row), and the house ads as its
// fallback, on rejection and on failure ([HouseAdsFallback] of
// [HouseAds]), so a hanging AdProvider costs a few slow calls before house
// ads come in the time of a local call. They are defaults below any
// BREAKER_CONFIG file ([breaker.WithMethodDefaults]): a file's "timeout" for
// GetAds is the one that applies. Options in opts come after the base and
// win over it.
func AdProviderBreakers(opts ...breaker.Option) breaker.SetOption {
	base := []breaker.Option{
		breaker.WithTimeout(GetAdsTimeout),
		breaker.WithConsecutiveFailures(5),
		breaker.WithFallback(HouseAdsFallback(HouseAds())),
		breaker.WithFallbackOnFailure(true),
	}
	return breaker.WithMethodDefaults(adproviderv1.AdProviderService_ServiceDesc.ServiceName, "GetAds", append(base, opts...)...)
}
