package validate_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	breakerv1 "github.com/breakwater/breakwater/gen/go/breaker/v1"
	moneyv1 "github.com/breakwater/breakwater/gen/go/money/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/internal/validate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func usd(units int64, nanos int32) *moneyv1.Money {
	return &moneyv1.Money{CurrencyCode: "USD", Units: units, Nanos: nanos}
}

func goodListing() *adproviderv1.AdListing {
	return &adproviderv1.AdListing{
		Ad: &adproviderv1.Ad{
			Asin:     "B00004Z5M1",
			Title:    "Gel pens, 12 colours",
			ImageUrl: "https://example.com/pens.jpg",
			Price:    usd(12, 990000000),
			Text:     "Write in colour.",
		},
		Categories: []string{"Pens"},
		Keywords:   []string{"gel"},
		Bid:        usd(0, 250000000),
		Active:     true,
	}
}

func goodReview() *recommenderv1.Review {
	return &recommenderv1.Review{
		Asin:       "B00004Z5M1",
		ReviewerId: "A3BW5FMN8G5YHV",
		Overall:    5,
		Helpful:    &recommenderv1.Helpfulness{HelpfulVotes: 1, TotalVotes: 2},
		ReviewTime: timestamppb.Now(),
	}
}

// cases lists, for each request message, valid requests (no fields) and
// invalid ones with the field paths the client must be told about. It is the
// contract's executable summary: a rule that does not compile or does not fire
// fails here.
var cases = []struct {
	name   string
	msg    proto.Message
	fields []string // nil: valid
}{
	{"adprovider get ads empty", &adproviderv1.GetAdsRequest{}, nil},
	{"adprovider get ads full", &adproviderv1.GetAdsRequest{ContextKeys: []string{"pens"}, Asin: "0078800242", MaxAds: 10}, nil},
	{"adprovider get ads bad asin", &adproviderv1.GetAdsRequest{Asin: "b0000"}, []string{"asin"}},
	{"adprovider get ads too many", &adproviderv1.GetAdsRequest{MaxAds: 11}, []string{"max_ads"}},
	{"adprovider get ads negative", &adproviderv1.GetAdsRequest{MaxAds: -1}, []string{"max_ads"}},
	{"adprovider get ads empty key", &adproviderv1.GetAdsRequest{ContextKeys: []string{""}}, []string{"context_keys[0]"}},
	{"adprovider create ad", &adproviderv1.CreateAdRequest{Listing: goodListing()}, nil},
	{"adprovider create ad missing", &adproviderv1.CreateAdRequest{}, []string{"listing"}},
	{"adprovider create ad bad fields", &adproviderv1.CreateAdRequest{Listing: func() *adproviderv1.AdListing {
		l := goodListing()
		l.Ad.Asin = "nope"
		l.Ad.Title = ""
		l.Ad.ImageUrl = "not a url"
		l.Ad.Price = nil
		l.Bid = &moneyv1.Money{CurrencyCode: "usd", Units: 1, Nanos: -5}
		return l
	}()}, []string{"listing.ad.asin", "listing.ad.image_url", "listing.ad.price", "listing.ad.title", "listing.bid", "listing.bid.currency_code"}},
	{"adprovider list ads", &adproviderv1.ListAdsRequest{PageSize: 500}, nil},
	{"adprovider list ads too big", &adproviderv1.ListAdsRequest{PageSize: 501}, []string{"page_size"}},

	{"recommender get product", &recommenderv1.GetProductRequest{Asin: "B00004Z5M1"}, nil},
	{"recommender get product empty", &recommenderv1.GetProductRequest{}, []string{"asin"}},
	{"recommender list products", &recommenderv1.ListProductsRequest{PageSize: 1000, Category: "Pens"}, nil},
	{"recommender list products too big", &recommenderv1.ListProductsRequest{PageSize: 1001}, []string{"page_size"}},
	{"recommender create product", &recommenderv1.CreateProductRequest{Product: &recommenderv1.Product{
		Asin: "B00004Z5M1", Title: "Pens", Price: usd(3, 0),
		Categories: []*recommenderv1.CategoryPath{{Path: []string{"Office Products", "Pens"}}},
		SalesRank:  map[string]int64{"Office Products": 12},
	}}, nil},
	{"recommender create product bad", &recommenderv1.CreateProductRequest{Product: &recommenderv1.Product{
		Asin: "B00004Z5M", Categories: []*recommenderv1.CategoryPath{{}},
	}}, []string{"product.asin", "product.categories[0].path"}},
	{"recommender list reviews", &recommenderv1.ListReviewsRequest{Asin: "B00004Z5M1"}, nil},
	{"recommender create review", &recommenderv1.CreateReviewRequest{Review: goodReview(), RequestId: "2f1c6e8e-6a43-4c55-9d0e-1d9f3f5d8a11"}, nil},
	{"recommender create review overall 0", &recommenderv1.CreateReviewRequest{Review: func() *recommenderv1.Review {
		r := goodReview()
		r.Overall = 0
		return r
	}()}, []string{"review.overall"}},
	{"recommender create review overall 6 bad votes", &recommenderv1.CreateReviewRequest{Review: func() *recommenderv1.Review {
		r := goodReview()
		r.Overall = 6
		r.Helpful = &recommenderv1.Helpfulness{HelpfulVotes: 3, TotalVotes: 2}
		return r
	}()}, []string{"review.helpful", "review.overall"}},
	{"recommender create review bad request id", &recommenderv1.CreateReviewRequest{Review: goodReview(), RequestId: "has space"}, []string{"request_id"}},
	{"recommender list recommendations none", &recommenderv1.ListRecommendationsRequest{}, nil},
	{"recommender list recommendations bad", &recommenderv1.ListRecommendationsRequest{ReviewerId: "a b", MaxResults: 101}, []string{"max_results", "reviewer_id"}},
	{"recommender get ads", &recommenderv1.GetAdsRequest{ContextKeys: []string{"office"}}, nil},

	{"breaker list", &breakerv1.ListBreakersRequest{}, nil},
	{"breaker get empty name", &breakerv1.GetBreakerRequest{}, []string{"name"}},
	{"breaker set mode", &breakerv1.SetBreakerModeRequest{Name: "x", Mode: breakerv1.BreakerMode_BREAKER_MODE_FORCED_OPEN}, nil},
	{"breaker set mode unspecified", &breakerv1.SetBreakerModeRequest{Name: "x"}, []string{"mode"}},
	{"breaker set mode undefined", &breakerv1.SetBreakerModeRequest{Name: "x", Mode: 42}, []string{"mode"}},
	{"breaker reset", &breakerv1.ResetBreakerRequest{}, []string{"name"}},
}

