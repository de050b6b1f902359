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

	// Stores take a pgbreaker.Querier; every call goes through the breaker.
	var db pgbreaker.Querier = pgbreaker.New(pool, set, pgbreaker.WithName("ads"))
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
