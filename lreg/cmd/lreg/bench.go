package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lreg/lreg/lreg/experiment"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/metareg"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/roofline"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/task"
)

// benchVariants are the meta-losses `lreg bench` times, by LO name (metareg.Config.Name).
var benchVariants = []string{"none", "sam", "gsam", "gam", "l2", "hessian", "entropy", "none-smooth", "sam-meta", "gsam-meta", "gam-meta"}

// benchMethods are the optimizers whose optimizee steps `lreg bench` times.
var benchMethods = []string{"lo", "sgd", "adam", "sam", "gsam", "gam"}

const benchFull = "lreg bench --reg all --runs 1,10,100 --meta-runs 1,10,100 --steps 3"

func cmdBench(args []string) error {
	if len(args) > 0 && args[0] == "cost" {
		return cmdBenchCost(args[1:])
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	be := fs.String("backend", "", "auto, go, xla or xla:/path/to/pjrt_plugin.so (default $GOMLX_BACKEND, else auto)")
	steps := fs.Int("steps", 2, "timed calls per row (after one untimed first call); the table shows the fastest")
	unroll := fs.Int("unroll", 20, "optimizee steps per unroll of a meta-step")
	batch := fs.Int("batch", 128, "optimizee minibatch")
	secondOrder := fs.Bool("second-order", false, "time the second-order meta-gradient")
	variants := fs.String("reg", "none", "comma list of meta-losses to time, KIND[-meta][-smooth], or all: "+strings.Join(benchVariants, ","))
	metaRuns := fs.String("meta-runs", "1", "comma list of optimizee runs per meta-step to time meta-steps at; empty: no meta-steps")
	runs := fs.String("runs", "1,4", "comma list of runs batched in one graph to time optimizee steps at; empty: no optimizee steps")
	optimizees := fs.String("optimizees", "mlp-sigmoid,cnn", "optimizees whose steps are timed")
	methods := fs.String("methods", strings.Join(benchMethods, ","), "optimizers whose optimizee steps are timed: lo and baselines")
	graphs := fs.String("graph", "columns,reference", "comma list of the LO's graph forms to time: columns (lreg's) and reference (the form before it)")
	out := fs.String("out", "runs/bench", "folder for bench-<backend>.json and .md")
	losFlag := fs.String("los", "1", "comma list of LOs meta-trained in one graph to time the columns form's meta-step at (1,4: does a graph of 4 LOs cost less per LO?)")
	roof := fs.Bool("roofline", true, "count the FLOPs and bytes of each timed LO graph in XLA's optimized HLO, time its matmul shapes alone, and print where its time goes")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "lreg bench: seconds per meta-step and per optimizee step, compile time and peak memory on one backend.\n"+
			"The defaults (two timed calls per row, 1 and 4 runs, the roofline) take about a minute on 2 CPU cores (49 s measured); the full table\n"+
			"(for a GPU; on 2 CPU cores the CNN rows at 100 runs take hours): %s\n"+
			"`lreg bench cost --profile cpu` is the interleaved bench that Table 1's cost claims are tested on (lreg bench cost -h).\n\n", benchFull)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Every flag before any timing: a bad one would otherwise be found after the meta-step rows, or print +Inf.
	switch {
	case *steps < 1:
		return fmt.Errorf("--steps %d: want at least 1 timed call per row (2)", *steps)
	case *unroll < 1:
		return fmt.Errorf("--unroll %d: want at least 1 optimizee step per unroll (20)", *unroll)
	case *batch < 1:
		return fmt.Errorf("--batch %d: want a minibatch of at least 1 example (128)", *batch)
	}
	for _, o := range splitList(*optimizees) {
		if !slices.Contains(task.Names(), o) {
			return fmt.Errorf("--optimizees: unknown optimizee %q: use %s", o, strings.Join(task.Names(), ", "))
		}
	}
	for _, g := range splitList(*graphs) {
		if g != "columns" && g != "reference" {
			return fmt.Errorf("--graph: unknown form %q: use columns, reference or both", g)
		}
	}
	names := splitList(*variants)
	if *variants == "all" {
		names = benchVariants
	}
	var regs []metareg.Config
	for _, n := range names {
		r, err := metareg.ParseName(n)
		if err != nil {
			return err
		}
		regs = append(regs, r)
	}
	metaR, err := parseRuns(*metaRuns, "--meta-runs")
	if err != nil {
		return err
	}
	stepR, err := parseRuns(*runs, "--runs")
	if err != nil {
		return err
	}
	lo := lopt.Config{}.Defaults()
	for _, R := range metaR { // the meta-steps' rows time MNIST-shaped runs
		cfg := meta.Paper()
		cfg.Unroll, cfg.Batch, cfg.Runs = *unroll, *batch, R
		if err := cfg.CheckMemory("--batch"); err != nil {
			return err
		}
	}
	for _, o := range splitList(*optimizees) {
		tc := metatest.Paper()
		tc.Optimizee, tc.Batch = o, *batch
		for _, R := range stepR {
			if err := experiment.CheckTestMemory(tc, &lo, R); err != nil {
				return err
			}
		}
	}
	rules := experiment.DefaultBaselines().Rules()
	var ms []optim.Method
	for _, n := range splitList(*methods) {
		if n == "lo" {
			// An untrained LO costs what a trained one does.
			w := lo.InitWeights(rand.New(rand.NewPCG(1, 2)), task.DType("float32"))
			for _, gr := range splitList(*graphs) {
				if gr == "reference" {
					ms = append(ms, lopt.MethodReference("lo-reference", lo, w))
				} else {
					ms = append(ms, lopt.Method("lo", lo, w))
				}
			}
			continue
		}
		r, ok := rules[n]
		if !ok {
			return fmt.Errorf("--methods: unknown optimizer %q: use lo or one of %s", n, strings.Join(experiment.BaselineNames, ", "))
		}
		ms = append(ms, optim.Static(n, r))
	}
	var dump *roofline.Dump
	if *roof {
		// XLA writes the optimized HLO of the timed graphs here; it reads XLA_FLAGS when the backend opens.
		if dump, err = roofline.EnableDump("stepExec|newStepper"); err != nil {
			return fmt.Errorf("--roofline: %w", err)
		}
		defer dump.Close()
	}
	c := common{backend: *be}
	b, info, err := c.open()
	if err != nil {
		return err
	}
	rec := meta.BenchRecord{Provenance: record.New("bench", info.Config)}
	var md strings.Builder
	w := io.MultiWriter(os.Stdout, &md)
	var machine *roofline.Machine
	// analyze adds the roofline of the graph in hlo (none where the backend writes no HLO) to the record.
	analyze := func(title, hlo string, measured, minGB float64) error {
		if hlo == "" {
			return nil
		}
		counts, err := roofline.CountFile(hlo)
		if err != nil {
			return fmt.Errorf("roofline of %s: %w", title, err)
		}
		if machine == nil {
			m, err := roofline.Measure(b, nil)
			if err != nil {
				return err
			}
			machine = &m
		}
		if err := machine.Add(b, counts.Dots); err != nil {
			return err
		}
		a := roofline.Analyze(title, counts, *machine, measured)
		a.SetBound(minGB)
		rec.Rooflines = append(rec.Rooflines, a)
		return nil
	}

	forms := splitList(*graphs)
	losPer, err := parseRuns(*losFlag, "--los")
	if err != nil {
		return err
	}
	if len(losPer) == 0 {
		losPer = []int{1}
	}
	if len(metaR) > 0 && len(regs) > 0 {
		fmt.Fprintf(w, "\nMeta-step: T=%d, MNIST-shaped MLP-sigmoid, batch %d, 2x20 LSTM LO, on %s; the graph forms timed in turns\n\n", *unroll, *batch, info.Config)
		fmt.Fprintln(w, "| meta-loss | LO graph | LOs in the graph | runs | s/call | s/LO-meta-step | x none | x reference | x one LO | compile s | first call s | peak RSS MiB |")
		// s/call is the fastest timed call: other work on the machine only ever slows a call down.
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
		noneAt := map[string]float64{}
		for _, r := range regs {
			for _, R := range metaR {
				var cfgs []meta.BenchCase
				for _, gr := range forms {
					cfg := meta.Paper()
					cfg.Unroll, cfg.Batch, cfg.SecondOrder, cfg.Reg, cfg.Runs = *unroll, *batch, *secondOrder, r, R
					cfg.ReferenceGraph = gr == "reference"
					for _, K := range losPer {
						if K == 1 || !cfg.ReferenceGraph {
							cfgs = append(cfgs, meta.BenchCase{Cfg: cfg, LOs: K})
						}
					}
				}
				if err := cfgs[0].Cfg.Validate(); err != nil {
					fmt.Fprintf(w, "| %s | - | - | %d | - | - | - | - | - | - | refused: mixes runs |\n", cfgs[0].Cfg.LOName(), R)
					continue
				}
				results, err := meta.BenchInterleaved(b, info.Config, cfgs, *steps)
				if err != nil {
					return fmt.Errorf("meta-step %s, %d runs: %w", cfgs[0].Cfg.LOName(), R, err)
				}
				hlos := dump.New("stepExec")
				var ref, one float64
				for _, res := range results {
					if res.Graph == "reference" {
						ref = res.FastestMetaStep
					} else if res.LOs == 1 {
						one = res.FastestMetaStep
					}
				}
				for k, res := range results {
					key := fmt.Sprintf("%s/%d/%d", res.Graph, R, res.LOs)
					if res.Reg == "none" {
						noneAt[key] = res.FastestMetaStep
					}
					ratio, vsRef := "-", "-"
					if n, ok := noneAt[key]; ok {
						ratio = fmt.Sprintf("%.2f", res.FastestMetaStep/n)
					}
					if ref > 0 {
						vsRef = fmt.Sprintf("%.2f", res.SecondsPerLO/ref)
					}
					vsOne := "-"
					if one > 0 && res.LOs > 1 {
						vsOne = fmt.Sprintf("%.2f", res.SecondsPerLO/one)
					}
					fmt.Fprintf(w, "| %s | %s | %d | %d | %.3f | %.3f | %s | %s | %s | %.1f | %.1f | %.0f |\n", res.Reg, res.Graph, res.LOs, R, res.FastestMetaStep, res.SecondsPerLO,
						ratio, vsRef, vsOne, res.CompileSeconds, res.FirstCallSeconds, res.PeakRSSMiB)
					rec.MetaSteps = append(rec.MetaSteps, res)
					if len(hlos) == len(results) && res.LOs == 1 {
						title := fmt.Sprintf("Roofline of the meta-step %s, %s form, %d run(s) (the LSTM's matmuls alone, counted by hand: %.2f GFLOP)",
							res.Reg, res.Graph, R, lo.MetaStepGFLOP(res.Coordinates*res.Runs, res.Unroll))
						minGB := lo.MetaStepMinGB(res.Coordinates*res.Runs, res.Unroll, float32Bytes)
						if err := analyze(title, hlos[k], res.FastestMetaStep, minGB); err != nil {
							return err
						}
					}
				}
			}
		}
	}

	if len(stepR) > 0 && len(ms) > 0 {
		fmt.Fprintf(w, "\nOptimizee step (the meta-test's): MNIST-shaped, batch %d, one step per call, runs batched in one graph, on %s\n\n", *batch, info.Config)
		fmt.Fprintln(w, "| optimizee | method | runs | ms/call | ms/run-step | speed-up per run | compile s | peak RSS MiB |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
		for _, o := range splitList(*optimizees) {
			for _, m := range ms {
				var single float64
				for _, R := range stepR {
					res, err := meta.BenchStep(b, info.Config, o, m, R, *batch, *steps, task.DType("float32"))
					if err != nil {
						return fmt.Errorf("optimizee step %s/%s, %d runs: %w", o, m.Name, R, err)
					}
					if R == 1 {
						single = res.SecondsPerRunStep
					}
					speedup := "-"
					if single > 0 && R > 1 {
						speedup = fmt.Sprintf("%.2fx", single/res.SecondsPerRunStep)
					}
					fmt.Fprintf(w, "| %s | %s | %d | %.1f | %.2f | %s | %.1f | %.0f |\n", o, m.Name, R, 1000*res.FastestCall,
						1000*res.SecondsPerRunStep, speedup, res.CompileSeconds, res.PeakRSSMiB)
					rec.OptimizeeSteps = append(rec.OptimizeeSteps, res)
					var step string
					for _, h := range dump.New("newStepper") {
						if !strings.Contains(h, "newStepper_func1") { // the init graph
							step = h
						}
					}
					if strings.HasPrefix(m.Name, "lo") && step != "" {
						title := fmt.Sprintf("Roofline of the optimizee step with the LO (%s form), %s, %d run(s) (the LSTM's forward alone, counted by hand: %.3f GFLOP)",
							map[bool]string{true: "reference", false: "columns"}[m.Name == "lo-reference"], o, R,
							lo.ForwardGFLOP(res.Coordinates*R))
						if err := analyze(title, step, res.FastestCall, lo.ForwardMinGB(res.Coordinates*R, float32Bytes)); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	for _, a := range rec.Rooflines {
		a.Write(w, 6)
	}
	if machine != nil {
		fmt.Fprintf(w, "\nThe machine, measured in this process: peak %.0f GFLOP/s (a 1024^3 float32 matmul), %.1f GB/s (a streaming kernel over 64 MB, bytes read + written), %.0f us per call of an empty graph (taken off each matmul's time alone).\n",
			machine.PeakGFLOPs, machine.BandwidthGBs, 1e6*machine.CallOverhead)
	}
	rec.Provenance.Finish()
	fmt.Fprintf(w, "\nTimes are the fastest of %d timed calls after a first call (compile = first call - fastest call); peak RSS is the process's high-water mark during the row. `%s`\n",
		*steps, strings.Join(append([]string{"lreg bench"}, args...), " "))
	base := filepath.Join(*out, "bench-"+info.Name)
	if err := store.WriteJSON(base+".json", rec); err != nil {
		return err
	}
	if err := store.WriteAtomic(base+".md", []byte(md.String())); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s.json and %s.md (the full table: %s)\n", base, base, benchFull)
	return nil
}

// float32Bytes is the size of the bench's values: its graphs are float32.
const float32Bytes = 4

// parseRuns reads a comma list of run counts (>= 1); empty is none.
func parseRuns(s, flag string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	rs, err := parseInts(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	for _, r := range rs {
		if r < 1 {
			return nil, fmt.Errorf("%s: run counts must be >= 1, got %d", flag, r)
		}
	}
	return rs, nil
}
