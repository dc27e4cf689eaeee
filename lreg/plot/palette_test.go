package plot

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// TestSeriesColorFixedPerKind: a method has one colour in every figure, whatever its series is called there
// ("lo-sam", "lo-sam at convergence", "lo-sam mnist/mlp-relu", a meta-seed "lo-sam.seed2") and wherever it
// stands in the chart; different kinds have different colours; the placement variants keep their kind's hue.
func TestSeriesColorFixedPerKind(t *testing.T) {
	for _, name := range []string{"lo-sam at convergence", "lo-sam mnist/mlp-relu", "lo-sam.seed2", " lo-sam"} {
		if got, want := SeriesColor(name, 7), SeriesColor("lo-sam", 0); got != want {
			t.Errorf("SeriesColor(%q) = %s, want lo-sam's %s", name, got, want)
		}
	}
	seen := map[string]string{}
	for kind := range kindColors {
		c := SeriesColor(kind, 0)
		if other, ok := seen[c]; ok {
			t.Errorf("%s and %s share the colour %s", kind, other, c)
		}
		seen[c] = kind
	}
	if a, b := SeriesColor("lo-sam-meta", 0), SeriesColor("lo-sam", 0); a == b || a != shade(b, 0.6) {
		t.Errorf("lo-sam-meta's colour %s: want lo-sam's %s darkened", a, b)
	}
	if c := SeriesColor("best of the generation", 2); c != otherColors[2] || Kind("best of the generation") != "" {
		t.Errorf("a series that is no method: colour %s, kind %q", c, Kind("best of the generation"))
	}
	if Kind("sam") != "sam" || Kind("lo-none.seed1") != "lo-none" || Kind("lo-gsam-meta-smooth") != "lo-gsam-meta-smooth" {
		t.Errorf("Kind: %q %q %q", Kind("sam"), Kind("lo-none.seed1"), Kind("lo-gsam-meta-smooth"))
	}
}

func axisOf(t *testing.T, c *Chart, axis string) map[string]any {
	t.Helper()
	o, err := c.Option()
	if err != nil {
		t.Fatal(err)
	}
	switch a := o[axis].(type) {
	case map[string]any:
		return a
	case []any:
		return a[0].(map[string]any)
	}
	t.Fatalf("no %s in the option", axis)
	return nil
}

// TestCurvesLogWhereValuesSpanDecades: Curves takes a log y axis where every mean is positive and they span
// more than a decade (the probes' F against ε), and keeps it linear otherwise or when asked (LinearY).
func TestCurvesLogWhereValuesSpanDecades(t *testing.T) {
	decades := []Band{{Name: "lo-none", X: []float64{0.001, 0.01, 0.1}, Mean: []float64{2e-6, 3e-4, 0.05}}}
	narrow := []Band{{Name: "lo-none", X: []float64{1, 2, 3}, Mean: []float64{0.5, 0.7, 0.9}}}
	negative := []Band{{Name: "lo-none", X: []float64{1, 2, 3}, Mean: []float64{-0.01, 0.001, 0.9}}}
	for _, tc := range []struct {
		name string
		c    *Chart
		want string
	}{
		{"spanning 4 decades", Curves("t", "x", "y", decades), "log"},
		{"within a decade", Curves("t", "x", "y", narrow), "value"},
		{"with a negative value", Curves("t", "x", "y", negative), "value"},
		{"LinearY", Curves("t", "x", "y", decades).LinearY(), "value"},
	} {
		if got := axisOf(t, tc.c, "yAxis")["type"]; got != tc.want {
			t.Errorf("%s: y axis %v, want %s", tc.name, got, tc.want)
		}
	}
}

// TestMarkXAndCategoryAxis: MarkX draws the paper's value as a labelled vertical line; a bar chart's category
// labels all show, wrapped to their group's width, with the axis' name below them.
func TestMarkXAndCategoryAxis(t *testing.T) {
	c := Curves("t", "radius", "F", []Band{{Name: "lo-sam", X: []float64{0.001, 0.1}, Mean: []float64{1, 2}}}).LogX().MarkX(0.01, "paper: ε = 0.01")
	o, err := c.Option()
	if err != nil {
		t.Fatal(err)
	}
	ml, ok := o["series"].([]any)[0].(map[string]any)["markLine"].(map[string]any)
	if !ok || ml["data"].([]any)[0].(map[string]any)["xAxis"] != 0.01 || ml["label"].(map[string]any)["formatter"] != "paper: ε = 0.01" {
		t.Errorf("markLine %v", ml)
	}
	groups := []string{"mnist/mlp-sigmoid convergence", "mnist/mlp-sigmoid fixed", "fashion-mnist/mlp-relu convergence", "x"}
	b := Bars("t", "F", groups, []string{"lo-none"}, [][]float64{{1, 2, 3, 4}}, nil).XName("task and moment")
	ax := axisOf(t, b, "xAxis")
	label := ax["axisLabel"].(map[string]any)
	if fmt.Sprint(label["interval"]) != "0" || label["overflow"] != "break" || ax["name"] != "task and moment" {
		t.Errorf("category axis %v", ax)
	}
	if w, _ := strconv.ParseFloat(fmt.Sprint(label["width"]), 64); w <= 0 || w > 200 {
		t.Errorf("label width %v", w)
	}
	if g, _ := strconv.ParseFloat(fmt.Sprint(ax["nameGap"]), 64); g < 22+14*2 {
		t.Errorf("nameGap %v leaves no room for labels wrapped on 2 lines", g)
	}
	if n := wrappedLines("fashion-mnist/mlp-relu convergence", 100); n != 3 || wrappedLines("x", 100) != 1 {
		t.Errorf("wrappedLines = %d", n)
	}
	if !strings.Contains(SeriesColor("lo-none", 0), "#") {
		t.Fail()
	}
}
