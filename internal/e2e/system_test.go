package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	breakerv1 "github.com/breakwater/breakwater/gen/go/breaker/v1"
	"github.com/breakwater/breakwater/internal/pgtest"
)

const (
	adminToken = "e2e-admin-token"
	// startTimeout bounds the build and the start of each service: generous,
	// because a fresh clone compiles everything and CI machines are shared.
	startTimeout = 5 * time.Minute
	stopTimeout  = 20 * time.Second
)

// The services' health names: what `make run-all` waits for too.
const (
	recommenderService = "recommender.v1.RecommenderService"
	adProviderService  = "adprovider.v1.AdProviderService"
)

var (
	sysOnce sync.Once
	sys     *system
	sysErr  error
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(pgtest.Wrap(withSystem{m}))
}

// withSystem stops the system after the last test, if one started it, and
// before pgtest's wrapper removes its template and goleak looks for leaks.
type withSystem struct{ m *testing.M }

func (w withSystem) Run() int {
	code := w.m.Run()
	if benchSys != nil {
		if err := benchSys.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stopping the benchmarks' system: %v\n%s", err, benchSys.logs.since(0))
			code = max(code, 1)
		}
	}
	if sys != nil {
		if err := sys.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stopping the system: %v\n%s", err, sys.logs.since(0))
			code = max(code, 1)
		}
	}
	return code
}

// systemFor returns the running system, starting it on first use. When the
// test fails, it logs what the services wrote while it ran.
func systemFor(t *testing.T) *system {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: builds and starts both services and PostgreSQL; skipped with -short")
	}
	sysOnce.Do(func() { sys, sysErr = startSystem() })
	if sysErr != nil {
		t.Fatalf("e2e: starting the system: %v\n%s", sysErr, sys.logs.since(0))
	}
	if err := sys.alive(); err != nil {
		t.Fatalf("e2e: %v\n%s", err, sys.logs.since(0))
	}
	mark := sys.logs.mark()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("what the services logged during %s:\n%s", t.Name(), sys.logs.since(mark))
		}
	})
	return sys
}

// system is PostgreSQL, AdProvider and Recommender, as `make run-all` runs
// them, on ports of their own.
type system struct {
	root string // the repository
	bin  string // adprovider, recommender, grpcurl
	tmp  string

	pg     *pgtest.Server
	dbURL  string
	dbName string

	recAddr, adAddr           string // gRPC
	recAdminAddr, adAdminAddr string // admin HTTP

	extraEnv []string // appended to env(): later entries win

	procs []*process // in start order
	rec   *grpc.ClientConn
	ad    *grpc.ClientConn
	conns []*grpc.ClientConn // more, closed by stop: other replicas'
	logs  *logBuffer
}

type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's, once done is closed
}

// startSystem builds and starts everything. On error the returned system
// holds what did start, for stop and for its logs.
func startSystem(extraEnv ...string) (*system, error) {
	s := &system{logs: &logBuffer{}, extraEnv: extraEnv}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()

	root, err := filepath.Abs("../..")
	if err != nil {
		return s, err
	}
	s.root = root
	if s.tmp, err = os.MkdirTemp("", "breakwater-e2e-"); err != nil {
		return s, err
	}
	s.bin = filepath.Join(s.tmp, "bin")
	if err := s.build(ctx); err != nil {
		return s, err
	}

	if s.pg, err = pgtest.New(); err != nil {
		return s, fmt.Errorf("postgres: %w", err)
	}
	s.dbName = fmt.Sprintf("breakwater_e2e_%d", os.Getpid())
	if s.dbURL, err = createDatabase(ctx, s.pg.URL(), s.dbName); err != nil {
		return s, err
	}

	ports, err := freePorts(4)
	if err != nil {
		return s, err
	}
	s.recAddr, s.adAddr = ports[0], ports[1]
	s.recAdminAddr, s.adAdminAddr = ports[2], ports[3]
	for _, kv := range s.extraEnv { // a test may choose AdProvider's address
		if v, ok := strings.CutPrefix(kv, "ADPROVIDER_ADDR="); ok {
			s.adAddr = v
		}
	}

	env := s.env()
	if err := s.start("adprovider", env); err != nil {
		return s, err
	}
	if err := s.start("recommender", env); err != nil {
		return s, err
	}
	if s.ad, err = grpc.NewClient(s.adAddr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		return s, err
	}
	if s.rec, err = grpc.NewClient(s.recAddr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		return s, err
	}
	if err := s.waitServing(ctx, s.ad, adProviderService); err != nil {
		return s, err
	}
	if err := s.waitServing(ctx, s.rec, recommenderService); err != nil {
		return s, err
	}
	return s, nil
}

