package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runAll starts deploy/local/run-all.sh, as `make run-all` does, on free
// ports and in its own run directory, so it cannot meet a developer's
// running system. The directory is world-readable: as root the script runs
// PostgreSQL as the postgres user, which must reach its data directory.
func runAll(t *testing.T, ports []string) (*script, io.Reader, string) {
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

	cmd := exec.Command("bash", "deploy/local/run-all.sh")
	cmd.Dir = root
	cmd.Env = append(withoutDatabaseURL(os.Environ()),
		"RUN_DIR="+runDir,
		"RECOMMENDER_ADDR="+ports[0], "ADPROVIDER_ADDR="+ports[1],
		"RECOMMENDER_ADMIN_ADDR="+ports[2], "ADPROVIDER_ADMIN_ADDR="+ports[3],
		"BREAKWATER_PG_PORT="+ports[4][strings.LastIndex(ports[4], ":")+1:],
		"ADMIN_TOKEN=runall-test-token",
	)
	// Its own process group, so that a failed test can still end everything.
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
			!strings.HasPrefix(kv, "ADPROVIDER_DATABASE_URL=") && !strings.HasPrefix(kv, "BREAKER_CONFIG=") {
			out = append(out, kv)
		}
	}
	return out
}

// TestRunAll is `make run-all` as a newcomer meets it: the system comes up
// with a private PostgreSQL, every grpcurl line it prints works as printed,
// and SIGTERM (what Ctrl-C is for a terminal's foreground job) leaves no
// process and no port behind.
func TestRunAll(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the whole system")
	}
	ports, err := freePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	cmd, out, runDir := runAll(t, ports)

	var printed []string // written before ready is sent, read after
	transcript := &logBuffer{}
	w := transcript.writer("run-all")
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			_, _ = w.Write([]byte(line + "\n"))
			if strings.HasPrefix(line, "  ") && strings.Contains(line, "/grpcurl ") {
				printed = append(printed, strings.TrimSpace(line))
			}
			if strings.Contains(line, "Ctrl-C stops everything.") {
				ready <- nil
				_, _ = io.Copy(io.Discard, out) // keep the pipe drained
				return
			}
		}
		ready <- io.ErrUnexpectedEOF
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("run-all ended before the system was up:\n%s", transcript.since(0))
		}
	case <-time.After(4 * time.Minute):
		t.Fatalf("run-all not up after 4 minutes:\n%s", transcript.since(0))
	}

	if len(printed) < 5 {
		t.Fatalf("run-all printed %d grpcurl lines:\n%s", len(printed), transcript.since(0))
	}
	for _, line := range printed {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		answer, err := exec.CommandContext(ctx, "bash", "-c", line).CombinedOutput()
		cancel()
		if err != nil || len(answer) == 0 {
			t.Errorf("printed line failed: %s\n%v\n%s", line, err, answer)
		}
		if strings.Contains(line, "SetBreakerMode") && !strings.Contains(string(answer), "BREAKER_STATE_OPEN") {
			t.Errorf("forcing the GetAds breaker open did not open it:\n%s", answer)
		}
	}

	if err := cmd.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cmd.done:
	case <-time.After(time.Minute):
		t.Fatalf("run-all still running a minute after SIGTERM:\n%s", transcript.since(0))
	}
	for _, addr := range ports {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after run-all stopped", addr)
		}
	}
	if left := processesUsing(runDir); len(left) > 0 {
		t.Errorf("processes left behind: %q", left)
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
	cmd, out, _ := runAll(t, ports)
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

// processesUsing lists the command lines of processes that mention dir.
func processesUsing(dir string) []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil // not Linux: nothing to look through
	}
	var left []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if cl := strings.ReplaceAll(string(b), "\x00", " "); strings.Contains(cl, dir) {
			left = append(left, cl)
		}
	}
	return left
}
