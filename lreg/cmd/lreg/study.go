package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/gomlx/gomlx/backends"

	"github.com/lreg/lreg/lreg/backend"
	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/plot"
	"github.com/lreg/lreg/lreg/shard"
	"github.com/lreg/lreg/lreg/store"
	"github.com/lreg/lreg/lreg/study"
)

const studyUsage = `usage: lreg study COMMAND [flags] (lreg study COMMAND -h lists them)
  design   write the study's design with its power calculation (results/study/DESIGN.md)
  plan     list the units of work: what each needs and makes, and the command that runs it alone
  run      run units (--shard i/n: one part of them; --unit ID: one) into --run-dir; resumable
  status   what is done and left in run directories, with an ETA from measured unit times
  merge    take the records of run directories into --out, each checked against the plan
  tune     choose the baselines' weight decay and SAM radius on a validation split (TUNING.md, tuning.json)
  report   the tables, verdicts and figures of a merged directory (tables.md, verdicts.md, verdicts.json; figures/study), from its records`

func cmdStudy(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Println(studyUsage)
		if len(args) == 0 {
			return errors.New("lreg study needs a command")
		}
		return nil
	}
	switch args[0] {
	case "design":
		return studyDesign(args[1:])
	case "plan":
		return studyPlan(args[1:])
	case "run":
		return studyRun(args[1:])
	case "status":
		return studyStatus(args[1:])
	case "merge":
		return studyMerge(args[1:])
	case "report":
		return studyReport(args[1:])
	case "tune":
		return studyTune(args[1:])
	}
	return fmt.Errorf("unknown study command %q\n%s", args[0], studyUsage)
}

// studyFlags are the flags that pick the design: --size or --design FILE.
type studyFlags struct{ size, file string }

func (s *studyFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.size, "size", "smoke", "the study's size: tiny (the pipeline in seconds, for tests), smoke (every path, minutes on 2 CPU cores) or study (the powered study)")
	fs.StringVar(&s.file, "design", "", "a design file (JSON, as `lreg study plan --write-design` writes) instead of --size")
}

func (s *studyFlags) plan() (*study.Plan, error) {
	var d study.Design
	var err error
	if s.file != "" {
		d, err = study.Load(s.file)
	} else {
		d, err = study.Of(s.size)
	}
	if err != nil {
		return nil, err
	}
	return study.NewPlan(d)
}

// args is how the flags name the design again, for the commands a plan prints.
func (s *studyFlags) args() string {
	if s.file != "" {
		return "--design " + s.file
	}
	return "--size " + s.size
}

func studyDesign(args []string) error {
	fs := flag.NewFlagSet("study design", flag.ContinueOnError)
	var sf studyFlags
	sf.register(fs)
	out := fs.String("out", filepath.Join("results", "study", "DESIGN.md"), "where to write the design")
	records := fs.String("records", filepath.Join("results", "cpu", "records.tar.gz"), "the cpu profile's records, whose spreads give the power calculation")
	_ = fs.Set("size", "study")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p, err := sf.plan()
	if err != nil {
		return err
	}
	doc, err := study.DesignDoc(p.Design, *records, filepath.ToSlash(*records))
	if err != nil {
		return err
	}
	if err := store.WriteAtomic(*out, []byte(doc)); err != nil {
		return err
	}
	fmt.Printf("wrote %s\n", *out)
	return nil
}

