package adprovider

import "log/slog"

// An Option configures a [Server].
type Option func(*options)

type options struct {
	adminToken string
	logger     *slog.Logger
}

func evaluateOptions(opts []Option) *options {
	o := &options{logger: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithAdminToken sets the token CreateAd requires as
// `authorization: Bearer <token>`. Without one, the server refuses every
// write with PERMISSION_DENIED: an unset token must never mean "open".
func WithAdminToken(token string) Option {
	return func(o *options) { o.adminToken = token }
}

// WithLogger sets where the server logs failures it hides from callers
// (database errors). The default discards them.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}
