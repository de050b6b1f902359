package pgtest_test

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/breakwater/breakwater/internal/pgtest"
)

// In a test, pgtest.Start(t) does the same and cleans up by itself.
func ExampleNew() {
	s, err := pgtest.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close(ctx)

	var sum int
	if err := conn.QueryRow(ctx, "SELECT 40 + 2").Scan(&sum); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sum)
	// Output: 42
}
