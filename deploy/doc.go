// Package deploy holds no code: it is the module of the tests that check
// breakwater's deployment files, kept out of the main module so that its
// dependencies (compose-spec, kustomize, the Kubernetes API types, BuildKit's
// Dockerfile parser) never reach the services' go.mod.
//
// Run them with
//
//	cd deploy && go test ./...
//
// # Sections
//
//   - Dockerfile: one multi-stage Dockerfile for both services, parsed with
//     BuildKit's own parser; stages, static build flags, cache mounts, the
//     distroless runtime, the numeric non-root user, ports.
//   - .dockerignore: every file the two binaries are built from is in the
//     build context (asked of `go list`), and local state is not.
//   - compose.yaml: loaded with the compose-spec library, as docker compose
//     loads it: services, ports, healthcheck, depends_on, environment, the
//     mounted breaker config.
//   - kubernetes/: built with the kustomize API, as `kubectl apply -k` builds
//     it; every object decodes strictly into the Kubernetes API types, then
//     probes, security context, resources, Secret and ConfigMap references,
//     Services and PodDisruptionBudgets are checked.
//   - breakers.json: loads with the services' own loader
//     (interceptors/breaker), and its names select the breakers the services
//     create.
package deploy
