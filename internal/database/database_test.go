package database_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"go.uber.org/goleak"

	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/pgtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(pgtest.Wrap(m)) }

var migrations = fstest.MapFS{
	"00001_things.sql": {Data: []byte(`-- +goose Up
CREATE TABLE things (id int PRIMARY KEY, name text NOT NULL);
-- +goose Down
DROP TABLE things;
`)},
	"00002_more.sql": {Data: []byte(`-- +goose Up
ALTER TABLE things ADD COLUMN note text;
-- +goose Down
ALTER TABLE things DROP COLUMN note;
`)},
}

func TestMigrateIsIdempotentAndSchemaScoped(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Shared(t).NewDatabase(t)

	pool, err := database.Open(ctx, url, "svc_a")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	// Two replicas migrating at once: the advisory lock lets one do it.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() { errs <- database.Migrate(ctx, pool, "svc_a", migrations) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	if err := database.Migrate(ctx, pool, "svc_a", migrations); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	// Unqualified names resolve in the service's schema.
	if _, err := pool.Exec(ctx, "INSERT INTO things (id, name, note) VALUES (1, 'a', 'n')"); err != nil {
		t.Fatal(err)
	}
	var schema string
	if err := pool.QueryRow(ctx, "SELECT table_schema FROM information_schema.tables WHERE table_name = 'things'").Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if schema != "svc_a" {
		t.Fatalf("table in schema %q, want svc_a", schema)
	}
	var version int64
	if err := pool.QueryRow(ctx, "SELECT max(version_id) FROM svc_a.goose_db_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != 2 {
		t.Fatalf("version %d, want 2", version)
	}

	// A second service in the same database sees none of it.
	other, err := database.Open(ctx, url, "svc_b")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := database.Migrate(ctx, other, "svc_b", fstest.MapFS{
		"00001_other.sql": {Data: []byte("-- +goose Up\nCREATE TABLE other (id int);\n-- +goose Down\nDROP TABLE other;\n")},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(ctx, "SELECT 1 FROM things"); err == nil {
		t.Fatal("svc_b can see svc_a's table through its search_path")
	}
}

func TestOpenDoesNotConnect(t *testing.T) {
	// Nothing listens on port 1: Open must still succeed, and a query fail.
	pool, err := database.Open(context.Background(), "postgres://u:secret@127.0.0.1:1/db", "s", database.WithConnectTimeout(time.Second))
	if err != nil {
		t.Fatalf("open with the database down: %v", err)
	}
	defer pool.Close()
	if _, err := pool.Exec(context.Background(), "SELECT 1"); err == nil {
		t.Fatal("query against a closed port succeeded")
	}
}

func TestOpenDoesNotLeakPassword(t *testing.T) {
	_, err := database.Open(context.Background(), "postgres://u:hunter2@host:notaport/db", "s")
	if err == nil {
		t.Fatal("malformed URL accepted")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error leaks the password: %v", err)
	}
}

// retryLog tells the test when a migration attempt has failed.
type retryLog struct {
	slog.Handler
	failed chan struct{}
	once   sync.Once
}

func (h *retryLog) Enabled(context.Context, slog.Level) bool { return true }

func (h *retryLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "retrying") {
		h.once.Do(func() { close(h.failed) })
	}
	return nil
}

func TestMigrateWithRetryWaitsForTheDatabase(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv := pgtest.Start(t)
	srv.Stop(t)

	pool, err := database.Open(ctx, srv.URL(), "late")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	h := &retryLog{Handler: slog.DiscardHandler, failed: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		done <- database.PrepareWithRetry(ctx, pool, "late", migrations, nil, 200*time.Millisecond, slog.New(h))
	}()

	select { // at least one attempt failed against the stopped server
	case <-h.failed:
	case err := <-done:
		t.Fatalf("MigrateWithRetry returned before the database was up: %v", err)
	}
	srv.Restart(t)
	if err := <-done; err != nil {
		t.Fatalf("MigrateWithRetry: %v", err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO things (id, name) VALUES (1, 'x')"); err != nil {
		t.Fatalf("table missing after retry: %v", err)
	}
}

// TestOpenPoolSettings: connections have a maximum lifetime and a
// health-check period unless the URL sets its own, and a URL naming two
// hosts with target_session_attrs=read-write keeps both, checked on connect.
func TestOpenPoolSettings(t *testing.T) {
	ctx := context.Background()
	pool, err := database.Open(ctx, "postgres://u@127.0.0.1:1,127.0.0.1:2/db?target_session_attrs=read-write", "svc")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	cfg := pool.Config()
	if cfg.MaxConnLifetime != database.DefaultMaxConnLifetime || cfg.MaxConnLifetimeJitter == 0 ||
		cfg.HealthCheckPeriod != database.DefaultHealthCheckPeriod {
		t.Errorf("lifetime %v (jitter %v), health check %v; want the defaults", cfg.MaxConnLifetime, cfg.MaxConnLifetimeJitter, cfg.HealthCheckPeriod)
	}
	second := false
	for _, f := range cfg.ConnConfig.Fallbacks { // each host with and without TLS (sslmode=prefer)
		second = second || f.Port == 2
	}
	if !second || cfg.ConnConfig.ValidateConnect == nil {
		t.Errorf("second host %v, validate %v; want the second host and the read-write check", second, cfg.ConnConfig.ValidateConnect != nil)
	}

	own, err := database.Open(ctx, "postgres://u@127.0.0.1:1/db?pool_max_conn_lifetime=1m&pool_health_check_period=2s", "svc",
		database.WithMaxConnLifetime(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if c := own.Config(); c.MaxConnLifetime != time.Minute || c.HealthCheckPeriod != 2*time.Second {
		t.Errorf("URL's settings lost: lifetime %v, health check %v", c.MaxConnLifetime, c.HealthCheckPeriod)
	}
}
