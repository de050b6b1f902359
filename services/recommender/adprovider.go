package recommender

import (
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	_ "google.golang.org/grpc/health" // client-side health checking of each endpoint
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/breaker/breakerlb"
)

// AdProviderTarget names the AdProvider connection in breaker names:
// "adprovider/adprovider.v1.AdProviderService/GetAds".
const AdProviderTarget = "adprovider"

// adProviderMethodConfig retries GetAds on UNAVAILABLE (a refused or reset
// connection, a restarting AdProvider, a replica whose database breaker is
// open) a couple of times, quickly, each time on a replica the call has not
// tried (package breakerlb). gRPC runs these retries inside the breaker
// interceptor, which sees only the final outcome: one logical call is one
// count, and a call the breaker rejects is never retried.
// DEADLINE_EXCEEDED is not retried: the deadline is spent; a replica that
// hangs is covered by the hedge ([GetAdsHedgeDelay]).
const adProviderMethodConfig = `[{
    "name": [{"service": "adprovider.v1.AdProviderService", "method": "GetAds"}],
    "retryPolicy": {
      "maxAttempts": 3,
      "initialBackoff": "0.02s",
      "maxBackoff": "0.1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]`

// GetAdsHedgeDelay is how long a GetAds attempt may go unanswered before a
// second one goes to another replica: a sixth of [GetAdsTimeout], fifty
// times a healthy call (about a millisecond), so a hung replica costs a
// shopper 50 ms rather than house ads.
const GetAdsHedgeDelay = 50 * time.Millisecond

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
//
// target is a gRPC target ("dns:///adprovider-headless:8001", whose every A
// record is a replica) or a comma-separated list of host:port addresses
// ("127.0.0.1:8001,127.0.0.1:8011"), which is dialled as a fixed list. Calls
// are balanced round-robin over every address the target resolves to, with
// gRPC's client-side health checking of each (AdProvider's
// "adprovider.v1.AdProviderService" health), and, when there are two or
// more, a breaker per replica (package breakerlb, named
// "adprovider@<address>"): a replica that refuses, hangs or fails calls is
// out of rotation after three failures, and back after a successful trial.
// GetAds is hedged after [GetAdsHedgeDelay] to another replica, and its
// retries go to another replica. The per-method breakers see only what
// the service as a whole answered.
func DialAdProvider(target string, set *breaker.Set, opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	target, resolverOpt, err := adProviderTarget(target)
	if err != nil {
		return nil, err
	}
	getAds := "/" + adproviderv1.AdProviderService_ServiceDesc.ServiceName + "/GetAds"
	base := []grpc.DialOption{
		grpc.WithDefaultServiceConfig(breakerlb.Config(set, AdProviderTarget,
			adproviderv1.AdProviderService_ServiceDesc.ServiceName, adProviderMethodConfig)),
		grpc.WithConnectParams(adProviderBackoff),
		grpc.WithKeepaliveParams(adProviderKeepalive),
		grpc.WithChainUnaryInterceptor(
			breaker.UnaryClientInterceptor(set, breaker.WithTarget(AdProviderTarget), breaker.WithHealthProbe()),
			breakerlb.UnaryClientInterceptor(breakerlb.WithHedging(GetAdsHedgeDelay, getAds))),
	}
	if resolverOpt != nil {
		base = append(base, resolverOpt)
	}
	conn, err := grpc.NewClient(target, append(base, opts...)...)
	if err != nil {
		return nil, err
	}
	// Every method's breaker exists from the start, so operators can see and
	// force it before the first call; so does every replica's, once the
	// channel has resolved the target, which Connect starts now rather than
	// at the first call.
	conn.Connect()
	for _, m := range adproviderv1.AdProviderService_ServiceDesc.Methods {
		set.MethodBreaker(AdProviderTarget, "/"+adproviderv1.AdProviderService_ServiceDesc.ServiceName+"/"+m.MethodName)
	}
	return conn, nil
}

// adProviderListScheme is the resolver scheme of a comma-separated target.
const adProviderListScheme = "adprovider-list"

// adProviderTarget turns a comma-separated list of addresses into a target
// of a resolver that returns them all; any other target is gRPC's to parse.
func adProviderTarget(target string) (string, grpc.DialOption, error) {
	if !strings.Contains(target, ",") {
		return target, nil, nil
	}
	var eps []resolver.Endpoint
	for a := range strings.SplitSeq(target, ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if strings.Contains(a, "://") {
			return "", nil, fmt.Errorf("adprovider target %q: a list holds host:port addresses, not targets", target)
		}
		eps = append(eps, resolver.Endpoint{Addresses: []resolver.Address{{Addr: a}}})
	}
	r := manual.NewBuilderWithScheme(adProviderListScheme)
	r.InitialState(resolver.State{Endpoints: eps})
	return adProviderListScheme + ":///" + AdProviderTarget, grpc.WithResolvers(r), nil
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
