// Command recommender runs the Recommender gRPC service, or, as
// `recommender import`, loads the originals' CSV files into its database
// (COPY in batches, then a rebuild of the recommendation tables), or, as
// `recommender rebuild`, recomputes those tables from the reviews.
//
//	recommender                      serve (configuration from the environment)
//	recommender import --products meta_office.csv --reviews office_both_set.csv
//	recommender rebuild
//
// Configuration (README.md, "Configuration"; read by internal/serve, flags
// override, `recommender -h` lists them): RECOMMENDER_ADDR (:8000),
// RECOMMENDER_ADMIN_ADDR (:9000: /metrics /healthz /readyz /breakers),
// ADPROVIDER_TARGET (the AdProvider target to dial, a gRPC target or a
// comma-separated list of replicas' host:port; default localhost:8001;
// flag -adprovider), DATABASE_URL or RECOMMENDER_DATABASE_URL, BREAKER_CONFIG
// (a JSON file; without one, GetAds gets recommender.AdProviderBreakers),
// ADMIN_TOKEN (CreateProduct and breaker admin writes), LOG_LEVEL, LOG_FORMAT (text|json),
// TLS_CERT_FILE/TLS_KEY_FILE (serve TLS) and TLS_CA_FILE (verify AdProvider).
package main

import (
	"context"
	"io"

	"github.com/breakwater/breakwater/internal/serve"
)

func main() { serve.Main("recommender", run) }

// run is the program: the import subcommand, or the service until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "import" {
		return runImport(ctx, args[1:], getenv, stderr)
	}
	if len(args) > 0 && args[0] == "rebuild" {
		return runRebuild(ctx, args[1:], getenv, stderr)
	}
	cfg, err := loadConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	return start(ctx, cfg, nil, nil)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
