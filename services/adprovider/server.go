package adprovider

import (
	"context"
	"log/slog"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	"github.com/breakwater/breakwater/internal/admintoken"
	"github.com/breakwater/breakwater/internal/storeerr"
	"github.com/breakwater/breakwater/services/adprovider/store"
)

// Server implements adproviderv1.AdProviderServiceServer over a
// [store.Store].
// Requests are expected to have passed protovalidate (internal/validate's
// interceptor) already; the server checks only what the proto rules cannot
// say, such as a bid finer than a micro.
type Server struct {
	adproviderv1.UnimplementedAdProviderServiceServer

	store  *store.Store
	token  string
	logger *slog.Logger
}

var _ adproviderv1.AdProviderServiceServer = (*Server)(nil)

// NewServer returns a server answering from store.
func NewServer(st *store.Store, opts ...Option) *Server {
	o := evaluateOptions(opts)
	return &Server{store: st, token: o.adminToken, logger: o.logger}
}

// GetAds returns the ads for the request's context; see [store.Store.GetAds].
func (s *Server) GetAds(ctx context.Context, req *adproviderv1.GetAdsRequest) (*adproviderv1.GetAdsResponse, error) {
	ads, err := s.store.GetAds(ctx, store.AdQuery{
		Keys: req.GetContextKeys(),
		ASIN: req.GetAsin(),
		Max:  int(req.GetMaxAds()),
	})
	if err != nil {
		return nil, storeerr.Status(ctx, s.logger, err)
	}
	return &adproviderv1.GetAdsResponse{Ads: ads}, nil
}

// CreateAd adds a listing to the inventory. It needs the admin token.
func (s *Server) CreateAd(ctx context.Context, req *adproviderv1.CreateAdRequest) (*adproviderv1.CreateAdResponse, error) {
	if err := s.authorize(ctx); err != nil {
		return nil, err
	}
	l := req.GetListing()
	if err := checkListing(l); err != nil {
		return nil, err
	}
	var created *adproviderv1.AdListing
	var err error
	if id := req.GetRequestId(); id != "" {
		created, err = s.store.CreateAdOnce(ctx, l, id)
	} else {
		created, err = s.store.CreateAd(ctx, l)
	}
	if err != nil {
		return nil, storeerr.Status(ctx, s.logger, err)
	}
	return &adproviderv1.CreateAdResponse{Listing: created}, nil
}

// ListAds returns one page of the inventory, newest first.
func (s *Server) ListAds(ctx context.Context, req *adproviderv1.ListAdsRequest) (*adproviderv1.ListAdsResponse, error) {
	listings, next, err := s.store.ListAds(ctx, store.ListPage{
		Size:            int(req.GetPageSize()),
		Token:           req.GetPageToken(),
		IncludeInactive: req.GetIncludeInactive(),
	})
	if err != nil {
		return nil, storeerr.Status(ctx, s.logger, err)
	}
	return &adproviderv1.ListAdsResponse{Listings: listings, NextPageToken: next}, nil
}

// authorize checks the admin token of a write (package admintoken: constant
// time, and no configured token refuses every write).
func (s *Server) authorize(ctx context.Context) error {
	return admintoken.Check(ctx, s.token)
}

// checkListing enforces what protovalidate cannot express: amounts that the
// schema stores exactly and that make sense for an ad.
func checkListing(l *adproviderv1.AdListing) error {
	var vs []*errdetails.BadRequest_FieldViolation
	if _, err := store.MoneyToMicros(l.GetBid()); err != nil {
		vs = append(vs, &errdetails.BadRequest_FieldViolation{
			Field:       "listing.bid",
			Description: strings.TrimPrefix(err.Error(), store.ErrInvalid.Error()+": "),
			Reason:      "INVALID_BID",
		})
	}
	if p := l.GetAd().GetPrice(); p.GetUnits() < 0 || p.GetNanos() < 0 {
		vs = append(vs, &errdetails.BadRequest_FieldViolation{
			Field:       "listing.ad.price",
			Description: "must not be negative",
			Reason:      "INVALID_PRICE",
		})
	}
	if len(vs) == 0 {
		return nil
	}
	return badRequest("invalid listing", vs...)
}

func badRequest(msg string, vs ...*errdetails.BadRequest_FieldViolation) error {
	st, err := status.New(codes.InvalidArgument, msg).WithDetails(&errdetails.BadRequest{FieldViolations: vs})
	if err != nil {
		return status.Error(codes.InvalidArgument, msg)
	}
	return st.Err()
}
