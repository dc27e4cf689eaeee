package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/store"
)

// cmdExport writes an LO as safetensors, for PyTorch, JAX and NumPy users (lopt/safetensors.go documents the
// names and shapes; the README shows how to load it).
func cmdExport(args []string) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	out := fs.String("out", "", "the .safetensors file to write (default: the LO's path with .safetensors)")
	// The LO may come before or after the flags.
	var path string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		path, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if path == "" && fs.NArg() == 1 {
		path = fs.Arg(0)
	} else if fs.NArg() > 0 || path == "" {
		return fmt.Errorf("usage: lreg export LO.lreg [--out FILE.safetensors]")
	}
	m, weights, err := meta.LoadLO(path)
	if err != nil {
		return err
	}
	prov, err := json.Marshal(m.Provenance)
	if err != nil {
		return err
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
		return err
	}
	if *out == "" {
		*out = strings.TrimSuffix(path, ".lreg") + ".safetensors"
	}
	if err := store.WriteAtomic(*out, raw); err != nil {
		return err
	}
	fmt.Printf("wrote %s: LO %q, %d weights (%s)\n", *out, m.Name, len(weights), weights[0].DType())
	return nil
}
