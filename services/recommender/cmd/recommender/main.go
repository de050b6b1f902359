// Command recommender runs the Recommender gRPC service, or, as
// `recommender import`, loads the originals' CSV files into its database.
//
//	recommender                      serve (configuration from the environment)
//	recommender import --products meta_office.csv --reviews office_both_set.csv
//
// Environment (DESIGN.md, "Configuration"): RECOMMENDER_ADDR (:8000),
// ADPROVIDER_TARGET (the AdProvider address to dial; default localhost:8001),
// DATABASE_URL or RECOMMENDER_DATABASE_URL, BREAKER_CONFIG (a JSON file;
// without one, GetAds gets recommender.AdProviderBreakers), LOG_LEVEL,
// LOG_FORMAT (text|json). Flags -addr and -adprovider override the
// environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "recommender:", err)
		os.Exit(1)
	}
}

// run is the program: the import subcommand, or the service until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "import" {
		return runImport(ctx, args[1:], getenv, stderr)
	}
	cfg, err := configFromEnv(getenv, stderr)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("recommender", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", cfg.addr, "address to serve gRPC on")
	fs.StringVar(&cfg.adProviderTarget, "adprovider", cfg.adProviderTarget, "AdProvider target to dial")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return serve(ctx, cfg)
}

// config is what the environment sets.
type config struct {
	addr             string
	adProviderTarget string
	databaseURL      string
	breakerConfig    string
	logger           *slog.Logger
	// onListen, when set, learns the address listened on (tests use port 0).
	onListen func(addr string)
}

func configFromEnv(getenv func(string) string, stderr io.Writer) (config, error) {
	cfg := config{
		addr:             or(getenv("RECOMMENDER_ADDR"), ":8000"),
		adProviderTarget: or(getenv("ADPROVIDER_TARGET"), "localhost:8001"),
		databaseURL:      or(getenv("RECOMMENDER_DATABASE_URL"), getenv("DATABASE_URL")),
		breakerConfig:    getenv("BREAKER_CONFIG"),
	}
	if cfg.databaseURL == "" {
		return cfg, errors.New("no database: set DATABASE_URL or RECOMMENDER_DATABASE_URL")
	}
	logger, err := newLogger(getenv, stderr)
	cfg.logger = logger
	return cfg, err
}

func newLogger(getenv func(string) string, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(or(getenv("LOG_LEVEL"), "info"))); err != nil {
		return nil, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	hopts := &slog.HandlerOptions{Level: level}
	switch f := strings.ToLower(or(getenv("LOG_FORMAT"), "text")); f {
	case "text":
		return slog.New(slog.NewTextHandler(w, hopts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, hopts)), nil
	default:
		return nil, fmt.Errorf("LOG_FORMAT %q: want text or json", f)
	}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
