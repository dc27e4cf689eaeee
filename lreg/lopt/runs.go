package lopt

import "github.com/lreg/lreg/lreg/optim"

// ForRuns returns the LO's rule itself for batched runs (parameters [R, ...]): the LO updates every
// coordinate from its own gradient and LSTM state, so runs stacked along an axis never mix.
func (r netRule) ForRuns() optim.Rule { return r }

var _ optim.RunBatchable = netRule{}
