package recommender

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	recommenderv1 "github.com/breakwater/breakwater/gen/go/recommender/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/internal/admintoken"
	"github.com/breakwater/breakwater/internal/storeerr"
	"github.com/breakwater/breakwater/services/recommender/store"
)

// Dependencies named in Degradation.dependency, and what replaced them.
const (
	DependencyAdProvider = "adprovider"
	DependencyDatabase   = "database"

	FallbackHouseAds       = "house_ads"
	FallbackLastGoodAnswer = "last_good_answer"

	// ReasonCircuitOpen is the Degradation reason of a call the breaker
	// rejected; other reasons are the failed call's gRPC code in snake case
	// ("unavailable", "deadline_exceeded").
	ReasonCircuitOpen = "circuit_open"
)

// Server implements recommender.v1.RecommenderService.
type Server struct {
	recommenderv1.UnimplementedRecommenderServiceServer

	store    *store.Store
	ads      AdsClient
	opts     *options
	lastGood *lastGood
}

var _ recommenderv1.RecommenderServiceServer = (*Server)(nil)

// NewServer returns a server over st (whose DB should be a pgbreaker.DB, so an
// unwell database fails fast) and ads, the AdProvider client (whose
// connection should carry breaker.UnaryClientInterceptor). A nil ads serves
// house ads only.
func NewServer(st *store.Store, ads AdsClient, opts ...Option) *Server {
	o := evaluateOptions(opts)
	return &Server{store: st, ads: ads, opts: o, lastGood: newLastGood(o.lastGoodN, o.lastGoodB, o.lastGoodAge, o.clock)}
}

// GetProduct implements recommender.v1.RecommenderService.
func (s *Server) GetProduct(ctx context.Context, req *recommenderv1.GetProductRequest) (*recommenderv1.GetProductResponse, error) {
	p, err := s.store.GetProduct(ctx, req.GetAsin())
	if err != nil {
		return nil, storeerr.Status(ctx, s.opts.logger, err)
	}
	return &recommenderv1.GetProductResponse{Product: p}, nil
}

// ListProducts implements recommender.v1.RecommenderService.
func (s *Server) ListProducts(ctx context.Context, req *recommenderv1.ListProductsRequest) (*recommenderv1.ListProductsResponse, error) {
	ps, next, err := s.store.ListProducts(ctx, store.ListProductsParams{
		PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Category: req.GetCategory(),
	})
	if err != nil {
		return nil, storeerr.Status(ctx, s.opts.logger, err)
	}
	return &recommenderv1.ListProductsResponse{Products: ps, NextPageToken: next}, nil
}

// CreateProduct implements recommender.v1.RecommenderService. It needs the
// admin token ([WithAdminToken]): the catalog is written by its operators,
// not by shoppers.
func (s *Server) CreateProduct(ctx context.Context, req *recommenderv1.CreateProductRequest) (*recommenderv1.CreateProductResponse, error) {
	if err := admintoken.Check(ctx, s.opts.adminToken); err != nil {
		return nil, err
	}
	if req.GetProduct().GetAsin() == "" {
		return nil, s.invalid(ctx, "product.asin", "value is required", "required")
	}
	create := s.store.CreateProduct
	if id := req.GetRequestId(); id != "" {
		create = func(ctx context.Context, p *recommenderv1.Product) (*recommenderv1.Product, error) {
			return s.store.CreateProductOnce(ctx, p, id)
		}
	}
	p, err := create(ctx, req.GetProduct())
	if err != nil {
		return nil, storeerr.Status(ctx, s.opts.logger, err)
	}
	return &recommenderv1.CreateProductResponse{Product: p}, nil
}

