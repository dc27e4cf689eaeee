//go:build unix

package browser

import (
	"os/exec"
	"syscall"
)

// killGroup runs cmd in its own process group and, on cancellation, kills the whole group: Chromium's
// renderer and GPU processes would outlive a kill of the browser process alone.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