func TestContractRules(t *testing.T) {
	v, err := validate.NewValidator(
		adproviderv1.File_adprovider_v1_adprovider_proto.Services().Get(0),
		recommenderv1.File_recommender_v1_recommender_proto.Services().Get(0),
		breakerv1.File_breaker_v1_breaker_proto.Services().Get(0),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Validate(tc.msg)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("valid request rejected: %v", err)
				}
				return
			}
			st := validate.Status(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("code = %v, want InvalidArgument (err %v)", st.Code(), err)
			}
			if got := violatedFields(t, st); !slices.Equal(got, tc.fields) {
				t.Fatalf("violated fields = %q, want %q\n%v", got, tc.fields, err)
			}
		})
	}
}

func violatedFields(t *testing.T, st *status.Status) []string {
	t.Helper()
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				if fv.GetDescription() == "" {
					t.Errorf("violation of %q has no description", fv.GetField())
				}
				fields = append(fields, fv.GetField())
			}
		}
	}
	slices.Sort(fields)
	return slices.Compact(fields)
}

type adServer struct {
	adproviderv1.UnimplementedAdProviderServiceServer
}

// TestUnaryServerInterceptor checks the wire: a bad request never reaches the
// handler and the client can read which field was wrong.
func TestUnaryServerInterceptor(t *testing.T) {
	v, err := validate.NewValidator(adproviderv1.File_adprovider_v1_adprovider_proto.Services().Get(0))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(validate.UnaryServerInterceptor(v)))
	adproviderv1.RegisterAdProviderServiceServer(srv, adServer{})
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := adproviderv1.NewAdProviderServiceClient(cc)

	_, err = client.GetAds(context.Background(), &adproviderv1.GetAdsRequest{MaxAds: 50})
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		t.Fatalf("bad request: code %v, want InvalidArgument: %v", st.Code(), err)
	}
	if got := violatedFields(t, st); !slices.Equal(got, []string{"max_ads"}) {
		t.Fatalf("violations %q, want max_ads", got)
	}

	// A valid request passes validation and reaches the (unimplemented) handler.
	_, err = client.GetAds(context.Background(), &adproviderv1.GetAdsRequest{MaxAds: 3})
	if code := status.Code(err); code != codes.Unimplemented {
		t.Fatalf("good request: code %v, want Unimplemented from the handler: %v", code, err)
	}
}

