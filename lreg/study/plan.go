package study

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/optim"
	"github.com/lreg/lreg/lreg/probe"
	"github.com/lreg/lreg/lreg/shard"
)

// Kinds of unit.
const (
	MetaTrain = "meta-train" // meta-train one LO (and keep its snapshots)
	MetaTest  = "meta-test"  // meta-test one LO (or snapshot) on one task in one regime, all its seeds
	Baseline  = "baseline"   // train one hand-made optimizer on one task in one regime, all its seeds
	Probe     = "probe"      // train one LO's runs on one task in one regime and probe the sharpness of their final points
)

// Unit is one independent piece of work: everything its result depends on, so that its ID (a hash of it) is
// the address of its record. A meta-test unit depends on the LO its meta-train unit (Needs) makes.
type Unit struct {
	Kind      string           `json:"kind"`
	LO        string           `json:"lo,omitempty"`        // the LO: "sam.seed3", or a snapshot "sam.seed3.step250"
	LOKind    string           `json:"lo_kind,omitempty"`   // its kind: "sam"
	Meta      *meta.Config     `json:"meta,omitempty"`      // meta-train: the whole meta-training config
	Snapshots []int            `json:"snapshots,omitempty"` // meta-train: meta-steps kept; meta-test: the snapshot's ([step])
	Needs     string           `json:"needs,omitempty"`     // meta-test: the ID of the meta-train unit of its LO
	Method    string           `json:"method,omitempty"`    // meta-test: lo-<LO>; baseline: sgd, sgd-l2, sam
	MethodID  string           `json:"method_id,omitempty"` // baseline: the rule and its settings (metatest.Static)
	Regime    string           `json:"regime,omitempty"`
	Test      *metatest.Config `json:"test,omitempty"` // meta-test, baseline: the protocol
	Seeds     []uint64         `json:"seeds,omitempty"`
	Probe     *probe.Config    `json:"probe,omitempty"`       // probe: radii, PGA steps, step (both measures are taken)
	ProbeValN int              `json:"probe_val_n,omitempty"` // probe: the validation set's size (probe.Validation)
}

// ID is the unit's address: a readable name and the first 12 hex digits of a SHA-256 of the unit.
func (u Unit) ID() string {
	var name string
	switch u.Kind {
	case MetaTrain:
		name = "train-" + u.LO
	case MetaTest:
		name = fmt.Sprintf("test-%s-%s-%s-%s", u.Regime, u.Test.Dataset, u.Test.Optimizee, u.LO)
	case Probe:
		name = fmt.Sprintf("probe-%s-%s-%s-%s", u.Regime, u.Test.Dataset, u.Test.Optimizee, u.LO)
	default:
		name = fmt.Sprintf("base-%s-%s-%s-%s", u.Regime, u.Test.Dataset, u.Test.Optimizee, u.Method)
	}
	return name + "-" + hashOf(u)[:12]
}

// Outputs are the files a unit leaves in a run directory, relative to it.
func (u Unit) Outputs() []string {
	out := []string{filepath.Join("units", u.ID()+".json")}
	if u.Kind == MetaTrain {
		out = append(out, filepath.Join("los", "lo-"+u.LO+".lreg"))
		for _, s := range u.Snapshots {
			out = append(out, filepath.Join("los", "lo-"+SnapshotName(u.LO, s)+".lreg"))
		}
	}
	return out
}

// Plan is a design's units in a fixed order: for each LO kind and meta-seed, its meta-training, then its
// meta-tests (every regime and task; the snapshots' where the regime has them); then the baselines. The units
// of one LO form a chain that one shard runs in order, so no shard waits for another.
type Plan struct {
	Design Design
	Units  []Unit
	IDs    []string
	chain  []int // the chain of each unit
	byID   map[string]int
}

