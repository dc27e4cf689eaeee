package lopt

import (
	"fmt"
	"sync/atomic"

	"github.com/lreg/lreg/lreg/record"
)

// The LO's graph form for this process: "columns" (columns.go; on XLA) or "reference" (one LSTM per parameter
// tensor, the form lreg ran before). Both compute the same function up to float32 rounding, but a long
// meta-training amplifies rounding (it is chaotic), so results computed in one form are reproduced exactly
// only in that form: a profile whose results are committed names the form they were made in
// (profile.LOGraph), and every result records it (record.Provenance.LOGraph).
const (
	Columns   = "columns"
	Reference = "reference"
)

var reference atomic.Bool

func init() { record.SetLOGraph(Columns) }

// SetForm sets the form of the LOs this process builds from now on (Bind, Method).
func SetForm(form string) error {
	switch form {
	case Columns, Reference:
	default:
		return fmt.Errorf("unknown LO graph form %q: use %s or %s", form, Columns, Reference)
	}
	reference.Store(form == Reference)
	record.SetLOGraph(form)
	return nil
}

// Form is the form set by SetForm ("columns" unless set).
func Form() string {
	if reference.Load() {
		return Reference
	}
	return Columns
}
