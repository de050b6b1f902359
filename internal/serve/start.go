package serve

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/breakwater/breakwater/internal/database"
	"github.com/breakwater/breakwater/internal/dsn"
)

// PoolCloseBound bounds each database pool's close at shutdown, after the
// drain: a frozen database must not keep the process past its drain bound
// (database.Close says why pgxpool's own Close can take much longer).
const PoolCloseBound = time.Second

// Main is a service's func main: it runs run until SIGINT or SIGTERM, and
// on an error prints "<name>: <error>" to stderr and exits with status 1.
// `-h` (flag.ErrHelp) exits with 0.
func Main(name string, run func(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// OpenPool opens a pool on url for schema (database.Open, with app as the
// connection's application_name). The server closes it in [Server.Close],
// after the breaker set (whose recovery probes use it), waiting at most
// [PoolCloseBound]. Errors are database.Open's (a URL that does not parse).
func (s *Server) OpenPool(ctx context.Context, url, schema, app string) (*pgxpool.Pool, error) {
	pool, err := database.Open(ctx, url, schema, database.WithApplicationName(app))
	if err != nil {
		return nil, err
	}
	s.pools = append(s.pools, pool)
	return pool, nil
}

// Start is the start-up both services share, once their API is
// registered: it logs "<name> starting" with the database URL (password
// redacted) and attrs, runs prepare in the background (migrations and
// sample data, retried until done; it must return when its context ends),
// and serves until ctx ends: on grpcLis and adminLis when grpcLis is not
// nil (tests open 127.0.0.1:0), on the configured addresses otherwise. A
// service starts whether or not its database is up; health tells when
// prepare is done. When serving ends, Start cancels prepare and waits for
// it. It returns what [Server.Run] or [Server.Serve] returns.
func (s *Server) Start(ctx context.Context, grpcLis, adminLis net.Listener, prepare func(context.Context), attrs ...any) error {
	s.logger.Info(s.cfg.Name+" starting", append([]any{"database", dsn.Redact(s.cfg.DatabaseURL)}, attrs...)...)
	bg, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { prepare(bg) })
	defer func() { stopBG(); wg.Wait() }()
	if grpcLis != nil {
		return s.Serve(ctx, grpcLis, adminLis)
	}
	return s.Run(ctx)
}
