//go:build !linux

package pgtest

import (
	"syscall"
	"time"
)

func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}

// children is unknown without /proc: Kill then relies on the children
// noticing the postmaster's death, which PostgreSQL's children do.
func children(int) []int { return nil }

func waitGone([]int, time.Duration) error { return nil }

func removeStaleShm(string) {}
