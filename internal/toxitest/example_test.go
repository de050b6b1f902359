package toxitest_test

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/breakwater/breakwater/internal/toxitest"
)

// A test puts the proxy between its client and the real server (in a test,
// toxitest.New(t, addr) closes it by itself), then injects faults while the
// client runs.
func ExampleStart() {
	upstream, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer upstream.Close()
	go func() {
		if c, err := upstream.Accept(); err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()

	p, err := toxitest.Start(upstream.Addr().String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	p.Latency(time.Millisecond)

	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	msg, _ := io.ReadAll(c)
	fmt.Println(string(msg))
	// Output: hi
}
