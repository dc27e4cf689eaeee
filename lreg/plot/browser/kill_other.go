//go:build !unix

package browser

import "os/exec"

// killGroup leaves cmd as it is: exec.CommandContext kills the browser process on cancellation.
func killGroup(cmd *exec.Cmd) {}
