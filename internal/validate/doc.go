// Package validate checks every incoming gRPC request against the
// protovalidate rules declared in proto/, before any handler runs.
//
// # Why a package of our own
//
// go-grpc-middleware v2.1.0's protovalidate interceptor is built on the
// retired protovalidate-go module; this one is built on
// buf.build/go/protovalidate and adds two things callers rely on:
//
//   - Rules are compiled when the server starts ([NewValidator] with the
//     served services), so a rule that does not compile stops start-up
//     instead of failing the first request.
//   - A violation is answered with INVALID_ARGUMENT and a
//     google.rpc.BadRequest detail listing each field and what is wrong with
//     it, which every gRPC client (grpcurl, connect-es, Python) can read,
//     not only protovalidate-aware ones.
//
// # Errors
//
// A request that breaks a rule gets codes.InvalidArgument. A rule that cannot
// be evaluated is a bug on the server side and gets codes.Internal; its detail
// is logged by the caller's error handling, never sent to the client.
package validate