// NewPlan lists the units of a design.
func NewPlan(d Design) (*Plan, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	p := &Plan{Design: d, byID: map[string]int{}}
	chain := 0
	add := func(u Unit) string {
		id := u.ID()
		p.Units, p.IDs, p.chain = append(p.Units, u), append(p.IDs, id), append(p.chain, chain)
		p.byID[id] = len(p.Units) - 1
		return id
	}
	// LOs seed by seed (meta-seed 0 of every kind, then 1, ...) and the baselines after the first round, so
	// that a study run part of the way, one process session after session, has every comparison (and its
	// positive control) early, each with as many LOs on both sides as the time allowed.
	rounds := 1 // one round at least: the baselines come after the first
	for _, k := range d.LOs {
		rounds = max(rounds, k.MetaSeeds)
	}
	for s := range rounds {
		for _, k := range d.LOs {
			if s >= k.MetaSeeds {
				continue
			}
			mc := d.MetaConfig(k, s)
			name := mc.LOName()
			train := add(Unit{Kind: MetaTrain, LO: name, LOKind: k.Name, Meta: &mc, Snapshots: k.Snapshots})
			for _, r := range d.Regimes {
				for _, t := range r.Tasks {
					tc, sd := r.TestConfig(t)
					los := []string{name}
					if r.Snapshots {
						for _, step := range k.Snapshots {
							los = append(los, SnapshotName(name, step))
						}
					}
					for i, lo := range los {
						u := Unit{Kind: MetaTest, LO: lo, LOKind: k.Name, Needs: train, Method: "lo-" + lo, Regime: r.Name, Test: &tc, Seeds: sd}
						if i > 0 {
							u.Snapshots = []int{k.Snapshots[i-1]}
						}
						add(u)
					}
				}
			}
			if pr := d.Probes; pr != nil && slices.Contains(pr.Kinds, k.Name) {
				for _, rn := range pr.Regimes {
					r, _ := d.regime(rn)
					for _, t := range pr.Tasks {
						tc, _ := r.TestConfig(t)
						pc := pr.Probe
						add(Unit{Kind: Probe, LO: name, LOKind: k.Name, Needs: train, Method: "lo-" + name, Regime: rn, Test: &tc,
							Seeds: seeds(pr.Runs), Probe: &pc, ProbeValN: pr.ValN})
					}
				}
			}
			chain++
		}
		if s > 0 {
			continue
		}
		for _, r := range d.Regimes {
			for _, t := range r.Tasks {
				tc, _ := r.TestConfig(t)
				for _, b := range d.Baselines.Names {
					m := d.Baselines.Method(b, t.Optimizee)
					add(Unit{Kind: Baseline, Method: b, MethodID: m.ID, Regime: r.Name, Test: &tc, Seeds: seeds(r.BaselineRuns)})
					chain++
				}
			}
		}
	}
	if len(p.byID) != len(p.Units) {
		return nil, fmt.Errorf("design %s: two units have one ID (a duplicate LO kind or task?)", d.Size)
	}
	return p, nil
}

// Method is baseline name's optimizer on the optimizee, with its identity.
func (b Baselines) Method(name, optimizee string) metatest.Method {
	strength := 0.0
	switch name {
	case "sgd-l2":
		strength = b.WeightDecay[optimizee]
	case "sam":
		strength = b.Rho[optimizee]
	}
	return baseline(name, b.LR[optimizee], strength)
}

// baseline is a hand-made optimizer at a learning rate and its regularizer's strength: sgd-l2's weight decay,
// sam's radius (sgd has none).
func baseline(name string, lr, strength float64) metatest.Method {
	switch name {
	case "sgd-l2":
		return metatest.Static(name, optim.SGDL2{LR: lr, WeightDecay: strength})
	case "sam":
		s := optim.NewSAM(lr)
		s.Rho = strength
		return metatest.Static(name, s)
	}
	return metatest.Static(name, optim.SGD{LR: lr})
}

// Index is the position of the unit with this ID in the plan, or -1.
func (p *Plan) Index(id string) int {
	if i, ok := p.byID[id]; ok {
		return i
	}
	return -1
}

// Shard lists the units, by index in plan order, that shard s runs: whole chains, dealt by estimated cost
// (the longest first, each to the least loaded shard; ties to the lower index), so the shards of a Slurm array
// finish at about the same time. It depends on the plan alone.
func (p *Plan) Shard(s shard.Shard) []int {
	n := max(s.Count, 1)
	nChains := 0
	for _, c := range p.chain {
		nChains = max(nChains, c+1)
	}
	cost := make([]float64, nChains)
	for i, u := range p.Units {
		cost[p.chain[i]] += u.Estimate()
	}
	order := make([]int, nChains)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return cost[order[a]] > cost[order[b]] })
	load := make([]float64, n)
	owner := make([]int, nChains)
	for _, c := range order {
		best := 0
		for k := 1; k < n; k++ {
			if load[k] < load[best] {
				best = k
			}
		}
		owner[c], load[best] = best, load[best]+cost[c]
	}
	var mine []int
	for i := range p.Units {
		if owner[p.chain[i]] == s.Index%n {
			mine = append(mine, i)
		}
	}
	return mine
}

