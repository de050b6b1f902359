package recommender

import (
	"log/slog"
	"time"

	"github.com/benbjohnson/clock"

	adproviderv1 "github.com/breakwater/breakwater/gen/go/adprovider/v1"
)

// An Option configures a [Server].
type Option func(*options)

type options struct {
	logger      *slog.Logger
	houseAds    []*adproviderv1.Ad
	lastGoodN   int
	lastGoodAge time.Duration
	clock       clock.Clock
	adsTimeout  time.Duration
	dbTimeout   time.Duration
}

func evaluateOptions(opts []Option) *options {
	o := &options{
		logger:      slog.New(slog.DiscardHandler),
		houseAds:    HouseAds(),
		lastGoodN:   1024,
		lastGoodAge: 10 * time.Minute,
		clock:       clock.New(),
		adsTimeout:  GetAdsTimeout,
		dbTimeout:   2 * time.Second,
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

// WithHouseAds replaces the ads served when AdProvider cannot answer. The
// default is [HouseAds]: products of the sample catalog.
func WithHouseAds(ads []*adproviderv1.Ad) Option {
	return func(o *options) { o.houseAds = ads }
}

// WithLastGood bounds the cache of last good recommendations, served while
// the database is down: at most entries answers (least recently used go
// first), none older than maxAge. The default is 1024 entries of up to ten
// minutes; entries ≤ 0 turns the cache off.
func WithLastGood(entries int, maxAge time.Duration) Option {
	return func(o *options) { o.lastGoodN, o.lastGoodAge = entries, maxAge }
}

// WithClock sets the clock that ages the last-good cache, for tests.
func WithClock(c clock.Clock) Option {
	return func(o *options) {
		if c != nil {
			o.clock = c
		}
	}
}

// WithAdsTimeout bounds every call to AdProvider, whatever the caller's own
// deadline (default [GetAdsTimeout]). The breaker's default deadline applies
// only to calls without one, and a caller willing to wait 30 seconds for
// recommendations should still get house ads after a third of a second when
// AdProvider hangs.
func WithAdsTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.adsTimeout = d
		}
	}
}

// WithDatabaseTimeout bounds every database call of a request, whatever the
// caller's own deadline (default two seconds), so a hung database turns into
// a failure (and a last good answer) rather than a wait as long as the
// caller's patience.
func WithDatabaseTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.dbTimeout = d
		}
	}
}
