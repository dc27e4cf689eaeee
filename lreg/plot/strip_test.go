package plot

import (
	"math"
	"strings"
	"testing"
)

// scatterOf is the data of the scatter series called name with this symbol, as [x, y] pairs.
func scatterOf(t *testing.T, o map[string]any, name, symbol string) [][2]float64 {
	t.Helper()
	for _, s := range o["series"].([]any) {
		s := s.(map[string]any)
		if s["name"] != name || s["type"] != "scatter" || s["symbol"] != symbol {
			continue
		}
		var out [][2]float64
		for _, p := range s["data"].([]any) {
			v := p.(map[string]any)["value"].([]any)
			out = append(out, [2]float64{v[0].(float64), v[1].(float64)})
		}
		return out
	}
	t.Fatalf("no %s scatter %q", symbol, name)
	return nil
}

// Two series sharing two categories: each gets a lane (BarCenter's), its points spread over the lane's left part
// and its mean at stripMeanAt with the interval's segment and caps there; the legend names both series and the
// reference; the y axis spans the points, means and reference on round ticks, not the intervals.
func TestStripsLanesAndRange(t *testing.T) {
	nan := math.NaN()
	c := Strips("lanes", "where", "score", []string{"a", "b"}, []Strip{
		{Name: "lo-none", Values: [][]float64{{0.80, 0.84}, {0.70}}, Labels: [][]string{{"none", "none.seed1"}, {"none"}},
			Mean: []float64{0.82, 0.70}, Low: []float64{0.5, nan}, High: []float64{1.1, nan}},
		{Name: "lo-sam", Values: [][]float64{{0.90}, nil}, Mean: []float64{0.90, nan}},
	}, []Ref{{Name: "sgd (mean)", Y: 0.85}})
	o := option(t, c)
	pts := scatterOf(t, o, "lo-none", "emptyCircle")
	center, width := BarCenter(0, 2)
	want := []float64{center + width*(stripPointsFrom+(stripPointsTo-stripPointsFrom)*0.25), center + width*(stripPointsFrom+(stripPointsTo-stripPointsFrom)*0.75)}
	if len(pts) != 3 || math.Abs(pts[0][0]-want[0]) > 1e-12 || math.Abs(pts[1][0]-want[1]) > 1e-12 || pts[0][1] != 0.80 || pts[1][1] != 0.84 {
		t.Errorf("lo-none's points %v, want x %v at y 0.80, 0.84", pts, want)
	}
	if c1, w1 := BarCenter(0, 1); math.Abs(pts[2][0]-(1+c1+w1*(stripPointsFrom+stripPointsTo)/2)) > 1e-12 {
		t.Errorf("lo-none's point alone in category b at x %v, want its lane centred there", pts[2][0])
	}
	means := scatterOf(t, o, "lo-none", "diamond")
	if len(means) != 2 || math.Abs(means[0][0]-(center+width*stripMeanAt)) > 1e-12 || means[0][1] != 0.82 || means[1][1] != 0.70 {
		t.Errorf("lo-none's means %v", means)
	}
	samCenter, _ := BarCenter(1, 2)
	if sm := scatterOf(t, o, "lo-sam", "diamond"); len(sm) != 1 || math.Abs(sm[0][0]-(samCenter+width*stripMeanAt)) > 1e-12 {
		t.Errorf("lo-sam's mean %v, want in the second lane of category a", sm)
	}
	var seg [][2]float64
	for _, s := range o["series"].([]any) {
		if s := s.(map[string]any); s["name"] == "lo-none" && s["type"] == "line" {
			seg = points(t, s)
		}
	}
	if len(seg) != 9 || seg[0][1] != 0.5 || seg[1][1] != 1.1 || seg[0][0] != means[0][0] {
		t.Errorf("lo-none's interval %v: want one segment from 0.5 to 1.1 at its mean's x and two caps", seg)
	}
	legend := o["legend"].(map[string]any)["data"].([]any)
	if len(legend) != 3 || legend[0] != "lo-none" || legend[2] != "sgd (mean)" {
		t.Errorf("legend %v", legend)
	}
	y := o["yAxis"].([]any)[0].(map[string]any)
	// The points, means and reference span 0.70 .. 0.90; with a tenth of that either side, on ticks 0.05 apart.
	if y["min"] != 0.65 || y["max"] != 0.95 || y["interval"] != 0.05 {
		t.Errorf("y axis %v .. %v every %v, want 0.65 .. 0.95 every 0.05", y["min"], y["max"], y["interval"])
	}
}

