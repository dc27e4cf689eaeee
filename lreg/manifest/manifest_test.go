package manifest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/internal/testenv"
)

// TestCommittedManifestsMatchTheFiles: every folder of committed LOs (results/*/los and their subfolders) has a
// manifest that lists exactly its files with their SHA-256 (issue 27, probe 4), so a shipped LO is what was
// shipped. After `lreg results` or `lreg study merge` changes them, commit the manifests they rewrite.
func TestCommittedManifestsMatchTheFiles(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(t), "results", "*", "los"))
	if len(dirs) == 0 {
		t.Skip("no committed LOs")
	}
	checked := 0
	for _, top := range dirs {
		filepath.WalkDir(top, func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			if names, _ := files(path); len(names) == 0 {
				return nil
			}
			if err := Check(path); err != nil {
				t.Errorf("%v: `lreg results` (results/<profile>) or `lreg study merge` (results/study) rewrites it", err)
			}
			checked++
			return nil
		})
	}
	t.Logf("%d folders checked", checked)
}

// TestManifest: Write lists a folder's files; Verify accepts each and refuses a changed byte, an unlisted file
// and a missing manifest with errors naming the file; the format is sha256sum's (checked with it where installed).
func TestManifest(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.lreg"), []byte("weights"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.json"), []byte("{}"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "c.lreg"), []byte("c"), 0o644)
	if err := Verify(dir, "a.lreg"); err == nil || !strings.Contains(err.Error(), "has no SHA256SUMS") {
		t.Fatalf("Verify without a manifest: %v", err)
	}
	if err := WriteTree(dir); err != nil {
		t.Fatal(err)
	}
	sums, err := Read(dir)
	if err != nil || len(sums) != 2 || sums["a.lreg"] != "9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c" {
		t.Fatalf("Read = %v, %v; want 2 files", sums, err)
	}
	if err := Check(dir); err != nil {
		t.Fatal(err)
	}
	if err := Check(filepath.Join(dir, "sub")); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command("sha256sum", "-c", "--quiet", File)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c %s: %v\n%s", File, err, out)
		}
	}
	os.WriteFile(filepath.Join(dir, "a.lreg"), []byte("weightS"), 0o644)
	if err := Verify(dir, "a.lreg"); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "a.lreg")) || !strings.Contains(err.Error(), "changed after it was shipped") {
		t.Errorf("Verify of a changed file: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "d.lreg"), []byte("d"), 0o644)
	if err := Verify(dir, "d.lreg"); err == nil || !strings.Contains(err.Error(), "is not listed") {
		t.Errorf("Verify of an unlisted file: %v", err)
	}
	if err := Check(dir); err == nil || !strings.Contains(err.Error(), "d.lreg is not listed") || !strings.Contains(err.Error(), "a.lreg has SHA-256") {
		t.Errorf("Check: %v", err)
	}
}
