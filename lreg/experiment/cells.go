// Package experiment runs the paper's tables and figures as sweeps of cells (a method x a task x a seed),
// each cell's result stored as a record in a run directory. A stopped sweep resumes without redoing the
// cells whose records exist, and tables are made from the stored records alone.
package experiment

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/lopt"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/profile"
	"github.com/lreg/lreg/lreg/record"
	"github.com/lreg/lreg/lreg/records"
	"github.com/lreg/lreg/lreg/shard"
)

// Baselines are the hand-made optimizers the LOs are compared with (SPEC.md section 4).
type Baselines struct {
	SGDLR   float64 `json:"sgd_lr"`   // 0.1
	AdamLR  float64 `json:"adam_lr"`  // 1e-3
	SharpLR float64 `json:"sharp_lr"` // SAM, GSAM, GAM learning rate; 0.1
	Rho     float64 `json:"rho"`      // SAM, GSAM, GAM radius; 0.05
}

// DefaultBaselines are the decisions where the paper gives no values.
func DefaultBaselines() Baselines {
	return Baselines{SGDLR: 0.1, AdamLR: 1e-3, SharpLR: 0.1, Rho: 0.05}
}

// Validate reports rates that cannot work, naming the setting and its flag.
func (b Baselines) Validate() error {
	for _, f := range []struct {
		name, flag string
		v          float64
	}{{"sgd_lr", "--sgd-lr", b.SGDLR}, {"adam_lr", "--adam-lr", b.AdamLR}, {"sharp_lr", "--sharp-lr", b.SharpLR}, {"rho", "--rho", b.Rho}} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("baselines: %s (%s) is %v: it must be a finite number > 0", f.name, f.flag, f.v)
		}
	}
	return nil
}

// BaselineNames lists the baselines in table order.
var BaselineNames = []string{"sgd", "adam", "sam", "gsam", "gam"}

// Rules returns the baselines by name.
func (b Baselines) Rules() map[string]optim.Rule {
	sam, gsam, gam := optim.NewSAM(b.SharpLR), optim.NewGSAM(b.SharpLR), optim.NewGAM(b.SharpLR)
	sam.Rho, gsam.Rho, gam.Rho = b.Rho, b.Rho, b.Rho
	return map[string]optim.Rule{"sgd": optim.SGD{LR: b.SGDLR}, "adam": optim.NewAdam(b.AdamLR), "sam": sam, "gsam": gsam, "gam": gam}
}

// Methods turns names into optimizers: a baseline's name; "lo-NAME", or NAME where no baseline has it, for the
// LO stored in runDir (lo-NAME.lreg; "init" is the untrained LO); or a path to an .lreg file. "auto" means
// every LO stored in runDir, then every baseline. Each method carries its identity (metatest.Method): a
// baseline's settings, a SHA-256 of an LO's architecture and weights.
func Methods(names []string, runDir string, b Baselines) ([]metatest.Method, error) {
	if len(names) == 1 && names[0] == "auto" {
		files, _ := filepath.Glob(filepath.Join(runDir, "lo-*.lreg"))
		sort.Strings(files)
		names = nil
		for _, f := range files {
			names = append(names, strings.TrimSuffix(filepath.Base(f), ".lreg"))
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("no stored LO in %s: run `lreg meta-train --run-dir %s` first, or name baselines (%s)", runDir, runDir, strings.Join(BaselineNames, ", "))
		}
		names = append(names, BaselineNames...)
	}
	rules := b.Rules()
	var ms []metatest.Method
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" { // --methods "" or "sgd,,adam": an empty name would be read as the LO file lo-.lreg
			return nil, fmt.Errorf("--methods %q: an empty method name; give a comma list such as none,sgd,adam (baselines: %s; LO names stored in %s; or auto)",
				strings.Join(names, ","), strings.Join(BaselineNames, ", "), runDir)
		}
		if rule, ok := rules[n]; ok {
			ms = append(ms, metatest.Static(n, rule))
			continue
		}
		path, name := loPath(n, runDir)
		if !strings.HasSuffix(n, ".lreg") {
			if err := meta.CheckName(strings.TrimPrefix(name, "lo-")); err != nil {
				return nil, fmt.Errorf("method %q: %w", n, err)
			}
		}
		m, w, err := meta.LoadLO(path)
		if err != nil {
			return nil, fmt.Errorf("method %q: %w (known: %s, or an LO name stored in %s)", n, err, strings.Join(BaselineNames, ", "), runDir)
		}
		ms = append(ms, metatest.Method{Method: lopt.Method(name, m.LO, w), ID: loID(m.LO, w)})
	}
	return ms, nil
}

