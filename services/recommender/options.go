package recommender

import (
	"log/slog"
	"time"

	"github.com/benbjohnson/clock"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
)

// An Option configures a [Server].
type Option func(*options)

type options struct {
	logger      *slog.Logger
	adsFallback breaker.Fallback
	adminToken  string
	lastGoodN   int
	lastGoodB   int64
	lastGoodAge time.Duration
	clock       clock.Clock
}

func evaluateOptions(opts []Option) *options {
	o := &options{
		logger:      slog.New(slog.DiscardHandler),
		adsFallback: HouseAdsFallback(HouseAds()),
		lastGoodN:   1024,
		lastGoodB:   DefaultLastGoodBytes,
		lastGoodAge: 10 * time.Minute,
		clock:       clock.New(),
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithLogger sets where the server logs the failures it hides from callers
// (database errors, AdProvider failures). The default discards them.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithAdminToken sets the token CreateProduct requires as
// `authorization: Bearer <token>` (package admintoken; the services' ADMIN_TOKEN).
// Without one, the server refuses every catalog write with
// PERMISSION_DENIED: an unset token must never mean "open". Reviews need no
// token.
func WithAdminToken(token string) Option {
	return func(o *options) { o.adminToken = token }
}

// WithHouseAds replaces the house ads the server serves when it has no
// AdProvider to ask, or AdProvider refused the request
// (ListRecommendations). The default is [HouseAds]: products of the sample
// catalog. The breaker's fallback is set apart, with the breaker
// ([AdProviderBreakers]); give both the same list.
func WithHouseAds(ads []*adproviderv1.Ad) Option {
	return func(o *options) { o.adsFallback = HouseAdsFallback(ads) }
}

// WithLastGood bounds the cache of last good recommendations, served while
// the database is down: at most entries answers (least recently used go
// first), none older than maxAge. The default is 1024 entries of up to ten
// minutes; entries ≤ 0 turns the cache off.
func WithLastGood(entries int, maxAge time.Duration) Option {
	return func(o *options) { o.lastGoodN, o.lastGoodAge = entries, maxAge }
}

// WithLastGoodBytes sets the last-good cache's byte budget: the encoded size
// of every answer it keeps plus a fixed overhead per entry, least recently
// used going first. The default is [DefaultLastGoodBytes]; an answer larger
// than the whole budget is not kept, and n ≤ 0 turns the cache off.
func WithLastGoodBytes(n int64) Option {
	return func(o *options) { o.lastGoodB = n }
}

// WithClock sets the clock that ages the last-good cache, for tests.
func WithClock(c clock.Clock) Option {
	return func(o *options) {
		if c != nil {
			o.clock = c
		}
	}
}
