// Package toxitest runs a Toxiproxy proxy inside the test process, between
// the code under test and a real upstream such as PostgreSQL or a gRPC
// server, so network faults are real TCP behaviour rather than mocks.
//
// # Sections
//
//   - Proxies
//   - Faults
//   - Clean-up
//
// # Proxies
//
// [New] listens on 127.0.0.1 on a free port and forwards each accepted
// connection to the upstream address; point the client at [Proxy.Addr]. No
// Toxiproxy HTTP API is started and its logs are silenced.
//
// # Faults
//
// Faults are Toxiproxy toxics on the live proxy; they affect open
// connections as well as new ones, except that [Proxy.ResetPeer] sends a TCP
// RST only on connections opened after it (Toxiproxy sets SO_LINGER when a
// connection starts):
//
//   - [Proxy.Latency] delays what the upstream sends by a fixed time.
//   - [Proxy.Cut] stops data in both directions, leaving connections open
//     (or closes them after a time): a network partition.
//   - [Proxy.SlowClose] delays the close of a connection.
//   - [Proxy.ResetPeer] resets connections once data arrives.
//   - [Proxy.Disable] closes the listener and every connection; new dials are
//     refused until [Proxy.Enable] listens again on the same address.
//   - [Proxy.RemoveToxics] heals everything but a disabled proxy. Data held
//     back by latency is delivered at once; data dropped by a cut stays lost.
//
// # Clean-up
//
// The proxy is stopped when the test ends: toxics are removed first (so no
// latency timer outlives the test) and every connection is closed. The
// goroutines of a connection end shortly after it closes, which
// goleak.VerifyTestMain, retrying, tolerates.
package toxitest
