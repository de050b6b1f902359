package pgbreaker_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/internal/pgtest"
)

type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// benchDB makes a table with an index on one database of the shared
// server, and the same pool bare and through pgbreaker.
func benchDB(b *testing.B) (*pgxpool.Pool, *pgbreaker.DB) {
	url := pgtest.Shared(b).NewDatabase(b)
	setup := connect(b, url)
	mustExec(b, setup, "CREATE TABLE kv (k int PRIMARY KEY, v text NOT NULL)")
	mustExec(b, setup, "INSERT INTO kv SELECT n, 'value ' || n FROM generate_series(1, 10000) n")
	mustExec(b, setup, "ANALYZE kv")
	pool := newPool(b, url)
	set := breaker.NewSet()
	b.Cleanup(func() { _ = set.Close() })
	return pool, pgbreaker.New(pool, set)
}

func lookup(ctx context.Context, b *testing.B, q rowQuerier, k int) {
	var v string
	if err := q.QueryRow(ctx, "SELECT v FROM kv WHERE k = $1", k%10000+1).Scan(&v); err != nil {
		b.Fatal(err)
	}
}

// requestContext is what a gRPC handler's context looks like when the
// client set a deadline, as breakwater's clients always do.
func requestContext(b *testing.B) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	b.Cleanup(cancel)
	return ctx
}

// BenchmarkQuery compares one indexed SELECT through the bare pool and
// through pgbreaker on the same database, both under the same request
// context with a deadline; the goal is breaker/pool ≤ 1.02. The breaker's
// cost per call is the admission and the record at Scan.
func BenchmarkQuery(b *testing.B) {
	pool, db := benchDB(b)
	run := func(b *testing.B, q rowQuerier) {
		ctx := requestContext(b)
		b.ReportAllocs()
		k := 0
		for b.Loop() {
			k++
			lookup(ctx, b, q, k)
		}
	}
	b.Run("pool", func(b *testing.B) { run(b, pool) })
	b.Run("breaker", func(b *testing.B) { run(b, db) })
}

// BenchmarkQueryNoCallerDeadline is BenchmarkQuery with a context without
// deadline: pgbreaker then adds its own, and pgx watches it, which costs
// more than the breaker (see BenchmarkQueryInterleaved).
func BenchmarkQueryNoCallerDeadline(b *testing.B) {
	pool, db := benchDB(b)
	run := func(b *testing.B, q rowQuerier) {
		b.ReportAllocs()
		k := 0
		for b.Loop() {
			k++
			lookup(context.Background(), b, q, k)
		}
	}
	b.Run("pool", func(b *testing.B) { run(b, pool) })
	b.Run("breaker", func(b *testing.B) { run(b, db) })
}

// BenchmarkQueryInterleaved runs the paths in turns, rotating which goes
// first, and reports ratios to the bare pool: on a shared machine, load
// that comes and goes hits every path alike, so the ratios are steadier
// than those of separate runs.
//
//   - breaker/pool: both under a request context with a deadline;
//   - pool+deadline/pool: the bare pool, given a fresh deadline per call;
//   - breaker-adds-deadline/pool: pgbreaker under a context without one.
func BenchmarkQueryInterleaved(b *testing.B) {
	pool, db := benchDB(b)
	req := requestContext(b)
	bg := context.Background()
	paths := []struct {
		name string
		run  func(k int)
	}{
		{"pool", func(k int) { lookup(req, b, pool, k) }},
		{"breaker", func(k int) { lookup(req, b, db, k) }},
		{"pool+deadline", func(k int) {
			ctx, cancel := context.WithTimeout(bg, breaker.DefaultTimeout)
			lookup(ctx, b, pool, k)
			cancel()
		}},
		{"breaker-adds-deadline", func(k int) { lookup(bg, b, db, k) }},
	}
	total := make([]time.Duration, len(paths))
	k := 0
	for b.Loop() {
		k++
		for j := range paths {
			i := (j + k) % len(paths)
			start := time.Now()
			paths[i].run(k)
			total[i] += time.Since(start)
		}
	}
	for i := 1; i < len(paths); i++ {
		b.ReportMetric(float64(total[i])/float64(total[0]), paths[i].name+"/pool")
	}
}

// BenchmarkRejected is the cost of a call while the breaker is open: no
// connection, no network.
func BenchmarkRejected(b *testing.B) {
	pool := newPool(b, "postgres://127.0.0.1:1/none?sslmode=disable")
	set := breaker.NewSet()
	b.Cleanup(func() { _ = set.Close() })
	db := pgbreaker.New(pool, set)
	db.Breaker().SetMode(breaker.ModeForcedOpen)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.Exec(ctx, "SELECT 1"); err == nil {
			b.Fatal("admitted")
		}
	}
}
