package admintoken_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/breakwater/breakwater/internal/admintoken"
)

func TestCheck(t *testing.T) {
	with := func(vals ...string) context.Context {
		return metadata.NewIncomingContext(context.Background(), metadata.Pairs(vals...))
	}
	cases := []struct {
		name string
		ctx  context.Context
		want string
		code codes.Code
		msg  string // a part of the message: what was expected
	}{
		{"right token", with("authorization", "Bearer s3cret"), "s3cret", codes.OK, ""},
		{"scheme is case-insensitive", with("authorization", "bearer s3cret"), "s3cret", codes.OK, ""},
		{"wrong token", with("authorization", "Bearer nope"), "s3cret", codes.Unauthenticated, "invalid admin token"},
		{"prefix of the token", with("authorization", "Bearer s3cre"), "s3cret", codes.Unauthenticated, "invalid admin token"},
		{"other scheme", with("authorization", "Basic s3cret"), "s3cret", codes.Unauthenticated, "is not a bearer token: send `authorization: Bearer <token>`"},
		{"the token alone, without Bearer", with("authorization", "s3cret"), "s3cret", codes.Unauthenticated, "is not a bearer token: send `authorization: Bearer <token>`"},
		{"no metadata", context.Background(), "s3cret", codes.Unauthenticated, "admin token required: send `authorization: Bearer <token>`"},
		{"no token configured", with("authorization", "Bearer "), "", codes.PermissionDenied, "no ADMIN_TOKEN"},
		{"no token configured, any sent", with("authorization", "Bearer x"), "", codes.PermissionDenied, "no ADMIN_TOKEN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := admintoken.Check(tc.ctx, tc.want)
			if got := status.Code(err); got != tc.code {
				t.Fatalf("code %v, want %v", got, tc.code)
			}
			if msg := status.Convert(err).Message(); !strings.Contains(msg, tc.msg) || (tc.code != codes.OK && strings.Contains(msg, "s3cret")) {
				t.Fatalf("message %q: want %q in it, and never the token", msg, tc.msg)
			}
		})
	}
}
