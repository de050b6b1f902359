// Package architecture holds the repository's dependency rules as a test:
// which packages may import which. It has no code of its own; the rules
// live in architecture_test.go, written once, and `make test` checks them
// against `go list` of the whole module.
//
// The rules, and why:
//
//   - interceptors/... is a library for other people's services: it imports
//     nothing of services/, internal/ or gen/, but the breaker admin API
//     (gen/go/breaker/v1) that its admin side may speak.
//   - Neither service imports the other: they meet only through the
//     contract (gen/), as separate processes do.
//   - internal/ is what the services share; it never imports a service.
//   - gen/ is generated from the contract and imports only gen/.
//
// Tests may import test helpers (internal/pgtest, internal/toxitest) from
// anywhere; the rules are about the code that ships.
package architecture