// One series per category: the x axis names them, so the legend holds only the references. On a log axis (the
// values span decades) an interval whose low end is not positive runs to below the plot, which cuts it.
func TestStripsOneLaneEachAndLogY(t *testing.T) {
	nan := math.NaN()
	c := Strips("log", "kind", "F", []string{"lo-none", "lo-sam"}, []Strip{
		{Name: "lo-none", Values: [][]float64{{0.1, 5}, nil}, Mean: []float64{2.55, nan}, Low: []float64{-1, nan}, High: []float64{6, nan}},
		{Name: "lo-sam", Values: [][]float64{nil, {0.2, 0.3}}},
	}, nil)
	o := option(t, c)
	if lg := o["legend"].(map[string]any)["data"]; lg != nil && len(lg.([]any)) != 0 {
		t.Errorf("legend %v, want none: the categories name the series", lg)
	}
	y := o["yAxis"].([]any)[0].(map[string]any)
	if y["type"] != "log" || y["min"] != 0.1 || y["max"] != 10.0 {
		t.Errorf("y axis %v from %v to %v, want log from 0.1 to 10", y["type"], y["min"], y["max"])
	}
	for _, s := range o["series"].([]any) {
		if s := s.(map[string]any); s["type"] == "line" {
			if seg := points(t, s); !(seg[0][1] < 0.1) || seg[1][1] != 6 {
				t.Errorf("the interval on a log axis: %v, want from below 0.1 to 6", seg)
			}
		}
	}
	if p := scatterOf(t, o, "lo-sam", "emptyCircle"); len(p) != 2 || p[0][0] < 0.5 {
		t.Errorf("lo-sam's points %v, want in the second category", p)
	}
}

func TestStripsBadInput(t *testing.T) {
	c := Strips("bad", "x", "y", []string{"a", "b"}, []Strip{{Name: "s", Values: [][]float64{{1}}}}, nil)
	if _, err := c.Option(); err == nil || !strings.Contains(err.Error(), `series "s" has 1 categories`) {
		t.Errorf("one category of values for two: %v", err)
	}
	c = Strips("bad", "x", "y", []string{"a"}, []Strip{{Name: "s", Values: [][]float64{{1, 2}}, Labels: [][]string{{"one"}}}}, nil)
	if _, err := c.Option(); err == nil || !strings.Contains(err.Error(), "1 labels for 2 values") {
		t.Errorf("one label for two values: %v", err)
	}
}

// A caption is the title's subtext, wrapped to the chart's width; the chart grows by its lines and the plot moves
// down below it.
func TestCaptionWrapsAndMakesRoom(t *testing.T) {
	words := strings.Repeat("word ", 60) // 300 characters: 3 lines of at most (800 - 40) / 7.5 = 101
	c := Bars("t", "y", []string{"a"}, []string{"s"}, [][]float64{{1}}, nil).Caption(words + "\nlast")
	o := option(t, c)
	title := o["title"].(map[string]any)
	lines := strings.Split(title["subtext"].(string), "\n")
	if len(lines) != 4 || lines[3] != "last" {
		t.Fatalf("caption lines %q, want 3 of the words and the last", lines)
	}
	for _, l := range lines {
		if len(l) > 101 {
			t.Errorf("caption line of %d characters: %q", len(l), l)
		}
	}
	if _, _, h, _ := c.layout(); h != DefaultHeight+4*captionLineHeight {
		t.Errorf("height %d, want %d", h, DefaultHeight+4*captionLineHeight)
	}
	if top := o["grid"].([]any)[0].(map[string]any)["top"]; top != "136" {
		t.Errorf("the plot's top at %v, want 72 + 4 * 16 = 136", top)
	}
	if _, _, h, _ := Bars("t", "y", []string{"a"}, []string{"s"}, [][]float64{{1}}, nil).layout(); h != DefaultHeight {
		t.Errorf("no caption: height %d", h)
	}
}