// loPath is the file of an LO method and its method name: "lo-NAME" or NAME in runDir, or an .lreg path.
func loPath(n, runDir string) (path, method string) {
	if strings.HasSuffix(n, ".lreg") {
		return n, "lo-" + strings.TrimPrefix(strings.TrimSuffix(filepath.Base(n), ".lreg"), "lo-")
	}
	name := strings.TrimPrefix(n, "lo-")
	return meta.LOFile(runDir, name), "lo-" + name
}

// loID is an LO's identity for record keys: a SHA-256 of its architecture and weights (not of its file, whose
// provenance differs between two runs that meta-train the same LO).
func loID(cfg lopt.Config, weights []*tensors.Tensor) string {
	h := sha256.New()
	js, _ := json.Marshal(cfg)
	h.Write(js)
	for _, w := range weights {
		fmt.Fprintf(h, "\n%s %v\n", w.DType(), w.Shape().Dimensions)
		w.MustConstFlatData(func(flat any) { _ = binary.Write(h, binary.LittleEndian, flat) })
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil))
}

// MethodID is the identity of the named method as Methods gives it, without building it: for tables built
// from records alone. An LO without a file has no identity ("").
func MethodID(name, runDir string, b Baselines) string {
	if rule, ok := b.Rules()[name]; ok {
		return metatest.Static(name, rule).ID
	}
	path, _ := loPath(name, runDir)
	m, w, err := meta.LoadLO(path)
	if err != nil {
		return ""
	}
	return loID(m.LO, w)
}

// Seeds are the meta-test seeds of n runs: 100, 101, ... (never used by meta-training's streams).
func Seeds(n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = uint64(100 + i)
	}
	return s
}

// methodCache makes each named method once (an LO is read from its file once).
type methodCache struct {
	runDir string
	rates  Baselines
	byName map[string]metatest.Method
}

func (c methodCache) get(name string) (metatest.Method, error) {
	if m, ok := c.byName[name]; ok {
		return m, nil
	}
	ms, err := Methods([]string{name}, c.runDir, c.rates)
	if err != nil {
		return metatest.Method{}, err
	}
	c.byName[name] = ms[0]
	return ms[0], nil
}

// Sweep runs meta-test cells into a run directory.
type Sweep struct {
	Backend  backends.Backend
	Info     string // the backend's configuration, recorded with every result
	Profile  string
	RunDir   string
	Force    bool      // recompute cells whose records exist
	Log      io.Writer // one line per cell
	Limit    int       // stop with ErrCellLimit once this many cells were computed; 0 = no limit
	CellsRun int       // cells computed (not reused) so far
	// BatchRuns is how many seeds train together in one graph (metatest.Runner.BatchRuns: 0 = its default,
	// 1 = one at a time). Speed only: a seed's result is the same.
	BatchRuns int
	// ClaimPoll is how often a claim held by another process is checked (0: every 2 s).
	ClaimPoll time.Duration
}

// Run trains every (method, seed) on one data set and optimizee, reusing stored records, and returns the
// results per method in order. A record is reused only when its key (metatest.Key: protocol, method and its
// identity, data, backend kind) is this cell's; any other record is recomputed, and the log says why. The
// missing seeds of a method train as batched runs. A run that diverges is recorded as such (accuracy 0), so
// one bad seed does not stop a sweep. A method's cells on the task are claimed (shard.TryClaim) while they
// are computed: a second process on the run directory waits for them and then reuses their records.
func (s *Sweep) Run(cfg metatest.Config, ds *data.Dataset, methods []metatest.Method, seeds []uint64) ([][]metatest.Result, error) {
	if s.Log == nil {
		s.Log = io.Discard
	}
	if err := CheckBatchRuns(s.BatchRuns); err != nil {
		return nil, err
	}
	out := make([][]metatest.Result, len(methods))
	for i, m := range methods {
		key := metatest.Key{Config: cfg, Method: m.Name, MethodID: m.ID, Data: data.Fingerprint(ds), Backend: metatest.BackendKind(s.Info)}
		what := fmt.Sprintf("the cells of %s on %s/%s", m.Name, cfg.Dataset, cfg.Optimizee)
		claim, err := shard.WaitClaim(metatest.ClaimPath(s.RunDir, key), what, s.Log, s.ClaimPoll, 0, nil)
		if err != nil {
			return nil, err
		}
		res, err := s.runMethod(key, ds, m, seeds)
		claim.Release()
		if err != nil {
			return nil, err
		}
		out[i] = res
	}
	return out, nil
}

