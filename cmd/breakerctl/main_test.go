package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc"

	breakerv1 "github.com/breakwater/breakwater/gen/go/breaker/v1"
	"github.com/breakwater/breakwater/interceptors/breaker"
	"github.com/breakwater/breakwater/internal/breakeradmin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "ctl-token"

// replicas starts n admin services on real listeners, each over a set of
// its own with the breakers named, and returns their addresses and sets.
func replicas(t *testing.T, n int, names ...string) ([]string, []*breaker.Set) {
	t.Helper()
	var addrs []string
	var sets []*breaker.Set
	for range n {
		set := breaker.NewSet()
		t.Cleanup(func() { set.Close() })
		for _, name := range names {
			set.Breaker(name)
		}
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := grpc.NewServer()
		breakerv1.RegisterBreakerAdminServiceServer(srv, breakeradmin.NewServer(set, token))
		done := make(chan struct{})
		go func() { defer close(done); _ = srv.Serve(lis) }()
		t.Cleanup(func() { srv.Stop(); <-done })
		addrs = append(addrs, lis.Addr().String())
		sets = append(sets, set)
	}
	return addrs, sets
}

func runCtl(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestForceListResetEveryReplica(t *testing.T) {
	addrs, sets := replicas(t, 3, "adprovider/postgres", "other")
	targets := strings.Join(addrs, ",")
	env := map[string]string{"ADMIN_TOKEN": token}

	code, out, errOut := runCtl(t, env, "-targets", targets, "force-open", "adprovider/postgres")
	if code != 0 {
		t.Fatalf("force-open: exit %d, %s", code, errOut)
	}
	for i, set := range sets {
		b, _ := set.Get("adprovider/postgres")
		if b.Mode() != breaker.ModeForcedOpen || b.State() != breaker.StateOpen {
			t.Errorf("replica %d: %v %v, want forced open", i, b.State(), b.Mode())
		}
		if o, _ := set.Get("other"); o.Mode() != breaker.ModeAuto {
			t.Errorf("replica %d: another breaker moved", i)
		}
	}
	if n := strings.Count(out, "open, forced"); n != 3 {
		t.Errorf("force-open printed %d forced-open replicas, want 3:\n%s", n, out)
	}

	// One replica back to AUTO by hand: list shows the difference.
	b1, _ := sets[1].Get("adprovider/postgres")
	b1.SetMode(breaker.ModeAuto)
	code, out, errOut = runCtl(t, env, "-targets", targets, "list")
	if code != 0 {
		t.Fatalf("list: exit %d, %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "BREAKER") {
		t.Fatalf("list:\n%s\nwant a header and one row per breaker", out)
	}
	for _, a := range addrs {
		if !strings.Contains(lines[0], a) {
			t.Errorf("header %q lacks replica %s", lines[0], a)
		}
	}
	row := strings.Fields(strings.ReplaceAll(lines[1], ", forced", ",forced"))
	if want := []string{"adprovider/postgres", "open,forced", "half-open", "open,forced"}; strings.Join(row, " ") != strings.Join(want, " ") {
		t.Errorf("row %q, want %q", row, want)
	}

	for _, cmd := range []string{"auto", "reset"} {
		if code, _, errOut := runCtl(t, env, "-targets", targets, cmd, "adprovider/postgres"); code != 0 {
			t.Fatalf("%s: exit %d, %s", cmd, code, errOut)
		}
	}
	for i, set := range sets {
		b, _ := set.Get("adprovider/postgres")
		if b.Mode() != breaker.ModeAuto || b.State() != breaker.StateClosed {
			t.Errorf("replica %d after auto and reset: %v %v, want closed, auto", i, b.State(), b.Mode())
		}
	}
}

// A replica that fails does not stop the others; the exit code says so.
func TestEveryReplicaTriedAndFailuresReported(t *testing.T) {
	addrs, sets := replicas(t, 2, "adprovider/postgres")
	sets[1].Breaker("only-here")
	code, _, errOut := runCtl(t, map[string]string{"ADMIN_TOKEN": token}, "-targets", strings.Join(addrs, ","), "force-open", "only-here")
	if code != 1 || !strings.Contains(errOut, addrs[0]) || !strings.Contains(errOut, "NotFound") {
		t.Errorf("exit %d, stderr %q; want 1 and NOT_FOUND from %s", code, errOut, addrs[0])
	}
	if b, _ := sets[1].Get("only-here"); b.Mode() != breaker.ModeForcedOpen {
		t.Errorf("the replica that has the breaker: %v, want forced open", b.Mode())
	}
	code, _, errOut = runCtl(t, nil, "-targets", strings.Join(addrs, ","), "reset", "adprovider/postgres")
	if code != 1 || strings.Count(errOut, "PermissionDenied")+strings.Count(errOut, "Unauthenticated") != 2 {
		t.Errorf("without a token: exit %d, stderr %q; want both replicas refusing", code, errOut)
	}
}

func TestResolveAndUsage(t *testing.T) {
	got, err := resolve(context.Background(), "localhost:8001, 127.0.0.1:8011,127.0.0.1:8011")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(got, ","), "127.0.0.1:8001") || got[len(got)-1] != "127.0.0.1:8011" ||
		strings.Count(strings.Join(got, ","), "127.0.0.1:8011") != 1 {
		t.Errorf("resolve: %v, want localhost's addresses then 127.0.0.1:8011 once", got)
	}
	for _, args := range [][]string{{"list"}, {"-targets", "a:1"}, {"-targets", "a:1", "force-open"}, {"-targets", "a:1", "open", "x"}} {
		if code, _, _ := runCtl(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
