// Command breakerctl operates the breakers of every replica of a service at
// once, over breaker.v1.BreakerAdminService on the replicas' gRPC ports.
//
// Each process has its own breakers (see deploy/README.md, "Scaling"), so
// forcing a breaker means forcing it on every replica. breakerctl finds the
// replicas from -targets: a comma-separated list of host:port addresses,
// where a host name stands for every address it resolves to (a Kubernetes
// headless Service's name answers with one address per ready pod).
//
//	breakerctl -targets adprovider-headless:8001 list
//	breakerctl -targets 127.0.0.1:8001,127.0.0.1:8011,127.0.0.1:8021 force-open adprovider/postgres
//	breakerctl -targets adprovider-headless:8001 auto adprovider/postgres
//	breakerctl -targets adprovider-headless:8001 reset adprovider/postgres
//
// list prints every breaker of every replica side by side: one row per
// breaker, one column per replica, each cell the state (closed, half-open,
// open) and, when an operator set one, the mode ("open, forced"). A breaker
// a replica does not have is "-". force-open, force-closed and auto set the
// mode (SetBreakerMode), reset resets the breaker (ResetBreaker), on every
// replica, and print each replica's answer; writes need the admin token
// (-token, default $ADMIN_TOKEN).
//
// Calls are plaintext unless -ca names a CA file to verify the replicas'
// TLS certificates with (default $TLS_CA_FILE). Each call has -timeout.
// breakerctl exits 1 when any replica failed, after trying every one, and
// 2 on bad usage.
package main
