// Package admintoken checks the admin token that breakwater's write RPCs
// need: `authorization: Bearer <token>` in the request metadata.
//
// The comparison takes constant time, so response timing does not reveal how
// much of a guess was right. A service started without a token refuses every
// admin write (PERMISSION_DENIED) rather than allowing them: an unset
// ADMIN_TOKEN must never mean "open".
package admintoken

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Check returns nil when ctx carries the bearer token want; otherwise an
// UNAUTHENTICATED error (missing, malformed or wrong token) or
// PERMISSION_DENIED (no token configured, so nobody may write). Each message
// says what was expected; none repeats what was sent, which may be a secret.
func Check(ctx context.Context, want string) error {
	if want == "" {
		return status.Error(codes.PermissionDenied, "admin writes are disabled: the service has no ADMIN_TOKEN")
	}
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	for _, v := range values {
		scheme, got, ok := strings.Cut(strings.TrimSpace(v), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			continue
		}
		// Hashing first makes the compare constant-time in the length too.
		g, w := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(want))
		if subtle.ConstantTimeCompare(g[:], w[:]) == 1 {
			return nil
		}
		return status.Error(codes.Unauthenticated, "invalid admin token")
	}
	if len(values) > 0 {
		return status.Error(codes.Unauthenticated, "the authorization header is not a bearer token: send `authorization: Bearer <token>` (the word Bearer, a space, then the token)")
	}
	return status.Error(codes.Unauthenticated, "admin token required: send `authorization: Bearer <token>`")
}
