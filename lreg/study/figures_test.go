package study

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/plot"
)

// drawn is what a strip chart's option draws for a series: its points' y values and its means' (echarts' data,
// as setOption receives it), and the category axis' labels.
type drawn struct {
	points, means map[string][]float64
	categories    []string
}

func drawnOf(t *testing.T, c *plot.Chart) drawn {
	t.Helper()
	raw, err := c.OptionJSON()
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		XAxis  []struct{ Data []string } `json:"xAxis"`
		Series []struct {
			Name, Type, Symbol string
			Data               json.RawMessage // scatter: {value, name}; line: [x, y] or null
		} `json:"series"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatal(err)
	}
	d := drawn{points: map[string][]float64{}, means: map[string][]float64{}, categories: o.XAxis[0].Data}
	for _, s := range o.Series {
		if s.Type != "scatter" {
			continue
		}
		var data []struct{ Value []*float64 }
		if err := json.Unmarshal(s.Data, &data); err != nil {
			t.Fatal(err)
		}
		for _, p := range data {
			switch s.Symbol {
			case "emptyCircle":
				d.points[s.Name] = append(d.points[s.Name], *p.Value[1])
			case "diamond":
				d.means[s.Name] = append(d.means[s.Name], *p.Value[1])
			}
		}
	}
	return d
}

func figure(t *testing.T, figs []Figure, name string) *plot.Chart {
	t.Helper()
	for _, f := range figs {
		if f.Name == name {
			return f.Chart
		}
	}
	t.Fatalf("no figure %s", name)
	return nil
}

func sameValues(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %v, want %v", what, got, want)
		return
	}
	for i := range got {
		near(t, what, got[i], want[i])
	}
}

// The figures of the synthetic report (TestReportSynthetic's records, lo-sam's third LO missing) draw the report's
// numbers: each LO's score as a point, each kind's mean equal to its side of the comparison, the 95% interval by
// Student's t; and their captions say how much of the study they hold.
func TestFiguresSynthetic(t *testing.T) {
	p, _, rep := syntheticReport(t, reportDesign(), "sam.seed2") // lo-sam's third LO missing: an incomplete side
	d := p.Design

	// The primary endpoint, converge: lo-none 0.60, 0.64; lo-sam 0.90, 0.94 (2 of its 3 LOs), the comparison's
	// sides; lo-none-final2 one LO (no interval). The interval of two values: mean -+ t_{0.975, 1} * 0.02.
	groups := rep.PrimaryGroups(d, "converge")
	if names := []string{groups[0].Name, groups[1].Name, groups[2].Name}; !slices.Equal(names, []string{"lo-none", "lo-sam", "lo-none-final2"}) || len(groups) != 3 {
		t.Fatalf("primary groups %v: want lo-none first, then the design's kinds", names)
	}
	c := find(t, rep, FamilyPrimary, "lo-sam", "converge (pooled)")
	none, sam, final2 := groups[0], groups[1], groups[2]
	sameValues(t, "lo-none's LO scores", none.Values, []float64{0.60, 0.64})
	sameValues(t, "lo-sam's LO scores", sam.Values, []float64{0.90, 0.94})
	near(t, "lo-sam's mean (the comparison's A)", sam.Mean, c.A)
	near(t, "lo-none's mean (the comparison's B)", none.Mean, c.B)
	near(t, "lo-sam's interval low", sam.Low, 0.92-12.7062047*0.02)
	near(t, "lo-sam's interval high", sam.High, 0.92+12.7062047*0.02)
	if !slices.Equal(sam.Labels, []string{"sam", "sam.seed1"}) || sam.Want != 3 || len(final2.Values) != 1 || !math.IsNaN(final2.Low) {
		t.Errorf("lo-sam labels %v of %d; lo-none-final2 %v [%v, %v]", sam.Labels, sam.Want, final2.Values, final2.Low, final2.High)
	}
	figs := rep.Figures(d)
	var names []string
	for _, f := range figs {
		names = append(names, f.Name)
	}
	// Tiny probes lo-sam (the loss) only: no gradient-norm figure.
	if want := []string{"primary-converge", "primary-overfit", "dose-response", "sharpness-loss", "positive-control"}; !slices.Equal(names, want) {
		t.Fatalf("figures %v, want %v", names, want)
	}
	prim := figure(t, figs, "primary-converge")
	got := drawnOf(t, prim)
	sameValues(t, "lo-sam's points drawn", got.points["lo-sam"], sam.Values)
	sameValues(t, "lo-sam's mean drawn", got.means["lo-sam"], []float64{c.A})
	sameValues(t, "lo-none's mean drawn", got.means["lo-none"], []float64{c.B})
	if !slices.Equal(got.categories, []string{"lo-none\n2 of 2 LOs", "lo-sam\n2 of 3 LOs", "lo-none-final2\n1 of 1 LOs"}) {
		t.Errorf("the primary figure's categories %q", got.categories)
	}
	for _, s := range []string{"Partial: 53 of 63 units of the tiny study recorded.", "Incomplete (fewer than the design's): lo-sam 2 of 3 LOs.",
		"averaged over the regime's 2 tasks", "Dashed: the baselines' means (sgd, sgd-l2, sam)."} {
		if !strings.Contains(prim.CaptionText(), s) {
			t.Errorf("the primary figure's caption lacks %q: %s", s, prim.CaptionText())
		}
	}

	// Read where the positive control holds (the synthetic's overfit regime); "Not read" where its reading failed.
	if strings.Contains(figure(t, figs, "primary-overfit").CaptionText(), "Not read") {
		t.Error("the overfit figure says 'Not read' though its positive control holds")
	}
	unread := rep
	unread.Controls = []ControlReading{{Family: FamilyPositive, Regime: "overfit", Tested: true}}
	uf := unread.Figures(d)
	if !strings.Contains(figure(t, uf, "primary-overfit").CaptionText(), "Not read: no explicit regularizer beat SGD") ||
		strings.Contains(figure(t, uf, "primary-converge").CaptionText(), "Not read") {
		t.Errorf("'Not read' in the captions: overfit %q; converge %q", figure(t, uf, "primary-overfit").CaptionText(), figure(t, uf, "primary-converge").CaptionText())
	}

	// The dose-response: at meta-steps 1 and 3 and as final LOs, lo-none and lo-sam, each the dose family's sides.
	dose, ok := DoseOf(d)
	if !ok || dose.Regime != "converge" || !slices.Equal(dose.Steps, []int{1, 3, 0}) {
		t.Fatalf("dose-response %+v %v", dose, ok)
	}
	dg := rep.DoseGroups(d, dose)
	sameValues(t, "lo-sam at meta-step 3", dg[1][1].Values, []float64{0.70, 0.74})
	for i, at := range []string{"converge (pooled), meta-step 1", "converge (pooled), meta-step 3", "converge (pooled), final LOs"} {
		c := find(t, rep, FamilyDose, "lo-sam", at)
		near(t, "lo-sam at "+at, dg[i][1].Mean, c.A)
		near(t, "lo-none at "+at, dg[i][0].Mean, c.B)
	}
	doseDrawn := drawnOf(t, figure(t, figs, "dose-response"))
	sameValues(t, "lo-sam's means drawn over meta-training", doseDrawn.means["lo-sam"], []float64{dg[0][1].Mean, dg[1][1].Mean, dg[2][1].Mean})
	if cap := figure(t, figs, "dose-response").CaptionText(); !strings.Contains(cap, "LOs in: lo-none 2, 2, 2 of 2 LOs; lo-sam 2, 2, 2 of 3 LOs (incomplete).") {
		t.Errorf("the dose-response's caption: %s", cap)
	}

	// Sharpness (loss) at both moments: lo-none 0.10, 0.12 and lo-sam 0.05, 0.07, the sharpness family's sides.
	for _, regime := range []string{"converge", "overfit"} {
		sg := rep.SharpGroups(d, regime, "loss")
		c := find(t, rep, FamilySharp, "lo-sam", regime+" (pooled)")
		sameValues(t, "lo-sam's F "+regime, sg[1].Values, []float64{0.05, 0.07})
		near(t, "lo-sam's mean F "+regime, sg[1].Mean, c.A)
		near(t, "lo-none's mean F "+regime, sg[0].Mean, c.B)
	}
	sharp := drawnOf(t, figure(t, figs, "sharpness-loss"))
	sameValues(t, "lo-none's F drawn", sharp.points["lo-none"], []float64{0.10, 0.12, 0.10, 0.12})

	// The positive control: per seed, overfit sam 0.90, 0.94 against sgd 0.60, 0.64 (the family's sides).
	pg := rep.PositiveGroups(d, d.Regimes[1])
	pc := find(t, rep, FamilyPositive, "sam has", "overfit (pooled)")
	sameValues(t, "sam's seeds, overfit", pg[2].Values, []float64{0.90, 0.94})
	near(t, "sam's mean, overfit", pg[2].Mean, pc.A)
	near(t, "sgd's mean, overfit", pg[0].Mean, pc.B)
	pos := drawnOf(t, figure(t, figs, "positive-control"))
	sameValues(t, "sgd's seeds drawn", pos.points["sgd"], []float64{0.80, 0.84, 0.60, 0.64})

	// Written from these partial records, the files say so: the SVG carries the caption and the counts.
	out := filepath.Join(t.TempDir(), "figures", "study")
	paths, err := rep.WriteFigures(d, out)
	if errors.Is(err, plot.ErrNoEcharts) && os.Getenv("LREG_REQUIRE_FIGURES") != "1" {
		t.Skipf("the figures' files need Node and the npm package echarts: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2*len(figs) {
		t.Errorf("wrote %v", paths)
	}
	svg, err := os.ReadFile(filepath.Join(out, "primary-converge.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Partial: 53 of 63 units of the tiny study recorded.", "2 of 3 LOs", "Primary endpoint, converge regime"} {
		if !strings.Contains(string(svg), s) {
			t.Errorf("primary-converge.svg lacks %q", s)
		}
	}
}

// An LO with records on some of its regime's tasks only has no score: it is left out of the figure (as out of the
// comparison), and the caption counts it.
func TestFiguresLeaveOutPartialLOs(t *testing.T) {
	p, dir, _ := syntheticReport(t, reportDesign(), "sam.seed2")
	for i, u := range p.Units {
		if u.Kind == MetaTest && u.LO == "sam.seed1" && u.Regime == "converge" && u.Test.Optimizee == "mlp-relu" {
			if err := os.Remove(RecordPath(dir, p.IDs[i])); err != nil {
				t.Fatal(err)
			}
		}
	}
	rep, err := NewReport(p, dir)
	if err != nil {
		t.Fatal(err)
	}
	sam := rep.PrimaryGroups(p.Design, "converge")[1]
	if !slices.Equal(sam.Values, []float64{0.90}) || sam.Partial != 1 || !math.IsNaN(sam.Low) {
		t.Errorf("lo-sam with one LO on one task only: %+v", sam)
	}
	if c := find(t, rep, FamilyPrimary, "lo-sam", "converge (pooled)"); c.NA != 1 || c.A != sam.Mean {
		t.Errorf("the comparison has %d LOs of lo-sam at %v, the figure %v", c.NA, c.A, sam.Mean)
	}
	caption := figure(t, rep.Figures(p.Design), "primary-converge").CaptionText()
	if !strings.Contains(caption, "lo-sam 1 of 3 LOs.") || !strings.Contains(caption, "Not drawn: 1 LO with records on only some of the tasks.") {
		t.Errorf("caption: %s", caption)
	}
}

// With no records yet every figure is still drawn, empty, and says so.
func TestFiguresEmpty(t *testing.T) {
	p, err := NewPlan(reportDesign())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := NewReport(p, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Figures(p.Design) {
		if _, err := f.Chart.OptionJSON(); err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
		if !strings.HasPrefix(f.Chart.CaptionText(), "Partial: 0 of 63 units of the tiny study recorded.") {
			t.Errorf("%s: caption %q", f.Name, f.Chart.CaptionText())
		}
	}
}
