package study

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"

	"github.com/gomlx/gomlx/backends"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/experiment"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/probe"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/store"
)

// Record is a finished unit: the unit, what it produced (Outcome: what two runs of the unit must agree on) with
// a SHA-256 of it, and how it was made (Provenance: profile, backend, seeds, code version, host, wall time).
type Record struct {
	ID            string            `json:"id"`
	Unit          Unit              `json:"unit"`
	Outcome       Outcome           `json:"outcome"`
	OutcomeSHA256 string            `json:"outcome_sha256"`
	Provenance    record.Provenance `json:"provenance"`
	// SecondsPerStep is a meta-test's or baseline's training time per optimizer step (mean over its runs).
	SecondsPerStep float64 `json:"seconds_per_step,omitempty"`
}

// Outcome is a unit's result.
type Outcome struct {
	Backend    string        `json:"backend"`     // the backend's kind, "go" or "xla" (their float32 roundings differ)
	Data       string        `json:"data"`        // the data set's content fingerprint (data.Fingerprint)
	DataSource string        `json:"data_source"` // where it came from
	LO         *LOOutcome    `json:"lo,omitempty"`
	Key        *metatest.Key `json:"key,omitempty"` // meta-test, baseline: what each run depends on
	Runs       []Run         `json:"runs,omitempty"`
	Probes     []ProbeRun    `json:"probes,omitempty"` // probe: per run that did not diverge, each measure
}

// ProbeRun is one measure of the sharpness of one run's final point (probe.Result, without the PGA path).
type ProbeRun struct {
	Seed         uint64    `json:"seed"`
	Kind         string    `json:"kind"` // probe.KindLoss or probe.KindGradNorm
	BaseLoss     float64   `json:"base_loss"`
	BaseGradNorm float64   `json:"base_grad_norm"`
	Final        []float64 `json:"final"` // F after the last PGA step, per radius of the unit's probe config
}

// LOOutcome is what a meta-training made.
type LOOutcome struct {
	ID           string     `json:"id"`   // SHA-256 of the LO's config and weights: the MethodID its meta-test records carry
	File         string     `json:"file"` // relative to the run directory
	Snapshots    []Snapshot `json:"snapshots,omitempty"`
	MetaSteps    int        `json:"meta_steps"`
	FromMetaStep int        `json:"from_meta_step"` // the meta-step after which the kept weights were taken
	Stages       int        `json:"stages"`         // curriculum stages entered
	EvalLoss     float64    `json:"eval_loss"`
	StopReason   string     `json:"stop_reason"`
}

// Snapshot is an LO kept after meta-step Step.
type Snapshot struct {
	Step int    `json:"step"`
	ID   string `json:"id"`
	File string `json:"file"`
}

// Run is one seed's result.
type Run struct {
	Seed          uint64  `json:"seed"`
	Steps         int     `json:"steps"`
	Converged     bool    `json:"converged"`
	Diverged      bool    `json:"diverged,omitempty"`
	TrainLoss     float64 `json:"train_loss"`
	TrainAccuracy float64 `json:"train_accuracy"`
	TestLoss      float64 `json:"test_loss"`
	TestAccuracy  float64 `json:"test_accuracy"`
}

// OutcomeSHA256 is the SHA-256 a record states of its outcome.
func OutcomeSHA256(o Outcome) string { return hashOf(o) }

// RecordPath is where a unit's record lies in a run directory.
func RecordPath(dir, id string) string { return filepath.Join(dir, "units", id+".json") }

// Profile is the profile name records carry: "study-smoke", "study-study" reads badly, so the size itself
// for the full study.
func Profile(d Design) string {
	if d.Size == "study" {
		return "study"
	}
	return "study-" + d.Size
}

// Runner runs units of a plan into a run directory.
type Runner struct {
	Plan    *Plan
	Dir     string
	Backend backends.Backend
	Info    string // the backend's configuration, recorded
	Data    data.Options
	Log     io.Writer
	// Ctx, when done (Ctrl-C, SIGTERM), stops the run: before the next unit, or inside a meta-training at its
	// next meta-step with a checkpoint saved; a meta-test in progress finishes first (its units are short).
	Ctx  context.Context
	sets map[string]*data.Dataset
}

// ErrInterrupted is returned by Run when Ctx stopped it; the same command continues where it stopped.
var ErrInterrupted = errors.New("interrupted")

