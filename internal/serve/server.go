package serve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"time"

	"buf.build/go/protovalidate"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	breakerv1 "github.com/breakwater/breakwater/gen/go/breaker/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/breaker/breakerprom"
	"github.com/breakwater/breakwater/internal/apidesc"
	"github.com/breakwater/breakwater/internal/breakeradmin"
	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/validate"
)

// Server is one service's process: gRPC and admin HTTP, with what they share.
type Server struct {
	cfg      Config
	logger   *slog.Logger
	grpc     *grpc.Server
	health   *health.Server
	registry *prometheus.Registry
	breakers *breaker.Set
	pools    []*pgxpool.Pool // opened by OpenPool, closed by Close
	// breakerConfig is BREAKER_CONFIG as loaded, kept to check at Serve
	// that each of its names selects a breaker.
	breakerConfig *breaker.Config
	srvMetric     *grpcprom.ServerMetrics
	cliMetric     *grpcprom.ClientMetrics
	validator     protovalidate.Validator
	mux           *http.ServeMux
}

// New builds a service's server from cfg, with the process's breaker set.
// Register the service's API on [Server.GRPC], then call [Server.Run]; the
// caller owns the server, and through it the set and the pools of
// [Server.OpenPool]: `defer srv.Close()` once New has returned, and nothing
// else closes them.
func New(cfg Config, logger *slog.Logger, opts ...Option) (*Server, error) {
	o := evaluateOptions(opts)
	// Breaker metrics count transitions from events and read the rest from
	// snapshots at scrape time, so no per-call event is needed.
	breakerMetrics := breakerprom.New()
	setOpts := []breaker.SetOption{
		// Every counted failure is logged at debug, so a trip never comes
		// without the failures that caused it in the log.
		breaker.WithListener(breaker.NewSlogListener(logger), breaker.EventStateChange, breaker.EventFailure),
		breaker.WithListener(breakerMetrics, breaker.EventCreated, breaker.EventStateChange),
	}
	var loaded *breaker.Config
	if cfg.BreakerConfig != "" {
		bc, err := breaker.LoadConfig(cfg.BreakerConfig)
		if err != nil {
			return nil, fmt.Errorf("breaker config: %w", err)
		}
		setOpts = append(setOpts, breaker.WithConfig(bc))
		loaded = bc
	}
	validator, err := protovalidate.New()
	if err != nil {
		return nil, fmt.Errorf("validator: %w", err)
	}

	var tlsCreds credentials.TransportCredentials
	if cfg.TLSCertFile != "" {
		if tlsCreds, err = credentials.NewServerTLSFromFile(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
	}
	// Reflection answers from descriptors that keep the proto comments, so
	// `grpcurl describe` shows the API's documentation.
	descs, err := apidesc.NewResolver()
	if err != nil {
		return nil, err
	}

	// Nothing fails after this point: the set made here is closed by
	// [Server.Close], which the caller defers once New has returned.
	s := &Server{
		cfg:           cfg,
		logger:        logger,
		breakerConfig: loaded,
		health:        health.NewServer(),
		registry:      prometheus.NewRegistry(),
		validator:     validator,
		mux:           http.NewServeMux(),
		srvMetric:     grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram()),
		cliMetric:     grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram()),
	}
	setOpts = append(setOpts, o.setOptions...)
	s.breakers = breaker.NewSet(setOpts...)

	s.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.srvMetric, s.cliMetric, breakerMetrics,
	)
	for _, c := range o.collectors {
		s.registry.MustRegister(c)
	}

	streams := cfg.MaxConcurrentStreams
	if streams == 0 {
		streams = DefaultMaxConcurrentStreams
	}
	serverOpts := []grpc.ServerOption{
		grpc.MaxConcurrentStreams(uint32(streams)),
		// Clients (the Recommender's AdProvider channel) ping every 10 s to
		// find silent connections; allow down to 5 s, also without RPCs in
		// flight. The server pings an idle client after 30 s and drops it
		// when no answer comes within 10 s. After 5 minutes (±10%, gRPC's
		// jitter) a connection is asked to go away (GOAWAY; calls in flight
		// get 30 s to finish): the client reconnects and re-resolves the
		// target, so a Recommender dialling every replica by DNS (a
		// headless Service) finds replicas added since, and connections
		// through a ClusterIP Service spread again after a scale-up.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second,
			MaxConnectionAge: maxConnectionAge, MaxConnectionAgeGrace: 30 * time.Second}),
		grpc.ChainUnaryInterceptor(
			s.srvMetric.UnaryServerInterceptor(),
			recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(s.recovered)),
			validate.UnaryServerInterceptor(validator),
		),
		grpc.ChainStreamInterceptor(
			s.srvMetric.StreamServerInterceptor(),
			recovery.StreamServerInterceptor(recovery.WithRecoveryHandlerContext(s.recovered)),
			validate.StreamServerInterceptor(validator),
		),
	}
	if tlsCreds != nil {
		serverOpts = append(serverOpts, grpc.Creds(tlsCreds))
	}
	s.grpc = grpc.NewServer(append(serverOpts, o.serverOptions...)...)
	healthpb.RegisterHealthServer(s.grpc, s.health)
	refl := reflection.NewServerV1(reflection.ServerOptions{Services: s.grpc, DescriptorResolver: descs})
	reflectionv1.RegisterServerReflectionServer(s.grpc, refl)
	reflectionv1alpha.RegisterServerReflectionServer(s.grpc, reflection.NewServer(reflection.ServerOptions{Services: s.grpc, DescriptorResolver: descs}))
	breakerv1.RegisterBreakerAdminServiceServer(s.grpc, breakeradmin.NewServer(s.breakers, cfg.AdminToken))

	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{Registry: s.registry}))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /breakers", breakeradmin.PageHandler(cfg.Name))
	s.mux.Handle("GET /breakers.json", breakeradmin.JSONHandler(s.breakers))
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/breakers", http.StatusFound) })
	return s, nil
}

