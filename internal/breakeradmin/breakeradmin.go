package breakeradmin

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	breakerv1 "github.com/breakwater/breakwater/gen/go/breaker/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/internal/admintoken"
)

// Server implements breaker.v1.BreakerAdminService over one breaker set.
type Server struct {
	breakerv1.UnimplementedBreakerAdminServiceServer
	set   *breaker.Set
	token string
}

var _ breakerv1.BreakerAdminServiceServer = (*Server)(nil)

// NewServer returns the admin service for set. Writes need adminToken; an
// empty token refuses them all.
func NewServer(set *breaker.Set, adminToken string) *Server {
	return &Server{set: set, token: adminToken}
}

// ListBreakers returns every breaker, ordered by name.
func (s *Server) ListBreakers(context.Context, *breakerv1.ListBreakersRequest) (*breakerv1.ListBreakersResponse, error) {
	return List(s.set), nil
}

// GetBreaker returns one breaker.
func (s *Server) GetBreaker(_ context.Context, req *breakerv1.GetBreakerRequest) (*breakerv1.GetBreakerResponse, error) {
	b, err := s.find(req.GetName())
	if err != nil {
		return nil, err
	}
	return &breakerv1.GetBreakerResponse{Breaker: ToProto(b.Snapshot())}, nil
}

// SetBreakerMode forces a breaker open or closed, or returns it to AUTO.
func (s *Server) SetBreakerMode(ctx context.Context, req *breakerv1.SetBreakerModeRequest) (*breakerv1.SetBreakerModeResponse, error) {
	if err := admintoken.Check(ctx, s.token); err != nil {
		return nil, err
	}
	b, err := s.find(req.GetName())
	if err != nil {
		return nil, err
	}
	var m breaker.Mode
	switch req.GetMode() {
	case breakerv1.BreakerMode_BREAKER_MODE_AUTO:
		m = breaker.ModeAuto
	case breakerv1.BreakerMode_BREAKER_MODE_FORCED_OPEN:
		m = breaker.ModeForcedOpen
	case breakerv1.BreakerMode_BREAKER_MODE_FORCED_CLOSED:
		m = breaker.ModeForcedClosed
	default:
		return nil, status.Errorf(codes.InvalidArgument, "mode %v: want AUTO, FORCED_OPEN or FORCED_CLOSED", req.GetMode())
	}
	b.SetMode(m)
	return &breakerv1.SetBreakerModeResponse{Breaker: ToProto(b.Snapshot())}, nil
}

// ResetBreaker closes a breaker and clears its counts; its mode is kept.
func (s *Server) ResetBreaker(ctx context.Context, req *breakerv1.ResetBreakerRequest) (*breakerv1.ResetBreakerResponse, error) {
	if err := admintoken.Check(ctx, s.token); err != nil {
		return nil, err
	}
	b, err := s.find(req.GetName())
	if err != nil {
		return nil, err
	}
	b.Reset()
	return &breakerv1.ResetBreakerResponse{Breaker: ToProto(b.Snapshot())}, nil
}

func (s *Server) find(name string) (*breaker.Breaker, error) {
	b, ok := s.set.Get(name)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no breaker named %q (ListBreakers shows them)", name)
	}
	return b, nil
}

// List returns every breaker of set, ordered by name.
func List(set *breaker.Set) *breakerv1.ListBreakersResponse {
	bs := set.Breakers()
	resp := &breakerv1.ListBreakersResponse{Breakers: make([]*breakerv1.Breaker, 0, len(bs))}
	for _, b := range bs {
		resp.Breakers = append(resp.Breakers, ToProto(b.Snapshot()))
	}
	return resp
}

// ToProto converts a snapshot to its API form.
func ToProto(s breaker.Snapshot) *breakerv1.Breaker {
	out := &breakerv1.Breaker{
		Name:   s.Name,
		Kind:   kindProto(s.Kind),
		State:  stateProto(s.State),
		Mode:   modeProto(s.Mode),
		Target: s.Target,
		Method: s.Method,
		Counters: &breakerv1.BreakerCounters{
			Successes:           int64(s.Successes),
			Failures:            int64(s.Failures),
			Neutral:             int64(s.Neutral),
			Rejections:          int64(s.Rejections),
			SlowCalls:           int64(s.Slow),
			ConsecutiveFailures: int64(s.ConsecutiveFailures),
			WindowCalls:         int64(s.WindowCalls),
			WindowFailures:      int64(s.WindowFailures),
			WindowSlowCalls:     int64(s.WindowSlow),
		},
	}
	if !s.LastTransition.IsZero() {
		out.LastTransitionTime = timestamppb.New(s.LastTransition)
	}
	if s.OpenRemaining > 0 {
		out.OpenRemaining = durationpb.New(s.OpenRemaining)
	}
	// Snapshots keep transitions oldest first; the API shows newest first.
	for i := len(s.Transitions) - 1; i >= 0; i-- {
		t := s.Transitions[i]
		out.RecentTransitions = append(out.RecentTransitions, &breakerv1.BreakerTransition{
			From:   stateProto(t.From),
			To:     stateProto(t.To),
			Time:   timestamppb.New(t.Time),
			Reason: t.Reason,
		})
	}
	return out
}

func stateProto(s breaker.State) breakerv1.BreakerState {
	switch s {
	case breaker.StateClosed:
		return breakerv1.BreakerState_BREAKER_STATE_CLOSED
	case breaker.StateHalfOpen:
		return breakerv1.BreakerState_BREAKER_STATE_HALF_OPEN
	case breaker.StateOpen:
		return breakerv1.BreakerState_BREAKER_STATE_OPEN
	}
	return breakerv1.BreakerState_BREAKER_STATE_UNSPECIFIED
}

func modeProto(m breaker.Mode) breakerv1.BreakerMode {
	switch m {
	case breaker.ModeAuto:
		return breakerv1.BreakerMode_BREAKER_MODE_AUTO
	case breaker.ModeForcedOpen:
		return breakerv1.BreakerMode_BREAKER_MODE_FORCED_OPEN
	case breaker.ModeForcedClosed:
		return breakerv1.BreakerMode_BREAKER_MODE_FORCED_CLOSED
	}
	return breakerv1.BreakerMode_BREAKER_MODE_UNSPECIFIED
}

func kindProto(k breaker.Kind) breakerv1.BreakerKind {
	switch k {
	case breaker.KindGRPC:
		return breakerv1.BreakerKind_BREAKER_KIND_GRPC_METHOD
	case breaker.KindDatabase:
		return breakerv1.BreakerKind_BREAKER_KIND_DATABASE
	case breaker.KindGeneric:
		return breakerv1.BreakerKind_BREAKER_KIND_GENERIC
	}
	return breakerv1.BreakerKind_BREAKER_KIND_UNSPECIFIED
}