// Run runs the units (plan indices) in order, skipping those whose record is in the directory and checks
// (ReadRecord); it returns how many it ran and skipped. A stopped run resumes: a meta-training from its
// checkpoint, a meta-test from the records of its finished seeds.
func (r *Runner) Run(units []int) (ran, skipped int, err error) {
	if r.Log == nil {
		r.Log = os.Stderr
	}
	for _, i := range units {
		id := r.Plan.IDs[i]
		if r.Ctx != nil && r.Ctx.Err() != nil {
			return ran, skipped, fmt.Errorf("%w before unit %s (%d units run): rerun the same command to continue", ErrInterrupted, id, ran)
		}
		if _, err := ReadRecord(r.Plan, r.Dir, id); err == nil {
			skipped++
			continue
		} else if !errors.Is(err, os.ErrNotExist) {
			return ran, skipped, err
		}
		fmt.Fprintf(r.Log, "unit %d/%d %s\n", i+1, len(r.Plan.Units), id)
		if err := r.runUnit(r.Plan.Units[i], id); err != nil {
			return ran, skipped, fmt.Errorf("unit %s: %w", id, err)
		}
		ran++
		// A unit's compiled graphs and device buffers are C memory that Go's collector frees only when it runs
		// (a heap this small seldom makes it): collect (FreeOSMemory runs the collector, then returns what it
		// can) before the next unit builds its own. The process's RSS still plateaus at 5-7 GB over a study.
		debug.FreeOSMemory()
	}
	return ran, skipped, nil
}

func (r *Runner) dataset(name string) (*data.Dataset, error) {
	if ds, ok := r.sets[name]; ok {
		return ds, nil
	}
	ds, err := data.Load(name, r.Data)
	if err != nil {
		return nil, err
	}
	if r.sets == nil {
		r.sets = map[string]*data.Dataset{}
	}
	r.sets[name] = ds
	return ds, nil
}

func (r *Runner) runUnit(u Unit, id string) error {
	prov := record.New(Profile(r.Plan.Design), r.Info)
	ds, err := r.dataset(datasetOf(u))
	if err != nil {
		return err
	}
	out := Outcome{Backend: metatest.BackendKind(r.Info), Data: data.Fingerprint(ds), DataSource: ds.Source}
	rec := Record{ID: id, Unit: u}
	switch u.Kind {
	case MetaTrain:
		if out.LO, err = r.metaTrain(u, ds, prov); err != nil {
			return err
		}
		prov.Seeds = []uint64{u.Meta.Seed}
	default: // the runs of a method on a task: a meta-test, a baseline, or a probe's points
		var res []metatest.Result
		var key metatest.Key
		if u.Kind == Probe {
			res, key, out.Probes, err = r.probe(u, ds)
		} else {
			res, key, err = r.metaTest(u, ds)
		}
		if err != nil {
			return err
		}
		out.Key = &key
		sps := 0.0
		for _, x := range res {
			out.Runs = append(out.Runs, Run{Seed: x.Seed, Steps: x.Steps, Converged: x.Converged, Diverged: x.Diverged,
				TrainLoss: x.TrainLoss, TrainAccuracy: x.TrainAccuracy, TestLoss: x.TestLoss, TestAccuracy: x.TestAccuracy})
			sps += x.SecondsPerStep / float64(len(res))
		}
		if u.Kind != Probe { // a probe unit's clock includes no probing; its records never carried it
			rec.SecondsPerStep = sps
		}
		prov.Seeds = u.Seeds
	}
	prov.Finish()
	rec.Outcome, rec.Provenance = out, prov
	rec.OutcomeSHA256 = OutcomeSHA256(out)
	return store.WriteJSON(RecordPath(r.Dir, id), rec)
}