func studyPlan(args []string) error {
	fs := flag.NewFlagSet("study plan", flag.ContinueOnError)
	var sf studyFlags
	sf.register(fs)
	spec := fs.String("shard", "", "list only the units of shard i/n")
	asJSON := fs.Bool("json", false, "print the units as JSON (id, unit, outputs, estimate in seconds)")
	write := fs.String("write-design", "", "write the design as JSON to this file (edit it, then pass --design FILE)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p, err := sf.plan()
	if err != nil {
		return err
	}
	if *write != "" {
		if err := store.WriteJSON(*write, p.Design); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", *write)
	}
	sh, err := shard.Parse(*spec)
	if err != nil {
		return err
	}
	units := p.Shard(sh)
	if *asJSON {
		type entry struct {
			Index    int        `json:"index"`
			ID       string     `json:"id"`
			Unit     study.Unit `json:"unit"`
			Outputs  []string   `json:"outputs"`
			Estimate float64    `json:"estimate_seconds"`
		}
		var out []entry
		for _, i := range units {
			out = append(out, entry{i, p.IDs[i], p.Units[i], p.Units[i].Outputs(), p.Units[i].Estimate()})
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Println(string(b))
		return nil
	}
	fmt.Printf("study %s (design %s): %d units", p.Design.Size, p.Design.Hash()[:12], len(p.Units))
	if sh.Split() {
		fmt.Printf(", %d of them in shard %s", len(units), sh)
	}
	fmt.Println(". A unit runs alone with the command under it, into its --run-dir; a meta-test needs its LO's meta-training there.")
	for _, i := range units {
		fmt.Println(p.Describe(i, "lreg study run "+sf.args()+" --run-dir DIR"))
	}
	return nil
}

func studyRun(args []string) error {
	fs := flag.NewFlagSet("study run", flag.ContinueOnError)
	var sf studyFlags
	sf.register(fs)
	spec := fs.String("shard", "", "run only shard i of n (0 <= i < n): whole LOs (meta-training, then its meta-tests) and baselines, dealt by estimated cost; e.g. $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT")
	unit := fs.String("unit", "", "run only this unit (an ID from `lreg study plan`)")
	runDir := fs.String("run-dir", "", "where records, LOs and checkpoints go (default runs/study-<size>); then `lreg study merge`")
	var cf computeFlags
	cf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p, err := sf.plan()
	if err != nil {
		return err
	}
	sh, err := shard.Parse(*spec)
	if err != nil {
		return err
	}
	units := p.Shard(sh)
	if *unit != "" {
		i := p.Index(*unit)
		if i < 0 {
			return fmt.Errorf("--unit %s is not a unit of the %s study: list them with `lreg study plan %s`", *unit, p.Design.Size, sf.args())
		}
		if sh.Split() {
			return fmt.Errorf("--unit and --shard exclude each other: give one")
		}
		units = []int{i}
	}
	if *runDir == "" {
		*runDir = filepath.Join("runs", study.Profile(p.Design))
	}
	if err := store.CheckWritable(*runDir); err != nil {
		return fmt.Errorf("--run-dir %s: results cannot be written there (%v): choose a writable folder with --run-dir", *runDir, err)
	}
	cleanStale(*runDir)
	b, info, err := cf.open(p)
	if err != nil {
		return err
	}
	// Ctrl-C or SIGTERM: stop after the current unit (a meta-training at its next meta-step, checkpointed);
	// a second signal stops at once (the default action), losing at most the unit in progress.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
		fmt.Fprintln(os.Stderr, "\nstopping after the current unit (a meta-training checkpoints at its next meta-step); a second signal stops now")
	}()
	r := &study.Runner{Plan: p, Dir: *runDir, Backend: b, Info: info.Config, Data: cf.data(), Log: os.Stderr, Ctx: ctx}
	ran, skipped, err := r.Run(units)
	if err != nil {
		return err
	}
	fmt.Printf("study %s, shard %s: %d units run, %d found done, in %s\n", p.Design.Size, sh, ran, skipped, *runDir)
	return nil
}

func studyTune(args []string) error {
	fs := flag.NewFlagSet("study tune", flag.ContinueOnError)
	var sf studyFlags
	sf.register(fs)
	out := fs.String("out", "", "folder for TUNING.md and tuning.json (default results/study for --size study, else runs/study-<size>)")
	var cf computeFlags
	cf.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p, err := sf.plan()
	if err != nil {
		return err
	}
	d := p.Design
	if d.Tuning.Regime == "" {
		return fmt.Errorf("the %s design has no tuning grid (its baselines' strengths are fixed)", d.Size)
	}
	if *out == "" {
		*out = filepath.Join("runs", study.Profile(d))
		if d.Size == "study" {
			*out = filepath.Join("results", "study")
		}
	}
	if err := store.CheckWritable(*out); err != nil {
		return fmt.Errorf("--out %s: cannot write there (%v): choose a writable folder with --out", *out, err)
	}
	b, info, err := cf.open(p)
	if err != nil {
		return err
	}
	res, err := study.Tune(d, b, info.Config, cf.data(), func(s string) { fmt.Fprintln(os.Stderr, s) })
	if err != nil {
		return err
	}
	if err := store.WriteJSON(filepath.Join(*out, "tuning.json"), res); err != nil {
		return err
	}
	if err := store.WriteAtomic(filepath.Join(*out, "TUNING.md"), []byte(res.Markdown())); err != nil {
		return err
	}
	wd, rho := res.Choose()
	for _, opt := range slices.Sorted(maps.Keys(wd)) {
		if wd[opt] != d.Baselines.WeightDecay[opt] || rho[opt] != d.Baselines.Rho[opt] {
			fmt.Fprintf(os.Stderr, "note: the tuning chose weight decay %g and radius %g for %s, the design has %g and %g: edit the design (lreg/study/design.go) to adopt them\n",
				wd[opt], rho[opt], opt, d.Baselines.WeightDecay[opt], d.Baselines.Rho[opt])
		}
	}
	fmt.Printf("wrote %s and tuning.json\n", filepath.Join(*out, "TUNING.md"))
	return nil
}

// computeFlags are the flags of the study commands that compute: the data folder and the backend.
type computeFlags struct{ dataDir, backend string }

func (c *computeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dataDir, "data", "data", "data folder (see `lreg data`)")
	fs.StringVar(&c.backend, "backend", "", "auto, go, xla or xla:/path/to/pjrt_plugin.so (default $GOMLX_BACKEND, else auto)")
}

