package serve

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/breakwater/breakwater/interceptors/breaker"
)

// warnUnmatchedConfig logs a warning for each BREAKER_CONFIG name that
// selects none of the service's breakers and cannot be another service's,
// naming the entry and saying why. It runs when Serve starts: by then the
// service has created every breaker it will have at start-up (database
// breakers when it opens its pool, gRPC breakers when it dials, with
// breaker.Set.MethodBreaker), so a typo shows in the first lines of the log
// instead of leaving a breaker silently on defaults.
func (s *Server) warnUnmatchedConfig() {
	if s.breakerConfig == nil {
		return
	}
	for _, n := range s.breakerConfig.Unmatched(s.breakers.Breakers()) {
		if why := unmatchedWhy(s.cfg.Name, n); why != "" {
			s.logger.Warn("breaker config entry matches no breaker", "entry", n.String(), "why", why,
				"file", s.cfg.BreakerConfig)
		}
	}
}

// unmatchedWhy says why a name that selects none of service's breakers is
// wrong, or returns "" when it may be another service's: one file usually
// configures every service. A method name is checked against the gRPC
// services linked into the binary (the APIs it serves and calls); a named
// breaker is "<service>/<resource>" ("adprovider/postgres"), and each
// service checks the names under its own prefix.
func unmatchedWhy(service string, n breaker.Name) string {
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(n.Service))
	if err == nil {
		sd, ok := d.(protoreflect.ServiceDescriptor)
		switch {
		case !ok:
			return fmt.Sprintf("%s is a %T, not a gRPC service", n.Service, d)
		case n.Method != "" && sd.Methods().ByName(protoreflect.Name(n.Method)) == nil:
			return fmt.Sprintf("gRPC service %s has no method %s", n.Service, n.Method)
		}
		return "" // a real service or method: another service's client may call it
	}
	if n.Method != "" || !strings.Contains(n.Service, "/") {
		return fmt.Sprintf("no gRPC service %s is known to %s, and no breaker is named so", n.Service, service)
	}
	if strings.HasPrefix(n.Service, service+"/") {
		return fmt.Sprintf("%s has no breaker named %s", service, n.Service)
	}
	return "" // another service's named breaker
}
