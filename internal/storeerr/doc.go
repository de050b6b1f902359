// Package storeerr is the one place where store errors become gRPC statuses.
//
// Each service's store translates PostgreSQL's answers at its edge into its
// own error values, built here ([New], [Wrap], [Invalid]) so that they carry a
// [Kind] and a message fit for a caller. [Status] maps them, once for both
// services:
//
//	Kind / cause                         gRPC code          detail
//	NotFound                             NOT_FOUND
//	AlreadyExists                        ALREADY_EXISTS
//	InvalidArgument                      INVALID_ARGUMENT   google.rpc.BadRequest field violations
//	*breaker.OpenError anywhere          UNAVAILABLE        the breaker's ErrorInfo and RetryInfo
//	any other error carrying a status    that status        as it is (a shed call: RESOURCE_EXHAUSTED)
//	Unavailable (connection lost, …)     UNAVAILABLE
//	the caller's context ended           CANCELLED / DEADLINE_EXCEEDED
//	anything else                        INTERNAL           none: the cause is logged at ERROR
//
// [Translate] is the shared part of a store's edge: PostgreSQL data errors
// (SQLSTATE class 22, such as 22021 for a NUL byte or 22008 for a timestamp
// out of range) are the caller's input, so they become InvalidArgument and
// are logged at WARN, not ERROR; connection-level failures become
// Unavailable. Validation at the door should stop such input first; this is
// the net behind it.
package storeerr
