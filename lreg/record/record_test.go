package record

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// git runs git in dir and returns its output, or skips the test where git is missing.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestCodeVersionIsNotTheWorkingFolders (issue 27, probe 5): run from another git repository, an unstamped lreg
// named that repository's commit in its records. The version is now the stamp, else the checkout this source was
// compiled from (a test binary has no VCS build info), never the working folder's.
func TestCodeVersionIsNotTheWorkingFolders(t *testing.T) {
	other := t.TempDir()
	git(t, other, "init", "-q")
	if err := os.WriteFile(filepath.Join(other, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, other, "add", "f")
	git(t, other, "commit", "-qm", "another repository")
	theirs := git(t, other, "describe", "--always", "--dirty", "--abbrev=12")

	root := sourceRoot()
	if root == "" {
		t.Fatal("sourceRoot found no lreg checkout above this test's source")
	}
	if _, err := os.Stat(filepath.Join(root, "lreg", "record", "record.go")); err != nil {
		t.Fatalf("sourceRoot %s is not this checkout: %v", root, err)
	}
	t.Chdir(other)
	got := codeVersion()
	if got == theirs || strings.HasPrefix(theirs, got) {
		t.Fatalf("code version %q is the working folder's commit %q", got, theirs)
	}
	want := "unknown"
	if out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty", "--abbrev=12").Output(); err == nil {
		want = strings.TrimSpace(string(out))
	}
	if got != want {
		t.Errorf("code version %q, want the checkout's %q", got, want)
	}

	version = "v-stamped"
	defer func() { version = "" }()
	if got := codeVersion(); got != "v-stamped" {
		t.Errorf("with a stamp the code version is %q, want v-stamped", got)
	}
	if s := Stamp("abc"); s != "-X github.com/lreg/lreg/lreg/record.version=abc" {
		t.Errorf("Stamp = %q", s)
	}
}
