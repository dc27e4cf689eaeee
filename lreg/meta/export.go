package meta

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/store"
)

// SafetensorsPath is where ExportLO writes an LO file's safetensors copy by default: beside it.
func SafetensorsPath(lo string) string { return strings.TrimSuffix(lo, ".lreg") + ".safetensors" }

// ExportLO writes the LO file at path as safetensors to out, for PyTorch, JAX and NumPy users: the weights
// under their names (lopt/safetensors.go documents names and shapes), the LO's config and its provenance in the
// metadata. It returns the LO's metadata. out must not be the LO file itself (by any name: a link, a relative
// path), which the export would overwrite.
func ExportLO(path, out string) (LOMeta, error) {
	if err := notSameFile(path, out); err != nil {
		return LOMeta{}, err
	}
	m, weights, err := LoadLO(path)
	if err != nil {
		return m, err
	}
	prov, err := json.Marshal(m.Provenance)
	if err != nil {
		return m, err
	}
	info := map[string]string{
		"name":            m.Name,
		"meta_steps":      fmt.Sprint(m.MetaSteps),
		"eval_loss":       fmt.Sprint(m.EvalLoss),
		"from_meta_step":  fmt.Sprint(m.FromMetaStep),
		"lreg_provenance": string(prov),
		"update":          "theta + out_scale * (h_L out/W + out/b); gates x W + h U + b (lopt/safetensors.go)",
	}
	raw, err := lopt.EncodeSafetensors(m.LO, weights, info)
	if err != nil {
		return m, err
	}
	return m, store.WriteAtomic(out, raw)
}

// notSameFile refuses an output that is the input: the same path, or another name of the same file.
func notSameFile(in, out string) error {
	same := filepath.Clean(in) == filepath.Clean(out)
	if a, err := filepath.Abs(in); err == nil {
		if b, err := filepath.Abs(out); err == nil && a == b {
			same = true
		}
	}
	if si, err := os.Stat(in); err == nil {
		if so, err := os.Stat(out); err == nil && os.SameFile(si, so) {
			same = true
		}
	}
	if same {
		return fmt.Errorf("export %s --out %s: the output is the LO file itself, which the export would overwrite; choose another --out (default: %s)", in, out, SafetensorsPath(in))
	}
	return nil
}
