package recommender

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"unicode"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
)

// AdsClient is the part of AdProvider the server calls;
// adproviderv1.AdProviderServiceClient satisfies it.
type AdsClient interface {
	GetAds(ctx context.Context, in *adproviderv1.GetAdsRequest, opts ...grpc.CallOption) (*adproviderv1.GetAdsResponse, error)
}

// GetAds implements recommender.v1.RecommenderService: AdProvider's ads, or
// the house ads marked degraded when the breaker rejects the call or the call
// fails. INVALID_ARGUMENT from AdProvider is returned as it is: the request was
// the caller's, and the breaker counts it as a success, not an outage.
func (s *Server) GetAds(ctx context.Context, req *recommenderv1.GetAdsRequest) (*recommenderv1.GetAdsResponse, error) {
	a := s.fetchAds(ctx, req, false)
	if a.err != nil {
		return nil, a.err
	}
	resp := &recommenderv1.GetAdsResponse{Ads: a.ads}
	if a.degraded != nil {
		resp.Degraded = []*recommenderv1.Degradation{a.degraded}
	}
	return resp, nil
}

type adsAnswer struct {
	ads      []*adproviderv1.Ad
	degraded *recommenderv1.Degradation
	err      error // only when the caller must see it
}

// fetchAds asks AdProvider and falls back to house ads. In ListRecommendations
// (houseOnMistake) even INVALID_ARGUMENT gets house ads, marked
// "invalid_argument": the ads are a side dish there, and the recommendations
// are still good.
func (s *Server) fetchAds(ctx context.Context, req *recommenderv1.GetAdsRequest, houseOnMistake bool) adsAnswer {
	if s.ads == nil {
		return s.houseAnswer(req, "not_configured")
	}
	callCtx, cancel := context.WithTimeout(ctx, s.opts.adsTimeout)
	defer cancel()
	resp, err := s.ads.GetAds(callCtx, &adproviderv1.GetAdsRequest{
		ContextKeys: req.GetContextKeys(), Asin: req.GetAsin(), MaxAds: req.GetMaxAds(),
	})
	if err == nil {
		return adsAnswer{ads: resp.GetAds()}
	}
	if ctx.Err() != nil && !errors.Is(err, breaker.ErrOpen) {
		// The caller gave up: nobody is waiting for house ads.
		return adsAnswer{err: status.FromContextError(ctx.Err()).Err()}
	}
	if status.Code(err) == codes.InvalidArgument && !houseOnMistake {
		return adsAnswer{err: err}
	}
	r := reason(err)
	level := slog.LevelWarn
	if r == ReasonCircuitOpen {
		level = slog.LevelDebug // the breaker already logged its opening; one line per request is noise
	}
	s.opts.logger.Log(ctx, level, "serving house ads", "reason", r, "error", err)
	return s.houseAnswer(req, r)
}

func (s *Server) houseAnswer(req *recommenderv1.GetAdsRequest, why string) adsAnswer {
	n := int(req.GetMaxAds())
	if n <= 0 {
		n = 3
	}
	ads := make([]*adproviderv1.Ad, 0, n)
	for _, ad := range s.opts.houseAds {
		if len(ads) == n {
			break
		}
		if ad.GetAsin() != req.GetAsin() { // never the product being viewed
			ads = append(ads, ad)
		}
	}
	return adsAnswer{ads: ads, degraded: &recommenderv1.Degradation{
		Dependency: DependencyAdProvider, Reason: why, Fallback: FallbackHouseAds,
	}}
}

// reason names why a dependency failed, for Degradation.reason: circuit_open
// for a rejection (ours, or one reported in a status's ErrorInfo by a breaker
// downstream), else the gRPC code in snake case.
func reason(err error) string {
	if errors.Is(err, breaker.ErrOpen) {
		return ReasonCircuitOpen
	}
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() == breaker.ReasonCircuitOpen {
			return ReasonCircuitOpen
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "deadline_exceeded"
	}
	code := st.Code()
	if code == codes.Unknown || code == codes.OK {
		return "unavailable"
	}
	return snake(code.String())
}

// snake turns "DeadlineExceeded" into "deadline_exceeded".
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
