package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runAllOptions vary how runAll starts the script.
type runAllOptions struct {
	script string   // deploy/local/run-all.sh unless set
	env    []string // added to the environment
	// background starts the script as a background job of a non-interactive
	// bash, as a script would: it then inherits SIGINT ignored.
	background bool
}

// runAll starts deploy/local/run-all.sh, as `make run-all` does, on free
// ports and in its own run directory, so it cannot meet a developer's
// running system. The directory is world-readable: as root the script runs
// PostgreSQL as the postgres user, which must reach its data directory.
// The script is the leader of its own process group, so that a test can
// send a signal to the group as a terminal or a shell would.
func runAll(t *testing.T, ports []string, opt runAllOptions) (*script, io.Reader, string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	runDir, err := os.MkdirTemp("", "breakwater-runall-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(runDir) })

	path := opt.script
	if path == "" {
		path = "deploy/local/run-all.sh"
	}
	cmd := exec.Command("bash", path)
	if opt.background {
		// The wrapper ignores SIGINT itself, so that it outlives a group
		// SIGINT and reports the script's own exit status.
		cmd = exec.Command("bash", "-c", `trap "" INT; bash "$0" & wait $!`, path)
	}
	cmd.Dir = root
	cmd.Env = append(withoutDatabaseURL(os.Environ()),
		"RUN_DIR="+runDir,
		"RECOMMENDER_ADDR="+ports[0], "ADPROVIDER_ADDR="+ports[1],
		"RECOMMENDER_ADMIN_ADDR="+ports[2], "ADPROVIDER_ADMIN_ADDR="+ports[3],
		"BREAKWATER_PG_PORT="+ports[4][strings.LastIndex(ports[4], ":")+1:],
		"ADMIN_TOKEN=runall-test-token",
	)
	cmd.Env = append(cmd.Env, opt.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := &script{cmd: cmd, done: make(chan struct{})}
	go func() {
		sc.err = cmd.Wait()
		_ = pw.CloseWithError(sc.err)
		close(sc.done)
	}()
	t.Cleanup(func() {
		select {
		case <-sc.done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-sc.done
		}
		// The script starts its children in sessions of their own: end
		// whatever a failed run left behind.
		for _, p := range processesUsing(runDir) {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
	})
	return sc, pr, runDir
}

// script is a running run-all.sh; err is set when done is closed.
type script struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func withoutDatabaseURL(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "RECOMMENDER_DATABASE_URL=") &&
			!strings.HasPrefix(kv, "ADPROVIDER_DATABASE_URL=") && !strings.HasPrefix(kv, "BREAKER_CONFIG=") &&
			!strings.HasPrefix(kv, "BREAKWATER_SIGINT_RESET=") {
			out = append(out, kv)
		}
	}
	return out
}

// transcript reads a script's output into a logBuffer and reports when a
// line containing until has been printed (nil), or the output ended first.
func transcript(out io.Reader, until string) (*logBuffer, <-chan error) {
	b := &logBuffer{}
	w := b.writer("run-all")
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			_, _ = w.Write([]byte(sc.Text() + "\n"))
			if !sent && strings.Contains(sc.Text(), until) {
				ready <- nil
				sent = true
			}
		}
		if !sent {
			ready <- io.ErrUnexpectedEOF
		}
	}()
	return b, ready
}

// upRunAll starts run-all and waits until it says the system is up.
func upRunAll(t *testing.T, opt runAllOptions) (*script, *logBuffer, []string, string) {
	t.Helper()
	ports, err := freePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	sc, out, runDir := runAll(t, ports, opt)
	tr, ready := transcript(out, "Ctrl-C stops everything")
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("run-all ended before the system was up:\n%s", tr.since(0))
		}
	case <-time.After(4 * time.Minute):
		t.Fatalf("run-all not up after 4 minutes:\n%s", tr.since(0))
	}
	return sc, tr, ports, runDir
}