// GRPC is the gRPC server to register the service's API on.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Health is the grpc.health.v1 server; services set their own status on it.
func (s *Server) Health() *health.Server { return s.health }

// Breakers is the process's breaker set. Add listeners that need one of
// its breakers with [breaker.Set.AddListener] once that breaker exists.
func (s *Server) Breakers() *breaker.Set { return s.breakers }

// Close closes the breaker set (recovery probing stops, queued events are
// delivered), then the pools of [Server.OpenPool], newest first, each
// within [PoolCloseBound]: the set first, so that no probe holds a
// connection the pool's close would wait for. Call it once, deferred,
// right after [New] returns: it runs after [Server.Run] or [Server.Serve]
// has returned, or on any early return. It always returns nil.
func (s *Server) Close() error {
	_ = s.breakers.Close()
	for _, pool := range slices.Backward(s.pools) {
		database.Close(pool, PoolCloseBound, s.logger)
	}
	s.pools = nil
	return nil
}

// Registry is the Prometheus registry /metrics serves.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Logger is the service's logger.
func (s *Server) Logger() *slog.Logger { return s.logger }

// Config is the configuration the server was built from.
func (s *Server) Config() Config { return s.cfg }

// HandleHTTP adds a handler to the admin HTTP side.
func (s *Server) HandleHTTP(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// DialOptions are the options for the connections this service makes to
// other services: transport credentials (TLS with TLS_CA_FILE when set) and
// client metrics, outside any interceptor the caller adds after them.
func (s *Server) DialOptions() ([]grpc.DialOption, error) {
	creds := insecure.NewCredentials()
	if s.cfg.TLSCAFile != "" {
		pem, err := os.ReadFile(s.cfg.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca %s: no certificates found", s.cfg.TLSCAFile)
		}
		creds = credentials.NewTLS(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	}
	return []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithChainUnaryInterceptor(s.cliMetric.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(s.cliMetric.StreamClientInterceptor()),
	}, nil
}

// Run listens on the gRPC and admin addresses and serves until ctx ends or a
// listener fails, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	grpcLis, err := lc.Listen(ctx, "tcp", s.cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("gRPC listener: %w", err)
	}
	var adminLis net.Listener
	if s.cfg.AdminAddr != "" {
		if adminLis, err = lc.Listen(ctx, "tcp", s.cfg.AdminAddr); err != nil {
			grpcLis.Close()
			return fmt.Errorf("admin listener: %w", err)
		}
	}
	return s.Serve(ctx, grpcLis, adminLis)
}