// ListReviews implements recommender.v1.RecommenderService.
func (s *Server) ListReviews(ctx context.Context, req *recommenderv1.ListReviewsRequest) (*recommenderv1.ListReviewsResponse, error) {
	rs, next, err := s.store.ListReviews(ctx, store.ListReviewsParams{
		ASIN: req.GetAsin(), PageSize: req.GetPageSize(), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, storeerr.Status(ctx, s.opts.logger, err)
	}
	return &recommenderv1.ListReviewsResponse{Reviews: rs, NextPageToken: next}, nil
}

// CreateReview implements recommender.v1.RecommenderService. A retry with the
// request id of a review already created returns that review; the same id
// with a different review is ALREADY_EXISTS.
func (s *Server) CreateReview(ctx context.Context, req *recommenderv1.CreateReviewRequest) (*recommenderv1.CreateReviewResponse, error) {
	r := req.GetReview()
	// protovalidate checks these at the door too; checked here as well so the
	// server is safe without that interceptor (tests, other wiring).
	switch {
	case r == nil:
		return nil, s.invalid(ctx, "review", "value is required", "required")
	case r.GetOverall() < 1 || r.GetOverall() > 5:
		return nil, s.invalid(ctx, "review.overall", "must be greater than or equal to 1 and less than or equal to 5", "int32.gte_lte")
	case r.GetAsin() == "":
		return nil, s.invalid(ctx, "review.asin", "value is required", "required")
	case r.GetReviewerId() == "":
		return nil, s.invalid(ctx, "review.reviewer_id", "value is required", "required")
	}
	created, err := s.store.CreateReview(ctx, r, req.GetRequestId())
	if err != nil {
		return nil, storeerr.Status(ctx, s.opts.logger, err)
	}
	return &recommenderv1.CreateReviewResponse{Review: created}, nil
}

// ListRecommendations implements recommender.v1.RecommenderService.
//
// The ads are fetched while the database ranks, so a slow AdProvider costs at
// most its deadline, not that plus the query. When the database fails, the
// last good answer for the same (asin, reviewer_id, max_results) is served,
// marked degraded; without one the call is UNAVAILABLE.
func (s *Server) ListRecommendations(ctx context.Context, req *recommenderv1.ListRecommendationsRequest) (*recommenderv1.ListRecommendationsResponse, error) {
	key := recommendKey{asin: req.GetAsin(), reviewer: req.GetReviewerId(), max: req.GetMaxResults()}
	if key.max <= 0 {
		key.max = 10
	}
	adsDone := make(chan adsAnswer, 1)
	go func() {
		adsDone <- s.fetchAds(ctx, &recommenderv1.GetAdsRequest{Asin: req.GetAsin()}, true)
	}()
	recs, err := s.store.Recommend(ctx, store.RecommendParams{ASIN: key.asin, ReviewerID: key.reviewer, MaxResults: key.max})
	ads := <-adsDone

	resp := &recommenderv1.ListRecommendationsResponse{Recommendations: recs, Ads: ads.ads}
	switch {
	case err == nil:
		s.lastGood.put(key, recs)
	case errors.Is(err, store.ErrNotFound), storeerr.KindOf(err) == storeerr.InvalidArgument, ctx.Err() != nil:
		// The caller's mistake or the caller's deadline: a stale answer
		// would hide it.
		return nil, storeerr.Status(ctx, s.opts.logger, err)
	default:
		cached, ok := s.lastGood.get(key)
		if !ok {
			return nil, storeerr.Status(ctx, s.opts.logger, err)
		}
		s.opts.logger.WarnContext(ctx, "serving last good recommendations", "error", err)
		resp.Recommendations = cached
		resp.Degraded = append(resp.Degraded, databaseDegradation(err))
	}
	if ads.degraded != nil {
		resp.Degraded = append(resp.Degraded, ads.degraded)
	}
	return resp, nil
}

// invalid is INVALID_ARGUMENT with one field violation, shaped as
// protovalidate's (the interceptor normally answers these first).
func (s *Server) invalid(ctx context.Context, field, description, reason string) error {
	return storeerr.Status(ctx, s.opts.logger, storeerr.Invalid(nil, field, description, reason))
}

// databaseDegradation says why the database could not rank: circuit_open
// with the breaker that rejected, deadline_exceeded, resource_exhausted (a
// shed call), or unavailable for any other failure.
func databaseDegradation(err error) *recommenderv1.Degradation {
	d := &recommenderv1.Degradation{Dependency: DependencyDatabase, Fallback: FallbackLastGoodAnswer, Reason: "unavailable"}
	var open *breaker.OpenError
	switch {
	case errors.As(err, &open):
		d.Reason, d.Breaker = ReasonCircuitOpen, open.Breaker
	case errors.Is(err, context.DeadlineExceeded):
		d.Reason = "deadline_exceeded"
	default:
		if c := status.Code(err); c != codes.Unknown && c != codes.OK {
			d.Reason = snake(c.String())
		}
	}
	return d
}
