package adprovider

import (
	"sync"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// ServiceName is the name AdProvider's health is reported under: the
// protobuf service's full name (a test checks it against the generated code).
const ServiceName = "adprovider.v1.AdProviderService"

// StatusSetter is the part of a gRPC health server that [Health] drives;
// *health.Server from google.golang.org/grpc/health has it.
type StatusSetter interface {
	SetServingStatus(service string, status healthpb.HealthCheckResponse_ServingStatus)
}

// Health reports AdProviderService's readiness: NOT_SERVING until the
// schema is migrated ([Health.SetMigrated]) and, through the gRPC health
// server's Shutdown, while shutting down; SERVING otherwise. It follows what
// this process can do, not the database breaker: the database is shared by
// every replica, so a readiness that followed it would pull every replica
// out of a Kubernetes Service at once, and callers would meet refused
// connections instead of a fast CIRCUIT_OPEN with a RetryInfo.
// [FollowBreaker] brings the old behaviour back (NOT_SERVING while the
// database breaker is not closed), for a replica with a database of its
// own, where another replica can still serve.
//
// It is a [breaker.Listener] of one breaker, held by identity: add it to
// the set with [breaker.Set.AddListener] once the database breaker exists,
// so that it hears that breaker's state changes (which matter only with
// [FollowBreaker]). The breaker recovers by itself: pgbreaker gives it a
// recovery prober that pings the database while it is open.
type Health struct {
	setter  StatusSetter
	breaker *breaker.Breaker
	follow  bool

	mu       sync.Mutex
	migrated bool
	state    breaker.State
	serving  bool
}

// HealthOption configures a [Health].
type HealthOption func(*Health)

// FollowBreaker makes readiness NOT_SERVING while the database breaker is
// open or half-open, as well as before migration.
func FollowBreaker() HealthOption { return func(h *Health) { h.follow = true } }

// NewHealth returns a Health for the database breaker b (the
// pgbreaker.DB's Breaker()); register it with b's set's
// [breaker.Set.AddListener]. It reports NOT_SERVING until
// [Health.SetMigrated].
func NewHealth(setter StatusSetter, b *breaker.Breaker, opts ...HealthOption) *Health {
	h := &Health{setter: setter, breaker: b, state: b.State()}
	for _, o := range opts {
		o(h)
	}
	setter.SetServingStatus(ServiceName, healthpb.HealthCheckResponse_NOT_SERVING)
	return h
}

// SetMigrated records that the schema is migrated.
func (h *Health) SetMigrated() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.migrated = true
	h.updateLocked()
}

// OnEvent follows the state changes of the database breaker and ignores
// every other event.
func (h *Health) OnEvent(e breaker.Event) {
	if e.Kind != breaker.EventStateChange || e.Breaker != h.breaker {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.state = e.To
	h.updateLocked()
}

// Serving reports the status last set.
func (h *Health) Serving() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.serving
}

func (h *Health) updateLocked() {
	serving := h.migrated && (!h.follow || h.state == breaker.StateClosed)
	if serving == h.serving {
		return
	}
	h.serving = serving
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if serving {
		st = healthpb.HealthCheckResponse_SERVING
	}
	h.setter.SetServingStatus(ServiceName, st)
}