// checkStopped waits for the script to end after a signal and checks what
// the README promises: exit status 0, Recommender stopped, then AdProvider,
// then PostgreSQL, each by its own orderly shutdown (the services log
// "stopped"; PostgreSQL "database system is shut down"), a one-line summary,
// and nothing left running or listening.
func checkStopped(t *testing.T, sc *script, tr *logBuffer, ports []string, runDir string) {
	t.Helper()
	select {
	case <-sc.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("run-all still running two minutes after the signal:\n%s", tr.since(0))
	}
	text := tr.since(0)
	if sc.err != nil {
		t.Errorf("run-all ended with %v, want exit status 0:\n%s", sc.err, text)
	}
	last := -1
	for _, step := range []string{"stopped recommender", "stopped adprovider", "stopped PostgreSQL", "run-all stopped (recommender, adprovider, PostgreSQL)"} {
		i := strings.Index(text, step)
		if i < 0 || i < last {
			t.Errorf("want %q after the previous step:\n%s", step, text)
		}
		last = i
	}
	for _, bad := range []string{"exited on its own", "exit status"} {
		if strings.Contains(text, bad) {
			t.Errorf("a child did not stop by the script's hand (%q):\n%s", bad, text)
		}
	}
	for _, f := range []struct{ log, want string }{
		{"adprovider.log", "msg=stopped"},
		{"recommender.log", "msg=stopped"},
		{"postgres.log", "database system is shut down"},
	} {
		b, err := os.ReadFile(filepath.Join(runDir, "logs", f.log))
		if err != nil || !strings.Contains(string(b), f.want) {
			t.Errorf("%s lacks %q (not an orderly shutdown):\n%s", f.log, f.want, b)
		}
		if f.log == "postgres.log" && strings.Contains(string(b), "FATAL") {
			t.Errorf("postgres.log has a FATAL line:\n%s", b)
		}
	}
	for _, addr := range ports {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after run-all stopped", addr)
		}
	}
	if left := processesUsing(runDir); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

// TestRunAll is `make run-all` as a newcomer meets it: the system comes up
// with a private PostgreSQL, every grpcurl line it prints works as printed
// (the breaker it forces open goes back to AUTO), and SIGTERM stops it in
// order, leaving no process and no port behind.
func TestRunAll(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the whole system")
	}
	sc, tr, ports, runDir := upRunAll(t, runAllOptions{})

	var printed []string
	for _, line := range strings.Split(tr.since(0), "\n") {
		line = strings.TrimPrefix(line, "run-all | ")
		if strings.HasPrefix(line, "  ") && strings.Contains(line, "/grpcurl ") {
			printed = append(printed, strings.TrimSpace(line))
		}
	}
	if len(printed) < 6 {
		t.Fatalf("run-all printed %d grpcurl lines:\n%s", len(printed), tr.since(0))
	}
	for _, line := range printed {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		answer, err := exec.CommandContext(ctx, "bash", "-c", line).CombinedOutput()
		cancel()
		if err != nil || len(answer) == 0 {
			t.Errorf("printed line failed: %s\n%v\n%s", line, err, answer)
		}
		if strings.Contains(line, "BREAKER_MODE_FORCED_OPEN") && !strings.Contains(string(answer), "BREAKER_STATE_OPEN") {
			t.Errorf("forcing the GetAds breaker open did not open it:\n%s", answer)
		}
		if strings.Contains(line, "BREAKER_MODE_AUTO") && !strings.Contains(string(answer), "BREAKER_STATE_CLOSED") {
			t.Errorf("putting the GetAds breaker back to AUTO did not close it:\n%s", answer)
		}
	}
	if !strings.Contains(printed[len(printed)-1], "BREAKER_MODE_AUTO") {
		t.Errorf("the last line printed leaves a breaker forced: %s", printed[len(printed)-1])
	}

	if err := sc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	checkStopped(t, sc, tr, ports, runDir)
}

// TestRunAllStopsBySignal: whichever signal reaches run-all, and however it
// reaches it, the stop is the same orderly one. SIGINT to the whole process
// group is Ctrl-C in a terminal; started in the background by a script,
// run-all inherits SIGINT ignored, and the group SIGINT is what `kill -INT
// -PGID` sends; SIGHUP is a closed terminal.
func TestRunAllStopsBySignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the whole system")
	}
	for _, tc := range []struct {
		name       string
		sig        syscall.Signal
		background bool
	}{
		{"INT to the group", syscall.SIGINT, false},
		{"INT to the group, started in the background", syscall.SIGINT, true},
		{"HUP to the group", syscall.SIGHUP, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, tr, ports, runDir := upRunAll(t, runAllOptions{background: tc.background})
			if err := syscall.Kill(-sc.cmd.Process.Pid, tc.sig); err != nil {
				t.Fatal(err)
			}
			checkStopped(t, sc, tr, ports, runDir)
			if tc.background && !strings.Contains(tr.since(0), "SIGINT: stopping") {
				t.Errorf("the script did not see the SIGINT:\n%s", tr.since(0))
			}
		})
	}
}

