// Package statustest checks gRPC statuses in tests: that an error is
// INVALID_ARGUMENT with a google.rpc.BadRequest field violation on a given
// field, as every invalid request must answer (both services' bad-input
// tables and direct handler tests use it).
package statustest

import (
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Fields returns the fields of err's BadRequest violations, in order.
func Fields(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

// InvalidOn fails tb unless err is INVALID_ARGUMENT with a field violation
// on field; name says which call it was.
func InvalidOn(tb testing.TB, name string, err error, field string) {
	tb.Helper()
	st := status.Convert(err)
	if st.Code() != codes.InvalidArgument {
		tb.Errorf("%s: %v, want INVALID_ARGUMENT", name, err)
		return
	}
	fields := Fields(err)
	for _, f := range fields {
		if f == field {
			return
		}
	}
	tb.Errorf("%s: violations on %q, want one on %q (%s)", name, fields, field, st.Message())
}
