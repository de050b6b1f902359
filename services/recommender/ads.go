package recommender

import (
	"context"
	"log/slog"
	"strings"
	"unicode"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
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
// the house ads marked degraded when the breaker rejected the call or the
// call failed (the breaker's fallback serves them; see [AdProviderBreakers]).
// INVALID_ARGUMENT from AdProvider is returned as it is: the request was the
// caller's, and the breaker counts it as a success, not an outage.
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

// fetchAds asks AdProvider through the breaker, which owns the call's
// deadline and serves the house ads when it cannot answer; the reply's
// header says when it did, and why. In ListRecommendations (houseOnMistake)
// INVALID_ARGUMENT also gets house ads, marked "invalid_argument": the ads
// are a side dish there, and the recommendations are still good.
func (s *Server) fetchAds(ctx context.Context, req *recommenderv1.GetAdsRequest, houseOnMistake bool) adsAnswer {
	in := &adproviderv1.GetAdsRequest{ContextKeys: req.GetContextKeys(), Asin: req.GetAsin(), MaxAds: req.GetMaxAds()}
	if s.ads == nil {
		return s.houseAnswer(ctx, in, "not_configured", nil)
	}
	var header metadata.MD
	resp, err := s.ads.GetAds(ctx, in, grpc.Header(&header))
	switch {
	case err == nil:
		if info, ok := breaker.FallbackServed(header); ok {
			d := degradation(info)
			level := slog.LevelWarn
			if d.GetReason() == ReasonCircuitOpen {
				level = slog.LevelDebug // the breaker logged its opening; one line per request is noise
			}
			s.opts.logger.Log(ctx, level, "served house ads", "reason", d.GetReason(), "breaker", d.GetBreaker())
			return adsAnswer{ads: resp.GetAds(), degraded: d}
		}
		return adsAnswer{ads: resp.GetAds()}
	case ctx.Err() != nil:
		// The caller gave up: nobody is waiting for house ads.
		return adsAnswer{err: status.FromContextError(ctx.Err()).Err()}
	case status.Code(err) == codes.InvalidArgument && houseOnMistake:
		return s.houseAnswer(ctx, in, "invalid_argument", err)
	}
	return adsAnswer{err: err}
}

// houseAnswer serves the house ads through the same fallback the breaker
// uses, for the cases no breaker judges.
func (s *Server) houseAnswer(ctx context.Context, in *adproviderv1.GetAdsRequest, why string, cause error) adsAnswer {
	out := &adproviderv1.GetAdsResponse{}
	if err := s.opts.adsFallback(ctx, adproviderv1.AdProviderService_GetAds_FullMethodName, in, out, cause); err != nil {
		return adsAnswer{err: status.Error(codes.Internal, "house ads unavailable")}
	}
	return adsAnswer{ads: out.GetAds(), degraded: &recommenderv1.Degradation{
		Dependency: DependencyAdProvider, Reason: why, Fallback: FallbackHouseAds,
	}}
}

// degradation describes a fallback the breaker served: circuit_open, with
// the breaker that rejected (the Recommender's own, or AdProvider's own
// database breaker named in its answer), or the failed call's code in snake
// case ("deadline_exceeded", "unavailable").
func degradation(info breaker.FallbackInfo) *recommenderv1.Degradation {
	reason := ReasonCircuitOpen
	if info.Reason != breaker.ReasonCircuitOpen {
		reason = snake(info.Reason)
	}
	return &recommenderv1.Degradation{
		Dependency: DependencyAdProvider, Reason: reason, Fallback: FallbackHouseAds, Breaker: info.RejectedBy,
	}
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
