package breaker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
)

// Config is breaker configuration in the shape of a gRPC service config:
//
//	{"breakers": [
//	  {"name": [{}], "failureRateThreshold": 0.5, "window": "10s"},
//	  {"name": [{"service": "adprovider.v1.AdProviderService", "method": "GetAds"}],
//	   "timeout": "0.3s", "consecutiveFailures": 3}
//	]}
//
// An entry applies to every name it lists. A name with service and method
// matches that method; with service only, every method of the service (or
// the named breaker of that name, for [Set.Breaker]); an empty name, every
// breaker. The most specific entry wins, field by field: a method entry
// overrides what a service entry sets, which overrides the default entry;
// fields no entry sets keep the code defaults.
type Config struct {
	Breakers []Entry `json:"breakers"`
}

// Name selects breakers, as a gRPC service config's name does.
type Name struct {
	Service string `json:"service,omitempty"`
	Method  string `json:"method,omitempty"`
}

// Entry is one block of configuration. Nil fields are not set.
type Entry struct {
	Name                  []Name       `json:"name"`
	Timeout               *Duration    `json:"timeout,omitempty"`
	TimeoutDefaultOnly    *bool        `json:"timeoutDefaultOnly,omitempty"`
	FairChance            *Duration    `json:"fairChance,omitempty"`
	FairChanceMultiple    *float64     `json:"fairChanceMultiple,omitempty"`
	Window                *Duration    `json:"window,omitempty"`
	WindowBuckets         *int         `json:"windowBuckets,omitempty"`
	FailureRateThreshold  *float64     `json:"failureRateThreshold,omitempty"`
	MinimumCalls          *int         `json:"minimumCalls,omitempty"`
	ConsecutiveFailures   *int         `json:"consecutiveFailures,omitempty"`
	SlowCallRateThreshold *float64     `json:"slowCallRateThreshold,omitempty"`
	SlowCallDuration      *Duration    `json:"slowCallDuration,omitempty"`
	OpenTimeout           *Duration    `json:"openTimeout,omitempty"`
	MaxOpenTimeout        *Duration    `json:"maxOpenTimeout,omitempty"`
	ProbeInterval         *Duration    `json:"probeInterval,omitempty"`
	ProbeTimeout          *Duration    `json:"probeTimeout,omitempty"`
	HalfOpenMaxProbes     *int         `json:"halfOpenMaxProbes,omitempty"`
	HalfOpenSuccesses     *int         `json:"halfOpenSuccesses,omitempty"`
	FallbackOnFailure     *bool        `json:"fallbackOnFailure,omitempty"`
	FailureCodes          []codes.Code `json:"failureCodes,omitempty"`
	SuccessCodes          []codes.Code `json:"successCodes,omitempty"`
	NeutralCodes          []codes.Code `json:"neutralCodes,omitempty"`
}

// Duration reads "1.5s" as gRPC service config writes durations (any Go
// duration string is accepted) and writes it back the gRPC way.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"1.5s\": %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatFloat(time.Duration(d).Seconds(), 'f', -1, 64) + `s"`), nil
}