// build compiles both services, breakerctl and the pinned grpcurl, as
// `make run-all` does, once per test binary.
func (s *system) build(ctx context.Context) error {
	steps := [][]string{
		{"go", "build", "-o", s.bin + "/", "./services/adprovider/cmd/adprovider", "./services/recommender/cmd/recommender", "./cmd/breakerctl"},
		{"go", "build", "-modfile=tools/go.mod", "-o", s.bin + "/", "github.com/fullstorydev/grpcurl/cmd/grpcurl"},
	}
	for _, args := range steps {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Dir = s.root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// env is the services' environment: this process's, without any setting of
// theirs the developer may have exported, plus the system's.
func (s *system) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "RECOMMENDER_"), strings.HasPrefix(k, "ADPROVIDER_"), strings.HasPrefix(k, "TLS_"),
			k == "DATABASE_URL", k == "ADMIN_TOKEN", k == "BREAKER_CONFIG", k == "LOG_LEVEL", k == "LOG_FORMAT":
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"DATABASE_URL="+s.dbURL,
		"ADMIN_TOKEN="+adminToken,
		"RECOMMENDER_ADDR="+s.recAddr,
		"RECOMMENDER_ADMIN_ADDR="+s.recAdminAddr,
		"ADPROVIDER_ADDR="+s.adAddr,
		"ADPROVIDER_ADMIN_ADDR="+s.adAdminAddr,
		"ADPROVIDER_TARGET="+s.adAddr, // after ADPROVIDER_ADDR: extraEnv may set either
		"LOG_LEVEL=info",
		"LOG_FORMAT=text",
	)
	// The breaker settings `make run-all` uses, when the file is there.
	if cfg := filepath.Join(s.root, "deploy", "breakers.json"); fileExists(cfg) {
		env = append(env, "BREAKER_CONFIG="+cfg)
	}
	return append(env, s.extraEnv...)
}

// privateSystem starts a system of the test's own, for tests that hang,
// stop or overload its parts, with extraEnv on top of the usual settings;
// it is stopped when the test ends.
func privateSystem(t testing.TB, extraEnv ...string) *system {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: builds and starts both services and PostgreSQL; skipped with -short")
	}
	s, err := startSystem(extraEnv...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("what the services logged:\n%s", s.logs.since(0))
		}
		if err := s.stop(); err != nil {
			t.Errorf("stopping the private system: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("starting a private system: %v", err)
	}
	return s
}

