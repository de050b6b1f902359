// Command pglocal runs the private PostgreSQL of `make run-all` in the
// foreground (pgtest.RunLocal): it initialises the data directory on first
// use, starts the server on 127.0.0.1, creates the database, prints
// "ready <url>" on stdout, and on SIGINT, SIGTERM or SIGHUP stops it with a
// fast shutdown and exits 0. PostgreSQL's and initdb's output go to -log.
//
//	pglocal -data .run/pgdata -port 54329 -database breakwater -log .run/logs/postgres.log
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/breakwater/breakwater/internal/pgtest"
)

func main() {
	data := flag.String("data", ".run/pgdata", "the cluster's data directory (initialised when empty)")
	port := flag.Int("port", 54329, "TCP port on 127.0.0.1")
	database := flag.String("database", "breakwater", "database to create when missing")
	logPath := flag.String("log", "", "file that PostgreSQL's output is appended to (default: stderr)")
	binDir := flag.String("bindir", os.Getenv("PG_BINDIR"), "PostgreSQL's binaries (default: found as pgtest finds them; PG_BINDIR)")
	flag.Parse()

	log := os.Stderr
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pglocal:", err)
			os.Exit(1)
		}
		defer f.Close()
		log = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	err := pgtest.RunLocal(ctx, pgtest.LocalOptions{DataDir: *data, Port: *port, Database: *database, BinDir: *binDir, Log: log},
		func(url string) { fmt.Println("ready", url) })
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "pglocal:", err)
		os.Exit(1)
	}
}