// metaTrain meta-trains the unit's LO in Dir/los, resuming its checkpoint there.
func (r *Runner) metaTrain(u Unit, ds *data.Dataset, prov record.Provenance) (*LOOutcome, error) {
	losDir := filepath.Join(r.Dir, "los")
	_, statErr := os.Stat(meta.CheckpointFile(losDir, u.LO))
	tr, err := meta.NewTrainer(r.Backend, *u.Meta, meta.ImageTask(ds), losDir, statErr == nil, prov)
	if err != nil {
		return nil, err
	}
	if tr.Cfg.Fingerprint() != u.Meta.Fingerprint() {
		tr.Close()
		return nil, fmt.Errorf("%s holds a checkpoint of LO %s with other settings (another design?): delete it, or use another --run-dir", meta.CheckpointFile(losDir, u.LO), u.LO)
	}
	tr.Log, tr.Snapshots, tr.Ctx = r.Log, u.Snapshots, r.Ctx
	if err := tr.Train(); err != nil {
		if r.Ctx != nil && r.Ctx.Err() != nil {
			return nil, fmt.Errorf("%w at meta-step %d of LO %s, its checkpoint saved: rerun the same command to continue", ErrInterrupted, tr.P.MetaStep, u.LO)
		}
		return nil, err
	}
	m, _, err := meta.LoadLO(meta.LOFile(losDir, u.LO))
	if err != nil {
		return nil, err
	}
	lo := &LOOutcome{File: filepath.Join("los", "lo-"+u.LO+".lreg"), MetaSteps: m.MetaSteps, FromMetaStep: m.FromMetaStep,
		Stages: m.Stages, EvalLoss: m.EvalLoss, StopReason: m.StopReason}
	if lo.ID, err = loID(r.Dir, lo.File); err != nil {
		return nil, err
	}
	for _, s := range u.Snapshots {
		snap := Snapshot{Step: s, File: filepath.Join("los", "lo-"+SnapshotName(u.LO, s)+".lreg")}
		if snap.ID, err = loID(r.Dir, snap.File); err != nil {
			return nil, err
		}
		lo.Snapshots = append(lo.Snapshots, snap)
	}
	return lo, nil
}

// loID is the identity of the LO file rel in dir as meta-test records key it (experiment.MethodID).
func loID(dir, rel string) (string, error) {
	path := filepath.Join(dir, rel)
	if _, _, err := meta.LoadLO(path); err != nil {
		return "", err
	}
	return experiment.MethodID(path, dir, experiment.DefaultBaselines()), nil
}

// method is the unit's optimizer: a baseline's rule, or the LO its meta-train unit recorded (checked).
func (r *Runner) method(u Unit) (metatest.Method, error) {
	if u.Kind == Baseline {
		return r.Plan.Design.Baselines.Method(u.Method, u.Test.Optimizee), nil
	}
	need, err := ReadRecord(r.Plan, r.Dir, u.Needs)
	if err != nil {
		return metatest.Method{}, fmt.Errorf("it uses the LO that unit %s makes, which is not done in %s (%v): run that unit first (a shard runs an LO's units in order), or merge the directory that holds it into this one", u.Needs, r.Dir, err)
	}
	want := need.Outcome.LO.ID
	if len(u.Snapshots) == 1 {
		want = need.Outcome.LO.snapshot(u.Snapshots[0]).ID
	}
	ms, err := experiment.Methods([]string{filepath.Join(r.Dir, "los", "lo-"+u.LO+".lreg")}, r.Dir, experiment.DefaultBaselines())
	if err != nil {
		return metatest.Method{}, err
	}
	if m := ms[0]; m.ID != want || m.Name != u.Method {
		return metatest.Method{}, fmt.Errorf("LO file %s is not the one unit %s recorded (%s %s, recorded %s %s): restore it, or delete that unit's record to meta-train it again",
			filepath.Join(r.Dir, "los", "lo-"+u.LO+".lreg"), u.Needs, m.Name, m.ID, u.Method, want)
	}
	return ms[0], nil
}

// metaTest trains the unit's method on its task for every seed (experiment.Sweep: a seed whose record exists
// is reused, so a stopped unit resumes).
func (r *Runner) metaTest(u Unit, ds *data.Dataset) ([]metatest.Result, metatest.Key, error) {
	m, err := r.method(u)
	if err != nil {
		return nil, metatest.Key{}, err
	}
	sweep := experiment.Sweep{Backend: r.Backend, Info: r.Info, Profile: Profile(r.Plan.Design), RunDir: r.Dir, Log: r.Log}
	res, err := sweep.Run(*u.Test, ds, []metatest.Method{m}, u.Seeds)
	if err != nil {
		return nil, metatest.Key{}, err
	}
	return res[0], r.key(u, m, ds), nil
}

// key is what each run of the unit's method on its data depends on besides its seed.
func (r *Runner) key(u Unit, m metatest.Method, ds *data.Dataset) metatest.Key {
	return metatest.Key{Config: *u.Test, Method: m.Name, MethodID: m.ID, Data: data.Fingerprint(ds), Backend: metatest.BackendKind(r.Info)}
}