func (c *computeFlags) data() data.Options { return data.Options{Dir: c.dataDir} }

// open checks that every data set of the plan loads (before any work) and opens the backend, saying which.
func (c *computeFlags) open(p *study.Plan) (backends.Backend, backend.Info, error) {
	for _, name := range datasetsOf(p) {
		if _, err := data.Load(name, c.data()); err != nil {
			return nil, backend.Info{}, err
		}
	}
	b, info, err := backend.New(c.backend)
	if err == nil {
		fmt.Fprintf(os.Stderr, "backend: %s (%s)\n", info.Config, info.Reason)
	}
	return b, info, err
}

func datasetsOf(p *study.Plan) []string {
	seen := map[string]bool{p.Design.Meta.Dataset: true}
	out := []string{p.Design.Meta.Dataset}
	for _, r := range p.Design.Regimes {
		for _, t := range r.Tasks {
			if !seen[t.Dataset] {
				seen[t.Dataset] = true
				out = append(out, t.Dataset)
			}
		}
	}
	return out
}

func studyStatus(args []string) error {
	fs := flag.NewFlagSet("study status", flag.ContinueOnError)
	var sf studyFlags
	sf.register(fs)
	shards := fs.Int("shards", 1, "processes the ETA assumes for what is left")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: lreg study status [--size S | --design F] [--shards N] DIR...")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	dirs := fs.Args()
	if len(dirs) == 0 {
		return fmt.Errorf("lreg study status: name the run directories (e.g. runs/study-* results/study)")
	}
	if *shards < 1 {
		return fmt.Errorf("--shards %d: want >= 1", *shards)
	}
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return fmt.Errorf("lreg study status: %s is not a directory: name the --run-dir of each `lreg study run` (or the merged one)", d)
		}
	}
	p, err := sf.plan()
	if err != nil {
		return err
	}
	fmt.Print(study.StatusOf(p, dirs, *shards).Table(p))
	return nil
}

