package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/breakwater/breakwater/internal/pgtest"
)

// TestReplicated: a commit the primary acknowledged is on the standby once
// the primary is killed and the standby promoted, and the multi-host URL
// reaches whichever server takes writes.
func TestReplicated(t *testing.T) {
	r := pgtest.StartReplicated(t)
	url := r.NewDatabase(t)
	ctx := context.Background()

	conn := connect(t, url)
	var standby bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&standby); err != nil || standby {
		t.Fatalf("multi-host URL reached a standby (%v, %v); want the primary", standby, err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100)"); err != nil {
		t.Fatal(err)
	}
	// The standby serves reads, and refuses writes with 25006.
	sconn := connect(t, r.Standby.URL())
	if _, err := sconn.Exec(ctx, "CREATE TABLE u (id int)"); err == nil {
		t.Error("the standby took a write")
	}

	r.Primary.Kill(t)
	r.Standby.Promote(t)
	conn2, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("multi-host URL after promotion: %v", err)
	}
	defer conn2.Close(ctx)
	if n := queryInt(t, conn2, "SELECT count(*) FROM t"); n != 100 {
		t.Errorf("after fail-over: %d rows, want the 100 acknowledged", n)
	}
	if _, err := conn2.Exec(ctx, "INSERT INTO t VALUES (101)"); err != nil {
		t.Errorf("write on the promoted standby: %v", err)
	}
}
