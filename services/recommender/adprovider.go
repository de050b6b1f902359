package recommender

import (
	"time"

	"google.golang.org/grpc"

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

// DialAdProvider returns a client connection to AdProvider for the server's
// life: every unary call passes breaker.UnaryClientInterceptor(set), so each
// method has its own breaker, and GetAds is retried on UNAVAILABLE inside
// it. opts add to these, typically transport credentials.
func DialAdProvider(target string, set *breaker.Set, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	base := []grpc.DialOption{
		grpc.WithDefaultServiceConfig(adProviderServiceConfig),
		grpc.WithChainUnaryInterceptor(breaker.UnaryClientInterceptor(set, breaker.WithTarget(AdProviderTarget))),
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
