package meta

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/store"
)

// SafetensorsPath is where ExportLO writes an LO file's safetensors copy by default: beside it.
func SafetensorsPath(lo string) string { return strings.TrimSuffix(lo, ".lreg") + ".safetensors" }

// ExportLO writes the LO file at path as safetensors to out, for PyTorch, JAX and NumPy users: the weights
// under their names (lopt/safetensors.go documents names and shapes), the LO's config and its provenance in the
// metadata. It returns the LO's metadata.
func ExportLO(path, out string) (LOMeta, error) {
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
