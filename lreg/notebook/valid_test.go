package notebook

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/meta"
)

// Every notebook's settings cell (its func config) returns its settings through the check `lreg run` makes
// (nb.Valid, or experiment.ValidateLOs for the meta-training's), so an edited setting that cannot work stops the
// notebook before any work, as the flag would stop the command (issue 27).
func TestSettingsCellsAreValidated(t *testing.T) {
	files, _ := filepath.Glob("../../notebooks/*.ipynb")
	if len(files) == 0 {
		t.Skip("no notebook found")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var nb struct {
			Cells []struct {
				Type   string   `json:"cell_type"`
				Source []string `json:"source"`
			} `json:"cells"`
		}
		if err := json.Unmarshal(raw, &nb); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		found := false
		for _, c := range nb.Cells {
			src := strings.Join(c.Source, "")
			if c.Type != "code" || !strings.Contains(src, "func config(") {
				continue
			}
			found = true
			if !strings.Contains(src, "nb.Valid(") && !strings.Contains(src, "experiment.ValidateLOs(") {
				t.Errorf("%s: the settings cell does not check its settings (nb.Valid):\n%s", f, src)
			}
		}
		if !found {
			t.Errorf("%s: no settings cell (func config)", f)
		}
	}
}

// EnsureLO refuses a meta-training that cannot work before anything is loaded or trained.
func TestEnsureLORefusesBadSettings(t *testing.T) {
	env := &Env{RunDir: t.TempDir()}
	cfg := meta.Smoke()
	cfg.Dataset = "bogus"
	if _, err := env.EnsureLO(cfg, "none", nil); err == nil || !strings.Contains(err.Error(), "Meta.Dataset") {
		t.Errorf("EnsureLO on a bogus data set: %v", err)
	}
	cfg = meta.Smoke()
	if _, err := env.EnsureLO(cfg, "bogus", nil); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("EnsureLO of a bogus LO name: %v", err)
	}
}