// runMethod is Run for one method, under its claim.
func (s *Sweep) runMethod(key metatest.Key, ds *data.Dataset, m metatest.Method, seeds []uint64) ([]metatest.Result, error) {
	cfg := key.Config
	got := make(map[uint64]metatest.Result, len(seeds))
	var missing []uint64
	for _, seed := range seeds {
		if res, ok := s.stored(key, seed); ok {
			got[seed] = res
			continue
		}
		missing = append(missing, seed)
	}
	limited := false
	if s.Limit > 0 && len(missing) > s.Limit-s.CellsRun {
		missing, limited = missing[:max(s.Limit-s.CellsRun, 0)], true
	}
	if len(missing) > 0 {
		runner, err := metatest.NewRunner(s.Backend, cfg, m.Method, ds)
		if err != nil {
			return nil, err
		}
		runner.BatchRuns = s.BatchRuns
		outs, err := runner.TrainSeeds(missing, func(seed uint64) record.Provenance { return record.New(s.Profile, s.Info, seed) })
		if err != nil {
			return nil, err
		}
		for k, o := range outs {
			res := o.Result
			if o.Err != nil { // diverged: TrainSeeds returns every other failure as its error
				res.MarkDiverged()
				res.Provenance = record.New(s.Profile, s.Info, missing[k])
				fmt.Fprintf(s.Log, "%s %s/%s seed %d: %v\n", m.Name, cfg.Dataset, cfg.Optimizee, missing[k], o.Err)
			} else {
				fmt.Fprintf(s.Log, "%s %s/%s seed %d: %d steps, train loss %.4f, test accuracy %.4f\n", m.Name, cfg.Dataset, cfg.Optimizee, missing[k], res.Steps, res.TrainLoss, res.TestAccuracy)
			}
			res.Key = key
			if err := res.Save(metatest.RecordPath(s.RunDir, key, missing[k])); err != nil {
				return nil, err
			}
			s.CellsRun++
			got[missing[k]] = res
		}
	}
	if limited {
		return nil, ErrCellLimit
	}
	var out []metatest.Result
	for _, seed := range seeds {
		out = append(out, got[seed])
	}
	return out, nil
}

// stored returns the record of a cell when it can be reused (records.Read: its key, seed and checksum), and
// says in the log why one that exists cannot.
func (s *Sweep) stored(key metatest.Key, seed uint64) (metatest.Result, bool) {
	cfg := key.Config
	path := metatest.RecordPath(s.RunDir, key, seed)
	res, ok, err := records.Read(path, key, seed)
	var bad *records.Error
	switch {
	case !ok && err == nil:
		if legacy := metatest.LegacyRecordPath(s.RunDir, key.Method, cfg, seed); exists(legacy) && !s.Force {
			fmt.Fprintf(s.Log, "%s %s/%s seed %d: record %s was stored by an older lreg without the method's identity (settings, LO contents): not reused, recomputed\n",
				key.Method, cfg.Dataset, cfg.Optimizee, seed, legacy)
		}
		return res, false
	case s.Force:
		return res, false
	case errors.As(err, &bad) && bad.Kind == records.Unreadable:
		fmt.Fprintf(s.Log, "%s %s/%s seed %d: record %s unreadable (%v): recomputed\n", key.Method, cfg.Dataset, cfg.Optimizee, seed, path, bad.Err)
		return res, false
	case errors.As(err, &bad):
		fmt.Fprintf(s.Log, "%s %s/%s seed %d: record %s %s: recomputed\n", key.Method, cfg.Dataset, cfg.Optimizee, seed, path, bad.Why)
		return res, false
	case err != nil:
		fmt.Fprintf(s.Log, "%s %s/%s seed %d: %v: recomputed\n", key.Method, cfg.Dataset, cfg.Optimizee, seed, err)
		return res, false
	}
	fmt.Fprintf(s.Log, "%s %s/%s seed %d: stored result reused\n", key.Method, cfg.Dataset, cfg.Optimizee, seed)
	return res, true
}

// byProfile returns the config of the named profile (package profile).
func byProfile[T any](name string, smoke, cpu, paper func() T) (T, error) {
	return profile.Pick(name, smoke, cpu, paper)
}
