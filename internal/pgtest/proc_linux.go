package pgtest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Setpgid:    true, // a terminal's ^C goes to the test, which then cleans up
		Credential: cred,
		// If the test binary dies without clean-up, the postmaster dies too
		// and its children follow it on their own.
		Pdeathsig: syscall.SIGKILL,
	}
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var kids []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, _, ok := procStat(p); ok && ppid == pid {
			kids = append(kids, p)
		}
	}
	return kids
}

// procStat reads a process' parent and state from /proc/<pid>/stat.
func procStat(pid int) (ppid int, state byte, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	// The command name is in parentheses and may contain spaces; the fields
	// after its closing parenthesis are "state ppid …".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0][0], err == nil
}

// waitGone waits until none of pids is alive. A zombie counts as gone: its
// new parent (init, here maybe a process that never reaps) owns it now.
func waitGone(pids []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, p := range pids {
		for {
			_, state, ok := procStat(p)
			if !ok || state == 'Z' || state == 'X' {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("postgres child %d still alive after SIGKILL", p)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return nil
}

// removeStaleShm removes the System V shared memory segment that a killed
// postmaster leaves behind (a restart would reuse or remove it; a removed
// data directory cannot). Its id is on line 7 of postmaster.pid.
func removeStaleShm(dataDir string) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 7 {
		return
	}
	f := strings.Fields(lines[6])
	if len(f) != 2 {
		return
	}
	id, err := strconv.Atoi(f[1])
	if err != nil {
		return
	}
	var ds unix.SysvShmDesc
	if _, err := unix.SysvShmCtl(id, unix.IPC_STAT, &ds); err != nil {
		return
	}
	if ds.Nattch == 0 {
		_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
	}
}
