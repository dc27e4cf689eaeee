package lab

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// marked lists the processes whose environment holds marker (every process a run started inherits it,
// whatever session or process group it moved to), with their command lines.
func marked(marker string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !bytes.Contains(env, []byte(marker)) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		out = append(out, filepath.Base(d)+": "+strings.ReplaceAll(string(bytes.TrimRight(cmd, "\x00")), "\x00", " "))
	}
	return out
}

// TestReproduceCtrlC is Ctrl-C in the terminal of ./reproduce.sh while a notebook runs: SIGINT to its process
// group. Nothing it started may outlive it — not nbconvert, not the GoNB kernel (which Jupyter starts in a
// session of its own) and its cell program (which holds a claim in the run directory), not the `tail -F` that
// follows the progress log. It runs in a private checkout (bin/, figures/ and runs/ of its own).
func TestReproduceCtrlC(t *testing.T) {
	requireTools(t)
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	co := filepath.Join(t.TempDir(), "a checkout")
	os.MkdirAll(co, 0o755)
	entries, _ := os.ReadDir(repo)
	for _, e := range entries {
		switch e.Name() {
		case "bin", "figures", "runs":
			os.MkdirAll(filepath.Join(co, e.Name()), 0o755)
		default:
			if err := os.Symlink(filepath.Join(repo, e.Name()), filepath.Join(co, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	var m [8]byte
	rand.Read(m[:])
	marker := "LREG_CTRLC_TEST=" + hex.EncodeToString(m[:])
	cmd := exec.Command(filepath.Join(co, "reproduce.sh"), "--only", "early-evidence")
	cmd.Env = append(os.Environ(), marker, "GOMLX_NO_AUTO_INSTALL=1", "LREG_PROFILE=smoke")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // a terminal's foreground process group
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		for _, p := range marked(marker) { // whatever the test leaves, it stops
			if pid, err := strconv.Atoi(strings.SplitN(p, ":", 2)[0]); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	// Wait for the notebook's cell program: a process of the run whose binary GoNB built (gonb_*).
	deadline := time.Now().Add(8 * time.Minute)
	for {
		cells := 0
		for _, p := range marked(marker) {
			if strings.Contains(p, "/gonb_") && !strings.Contains(p, "go build") {
				cells++
			}
		}
		if cells > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("reproduce.sh ended (%v) before a cell ran:\n%s", err, tail(out.String(), 4000))
		case <-time.After(time.Second):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cell program after 8 minutes:\n%s", tail(out.String(), 4000))
		}
	}
	before := marked(marker)
	time.Sleep(2 * time.Second)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) // Ctrl-C
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("reproduce.sh still runs 60 s after Ctrl-C:\n%s", tail(out.String(), 3000))
	}
	time.Sleep(2 * time.Second)
	if left := marked(marker); len(left) > 0 {
		t.Errorf("after Ctrl-C, %d of the run's %d processes are still running:\n%s\noutput:\n%s",
			len(left), len(before), strings.Join(left, "\n"), tail(out.String(), 3000))
	}
	t.Logf("Ctrl-C stopped the run's %d processes; its last lines:\n%s", len(before), tail(out.String(), 600))
}
