package pgbreaker_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/status"

	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/interceptors/pgbreaker"
	"github.com/breakwater/breakwater/internal/pgtest"
)

func Example() {
	// A throw-away server stands in for DATABASE_URL.
	srv, err := pgtest.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	ctx := context.Background()
	pool, err := pgxpool.New(ctx, srv.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	set := breaker.NewSet()
	defer set.Close()

	// A store takes db as its own query interface (Exec, Query,
	// QueryRow); every call goes through the breaker.
	db := pgbreaker.New(pool, set, pgbreaker.WithName("ads"))
	var sum int
	err = db.QueryRow(ctx, "SELECT 40 + 2").Scan(&sum)
	fmt.Println(sum, err)

	// An operator forces the breaker open: calls fail fast, as UNAVAILABLE.
	b, _ := set.Get("ads")
	b.SetMode(breaker.ModeForcedOpen)
	_, err = db.Exec(ctx, "SELECT 1")
	fmt.Println(errors.Is(err, breaker.ErrOpen), status.Code(err))
	// Output:
	// 42 <nil>
	// true Unavailable
}

func ExampleClassify() {
	for _, err := range []error{
		&pgconn.PgError{Code: "57P03"}, // the database system is starting up
		&pgconn.PgError{Code: "23505"}, // unique violation: the database answered
		pgx.ErrNoRows,
		context.DeadlineExceeded,
		context.Canceled,
	} {
		fmt.Println(pgbreaker.Classify(err))
	}
	// Output:
	// failure
	// success
	// success
	// failure
	// neutral
}

// A pgbreaker.DB goes where a *pgxpool.Pool was: the same COPY, batch and
// transaction, each one call of the write breaker.
func ExampleDB_Writer() {
	srv, err := pgtest.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, srv.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer pool.Close()
	set := breaker.NewSet()
	defer set.Close()

	// Writes go through the writes view, judged by "ledger/write".
	db := pgbreaker.New(pool, set, pgbreaker.WithName("ledger")).Writer()
	if _, err := db.Exec(ctx, "CREATE TABLE ledger (id int, amount int)"); err != nil {
		fmt.Println(err)
		return
	}

	n, _ := db.CopyFrom(ctx, pgx.Identifier{"ledger"}, []string{"id", "amount"},
		pgx.CopyFromRows([][]any{{1, 10}, {2, 20}}))
	batch := &pgx.Batch{}
	batch.Queue("INSERT INTO ledger VALUES (3, 30)")
	batch.Queue("INSERT INTO ledger VALUES (4, 40)")
	batchErr := db.SendBatch(ctx, batch).Close()

	tx, _ := db.Begin(ctx)
	_, _ = tx.Exec(ctx, "UPDATE ledger SET amount = amount - 5 WHERE id = 1")
	_, _ = tx.Exec(ctx, "UPDATE ledger SET amount = amount + 5 WHERE id = 2")
	commitErr := tx.Commit(ctx)

	var total int
	_ = db.Reader().QueryRow(ctx, "SELECT sum(amount) FROM ledger").Scan(&total)
	fmt.Println("copied", n, "batch", batchErr, "commit", commitErr, "total", total)
	fmt.Println(db.Breaker().Name(), db.Breaker().Snapshot().Successes, "calls")
	// Output:
	// copied 2 batch <nil> commit <nil> total 100
	// ledger/write 4 calls
}

// A write the database refused because it is read-only is UNAVAILABLE
// with the reason and a retry delay, so a client waits instead of giving up.
func ExampleReadOnlyError() {
	err := &pgbreaker.ReadOnlyError{Breaker: "orders/write", RetryAfter: pgbreaker.ReadOnlyRetryAfter,
		Err: &pgconn.PgError{Code: "25006", Message: "cannot execute INSERT in a read-only transaction"}}
	st := status.Convert(err)
	fmt.Println(st.Code(), pgbreaker.IsReadOnly(err))
	for _, d := range st.Details() {
		fmt.Printf("%T\n", d)
	}
	// Output:
	// Unavailable true
	// *errdetails.ErrorInfo
	// *errdetails.RetryInfo
}
