package serve

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/breakwater/breakwater/internal/dsn"
)

// Config is what every breakwater service reads at start-up: the
// environment first (README.md, "Configuration"), then flags that override it.
type Config struct {
	// Name is the service's short name ("recommender", "adprovider"); it
	// prefixes its own environment variables (RECOMMENDER_ADDR, ...).
	Name string

	GRPCAddr    string // <NAME>_ADDR
	AdminAddr   string // <NAME>_ADMIN_ADDR
	DatabaseURL string // <NAME>_DATABASE_URL, else DATABASE_URL
	// DatabaseURLFrom names where DatabaseURL came from ("-database-url",
	// "ADPROVIDER_DATABASE_URL", "DATABASE_URL"), for errors that ask the
	// operator to check it.
	DatabaseURLFrom string
	BreakerConfig   string // BREAKER_CONFIG: a JSON file in gRPC service-config shape
	AdminToken      string // ADMIN_TOKEN: needed for admin writes; unset refuses them
	LogLevel        slog.Level
	LogFormat       string // text | json

	// TLS: the server's certificate and key (plaintext when both are unset),
	// and the CA that verifies the servers this service dials.
	TLSCertFile, TLSKeyFile, TLSCAFile string

	// ShutdownTimeout bounds the graceful drain on SIGTERM.
	ShutdownTimeout time.Duration

	// MaxConcurrentStreams bounds the RPCs one client connection may have
	// in flight (MAX_CONCURRENT_STREAMS, default 1000; HTTP/2's
	// SETTINGS_MAX_CONCURRENT_STREAMS): more wait on the client's side, so a
	// single connection cannot pile unbounded work on the server.
	MaxConcurrentStreams uint
}

// DefaultMaxConcurrentStreams is the default of Config.MaxConcurrentStreams.
const DefaultMaxConcurrentStreams = 1000

// Defaults are a service's default listen addresses.
type Defaults struct {
	GRPCAddr, AdminAddr string
}

