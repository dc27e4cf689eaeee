package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/lreg/lreg/lreg/meta"
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
	if *out == "" {
		*out = meta.SafetensorsPath(path)
	}
	m, err := meta.ExportLO(path, *out)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: LO %q, %d weights\n", *out, m.Name, len(m.LO.WeightNames()))
	return nil
}
