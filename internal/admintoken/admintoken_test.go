package admintoken_test

import (
	"context"
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
	}{
		{"right token", with("authorization", "Bearer s3cret"), "s3cret", codes.OK},
		{"scheme is case-insensitive", with("authorization", "bearer s3cret"), "s3cret", codes.OK},
		{"wrong token", with("authorization", "Bearer nope"), "s3cret", codes.Unauthenticated},
		{"prefix of the token", with("authorization", "Bearer s3cre"), "s3cret", codes.Unauthenticated},
		{"other scheme", with("authorization", "Basic s3cret"), "s3cret", codes.Unauthenticated},
		{"no metadata", context.Background(), "s3cret", codes.Unauthenticated},
		{"no token configured", with("authorization", "Bearer "), "", codes.PermissionDenied},
		{"no token configured, any sent", with("authorization", "Bearer x"), "", codes.PermissionDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := status.Code(admintoken.Check(tc.ctx, tc.want)); got != tc.code {
				t.Fatalf("code %v, want %v", got, tc.code)
			}
		})
	}
}