// Serve is Run on listeners the caller opened (tests use 127.0.0.1:0).
// adminLis may be nil.
func (s *Server) Serve(ctx context.Context, grpcLis, adminLis net.Listener) error {
	if err := s.precompileRules(); err != nil {
		grpcLis.Close()
		if adminLis != nil {
			adminLis.Close()
		}
		return err
	}
	s.srvMetric.InitializeMetrics(s.grpc)
	s.warnUnmatchedConfig()

	errc := make(chan error, 2)
	go func() {
		if err := s.grpc.Serve(grpcLis); err != nil {
			errc <- fmt.Errorf("serve gRPC: %w", err)
		}
	}()
	s.logger.Info("serving gRPC", "addr", grpcLis.Addr().String(), "tls", s.cfg.TLSCertFile != "")

	var admin *http.Server
	if adminLis != nil {
		admin = &http.Server{Handler: s.mux, ReadHeaderTimeout: 5 * time.Second}
		go func() {
			if err := admin.Serve(adminLis); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve admin HTTP: %w", err)
			}
		}()
		s.logger.Info("serving admin HTTP", "addr", adminLis.Addr().String(), "paths", "/metrics /healthz /readyz /breakers")
	}

	var runErr error
	select {
	case <-ctx.Done():
		s.logger.Info("shutting down", "drain_timeout", s.cfg.ShutdownTimeout)
	case runErr = <-errc:
		s.logger.Error("listener failed; shutting down", "err", runErr)
	}
	s.shutdown(admin)
	return runErr
}

func (s *Server) shutdown(admin *http.Server) {
	s.health.Shutdown() // every service NOT_SERVING: stop new work first
	drained := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(drained)
	}()
	timeout := s.cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		s.logger.Warn("drain timed out; cutting remaining RPCs", "timeout", timeout)
		s.grpc.Stop()
		<-drained
	}
	if admin != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = admin.Shutdown(ctx)
	}
	s.logger.Info("stopped")
}

// precompileRules compiles the validation rules of every registered service
// now, so a broken rule stops start-up instead of failing a request.
func (s *Server) precompileRules() error {
	var sds []protoreflect.ServiceDescriptor
	for name := range s.grpc.GetServiceInfo() {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			continue // services registered without a descriptor carry no rules
		}
		if sd, ok := d.(protoreflect.ServiceDescriptor); ok {
			sds = append(sds, sd)
		}
	}
	return validate.Precompile(s.validator, sds...)
}

// readyz answers 200 when every registered service reports SERVING.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	names := make([]string, 0)
	for name := range s.grpc.GetServiceInfo() {
		if name == healthpb.Health_ServiceDesc.ServiceName || name == "grpc.reflection.v1.ServerReflection" ||
			name == "grpc.reflection.v1alpha.ServerReflection" || name == breakerv1.BreakerAdminService_ServiceDesc.ServiceName {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	ready := true
	body := ""
	for _, name := range names {
		resp, err := s.health.Check(r.Context(), &healthpb.HealthCheckRequest{Service: name})
		st := "UNKNOWN"
		if err == nil {
			st = resp.GetStatus().String()
		} else if status.Code(err) == codes.NotFound {
			st = "SERVICE_UNKNOWN"
		}
		if st != healthpb.HealthCheckResponse_SERVING.String() {
			ready = false
		}
		body += name + " " + st + "\n"
	}
	if !ready {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_, _ = w.Write([]byte(body))
}

func (s *Server) recovered(ctx context.Context, p any) error {
	s.logger.ErrorContext(ctx, "panic in handler", "panic", p, "stack", string(debug.Stack()))
	return status.Error(codes.Internal, "internal error")
}

// maxConnectionAge is how long a client connection lives before the server
// asks the client to reconnect (see the keepalive settings in New).
const maxConnectionAge = 5 * time.Minute
