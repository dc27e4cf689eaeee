package meta

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportRefusesToOverwriteItsLO: `lreg export X.lreg --out X.lreg` (issue 27, probe 7) is refused under any
// name of the LO file (the same path, a relative path, a link to it), and the LO is left byte for byte as it was;
// an ordinary --out still works.
func TestExportRefusesToOverwriteItsLO(t *testing.T) {
	dir := t.TempDir()
	want := shipLO(t, dir, CPU())
	lo := LOFile(dir, "none")
	link := filepath.Join(dir, "link.lreg")
	if err := os.Symlink(lo, link); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, out := range []string{lo, "lo-none.lreg", "./sub/../lo-none.lreg", link, "link.lreg"} {
		_, err := ExportLO(lo, out)
		if err == nil || !strings.Contains(err.Error(), "the output is the LO file itself") {
			t.Errorf("export %s --out %s: %v; want a refusal", lo, out, err)
		}
		if got, _ := os.ReadFile(lo); !bytes.Equal(got, want) {
			t.Fatalf("export --out %s changed the LO", out)
		}
	}
	if _, err := ExportLO("lo-none.lreg", lo); err == nil {
		t.Error("export of a relative path onto its absolute path was not refused")
	}
	if _, err := ExportLO(lo, filepath.Join(dir, "x.safetensors")); err != nil {
		t.Errorf("an ordinary export failed: %v", err)
	}
}

// TestCheckName: the names lreg makes pass; a name that would leave the run directory, or not be a plain file
// name part, is refused (issue 27, probe 8).
func TestCheckName(t *testing.T) {
	for _, ok := range []string{"none", "sam-meta", "none.seed1", "none.seed1.step250", "gsam-meta-smooth", "none-final2", "my_lo+2"} {
		if err := CheckName(ok); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "..", "../../pwnlo", "a/b", `a\\b`, ".x", "a..b", "a b", "x\x00", "lo@1"} {
		if err := CheckName(bad); err == nil {
			t.Errorf("CheckName(%q) = nil, want a refusal", bad)
		}
	}
	cfg := Smoke()
	cfg.Name = "../../pwnlo"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), `"../../pwnlo"`) {
		t.Errorf("Validate with name ../../pwnlo = %v, want the name refused", err)
	}
}