func studyMerge(args []string) error {
	fs := flag.NewFlagSet("study merge", flag.ContinueOnError)
	var sf studyFlags
	sf.register(fs)
	out := fs.String("out", "", "the directory to merge into (default results/study for --size study)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, err := sf.plan()
	if err != nil {
		return err
	}
	if *out == "" {
		if sf.file != "" || sf.size != "study" {
			return fmt.Errorf("lreg study merge: give --out DIR (only the full study merges into results/study by default)")
		}
		*out = filepath.Join("results", "study")
	}
	srcs := fs.Args()
	if len(srcs) == 0 {
		return fmt.Errorf("lreg study merge: name the run directories to take in, e.g. lreg study merge %s --out %s runs/study-*", sf.args(), *out)
	}
	rep, err := study.Merge(p, *out, srcs)
	if err != nil {
		return fmt.Errorf("merge refused, nothing written: %w", err)
	}
	fmt.Printf("%s\ninto %s (from %s)\n", rep, *out, strings.Join(srcs, ", "))
	return nil
}

// studyReport writes the study's tables and verdicts from a merged directory's records (study.NewReport): every
// record checked as the merge checks it, a failed check refusing the whole report.
func studyReport(args []string) error {
	fs := flag.NewFlagSet("study report", flag.ContinueOnError)
	var sf studyFlags
	sf.register(fs)
	out := fs.String("out", "", "where tables.md, verdicts.md and verdicts.json go (default: the merged directory)")
	readme := fs.String("readme", "", "also write the primary verdicts into this README's study block (between its markers)")
	figures := fs.String("figures", filepath.Join("figures", "study"), "where the figures go (NAME.html and NAME.svg; \"\" for none)")
	_ = fs.Set("size", "study")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: lreg study report [--size S | --design F] [--out DIR] [--figures DIR] [--readme README.md] [MERGED-DIR (default results/study for --size study)]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	p, err := sf.plan()
	if err != nil {
		return err
	}
	var dir string
	switch fs.NArg() {
	case 0:
		if sf.file != "" || sf.size != "study" {
			return fmt.Errorf("lreg study report: name the merged directory (`lreg study merge %s --out DIR ...` made it)", sf.args())
		}
		dir = filepath.Join("results", "study")
	case 1:
		dir = fs.Arg(0)
	default:
		return fmt.Errorf("lreg study report: one merged directory, got %d (merge run directories first: lreg study merge)", fs.NArg())
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("lreg study report: %s is not a directory: name the --out of `lreg study merge`", dir)
	}
	if *out == "" {
		*out = dir
	}
	rep, err := study.NewReport(p, dir)
	if err != nil {
		return fmt.Errorf("report refused, nothing written: %w", err)
	}
	if err := rep.Write(p.Design, *out); err != nil {
		return err
	}
	for _, c := range rep.Family(study.FamilyPrimary) {
		fmt.Printf("%-20s %-50s %-14s %s\n", c.Task, c.Claim, c.Over, c.Shown())
	}
	fmt.Printf("wrote %s (%d of %d units recorded)\n", strings.Join(prefixed(*out, study.ReportFiles), ", "), rep.Records, rep.Units)
	if err := studyFigures(rep, p.Design, *figures); err != nil {
		return err
	}
	if *readme != "" {
		return rep.UpdateReadme(*readme)
	}
	return nil
}

// studyFigures writes the report's figures into dir ("" for none). Where Node or the npm package echarts is missing
// (a cluster's merge job, say) it says so and goes on: the tables and verdicts are written, and the figures can be
// made later from the same records.
func studyFigures(rep study.Report, d study.Design, dir string) error {
	if dir == "" {
		return nil
	}
	paths, err := rep.WriteFigures(d, dir)
	if errors.Is(err, plot.ErrNoEcharts) {
		fmt.Fprintf(os.Stderr, "figures not written (%v); run `lreg study report` again where they are installed\n", err)
		return nil
	}
	if err != nil {
		return fmt.Errorf("the figures: %w", err)
	}
	fmt.Printf("wrote %d figures into %s (.html and .svg)\n", len(paths)/2, dir)
	return nil
}

func prefixed(dir string, files []string) []string {
	var out []string
	for _, f := range files {
		out = append(out, filepath.Join(dir, f))
	}
	return out
}
