// Package breakeradmin lets operators see and steer a service's circuit
// breakers: the breaker.v1.BreakerAdminService over gRPC, and on the admin
// HTTP port a JSON view and a live page.
//
// # Sections
//
//   - The gRPC service
//   - The HTTP views
//
// # The gRPC service
//
// [Server] serves ListBreakers, GetBreaker, SetBreakerMode and ResetBreaker
// for every breaker of one [breaker.Set]: the per-method gRPC client breakers
// and the database breaker alike. Reads are open; writes need the admin token
// (package admintoken): they are the original services' "sabotage" endpoints,
// done with authentication, and an operator's forced mode sticks until it is
// changed.
//
// # The HTTP views
//
// [JSONHandler] serves the same ListBreakersResponse as protobuf JSON, so a
// script needs no gRPC client. [PageHandler] serves a self-contained page (no
// external assets) that polls the JSON once a second and shows each breaker's
// state as a colour, its counters and its recent transitions.
package breakeradmin
