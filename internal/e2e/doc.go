// Package e2e tests breakwater as its users meet it: both services built and
// started as processes, on a real PostgreSQL, called with the grpcurl lines
// README.md shows, with the TypeScript client in examples/node-client and
// with the Python client in examples/python-client.
// It has tests only; this file holds its documentation.
//
// # Sections
//
//   - The system under test
//   - The grpcurl suite
//   - The Node client
//   - The Python client
//   - Outages
//   - Replicas
//   - make run-all
//   - make demo
//   - Repository hygiene
//
// # The system under test
//
// The first test that needs it builds adprovider, recommender and the pinned
// grpcurl (tools/go.mod) into a temporary directory, starts a private
// PostgreSQL with internal/pgtest, and runs both services on free ports of
// 127.0.0.1 with the environment `make run-all` uses (ADMIN_TOKEN,
// BREAKER_CONFIG=deploy/breakers.json, ...). It waits until grpc.health.v1
// says SERVING for both service names. One system serves every test of the
// binary; TestMain stops it with SIGTERM after the last one. A failed test
// prints what the services logged while it ran.
//
// Tests share the system, so a test that changes a breaker puts every breaker
// of both services back to AUTO and resets it when it ends.
//
// # The grpcurl suite
//
// TestREADMEGrpcurl runs every grpcurl line of README.md's code blocks, in
// order, against the running system (localhost:8000 and :8001 replaced by its
// addresses, $ADMIN_TOKEN set), and checks each answer against a table keyed
// by a part of the line. A README line without an entry fails the test, and
// so does an entry no line uses: the README cannot drift from the services.
// Every output block of the README (a block without a language after a
// block of grpcurl lines, in the same section: the ERROR examples) must be
// what one of those lines printed, compared by status code, message and
// each error detail as JSON, so a claim such as "a forced breaker sends a
// RetryInfo" is checked against the wire.
// TestREADMECallsEveryRPC checks, from the generated descriptors, that the
// README calls every RPC of every service (BreakerAdminService on both
// ports), so a new RPC needs a README line too.
//
// # The Node client
//
// TestNodeClient runs `npm ci` (when node_modules is missing or older than
// package-lock.json) and `npm test` in examples/node-client, with
// RECOMMENDER_ADDR, ADPROVIDER_ADDR and ADMIN_TOKEN pointing at the system,
// then the example program itself (`--break`) and checks what it prints.
// It is skipped, saying why, only when node or npm is not installed.
//
// # The Python client
//
// TestPythonClient runs `python3 -m unittest -v` in examples/python-client
// with the same variables, with Debian's /usr/bin/python3 (another python3
// may come first on PATH without grpcio; BREAKWATER_PYTHON names another),
// then the tour (`tour.py --break`) and checks what it prints. No test may
// be skipped but the outage tests. Without grpcio and protobuf for that
// Python it is skipped, saying what to install; under CI it fails instead.
//
// # Outages
//
// TestDatabaseOutage kills PostgreSQL (SIGKILL) under the running services:
// after a few failures the database breakers open and callers get UNAVAILABLE
// with ErrorInfo CIRCUIT_OPEN and a RetryInfo, first from Go and then from the
// Node and Python clients; after a restart both services recover without one
// of their own. With TEST_DATABASE_URL (a server the tests do not own) it is skipped.
//
// # Replicas
//
// TestReplicas runs three AdProvider processes on ports of their own (one
// database) behind a Recommender whose ADPROVIDER_TARGET lists them all,
// under steady GetAds traffic from four callers, and breaks one replica at a
// time: killed (SIGKILL), hung (SIGSTOP), answering UNAVAILABLE (its database
// breaker forced open through the admin API). Each time, after the first
// 100 ms, at most 0.5% of answers may be house ads, none an error or past its
// deadline, and the GetAds breaker must not move; the replica's own breaker
// in Recommender shows it out, since when and why (ListBreakers, /metrics);
// back, it must take its share of calls (±20% of the others' mean) within
// 2 s. Healthy replicas share calls within ±20%. With all three killed,
// the GetAds breaker opens and house ads come without a call. breakerctl
// lists and resets the breaker on every replica. TestRunAllReplicas runs
// `ADPROVIDER_REPLICAS=3 make run-all` and the breakerctl lines it prints;
// TestDemo's demo kills one of its three replicas. BenchmarkGetAdsReplicas
// compares one replica with three, through a Recommender process each.
//
// # make run-all
//
// TestRunAll runs deploy/local/run-all.sh itself, on free ports and in a run
// directory of its own: it must bring the system up with a private
// PostgreSQL, every grpcurl line it prints must work as printed (the last
// puts the breaker it forced back to AUTO), and SIGTERM must stop
// Recommender, AdProvider and PostgreSQL in that order, each by its own
// orderly shutdown, with no FATAL line in postgres.log, no process and no
// listening port left. TestRunAllStopsBySignal does the same stop with
// SIGINT sent to the whole process group (a terminal's Ctrl-C), with SIGINT
// to the group of a script that started run-all in the background (so that
// run-all inherited SIGINT ignored), and with SIGHUP.
// TestRunAllUnreachableDatabase checks that a DATABASE_URL whose server
// refuses connections ends the run with the driver's reason instead of a
// wait for readiness, and a malformed one with the service's error, neither
// showing the password. TestRunAllChildDies kills PostgreSQL (reported; the
// services go on) and then AdProvider (reported with its cause; the rest
// stopped in order). TestRunAllPortInUse checks that a busy port is a
// one-line error naming the variable to change.
//
// # make demo
//
// TestDemo runs deploy/local/demo.sh to its end: every line fits 100
// columns, each step is one narrated line, the hang of AdProvider shows slow
// house ads before the GetAds breaker opens and fast ones after, recovery
// times are measured, every breaker ends in AUTO and closed, and the stop is
// in order. The README's pasted run must narrate the same steps.
//
// # Repository hygiene
//
// TestRepositoryHygiene checks that no executable is tracked (by its magic
// number) and no tracked file passes 1 MB, that `git check-ignore` ignores
// build output wherever `go build` and make put it while the sources beside
// it stay tracked, and, with `make -n`, that `make build` builds both
// services into bin/ and `make clean` removes .run/ too.
package e2e
