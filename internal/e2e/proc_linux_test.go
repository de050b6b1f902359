package e2e

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal has the kernel kill a service if the test binary dies
// without stopping it, so no process outlives a crashed run.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