// probe trains the unit's LO on its task for every seed and measures the sharpness of each final point that
// did not diverge, both measures at every radius, on the validation set (probe.Validation).
func (r *Runner) probe(u Unit, ds *data.Dataset) ([]metatest.Result, metatest.Key, []ProbeRun, error) {
	m, err := r.method(u)
	if err != nil {
		return nil, metatest.Key{}, nil, err
	}
	key := r.key(u, m, ds)
	run, err := metatest.NewRunner(r.Backend, *u.Test, m.Method, ds)
	if err != nil {
		return nil, key, nil, err
	}
	outs, err := run.TrainSeeds(u.Seeds, func(uint64) record.Provenance { return record.New(Profile(r.Plan.Design), r.Info) })
	if err != nil {
		return nil, key, nil, err
	}
	val, err := probe.Validation(run.Split, u.ProbeValN)
	if err != nil {
		return nil, key, nil, err
	}
	var res []metatest.Result
	var probes []ProbeRun
	for _, kind := range []string{probe.KindLoss, probe.KindGradNorm} {
		cfg := *u.Probe
		cfg.Kind = kind
		pr, err := probe.New(r.Backend, run.Optimizee, cfg)
		if err != nil {
			return nil, key, nil, err
		}
		for _, o := range outs {
			if o.Err != nil { // diverged: no point to probe
				continue
			}
			p, err := pr.Run(o.Params, val)
			if err != nil {
				return nil, key, nil, fmt.Errorf("probing %s seed %d: %w", u.LO, o.Result.Seed, err)
			}
			probes = append(probes, ProbeRun{Seed: o.Result.Seed, Kind: kind, BaseLoss: p.BaseLoss, BaseGradNorm: p.BaseGradNorm, Final: p.Final})
		}
	}
	for _, o := range outs {
		res = append(res, o.Result)
	}
	return res, key, probes, nil
}

func (lo *LOOutcome) snapshot(step int) Snapshot {
	for _, s := range lo.Snapshots {
		if s.Step == step {
			return s
		}
	}
	return Snapshot{}
}

// ReadRecord reads the record of unit id in dir and checks it (Check) with its files; a missing record is an
// error wrapping os.ErrNotExist.
func ReadRecord(p *Plan, dir, id string) (Record, error) {
	var rec Record
	path := RecordPath(dir, id)
	if err := store.ReadJSON(path, &rec); err != nil {
		return rec, err
	}
	if err := Check(p, rec, dir); err != nil {
		return rec, fmt.Errorf("%s: %w; delete it to recompute the unit", path, err)
	}
	return rec, nil
}