// TestInvalidTimestamp: a Timestamp with nanos out of range, which
// protovalidate's range rules let through, is INVALID_ARGUMENT naming the
// field, at any depth; a valid one passes.
func TestInvalidTimestamp(t *testing.T) {
	v, err := validate.NewValidator(recommenderv1.File_recommender_v1_recommender_proto.Services().Get(0))
	if err != nil {
		t.Fatal(err)
	}
	icpt := validate.UnaryServerInterceptor(v)
	ok := func(context.Context, any) (any, error) { return "ok", nil }
	review := func(ts *timestamppb.Timestamp) *recommenderv1.CreateReviewRequest {
		return &recommenderv1.CreateReviewRequest{Review: &recommenderv1.Review{
			Asin: "B00004Z5M1", ReviewerId: "A1", Overall: 5, ReviewTime: ts}}
	}
	for _, ts := range []*timestamppb.Timestamp{{Seconds: 1, Nanos: -1}, {Seconds: 1, Nanos: 1_000_000_000}, {Seconds: 253402300800}} {
		_, err := icpt(context.Background(), review(ts), nil, ok)
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("review_time %v: %v, want INVALID_ARGUMENT", ts, err)
			continue
		}
		var fields []string
		for _, d := range status.Convert(err).Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, f := range br.GetFieldViolations() {
					fields = append(fields, f.GetField())
				}
			}
		}
		if !slices.Contains(fields, "review.review_time") {
			t.Errorf("review_time %v: violations on %v, want review.review_time", ts, fields)
		}
	}
	if _, err := icpt(context.Background(), review(&timestamppb.Timestamp{Seconds: 1, Nanos: 999_999_999}), nil, ok); err != nil {
		t.Errorf("valid review_time: %v", err)
	}
}

// TestEnumExpectations: a violated enum rule says what the field accepts,
// in the names clients send; an unset enum says it is required.
func TestEnumExpectations(t *testing.T) {
	v, err := validate.NewValidator(breakerv1.File_breaker_v1_breaker_proto.Services().Get(0))
	if err != nil {
		t.Fatal(err)
	}
	want := "want one of BREAKER_MODE_AUTO, BREAKER_MODE_FORCED_OPEN, BREAKER_MODE_FORCED_CLOSED"
	for _, tc := range []struct {
		name string
		mode breakerv1.BreakerMode
		also string
	}{
		{"unset", 0, "(the field is required)"},
		{"undefined", 42, "value must be one of the defined enum values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := validate.Status(v.Validate(&breakerv1.SetBreakerModeRequest{Name: "x", Mode: tc.mode}))
			var desc string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) == 1 {
					desc = br.GetFieldViolations()[0].GetDescription()
				}
			}
			for _, w := range []string{want, tc.also} {
				if !strings.Contains(desc, w) || !strings.Contains(st.Message(), w) {
					t.Errorf("description %q / message %q lacks %q", desc, st.Message(), w)
				}
			}
		})
	}
}
