package database_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/pgtest"
)

// sampleLoader fills things with three rows when it is empty, in two
// statements, so two loaders racing without the lock would both insert.
func sampleLoader(ctx context.Context, tx pgx.Tx) error {
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM things").Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	_, err := tx.Exec(ctx, "INSERT INTO things (id, name) SELECT g, 'sample' FROM generate_series(1, 3) g")
	return err
}

func openPools(t *testing.T, url, schema string, n int) []*pgxpool.Pool {
	t.Helper()
	pools := make([]*pgxpool.Pool, n)
	for i := range pools {
		p, err := database.Open(context.Background(), url, schema, database.WithMaxConns(1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pools[i] = p
	}
	return pools
}

func checkPrepared(t *testing.T, pool *pgxpool.Pool, schema string) {
	t.Helper()
	ctx := context.Background()
	var rows, version int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM things").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM %s.goose_db_version WHERE version_id > 0", schema)).Scan(&version); err != nil {
		t.Fatal(err)
	}
	if rows != 3 || version != 2 {
		t.Fatalf("after preparing: %d sample rows (want 3), %d migrations recorded (want 2)", rows, version)
	}
}

// TestPrepareManyReplicasAtOnce is the start-up race of several replicas on
// an empty database: schema creation, migrations and the sample load each
// happen exactly once, and no replica fails. Each replica has its own pool of
// one connection (the lock must not need a second one from it). Twenty
// rounds, each on a fresh schema, because the unlocked version failed about
// one round in three.
func TestPrepareManyReplicasAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := pgtest.Shared(t).NewDatabase(t)
	for round := range 20 {
		schema := fmt.Sprintf("race_%d", round)
		pools := openPools(t, url, schema, 8)
		var wg sync.WaitGroup
		errs := make([]error, len(pools))
		start := make(chan struct{})
		for i, p := range pools {
			wg.Go(func() {
				<-start
				errs[i] = database.Prepare(ctx, p, schema, migrations, sampleLoader)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, replica %d: %v", round, i, err)
			}
		}
		checkPrepared(t, pools[0], schema)
		for _, p := range pools { // keep within max_connections over the rounds
			p.Close()
		}
	}
}

// TestPrepareWaitsForTheReplicaHoldingTheLock forces the order the race
// needs: a second replica arrives while the first holds the start-up lock
// (before it has created anything). It must wait, then find the work done.
func TestPrepareWaitsForTheReplicaHoldingTheLock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := pgtest.Shared(t).NewDatabase(t)
	pools := openPools(t, url, "forced", 2)

	inside, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	defer database.SetBeforePrepare(func(string) {
		once.Do(func() { close(inside); <-release })
	})()

	first := make(chan error, 1)
	go func() { first <- database.Prepare(ctx, pools[0], "forced", migrations, sampleLoader) }()
	<-inside // the first replica holds the lock and has created nothing yet
	second := make(chan error, 1)
	go func() { second <- database.Prepare(ctx, pools[1], "forced", migrations, sampleLoader) }()

	// The second replica is now queued on the advisory lock.
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for {
		var waiting int
		if err := admin.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 1 {
			break
		}
		select {
		case err := <-second:
			t.Fatalf("second replica finished while the first held the lock: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	close(release)
	for name, c := range map[string]chan error{"first": first, "second": second} {
		if err := <-c; err != nil {
			t.Fatalf("%s replica: %v", name, err)
		}
	}
	checkPrepared(t, pools[0], "forced")
}

// TestPrepareLoadIsAllOrNothing: a loader that fails half-way leaves no
// rows, and the next start loads the whole sample.
func TestPrepareLoadIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	url := pgtest.Shared(t).NewDatabase(t)
	pool := openPools(t, url, "atomic", 1)[0]
	failing := func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO things (id, name) VALUES (1, 'half')"); err != nil {
			return err
		}
		return fmt.Errorf("process died here")
	}
	if err := database.Prepare(ctx, pool, "atomic", migrations, failing); err == nil {
		t.Fatal("a failing loader did not fail Prepare")
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM things").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("a failed load left %d rows", n)
	}
	if err := database.Prepare(ctx, pool, "atomic", migrations, sampleLoader); err != nil {
		t.Fatal(err)
	}
	checkPrepared(t, pool, "atomic")
}
