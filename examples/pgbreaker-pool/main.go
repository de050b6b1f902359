// Command pgbreaker-pool is a small program written against a
// *pgxpool.Pool that runs unchanged on a pgbreaker.DB: a COPY, a batch and
// a transaction, all of which then pass the database breakers.
//
//	DATABASE_URL=postgres://… go run ./examples/pgbreaker-pool          # through pgbreaker
//	DATABASE_URL=postgres://… go run ./examples/pgbreaker-pool -bare    # on the pool itself
//
// It creates (and drops at the end) a table named pgbreaker_example in the
// URL's database and prints the same lines either way; through pgbreaker it
// also prints what the write breaker counted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
)

// Pool is what the program needs: methods *pgxpool.Pool has, with the same
// signatures, and so does *pgbreaker.DB.
type Pool interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

var (
	_ Pool = (*pgxpool.Pool)(nil)
	_ Pool = (*pgbreaker.DB)(nil)
)

func main() {
	bare := flag.Bool("bare", false, "use the *pgxpool.Pool directly, without pgbreaker")
	flag.Parse()
	if err := run(context.Background(), os.Getenv("DATABASE_URL"), *bare, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pgbreaker-pool:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, url string, bare bool, out io.Writer) error {
	if url == "" {
		return errors.New("set DATABASE_URL")
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return errors.New("bad DATABASE_URL") // pgx's message may hold the password
	}
	defer pool.Close()
	if bare {
		return accounts(ctx, pool, out)
	}
	set := breaker.NewSet()
	defer set.Close()
	// Everything here writes, so it goes through the writes view.
	db := pgbreaker.New(pool, set, pgbreaker.WithName("example")).Writer()
	if err := accounts(ctx, db, out); err != nil {
		return err
	}
	snap := db.Breaker().Snapshot()
	fmt.Fprintf(out, "breaker %s: %v, %d successes, %d failures\n", snap.Name, snap.State, snap.Successes, snap.Failures)
	return nil
}

// accounts loads three accounts with COPY, credits them in one batch and
// moves money between two of them in a transaction.
func accounts(ctx context.Context, db Pool, out io.Writer) error {
	if _, err := db.Exec(ctx, `CREATE TABLE pgbreaker_example (id int PRIMARY KEY, balance int NOT NULL)`); err != nil {
		return fmt.Errorf("create table: %w", err)
	}
	defer func() { _, _ = db.Exec(context.WithoutCancel(ctx), `DROP TABLE pgbreaker_example`) }()

	n, err := db.CopyFrom(ctx, pgx.Identifier{"pgbreaker_example"}, []string{"id", "balance"},
		pgx.CopyFromRows([][]any{{1, 100}, {2, 50}, {3, 0}}))
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	fmt.Fprintf(out, "copied %d accounts\n", n)

	b := &pgx.Batch{}
	for id := 1; id <= 3; id++ {
		b.Queue(`UPDATE pgbreaker_example SET balance = balance + 10 WHERE id = $1`, id)
	}
	if err := db.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	fmt.Fprintf(out, "credited %d accounts in one batch\n", b.Len())

	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // after Commit: nothing to do
	if _, err := tx.Exec(ctx, `UPDATE pgbreaker_example SET balance = balance - 30 WHERE id = 1`); err != nil {
		return fmt.Errorf("debit: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE pgbreaker_example SET balance = balance + 30 WHERE id = 3`); err != nil {
		return fmt.Errorf("credit: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}

	var one, three, total int
	err = db.QueryRow(ctx, `SELECT sum(balance) FILTER (WHERE id = 1), sum(balance) FILTER (WHERE id = 3), sum(balance) FROM pgbreaker_example`).
		Scan(&one, &three, &total)
	if err != nil {
		return fmt.Errorf("balances: %w", err)
	}
	fmt.Fprintf(out, "moved 30 from account 1 to 3: balances %d and %d, total %d\n", one, three, total)
	return nil
}
