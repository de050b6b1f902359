//go:build !linux

package e2e

import "os/exec"

// setParentDeathSignal does nothing where the kernel has no such signal;
// TestMain's stop is then the only clean-up.
func setParentDeathSignal(*exec.Cmd) {}