// Seconds per step on 2 CPU cores with XLA's CPU plugin (README, Speed), for estimates before anything was
// measured: a meta-step (T = 20, MNIST MLP) by regularizer, an optimizee step by optimizee and method.
var (
	metaStepSeconds = map[string]float64{"none": 0.216, "sam": 0.211, "gsam": 0.216, "gam": 0.212, "final": 0.216, "l2": 0.221, "hessian": 0.235, "entropy": 0.231}
	metaOnSeconds   = map[string]float64{"sam": 0.404, "gsam": 0.446, "gam": 1.340}
	stepSeconds     = map[string]float64{"mlp-sigmoid": 0.0047, "mlp-relu": 0.0047, "cnn": 0.027} // an LO step, batched runs
	baseSeconds     = map[string]float64{"mlp-sigmoid": 0.0010, "mlp-relu": 0.0010, "cnn": 0.016} // an SGD step
)

// Estimate is the unit's cost in seconds on 2 CPU cores with XLA before any was measured: its step cap (a run
// may converge earlier), a fifth more for a meta-training's evaluations, a few seconds to compile.
func (u Unit) Estimate() float64 {
	switch u.Kind {
	case MetaTrain:
		c := u.Meta
		step := metaStepSeconds[c.Reg.Kind]
		if c.Reg.On == "meta" {
			step = metaOnSeconds[c.Reg.Kind]
		}
		if c.Reg.Smooth {
			step += 0.047
		}
		return 1.2*float64(c.BudgetMetaSteps())*step + 10
	case MetaTest:
		return float64(len(u.Seeds)*u.Test.MaxSteps)*stepSeconds[u.Test.Optimizee] + 3
	case Probe: // the runs, then 2 measures x radii x PGA steps of a forward and backward pass, and their compilation
		return float64(len(u.Seeds)*u.Test.MaxSteps)*stepSeconds[u.Test.Optimizee] +
			float64(2*len(u.Seeds)*len(u.Probe.Radii)*u.Probe.Steps)*0.02 + 15
	}
	f := 1.0
	if u.Method == "sam" {
		f = 1.7
	}
	return float64(len(u.Seeds)*u.Test.MaxSteps)*baseSeconds[u.Test.Optimizee]*f + 2
}

// Describe is one line per unit for `lreg study plan`: index, ID, what it needs and makes, its estimate, and the
// command that runs it alone.
func (p *Plan) Describe(i int, cmd string) string {
	u := p.Units[i]
	var what string
	switch u.Kind {
	case MetaTrain:
		what = fmt.Sprintf("meta-train LO %s (%s, meta-seed %d)", u.LO, u.LOKind, u.Meta.Seed-p.Design.Meta.Seed)
	case MetaTest:
		what = fmt.Sprintf("meta-test LO %s on %s/%s, regime %s, %d runs", u.LO, u.Test.Dataset, u.Test.Optimizee, u.Regime, len(u.Seeds))
	case Probe:
		what = fmt.Sprintf("probe the final points of LO %s's %d runs on %s/%s, regime %s", u.LO, len(u.Seeds), u.Test.Dataset, u.Test.Optimizee, u.Regime)
	default:
		what = fmt.Sprintf("baseline %s on %s/%s, regime %s, %d runs", u.Method, u.Test.Dataset, u.Test.Optimizee, u.Regime, len(u.Seeds))
	}
	in := "data " + datasetOf(u)
	if u.Needs != "" {
		in += ", LO of " + u.Needs
	}
	return fmt.Sprintf("%4d  %s\n      %s; needs: %s; makes: %s; ~%s\n      %s --unit %s", i, p.IDs[i], what, in,
		strings.Join(u.Outputs(), ", "), duration(u.Estimate()), cmd, p.IDs[i])
}

func datasetOf(u Unit) string {
	if u.Kind == MetaTrain {
		return u.Meta.Dataset
	}
	return u.Test.Dataset
}

// duration writes seconds as "42 s", "7.5 min" or "3.2 h".
func duration(s float64) string {
	switch {
	case s < 90:
		return fmt.Sprintf("%.0f s", s)
	case s < 5400:
		return fmt.Sprintf("%.1f min", s/60)
	}
	return fmt.Sprintf("%.1f h", s/3600)
}
