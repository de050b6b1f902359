package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	breakerv1 "github.com/breakwater/breakwater/gen/go/breaker/v1"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// errUsage marks a command line that cannot run.
var errUsage = errors.New("usage")

type config struct {
	targets string
	token   string
	ca      string
	timeout time.Duration
	command string
	name    string
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("breakerctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.targets, "targets", getenv("BREAKERCTL_TARGETS"), "replicas: host:port[,host:port...]; a host name stands for every address it resolves to (BREAKERCTL_TARGETS)")
	fs.StringVar(&c.token, "token", getenv("ADMIN_TOKEN"), "admin token for writes (ADMIN_TOKEN)")
	fs.StringVar(&c.ca, "ca", getenv("TLS_CA_FILE"), "CA file to verify the replicas' TLS certificates; plaintext when empty (TLS_CA_FILE)")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "timeout of each call")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: breakerctl -targets host:port[,...] list | force-open NAME | force-closed NAME | auto NAME | reset NAME")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, errUsage
	}
	rest := fs.Args()
	if len(rest) == 0 || c.targets == "" {
		fs.Usage()
		return c, errUsage
	}
	c.command = rest[0]
	switch {
	case c.command == "list" && len(rest) == 1:
	case slices.Contains([]string{"force-open", "force-closed", "auto", "reset"}, c.command) && len(rest) == 2:
		c.name = rest[1]
	default:
		fs.Usage()
		return c, errUsage
	}
	return c, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c, err := parse(args, getenv, stderr)
	if err != nil {
		return 2
	}
	replicas, err := resolve(ctx, c.targets)
	if err != nil {
		fmt.Fprintln(stderr, "breakerctl:", err)
		return 1
	}
	creds := insecure.NewCredentials()
	if c.ca != "" {
		if creds, err = credentials.NewClientTLSFromFile(c.ca, ""); err != nil {
			fmt.Fprintln(stderr, "breakerctl:", err)
			return 1
		}
	}
	clients := make([]breakerv1.BreakerAdminServiceClient, len(replicas))
	for i, addr := range replicas {
		conn, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(creds))
		if err != nil {
			fmt.Fprintln(stderr, "breakerctl:", err)
			return 1
		}
		defer conn.Close()
		clients[i] = breakerv1.NewBreakerAdminServiceClient(conn)
	}
	if c.command == "list" {
		return list(ctx, c, replicas, clients, stdout, stderr)
	}
	return write(ctx, c, replicas, clients, stdout, stderr)
}

// resolve turns the targets into replica addresses, in order, each once.
func resolve(ctx context.Context, targets string) ([]string, error) {
	var out []string
	for t := range strings.SplitSeq(targets, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		host, port, err := net.SplitHostPort(t)
		if err != nil {
			return nil, fmt.Errorf("target %q: %w", t, err)
		}
		hosts := []string{host}
		if net.ParseIP(host) == nil {
			if hosts, err = net.DefaultResolver.LookupHost(ctx, host); err != nil {
				return nil, fmt.Errorf("resolving %s: %w", host, err)
			}
			slices.Sort(hosts)
		}
		for _, h := range hosts {
			if a := net.JoinHostPort(h, port); !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no replicas in -targets")
	}
	return out, nil
}

// list prints every replica's breakers side by side.
func list(ctx context.Context, c config, replicas []string, clients []breakerv1.BreakerAdminServiceClient, stdout, stderr io.Writer) int {
	code := 0
	cells := map[string][]string{} // breaker name -> a cell per replica
	var names []string
	for i, cl := range clients {
		cctx, cancel := context.WithTimeout(ctx, c.timeout)
		resp, err := cl.ListBreakers(cctx, &breakerv1.ListBreakersRequest{})
		cancel()
		if err != nil {
			fmt.Fprintf(stderr, "breakerctl: %s: %v\n", replicas[i], err)
			code = 1
			continue
		}
		for _, b := range resp.GetBreakers() {
			row, ok := cells[b.GetName()]
			if !ok {
				row = slices.Repeat([]string{"-"}, len(replicas))
				names = append(names, b.GetName())
			}
			row[i] = cell(b)
			cells[b.GetName()] = row
		}
	}
	slices.Sort(names)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "BREAKER\t%s\n", strings.Join(replicas, "\t"))
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t%s\n", n, strings.Join(cells[n], "\t"))
	}
	if err := tw.Flush(); err != nil {
		fmt.Fprintln(stderr, "breakerctl:", err)
		return 1
	}
	return code
}

// cell is a breaker's state as list shows it: "open", "open, forced".
func cell(b *breakerv1.Breaker) string {
	s := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(b.GetState().String(), "BREAKER_STATE_"), "_", "-"))
	switch b.GetMode() {
	case breakerv1.BreakerMode_BREAKER_MODE_FORCED_OPEN, breakerv1.BreakerMode_BREAKER_MODE_FORCED_CLOSED:
		s += ", forced"
	}
	return s
}

// write sets the mode of, or resets, the breaker on every replica.
func write(ctx context.Context, c config, replicas []string, clients []breakerv1.BreakerAdminServiceClient, stdout, stderr io.Writer) int {
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
	code := 0
	for i, cl := range clients {
		cctx, cancel := context.WithTimeout(ctx, c.timeout)
		var b *breakerv1.Breaker
		var err error
		switch c.command {
		case "reset":
			var resp *breakerv1.ResetBreakerResponse
			resp, err = cl.ResetBreaker(cctx, &breakerv1.ResetBreakerRequest{Name: c.name})
			b = resp.GetBreaker()
		default:
			mode := map[string]breakerv1.BreakerMode{
				"force-open":   breakerv1.BreakerMode_BREAKER_MODE_FORCED_OPEN,
				"force-closed": breakerv1.BreakerMode_BREAKER_MODE_FORCED_CLOSED,
				"auto":         breakerv1.BreakerMode_BREAKER_MODE_AUTO,
			}[c.command]
			var resp *breakerv1.SetBreakerModeResponse
			resp, err = cl.SetBreakerMode(cctx, &breakerv1.SetBreakerModeRequest{Name: c.name, Mode: mode})
			b = resp.GetBreaker()
		}
		cancel()
		if err != nil {
			fmt.Fprintf(stderr, "breakerctl: %s: %v\n", replicas[i], err)
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", replicas[i], b.GetName(), cell(b))
	}
	return code
}