// Check verifies a record against the unit the plan expects under its ID: the same unit (method, LO, task,
// protocol, seeds, meta-training settings), an outcome that hashes to its recorded SHA-256, a key that agrees
// with the unit (method, its identity, protocol, data, backend), every seed's run, a stated code version and
// backend, and, where dir is given, the LO files of a meta-training with the identities it recorded.
func Check(p *Plan, rec Record, dir string) error {
	i := p.Index(rec.ID)
	if i < 0 {
		return fmt.Errorf("unit %s is not in the plan of the %s study (another design or an older lreg?)", rec.ID, p.Design.Size)
	}
	u := p.Units[i]
	o := rec.Outcome
	switch {
	case hashOf(rec.Unit) != hashOf(u):
		return fmt.Errorf("its unit is not the one the plan has under ID %s (edited or from another design)", rec.ID)
	case rec.OutcomeSHA256 != hashOf(o):
		return fmt.Errorf("its outcome does not match its recorded SHA-256 (edited or damaged)")
	case rec.Provenance.CodeVersion == "" || rec.Provenance.Backend == "" || o.Backend == "" || o.Data == "":
		return fmt.Errorf("it does not state its code version, backend or data fingerprint")
	case o.Backend != metatest.BackendKind(rec.Provenance.Backend):
		return fmt.Errorf("its outcome's backend %s is not its provenance's %s", o.Backend, rec.Provenance.Backend)
	}
	if u.Kind == MetaTrain {
		if o.LO == nil || len(o.LO.Snapshots) != len(u.Snapshots) {
			return fmt.Errorf("it holds no LO, or not the snapshots %v", u.Snapshots)
		}
		files := []struct{ file, id string }{{o.LO.File, o.LO.ID}}
		for k, s := range o.LO.Snapshots {
			if s.Step != u.Snapshots[k] {
				return fmt.Errorf("snapshot %d is after meta-step %d, the plan's after %d", k, s.Step, u.Snapshots[k])
			}
			files = append(files, struct{ file, id string }{s.File, s.ID})
		}
		for k, f := range files {
			if want := u.Outputs()[1+k]; f.file != want {
				return fmt.Errorf("it names LO file %s, the plan %s", f.file, want)
			}
			if dir == "" {
				continue
			}
			got, err := loID(dir, f.file)
			if err != nil {
				return fmt.Errorf("its LO: %w", err)
			}
			if got != f.id {
				return fmt.Errorf("LO file %s has identity %s, the record says %s (the file was replaced or edited)", filepath.Join(dir, f.file), got, f.id)
			}
		}
		return nil
	}
	k := o.Key
	switch {
	case k == nil:
		return fmt.Errorf("it holds no key")
	case k.Config != *u.Test:
		return fmt.Errorf("its runs used another protocol than the plan's")
	case k.Method != u.Method:
		return fmt.Errorf("its runs are of method %s, the plan's %s", k.Method, u.Method)
	case u.Kind == Baseline && k.MethodID != u.MethodID:
		return fmt.Errorf("its runs are of %s, the plan's %s", k.MethodID, u.MethodID)
	case k.Data != o.Data || k.Backend != o.Backend:
		return fmt.Errorf("its key's data or backend is not its outcome's")
	case len(o.Runs) != len(u.Seeds):
		return fmt.Errorf("it has %d runs, the plan %d (seeds %v)", len(o.Runs), len(u.Seeds), u.Seeds)
	}
	for j, run := range o.Runs {
		if run.Seed != u.Seeds[j] {
			return fmt.Errorf("run %d has seed %d, the plan %d", j, run.Seed, u.Seeds[j])
		}
	}
	if u.Kind == Probe { // each measure of each run that did not diverge, in order, at every radius
		var want []ProbeRun
		for _, kind := range []string{probe.KindLoss, probe.KindGradNorm} {
			for _, run := range o.Runs {
				if !run.Diverged {
					want = append(want, ProbeRun{Seed: run.Seed, Kind: kind})
				}
			}
		}
		if len(o.Probes) != len(want) {
			return fmt.Errorf("it has %d probes, the plan %d (two measures of each run that did not diverge)", len(o.Probes), len(want))
		}
		for j, pr := range o.Probes {
			if pr.Seed != want[j].Seed || pr.Kind != want[j].Kind || len(pr.Final) != len(u.Probe.Radii) {
				return fmt.Errorf("probe %d is %s of seed %d at %d radii, the plan's %s of seed %d at %d", j, pr.Kind, pr.Seed, len(pr.Final), want[j].Kind, want[j].Seed, len(u.Probe.Radii))
			}
		}
	} else if len(o.Probes) > 0 {
		return fmt.Errorf("it holds probes, which only a probe unit makes")
	}
	return nil
}

// checkLinks checks what one record says about another within a set of records by ID: a meta-test ran the LO
// its meta-training recorded (its identity), and every record on a data set saw the same data.
func checkLinks(p *Plan, recs map[string]Record) error {
	data := map[string]string{}
	var ids []string
	for id := range recs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		rec := recs[id]
		u := rec.Unit
		name := datasetOf(u)
		if fp, ok := data[name]; ok && fp != rec.Outcome.Data {
			return fmt.Errorf("unit %s saw data %s of %s, other units %s: the records were made on different data; merge only records of one data set's files", id, rec.Outcome.Data, name, fp)
		}
		data[name] = rec.Outcome.Data
		if u.Kind != MetaTest && u.Kind != Probe {
			continue
		}
		need, ok := recs[u.Needs]
		if !ok {
			return fmt.Errorf("unit %s meta-tested the LO of unit %s, which has no record: merge the directory that ran %s too", id, u.Needs, u.Needs)
		}
		want := need.Outcome.LO.ID
		if len(u.Snapshots) == 1 {
			want = need.Outcome.LO.snapshot(u.Snapshots[0]).ID
		}
		if rec.Outcome.Key.MethodID != want {
			return fmt.Errorf("unit %s meta-tested LO %s, but unit %s made LO %s: the records come from different meta-trainings (different backends or code?); rerun one of them", id, rec.Outcome.Key.MethodID, u.Needs, want)
		}
	}
	return nil
}
