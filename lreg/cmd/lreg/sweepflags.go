package main

import (
	"flag"
	"fmt"

	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/metatest"
)

// sweepFlags are the meta-training and meta-test settings that Table 1 and the probes share: how a missing
// LO is meta-trained and how an optimizee is trained at meta-test.
type sweepFlags struct {
	hidden, unroll, metaBatch, maxMeta               int
	curriculum                                       string
	batch, maxSteps, patience, window, evalTrain, tn int
}

func (f *sweepFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.hidden, "hidden", 0, "meta-training: LSTM hidden size of a missing LO (20)")
	fs.IntVar(&f.unroll, "unroll", 0, "meta-training: optimizee steps per truncated unroll (20)")
	fs.IntVar(&f.metaBatch, "meta-batch", 0, "meta-training: optimizee minibatch (128)")
	fs.StringVar(&f.curriculum, "curriculum", "", "meta-training: run length per curriculum stage, e.g. 100,200,500 (profile: paper 100..3000, smoke 20)")
	fs.IntVar(&f.maxMeta, "max-meta-steps", 0, "meta-training: stop each LO after this many meta-steps (0: the curriculum decides)")
	fs.IntVar(&f.batch, "batch", 0, "meta-test: minibatch (128)")
	fs.IntVar(&f.maxSteps, "max-steps", 0, "meta-test: step cap (profile: paper 10000, smoke 10)")
	fs.IntVar(&f.patience, "patience", 0, "meta-test: steps without a new best smoothed training loss that end a run (100)")
	fs.IntVar(&f.window, "window", 0, "meta-test: the smoothed training loss is the mean batch loss of the last N steps (100)")
	fs.IntVar(&f.evalTrain, "eval-train", 0, "meta-test: examples of meta-test-train the final training loss is measured on (profile: paper 10000, smoke 200)")
	fs.IntVar(&f.tn, "test-n", -1, "meta-test: measure on the first N test examples (profile: paper all, smoke 1000; 0: all)")
}

// apply overrides the profile's settings with the flags given on the command line.
func (f *sweepFlags) apply(set map[string]bool, m *meta.Config, t *metatest.Config) error {
	override(set, "hidden", &m.LO.Hidden, f.hidden)
	override(set, "unroll", &m.Unroll, f.unroll)
	override(set, "meta-batch", &m.Batch, f.metaBatch)
	override(set, "max-meta-steps", &m.MaxMetaSteps, f.maxMeta)
	if set["curriculum"] {
		c, err := parseInts(f.curriculum)
		if err != nil {
			return fmt.Errorf("--curriculum: %w", err)
		}
		m.Curriculum = c
	}
	override(set, "batch", &t.Batch, f.batch)
	override(set, "max-steps", &t.MaxSteps, f.maxSteps)
	override(set, "patience", &t.Patience, f.patience)
	override(set, "window", &t.Window, f.window)
	override(set, "eval-train", &t.EvalTrain, f.evalTrain)
	override(set, "test-n", &t.TestN, f.tn)
	return nil // the experiment's Validate checks them, with the rest of its settings
}
