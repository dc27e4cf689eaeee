package main

import (
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/metatest"
)

// A diverged run never shows as a training loss of 0 in meta-test's summary: it is counted in its own column,
// the training loss and steps are over the other runs ("diverged" when none is left), and its test accuracy
// counts 0. (The summary printed "train loss 0.0000 ± 0.0000" for an LO whose every run diverged.)
func TestSummaryShowsDivergence(t *testing.T) {
	ok := metatest.Result{Method: "sgd", Steps: 30, TrainLoss: 0.5, TestAccuracy: 0.8, Converged: true}
	bad := metatest.Result{Method: "lo-nan", Steps: 3}
	bad.MarkDiverged()
	half := []metatest.Result{ok, bad}
	half[0].Method, half[1].Method = "lo-half", "lo-half"
	table := renderTable(metatest.Config{Optimizee: "mlp-sigmoid", Batch: 128, Patience: 10, MaxSteps: 30},
		&data.Dataset{Name: "mnist", Source: "test"}, [][]metatest.Result{{ok, ok}, {bad, bad}, half})
	rows := map[string]string{}
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Split(line, " | "); len(f) > 1 {
			rows[strings.TrimPrefix(f[0], "| ")] = line
		}
	}
	want := map[string]string{
		"sgd":     "| sgd | 2 | 0 | 2 | 30 ± 0 | 0.5000 ± 0.0000 | 0.8000 ± 0.0000 |",
		"lo-nan":  "| lo-nan | 2 | 2 | 0 | diverged | diverged | 0.0000 ± 0.0000 |",
		"lo-half": "| lo-half | 2 | 1 | 1 | 30 ± 0 | 0.5000 ± 0.0000 | 0.4000 ± 0.5657 |",
	}
	for m, w := range want {
		if !strings.HasPrefix(rows[m], w) {
			t.Errorf("row of %s:\n%s\nwant it to start\n%s", m, rows[m], w)
		}
	}
}