// process returns the running process called name.
func (s *system) process(name string) *process {
	for _, p := range s.procs {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (s *system) start(name string, env []string) error { return s.startAs(name, name, env) }

// startAs starts the binary bin as a process called name (a second
// AdProvider replica, say).
func (s *system) startAs(name, bin string, env []string) error {
	cmd := exec.Command(filepath.Join(s.bin, bin))
	cmd.Env = env
	w := s.logs.writer(name)
	cmd.Stdout, cmd.Stderr = w, w
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	s.procs = append(s.procs, p)
	return nil
}

// waitServing polls grpc.health.v1 until service is SERVING, or fails when
// a process exits or ctx ends.
func (s *system) waitServing(ctx context.Context, conn *grpc.ClientConn, service string) error {
	hc := healthpb.NewHealthClient(conn)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := hc.Check(cctx, &healthpb.HealthCheckRequest{Service: service})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		if aerr := s.alive(); aerr != nil {
			return aerr
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not become SERVING: last answer %v, %v", service, resp.GetStatus(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// alive fails when a service has exited.
func (s *system) alive() error {
	for _, p := range s.procs {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %v", p.name, p.err)
		default:
		}
	}
	return nil
}

// stop ends the services with SIGTERM, callers first, then PostgreSQL. A
// service that does not exit cleanly on SIGTERM is an error: graceful
// shutdown is part of what is tested.
func (s *system) stop() error {
	var errs []error
	for _, c := range append([]*grpc.ClientConn{s.rec, s.ad}, s.conns...) {
		if c != nil {
			_ = c.Close()
		}
	}
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			if p.err != nil {
				errs = append(errs, fmt.Errorf("%s on SIGTERM: %w", p.name, p.err))
			}
		case <-time.After(stopTimeout):
			_ = p.cmd.Process.Kill()
			<-p.done
			errs = append(errs, fmt.Errorf("%s did not exit within %v of SIGTERM", p.name, stopTimeout))
		}
	}
	if s.pg != nil {
		if s.dbURL != "" {
			ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
			errs = append(errs, dropDatabase(ctx, s.pg.URL(), s.dbName))
			cancel()
		}
		errs = append(errs, s.pg.Close())
	}
	if s.tmp != "" {
		errs = append(errs, os.RemoveAll(s.tmp))
	}
	return errors.Join(errs...)
}

// adminContext carries the admin token, as `grpcurl -H 'authorization: ...'` does.
func adminContext(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+adminToken)
}

// restoreBreakersAtEnd puts every breaker of both services back to AUTO and
// resets it when t ends, so that a test that forces one leaves no trace.
func (s *system) restoreBreakersAtEnd(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(adminContext(context.Background()), 30*time.Second)
		defer cancel()
		for _, conn := range []*grpc.ClientConn{s.rec, s.ad} {
			bc := breakerv1.NewBreakerAdminServiceClient(conn)
			list, err := bc.ListBreakers(ctx, &breakerv1.ListBreakersRequest{})
			if err != nil {
				t.Errorf("restoring breakers: %v", err)
				continue
			}
			for _, b := range list.GetBreakers() {
				if b.GetMode() != breakerv1.BreakerMode_BREAKER_MODE_AUTO {
					if _, err := bc.SetBreakerMode(ctx, &breakerv1.SetBreakerModeRequest{Name: b.GetName(), Mode: breakerv1.BreakerMode_BREAKER_MODE_AUTO}); err != nil {
						t.Errorf("restoring breaker %s: %v", b.GetName(), err)
					}
				}
				if _, err := bc.ResetBreaker(ctx, &breakerv1.ResetBreakerRequest{Name: b.GetName()}); err != nil {
					t.Errorf("resetting breaker %s: %v", b.GetName(), err)
				}
			}
		}
	})
}

func createDatabase(ctx context.Context, serverURL, name string) (string, error) {
	if err := adminExec(ctx, serverURL, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func dropDatabase(ctx context.Context, serverURL, name string) error {
	if err := adminExec(ctx, serverURL, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

func adminExec(ctx context.Context, serverURL, sql string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// freePorts returns n distinct free addresses on 127.0.0.1. They are free
// when returned; nothing else on this machine picks ports from the same
// range at the same moment often enough to matter.
func freePorts(n int) ([]string, error) {
	var addrs []string
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// logBuffer collects the services' output, each line prefixed with the
// service's name, so that a failing test can show what happened meanwhile.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) mark() int {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *logBuffer) since(mark int) string {
	if b == nil {
		return ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf.Bytes()[mark:])
}

func (b *logBuffer) writer(name string) *lineWriter {
	return &lineWriter{prefix: name + " | ", b: b}
}

// lineWriter writes whole lines with a prefix; exec gives each process's
// output its own writer, so a partial line waits for its end.
type lineWriter struct {
	prefix  string
	b       *logBuffer
	pending []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.pending = append(w.pending, p...)
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	for {
		i := bytes.IndexByte(w.pending, '\n')
		if i < 0 {
			break
		}
		w.b.buf.WriteString(w.prefix)
		w.b.buf.Write(w.pending[:i+1])
		w.pending = w.pending[i+1:]
	}
	return len(p), nil
}
