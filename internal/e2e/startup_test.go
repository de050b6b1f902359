package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/breakwater/breakwater/internal/pgtest"
)

// TestManyReplicasStartTogether: eight processes of one service start at
// once on the same empty database, twenty rounds (Recommender and
// AdProvider in turn): every one becomes SERVING, the schema's migrations
// and the sample are there exactly once, and no process logs an error or a
// failed start-up attempt.
func TestManyReplicasStartTogether(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: builds the services; skipped with -short")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	b := &system{root: root, bin: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := b.build(ctx); err != nil {
		t.Fatal(err)
	}
	migrationsOf := func(service string) int {
		files, err := filepath.Glob(filepath.Join(root, "services", service, "migrations", "*.sql"))
		if err != nil || len(files) == 0 {
			t.Fatalf("migrations of %s: %v", service, err)
		}
		return len(files)
	}
	type want struct {
		service, health, sampleSQL string
		migrations                 int
		sample                     []int
	}
	kinds := []want{
		{"recommender", recommenderService, "SELECT (SELECT count(*) FROM recommender.products), (SELECT count(*) FROM recommender.reviews)",
			migrationsOf("recommender"), []int{320, 3460}},
		{"adprovider", adProviderService, "SELECT (SELECT count(*) FROM adprovider.ads), 0",
			migrationsOf("adprovider"), []int{39, 0}},
	}
	const replicas, rounds = 8, 20
	start := time.Now()
	for round := range rounds {
		k := kinds[round%2]
		dbURL := pgtest.Shared(t).NewDatabase(t)
		ports, err := freePorts(2 * replicas)
		if err != nil {
			t.Fatal(err)
		}
		up := strings.ToUpper(k.service)
		type proc struct {
			cmd  *exec.Cmd
			logs *bytes.Buffer
			addr string
		}
		procs := make([]*proc, replicas)
		var mu sync.Mutex // the buffers are written by exec's copiers
		for i := range procs {
			p := &proc{logs: &bytes.Buffer{}, addr: ports[2*i]}
			p.cmd = exec.Command(filepath.Join(b.bin, k.service))
			p.cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "ADMIN_TOKEN=x", "LOG_LEVEL=info",
				up+"_ADDR="+p.addr, up+"_ADMIN_ADDR="+ports[2*i+1], "ADPROVIDER_TARGET=127.0.0.1:1")
			w := &lockedWriter{mu: &mu, w: p.logs}
			p.cmd.Stdout, p.cmd.Stderr = w, w
			setParentDeathSignal(p.cmd)
			procs[i] = p
		}
		for _, p := range procs { // as close to at once as a loop gets
			if err := p.cmd.Start(); err != nil {
				t.Fatal(err)
			}
		}
		for i, p := range procs {
			conn, err := grpc.NewClient(p.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			wctx, wcancel := context.WithTimeout(ctx, time.Minute)
			err = (&system{}).waitServing(wctx, conn, k.health)
			wcancel()
			conn.Close()
			if err != nil {
				mu.Lock()
				t.Fatalf("round %d, %s %d: %v\n%s", round, k.service, i, err, p.logs.String())
			}
		}
		for _, p := range procs {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
		for i, p := range procs {
			if err := p.cmd.Wait(); err != nil {
				t.Errorf("round %d, %s %d on SIGTERM: %v", round, k.service, i, err)
			}
			for _, line := range strings.Split(p.logs.String(), "\n") {
				if strings.Contains(line, "level=ERROR") || strings.Contains(line, "failed; retrying") {
					t.Errorf("round %d, %s %d logged: %s", round, k.service, i, line)
				}
			}
		}
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		var versions, a, c int
		err = conn.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM %s.goose_db_version WHERE version_id > 0", k.service)).Scan(&versions)
		if err == nil {
			err = conn.QueryRow(ctx, k.sampleSQL).Scan(&a, &c)
		}
		conn.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if versions != k.migrations || a != k.sample[0] || c != k.sample[1] {
			t.Fatalf("round %d, %s: %d migrations recorded (want %d), sample %d/%d (want %v)",
				round, k.service, versions, k.migrations, a, c, k.sample)
		}
	}
	t.Logf("%d rounds of %d replicas starting together: all SERVING, schema and sample once each, in %v",
		rounds, replicas, time.Since(start).Round(time.Millisecond))
}

// lockedWriter serialises writes to a buffer shared by a process's stdout
// and stderr copiers.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
