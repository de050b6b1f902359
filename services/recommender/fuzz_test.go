package recommender_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/maximal"
	"github.com/breakwater/breakwater/internal/pgtest"
)

// fuzzMethods are the RPCs FuzzRequests drives, by index: raw bytes are
// unmarshalled into the request type of fuzzMethods[i % len].
var fuzzMethods = []string{"GetProduct", "ListProducts", "CreateProduct", "ListReviews", "CreateReview", "ListRecommendations", "GetAds"}

func fuzzSeed(f *testing.F, method string, m proto.Message) {
	for i, name := range fuzzMethods {
		if name == method {
			b, err := proto.Marshal(m)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(i), b)
			return
		}
	}
	f.Fatalf("no method %s", method)
}

// FuzzRequests feeds raw bytes, as request messages of every Recommender
// RPC, through the real chain: validation interceptor, handler, store,
// PostgreSQL (pgtest), with the admin token so writes reach the store. No
// input may give INTERNAL or UNKNOWN or crash the server, and every row it
// leaves must still satisfy the contract: the catalog and reviews read back
// pass the API's validation rules. Bytes that are not a valid message
// (including invalid UTF-8 in a string, which gRPC itself refuses with its
// documented INTERNAL) are skipped. The seed corpus, issue 14's cases, runs
// in every `go test`.
func FuzzRequests(f *testing.F) {
	nul := "a\x00b"
	fuzzSeed(f, "ListProducts", &recommenderv1.ListProductsRequest{Category: nul})
	fuzzSeed(f, "ListProducts", &recommenderv1.ListProductsRequest{PageToken: token(`{"v":1,"a":"B00\u000000000"}`)})
	fuzzSeed(f, "ListReviews", &recommenderv1.ListReviewsRequest{PageToken: token(`{"v":1,"t":"9999-12-31T23:59:59Z","i":-1}`)})
	fuzzSeed(f, "ListReviews", &recommenderv1.ListReviewsRequest{PageSize: 1000})
	fuzzSeed(f, "CreateProduct", &recommenderv1.CreateProductRequest{Product: &recommenderv1.Product{Asin: "B0FUZZ0001", Title: nul}})
	fuzzSeed(f, "CreateProduct", &recommenderv1.CreateProductRequest{Product: &recommenderv1.Product{Asin: "B0FUZZ0001",
		SalesRank: map[string]int64{nul: 1}}})
	fuzzSeed(f, "CreateProduct", &recommenderv1.CreateProductRequest{Product: &recommenderv1.Product{Asin: "B0FUZZ0001",
		Related: &recommenderv1.RelatedProducts{AlsoBought: []string{"not an asin"}}}})
	fuzzSeed(f, "CreateProduct", &recommenderv1.CreateProductRequest{Product: &recommenderv1.Product{Asin: "B0FUZZ0001",
		Description: strings.Repeat("x", 1<<16)}})
	fuzzSeed(f, "CreateProduct", &recommenderv1.CreateProductRequest{Product: maximal.Product("B0FUZZ0002"), RequestId: "fuzz-1"})
	fuzzSeed(f, "CreateReview", &recommenderv1.CreateReviewRequest{Review: &recommenderv1.Review{Asin: "B00006IE7F",
		ReviewerId: "A1", Overall: 5, ReviewText: nul}})
	fuzzSeed(f, "CreateReview", &recommenderv1.CreateReviewRequest{Review: &recommenderv1.Review{Asin: "B00006IE7F",
		ReviewerId: "A1", Overall: 5, ReviewerName: nul}})
	fuzzSeed(f, "CreateReview", &recommenderv1.CreateReviewRequest{Review: &recommenderv1.Review{Asin: "B00006IE7F",
		ReviewerId: "A1", Overall: 5, ReviewTime: &timestamppb.Timestamp{Seconds: 253402300800}}})
	fuzzSeed(f, "CreateReview", &recommenderv1.CreateReviewRequest{Review: &recommenderv1.Review{Asin: "B00006IE7F",
		ReviewerId: "A1", Overall: 5, ReviewTime: &timestamppb.Timestamp{Seconds: -62135596800, Nanos: -1}}})
	fuzzSeed(f, "CreateReview", &recommenderv1.CreateReviewRequest{Review: maximal.Review("B00006IE7F", "A2"), RequestId: "fuzz-2"})
	fuzzSeed(f, "ListRecommendations", &recommenderv1.ListRecommendationsRequest{Asin: "B00006IE7F", ReviewerId: "A1", MaxResults: 100})
	fuzzSeed(f, "GetAds", &recommenderv1.GetAdsRequest{ContextKeys: []string{nul}, MaxAds: 10})
	fuzzSeed(f, "GetProduct", &recommenderv1.GetProductRequest{Asin: "B00006IE7F"})

	e := newEnv(f, pgtest.Shared(f).NewDatabase(f), true)
	v, err := protovalidate.New()
	if err != nil {
		f.Fatal(err)
	}
	c := e.client
	f.Fuzz(func(t *testing.T, method uint8, data []byte) {
		// The server bounds its own database and AdProvider calls; a call
		// still waiting after this long is a hang, not an answer.
		ctx, cancel := context.WithTimeout(asAdmin(t.Context()), 10*time.Second)
		defer cancel()
		name := fuzzMethods[int(method)%len(fuzzMethods)]
		call := map[string]func() (proto.Message, error){
			"GetProduct": func() (proto.Message, error) {
				return unmarshalCall(data, &recommenderv1.GetProductRequest{}, func(r *recommenderv1.GetProductRequest) (proto.Message, error) { return c.GetProduct(ctx, r) })
			},
			"ListProducts": func() (proto.Message, error) {
				return unmarshalCall(data, &recommenderv1.ListProductsRequest{}, func(r *recommenderv1.ListProductsRequest) (proto.Message, error) { return c.ListProducts(ctx, r) })
			},
			"CreateProduct": func() (proto.Message, error) {
				return unmarshalCall(data, &recommenderv1.CreateProductRequest{}, func(r *recommenderv1.CreateProductRequest) (proto.Message, error) { return c.CreateProduct(ctx, r) })
			},
			"ListReviews": func() (proto.Message, error) {
				return unmarshalCall(data, &recommenderv1.ListReviewsRequest{}, func(r *recommenderv1.ListReviewsRequest) (proto.Message, error) { return c.ListReviews(ctx, r) })
			},
			"CreateReview": func() (proto.Message, error) {
				return unmarshalCall(data, &recommenderv1.CreateReviewRequest{}, func(r *recommenderv1.CreateReviewRequest) (proto.Message, error) { return c.CreateReview(ctx, r) })
			},
			"ListRecommendations": func() (proto.Message, error) {
				return unmarshalCall(data, &recommenderv1.ListRecommendationsRequest{}, func(r *recommenderv1.ListRecommendationsRequest) (proto.Message, error) {
					return c.ListRecommendations(ctx, r)
				})
			},
			"GetAds": func() (proto.Message, error) {
				return unmarshalCall(data, &recommenderv1.GetAdsRequest{}, func(r *recommenderv1.GetAdsRequest) (proto.Message, error) { return c.GetAds(ctx, r) })
			},
		}[name]
		resp, err := call()
		if err == errNotAMessage {
			t.Skip("not a valid request message")
		}
		if code := status.Code(err); code == codes.Internal || code == codes.Unknown || code == codes.DeadlineExceeded {
			t.Fatalf("%s: %v", name, err)
		}
		if err != nil || !strings.HasPrefix(name, "Create") {
			return
		}
		// A write succeeded: what it stored must read back within the
		// contract, as must everything else on the first pages.
		if err := v.Validate(resp); err != nil {
			t.Errorf("%s answered a response that breaks the contract: %v", name, err)
		}
		for _, read := range []func() (proto.Message, error){
			func() (proto.Message, error) {
				return c.ListProducts(ctx, &recommenderv1.ListProductsRequest{PageSize: 100})
			},
			func() (proto.Message, error) {
				return c.ListReviews(ctx, &recommenderv1.ListReviewsRequest{PageSize: 100})
			},
		} {
			page, err := read()
			if err != nil {
				t.Fatalf("reading back after %s: %v", name, err)
			}
			if err := v.Validate(page); err != nil {
				t.Errorf("after %s, a stored row breaks the contract: %v", name, err)
			}
		}
	})
}

// errNotAMessage: the fuzzer's bytes do not decode as the request type.
var errNotAMessage = status.Error(codes.Aborted, "not a message")

func unmarshalCall[R proto.Message](data []byte, req R, call func(R) (proto.Message, error)) (proto.Message, error) {
	if err := proto.Unmarshal(data, req); err != nil {
		return nil, errNotAMessage
	}
	return call(req)
}