// LoadConfig reads the environment through getenv, then parses args (without
// the program name) as flags that override it. -h prints the flags with
// their environment variables to stderr and returns flag.ErrHelp. A service
// adds flags of its own with extra, which is called before parsing.
func LoadConfig(name string, d Defaults, args []string, getenv func(string) string, stderr io.Writer, extra ...func(*flag.FlagSet)) (Config, error) {
	up := strings.ToUpper(name)
	env := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	cfg := Config{
		Name:            name,
		GRPCAddr:        env(up+"_ADDR", d.GRPCAddr),
		AdminAddr:       env(up+"_ADMIN_ADDR", d.AdminAddr),
		DatabaseURL:     env(up+"_DATABASE_URL", getenv("DATABASE_URL")),
		BreakerConfig:   getenv("BREAKER_CONFIG"),
		AdminToken:      getenv("ADMIN_TOKEN"),
		LogFormat:       env("LOG_FORMAT", "text"),
		TLSCertFile:     getenv("TLS_CERT_FILE"),
		TLSKeyFile:      getenv("TLS_KEY_FILE"),
		TLSCAFile:       getenv("TLS_CA_FILE"),
		ShutdownTimeout: 10 * time.Second,
	}
	level := env("LOG_LEVEL", "info")
	streams := env("MAX_CONCURRENT_STREAMS", fmt.Sprint(DefaultMaxConcurrentStreams))
	switch {
	case getenv(up+"_DATABASE_URL") != "":
		cfg.DatabaseURLFrom = up + "_DATABASE_URL"
	case cfg.DatabaseURL != "":
		cfg.DatabaseURLFrom = "DATABASE_URL"
	}

	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.GRPCAddr, "addr", cfg.GRPCAddr, "gRPC listen address ("+up+"_ADDR)")
	fs.StringVar(&cfg.AdminAddr, "admin-addr", cfg.AdminAddr, "admin HTTP listen address: /metrics /healthz /readyz /breakers ("+up+"_ADMIN_ADDR)")
	// dsn.Var: -h prints the default, which comes from the environment.
	fs.Var(dsn.Var{P: &cfg.DatabaseURL}, "database-url", "PostgreSQL URL ("+up+"_DATABASE_URL or DATABASE_URL); -h shows it without its password")
	fs.StringVar(&cfg.BreakerConfig, "breaker-config", cfg.BreakerConfig, "breaker config JSON file (BREAKER_CONFIG)")
	fs.StringVar(&level, "log-level", level, "debug, info, warn or error (LOG_LEVEL)")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json (LOG_FORMAT)")
	fs.StringVar(&cfg.TLSCertFile, "tls-cert", cfg.TLSCertFile, "server certificate file; plaintext when unset (TLS_CERT_FILE)")
	fs.StringVar(&cfg.TLSKeyFile, "tls-key", cfg.TLSKeyFile, "server key file (TLS_KEY_FILE)")
	fs.StringVar(&cfg.TLSCAFile, "tls-ca", cfg.TLSCAFile, "CA file that verifies dialled servers (TLS_CA_FILE)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "bound on the graceful drain at shutdown")
	fs.StringVar(&streams, "max-concurrent-streams", streams, "RPCs in flight per client connection (MAX_CONCURRENT_STREAMS)")
	for _, add := range extra {
		add(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of %s (flags override the environment):\n", name)
		fs.PrintDefaults()
		fmt.Fprint(fs.Output(), `
Environment only (a flag would show a secret in the process list):
  ADMIN_TOKEN
    	token that admin writes (SetBreakerMode, ResetBreaker, catalog and ad
    	writes) need as "authorization: Bearer <token>"; unset refuses them all
`)
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "database-url" {
			cfg.DatabaseURLFrom = "-database-url"
		}
	})
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(level)); err != nil {
		return Config{}, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	n, err := strconv.ParseUint(streams, 10, 32)
	if err != nil || n == 0 {
		return Config{}, fmt.Errorf("max concurrent streams %q: want a whole number above 0", streams)
	}
	cfg.MaxConcurrentStreams = uint(n)
	return cfg, cfg.validate()
}

func (c Config) validate() error {
	var errs []error
	if c.GRPCAddr == "" {
		errs = append(errs, errors.New("gRPC address is empty"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log format %q: want text or json", c.LogFormat))
	}
	if c.DatabaseURL != "" {
		if _, err := pgconn.ParseConfig(c.DatabaseURL); err != nil {
			// pgx's parse errors can echo the URL, password included.
			errs = append(errs, fmt.Errorf("the database URL is malformed (check %s; it is not shown, since it may hold a password)", c.DatabaseURLFrom))
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("TLS needs both a certificate and a key file"))
	}
	return errors.Join(errs...)
}

// NewLogger returns the service's logger, writing to w in the configured
// format, with the service name on every record.
func NewLogger(c Config, w io.Writer) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if c.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(h).With("service", c.Name)
}

// LogValue makes a Config safe to log whole: the connection string is
// redacted (package dsn) and the admin token is reduced to whether one is
// set. TLS files are paths, never key material.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", c.Name),
		slog.String("grpc_addr", c.GRPCAddr),
		slog.String("admin_addr", c.AdminAddr),
		slog.String("database", dsn.Redact(c.DatabaseURL)),
		slog.String("breaker_config", c.BreakerConfig),
		slog.Bool("admin_token_set", c.AdminToken != ""),
		slog.String("log_level", c.LogLevel.String()),
		slog.String("log_format", c.LogFormat),
		slog.String("tls_cert_file", c.TLSCertFile),
		slog.String("tls_key_file", c.TLSKeyFile),
		slog.String("tls_ca_file", c.TLSCAFile),
		slog.Duration("shutdown_timeout", c.ShutdownTimeout),
	)
}

// String is LogValue's text, so that %v and %+v of a Config (in an error or
// a test failure) are as safe as a log line.
func (c Config) String() string { return c.LogValue().String() }