// LoadConfig reads a configuration file (see [Config]).
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("breaker config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("breaker config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig reads a configuration. Unknown fields are errors, so a typo
// does not silently leave a default in place.
func ParseConfig(b []byte) (*Config, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Validate checks names (a method needs its service; no name twice, as gRPC
// requires) and ranges.
func (c *Config) Validate() error {
	seen := make(map[Name]bool)
	var errs []error
	for i, e := range c.Breakers {
		if len(e.Name) == 0 {
			errs = append(errs, fmt.Errorf("breakers[%d]: name is required ([{}] for the default)", i))
		}
		for _, n := range e.Name {
			if n.Service == "" && n.Method != "" {
				errs = append(errs, fmt.Errorf("breakers[%d]: method %q without service", i, n.Method))
			}
			if seen[n] {
				errs = append(errs, fmt.Errorf("breakers[%d]: duplicate name %s", i, n))
			}
			seen[n] = true
		}
		for _, r := range []struct {
			name string
			v    *float64
		}{{"failureRateThreshold", e.FailureRateThreshold}, {"slowCallRateThreshold", e.SlowCallRateThreshold}} {
			if r.v != nil && (*r.v < 0 || *r.v > 1) {
				errs = append(errs, fmt.Errorf("breakers[%d]: %s %v not in [0, 1]", i, r.name, *r.v))
			}
		}
		if m := e.FairChanceMultiple; m != nil && *m < 0 {
			errs = append(errs, fmt.Errorf("breakers[%d]: fairChanceMultiple %v is negative", i, *m))
		}
		for _, n := range []struct {
			name string
			v    *int
		}{
			{"windowBuckets", e.WindowBuckets}, {"minimumCalls", e.MinimumCalls},
			{"consecutiveFailures", e.ConsecutiveFailures}, {"halfOpenMaxProbes", e.HalfOpenMaxProbes},
			{"halfOpenSuccesses", e.HalfOpenSuccesses},
		} {
			if n.v != nil && *n.v < 0 {
				errs = append(errs, fmt.Errorf("breakers[%d]: %s %d is negative", i, n.name, *n.v))
			}
		}
	}
	return errors.Join(errs...)
}

func (n Name) String() string {
	switch {
	case n.Service == "":
		return "default"
	case n.Method == "":
		return n.Service
	}
	return n.Service + "/" + n.Method
}

// options turns an entry into options, so files and code share one path.
func (e *Entry) options() []Option {
	var o []Option
	dur := func(d *Duration, set func(*Settings, time.Duration)) {
		if d != nil {
			v := time.Duration(*d)
			o = append(o, func(s *Settings) { set(s, v) })
		}
	}
	num := func(n *int, set func(*Settings, int)) {
		if n != nil {
			v := *n
			o = append(o, func(s *Settings) { set(s, v) })
		}
	}
	rate := func(r *float64, set func(*Settings, float64)) {
		if r != nil {
			v := *r
			o = append(o, func(s *Settings) { set(s, v) })
		}
	}
	dur(e.Timeout, func(s *Settings, v time.Duration) { s.Timeout = v })
	dur(e.Window, func(s *Settings, v time.Duration) { s.Window = v })
	dur(e.FairChance, func(s *Settings, v time.Duration) { s.FairChance = v })
	dur(e.ProbeInterval, func(s *Settings, v time.Duration) { s.ProbeInterval = v })
	dur(e.ProbeTimeout, func(s *Settings, v time.Duration) { s.ProbeTimeout = v })
	rate(e.FairChanceMultiple, func(s *Settings, v float64) { s.FairChanceMultiple = v })
	if e.TimeoutDefaultOnly != nil {
		o = append(o, WithDefaultTimeoutOnly(*e.TimeoutDefaultOnly))
	}
	dur(e.SlowCallDuration, func(s *Settings, v time.Duration) { s.SlowCallDuration = v })
	dur(e.OpenTimeout, func(s *Settings, v time.Duration) { s.OpenTimeout, s.backoff = v, nil })
	dur(e.MaxOpenTimeout, func(s *Settings, v time.Duration) { s.MaxOpenTimeout, s.backoff = v, nil })
	num(e.WindowBuckets, func(s *Settings, v int) { s.WindowBuckets = v })
	num(e.MinimumCalls, func(s *Settings, v int) { s.MinimumCalls = v })
	num(e.ConsecutiveFailures, func(s *Settings, v int) { s.ConsecutiveFailures = v })
	num(e.HalfOpenMaxProbes, func(s *Settings, v int) { s.HalfOpenMaxProbes = v })
	num(e.HalfOpenSuccesses, func(s *Settings, v int) { s.HalfOpenSuccesses = v })
	rate(e.FailureRateThreshold, func(s *Settings, v float64) { s.FailureRateThreshold = v })
	rate(e.SlowCallRateThreshold, func(s *Settings, v float64) { s.SlowCallRateThreshold = v })
	if e.FallbackOnFailure != nil {
		o = append(o, WithFallbackOnFailure(*e.FallbackOnFailure))
	}
	if len(e.FailureCodes) > 0 {
		o = append(o, WithCodes(Failure, e.FailureCodes...))
	}
	if len(e.SuccessCodes) > 0 {
		o = append(o, WithCodes(Success, e.SuccessCodes...))
	}
	if len(e.NeutralCodes) > 0 {
		o = append(o, WithCodes(Neutral, e.NeutralCodes...))
	}
	return o
}

// splitMethod cuts "/pkg.Service/Method" into its two names.
func splitMethod(fullMethod string) (service, method string) {
	s := strings.TrimPrefix(fullMethod, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// Unmatched returns the names of c, in file order, that select none of the
// given breakers (usually [Set.Breakers], once the service has created its
// breakers: gRPC breakers at dial time with [Set.MethodBreaker], named ones
// at start-up). The default name, [{}], always matches. A name that matches
// nothing is most often a typo, which would otherwise leave a breaker on
// defaults without a word; in a file shared by several services it may
// also be another service's, which is for the caller to tell apart.
func (c *Config) Unmatched(breakers []*Breaker) []Name {
	var out []Name
	for _, e := range c.Breakers {
		for _, n := range e.Name {
			if n.Service == "" || slices.ContainsFunc(breakers, n.selects) {
				continue
			}
			out = append(out, n)
		}
	}
	return out
}

// selects reports whether the name applies to b, as [Set] resolves
// settings: a method name to that method's breakers, a service name to
// every method of the service and to the named breaker of that name.
func (n Name) selects(b *Breaker) bool {
	if b.method == "" {
		return n.Method == "" && n.Service == b.name
	}
	service, method := splitMethod(b.method)
	return n.Service == service && (n.Method == "" || n.Method == method)
}