// TestRunAllUnreachableDatabase: a DATABASE_URL whose server cannot be
// reached ends run-all with the driver's reason, instead of a wait for
// readiness that cannot come; a malformed one with the service's own error.
// Both name the variable to check and the log to read.
func TestRunAllUnreachableDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the services")
	}
	closed, err := freePorts(1) // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url string
		want      []string
	}{
		{"refused", "postgres://nobody:secret-pw@" + closed[0] + "/x?sslmode=disable",
			[]string{"adprovider cannot reach its database", "connection refused", "check DATABASE_URL"}},
		{"malformed", "postgres://nobody:secret-pw@[::1/x",
			[]string{"adprovider exited on its own (exit status 1)", "malformed", "log: "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ports, err := freePorts(5)
			if err != nil {
				t.Fatal(err)
			}
			sc, out, runDir := runAll(t, ports, runAllOptions{env: []string{"DATABASE_URL=" + tc.url}})
			tr, _ := transcript(out, "\x00")
			select {
			case <-sc.done:
			case <-time.After(3 * time.Minute):
				t.Fatalf("run-all still waiting on an unreachable database:\n%s", tr.since(0))
			}
			text := tr.since(0)
			if sc.err == nil {
				t.Errorf("run-all succeeded without a database:\n%s", text)
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("want %q in:\n%s", w, text)
				}
			}
			if strings.Contains(text, "secret-pw") {
				t.Errorf("the password reached the output:\n%s", text)
			}
			if strings.Contains(text, "did not become SERVING") {
				t.Errorf("it waited for readiness instead of saying why:\n%s", text)
			}
			if left := processesUsing(runDir); len(left) > 0 {
				t.Errorf("processes left behind: %v", left)
			}
		})
	}
}

// TestRunAllPortInUse: a busy port is a one-line error naming what moves it,
// before anything is built or started.
func TestRunAllPortInUse(t *testing.T) {
	ports, err := freePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", ports[0])
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cmd, out, _ := runAll(t, ports, runAllOptions{})
	b, _ := io.ReadAll(out)
	<-cmd.done
	if cmd.err == nil {
		t.Fatalf("run-all succeeded with its port taken:\n%s", b)
	}
	msg := strings.TrimSpace(string(b))
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, "already in use") || !strings.Contains(msg, "RECOMMENDER_ADDR") {
		t.Fatalf("want one line naming the port and RECOMMENDER_ADDR, got:\n%s", b)
	}
}

// proc is a process found in /proc.
type proc struct {
	pid     int
	cmdline string
}

// processesUsing lists the processes whose command line mentions dir.
func processesUsing(dir string) []proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil // not Linux: nothing to look through
	}
	var left []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if cl := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(cl, dir) {
			left = append(left, proc{pid, cl})
		}
	}
	return left
}

// TestRunAllChildDies: a child that ends on its own is reported in a line
// or two with its cause. PostgreSQL dying leaves the services running
// degraded; a service dying ends the run, the others stopped in order.
func TestRunAllChildDies(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the whole system")
	}
	sc, tr, _, runDir := upRunAll(t, runAllOptions{})
	pidOf := func(path string) int {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for !strings.Contains(tr.since(0), what) {
			if time.Now().After(deadline) {
				t.Fatalf("run-all never said %q:\n%s", what, tr.since(0))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// The postmaster's pid is the first line of postmaster.pid.
	if err := syscall.Kill(pidOf(filepath.Join(runDir, "pgdata", "postmaster.pid")), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor("PostgreSQL exited on its own")
	waitFor("the services go on degraded")
	select {
	case <-sc.done:
		t.Fatalf("run-all ended when PostgreSQL died:\n%s", tr.since(0))
	default:
	}

	var adprovider int
	for _, p := range processesUsing(runDir) {
		if strings.HasPrefix(p.cmdline, filepath.Join(runDir, "bin", "adprovider")) {
			adprovider = p.pid
		}
	}
	if adprovider == 0 {
		t.Fatalf("no adprovider process under %s", runDir)
	}
	if err := syscall.Kill(adprovider, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sc.done:
	case <-time.After(time.Minute):
		t.Fatalf("run-all still running a minute after adprovider died:\n%s", tr.since(0))
	}
	text := tr.since(0)
	if sc.err == nil {
		t.Errorf("run-all exited 0 after adprovider died:\n%s", text)
	}
	for _, want := range []string{
		"run-all: adprovider exited on its own (killed by SIGKILL); its last log line: ",
		"log: " + filepath.Join(runDir, "logs", "adprovider.log"),
		"stopped recommender",
		"run-all stopped (recommender)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("want %q in:\n%s", want, text)
		}
	}
	if strings.Contains(text, " Killed ") {
		t.Errorf("bash's own job report leaked into the output:\n%s", text)
	}
	if left := processesUsing(runDir); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}
