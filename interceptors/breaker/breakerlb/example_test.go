package breakerlb_test

import (
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/breaker/breakerlb"
)

// A client of a service with several replicas behind one DNS name (a
// Kubernetes headless Service): round-robin over every replica, gRPC's
// health checking of each, a breaker per replica, retries and hedges on
// another replica, and the method breakers judging the service as a whole.
func Example() {
	set := breaker.NewSet()
	defer set.Close()
	conn, err := grpc.NewClient("dns:///adprovider-headless.shop.svc.cluster.local:8001",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(breakerlb.Config(set, "adprovider", "adprovider.v1.AdProviderService", "")),
		grpc.WithChainUnaryInterceptor(
			breaker.UnaryClientInterceptor(set, breaker.WithTarget("adprovider")),
			breakerlb.UnaryClientInterceptor(
				breakerlb.WithHedging(50*time.Millisecond, "/adprovider.v1.AdProviderService/GetAds"))))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fmt.Println(breakerlb.EndpointBreakerName("adprovider", "10.0.0.7:8001"))
	// Output: adprovider@10.0.0.7:8001
}
