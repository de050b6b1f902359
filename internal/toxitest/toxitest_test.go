package toxitest_test

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/breakwater/breakwater/internal/toxitest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// echoServer echoes every connection until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads it back, with a deadline that only exists
// so that a fault shows as an error instead of a hang.
func roundTrip(c net.Conn, msg string, wait time.Duration) error {
	_ = c.SetDeadline(time.Now().Add(wait))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte(msg)); err != nil {
		return err
	}
	return expect(c, msg)
}

func expect(c net.Conn, msg string) error {
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg {
		return errors.New("echo mismatch: " + string(buf))
	}
	return nil
}

const long = 10 * time.Second // a healthy round trip takes microseconds

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

func TestPassThrough(t *testing.T) {
	p := toxitest.New(t, echoServer(t))
	c := dial(t, p.Addr())
	if err := roundTrip(c, "hello", long); err != nil {
		t.Fatal(err)
	}
}

func TestLatency(t *testing.T) {
	p := toxitest.New(t, echoServer(t))
	c := dial(t, p.Addr())
	p.Latency(time.Hour)
	if err := roundTrip(c, "slow", 50*time.Millisecond); !isTimeout(err) {
		t.Fatalf("round trip under an hour of latency: %v, want a timeout", err)
	}
	// Removing the toxic delivers what it held back.
	p.RemoveToxics()
	_ = c.SetReadDeadline(time.Now().Add(long))
	if err := expect(c, "slow"); err != nil {
		t.Fatalf("held-back data after removing latency: %v", err)
	}
	if err := roundTrip(c, "fast", long); err != nil {
		t.Fatal(err)
	}
}

func TestLatencyUpdate(t *testing.T) {
	p := toxitest.New(t, echoServer(t))
	p.Latency(time.Hour)
	p.Latency(0) // updates the toxic rather than failing on a duplicate
	if err := roundTrip(dial(t, p.Addr()), "x", long); err != nil {
		t.Fatal(err)
	}
}

func TestCut(t *testing.T) {
	p := toxitest.New(t, echoServer(t))
	c := dial(t, p.Addr())
	if err := roundTrip(c, "before", long); err != nil {
		t.Fatal(err)
	}
	p.Cut(0)
	if err := roundTrip(c, "during", 50*time.Millisecond); !isTimeout(err) {
		t.Fatalf("round trip through a cut: %v, want a timeout", err)
	}
	p.RemoveToxics()
	if err := roundTrip(dial(t, p.Addr()), "after", long); err != nil {
		t.Fatal(err)
	}
}

func TestCutThenClose(t *testing.T) {
	p := toxitest.New(t, echoServer(t))
	c := dial(t, p.Addr())
	p.Cut(time.Millisecond)
	if err := roundTrip(c, "x", long); err == nil || isTimeout(err) {
		t.Fatalf("round trip through a closing cut: %v, want the connection closed", err)
	}
}

func TestResetPeer(t *testing.T) {
	p := toxitest.New(t, echoServer(t))
	p.ResetPeer(0)
	err := roundTrip(dial(t, p.Addr()), "x", long)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("round trip with reset_peer: %v, want ECONNRESET", err)
	}
}

func TestSlowClose(t *testing.T) {
	p := toxitest.New(t, echoServer(t))
	p.SlowClose(time.Millisecond)
	if err := roundTrip(dial(t, p.Addr()), "x", long); err != nil {
		t.Fatal(err)
	}
}

func TestDisableEnable(t *testing.T) {
	p := toxitest.New(t, echoServer(t))
	addr := p.Addr()
	c := dial(t, addr)
	p.Disable()
	if err := roundTrip(c, "x", long); err == nil || isTimeout(err) {
		t.Fatalf("round trip on a disabled proxy: %v, want the connection closed", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("dial to a disabled proxy succeeded")
	}
	if err := p.Enable(); err != nil {
		t.Fatal(err)
	}
	if p.Addr() != addr {
		t.Fatalf("address changed from %s to %s", addr, p.Addr())
	}
	if err := roundTrip(dial(t, addr), "x", long); err != nil {
		t.Fatal(err)
	}
}
