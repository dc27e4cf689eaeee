package plot

import (
	"fmt"
	"math"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// Strip is one series of a strip chart: per category its replicates as points (one per LO, say), and beside
// them a mark at their mean with a bar over an interval (a 95% confidence interval).
type Strip struct {
	Name   string      // the legend's name; its colour is SeriesColor's
	Values [][]float64 // per category, the replicates (none: the series has no lane there)
	Labels [][]string  // per category, each replicate's name, for its tooltip (optional)
	// Mean, Low and High are per category (optional): a non-finite mean draws no mark, a non-finite end no bar.
	Mean, Low, High []float64
}

// Ref is a horizontal dashed line across a strip chart (a baseline's mean).
type Ref struct {
	Name string
	Y    float64
}

// Where a strip's marks sit in its lane, in units of the lane's width (BarCenter's): the points spread over
// [stripPointsFrom, stripPointsTo], the mean and its bar at stripMeanAt with caps stripCap either side.
const (
	stripPointsFrom = -0.45
	stripPointsTo   = 0.05
	stripMeanAt     = 0.25
	stripCap        = 0.1
)

// Strips draws replicates over categories. In each category every series with data there has a lane of its own,
// side by side as Bars lays out bars: its points spread across the lane's left part, its mean (a diamond) and
// interval (a bar) on the right. The y axis is logarithmic where every value drawn is positive and they span
// more than a decade (LinearY keeps it linear). refs are dashed lines across the whole chart.
//
// As in Bars, the categories are a category x axis and the marks sit on a hidden value axis under it (category
// g from g-0.5 to g+0.5), so that points can be placed within a category.
func Strips(title, xName, yName string, categories []string, series []Strip, refs []Ref) *Chart {
	return &Chart{title: title, xName: xName, build: func(c *Chart) (map[string]any, error) {
		n := len(categories)
		for _, s := range series {
			if len(s.Values) != n || (s.Labels != nil && len(s.Labels) != n) ||
				(s.Mean != nil && len(s.Mean) != n) || (s.Low != nil && len(s.Low) != n) || (s.High != nil && len(s.High) != n) {
				return nil, fmt.Errorf("plot %q: series %q has %d categories of values (%d of labels, %d means, %d lows, %d highs) for %d categories: give one per category (nil for none)",
					c.title, s.Name, len(s.Values), len(s.Labels), len(s.Mean), len(s.Low), len(s.High), n)
			}
			for g := range n {
				if s.Labels != nil && s.Labels[g] != nil && len(s.Labels[g]) != len(s.Values[g]) {
					return nil, fmt.Errorf("plot %q: series %q, category %q: %d labels for %d values", c.title, s.Name, categories[g], len(s.Labels[g]), len(s.Values[g]))
				}
			}
		}
		if !c.linearY && stripsSpanDecades(series, refs) {
			c.logY = true
		}
		sc := charts.NewScatter()
		sc.SetGlobalOptions(common(c, "item")...)
		sc.SetGlobalOptions(charts.WithYAxisOpts(opts.YAxis{Type: axisType(c.logY), Name: yName, Scale: opts.Bool(true), AxisLabel: &opts.AxisLabel{}, AxisLine: offZero()}))
		sc.SetXAxis(categories)
		sc.ExtendXAxis(opts.XAxis{Type: "value", Min: -0.5, Max: float64(n) - 0.5, Show: opts.Bool(false)})
		lanes := stripLanes(series, n)
		ylo, yhi, step, ranged := stripRange(series, refs, c.logY)
		// An interval's end below a log axis (<= 0) is drawn past the plot's bottom, where the plot cuts it.
		end := func(v float64) any {
			if c.logY && v <= 0 && ranged {
				v = ylo / 1000
			}
			return c.yValue(v)
		}
		var legend []string
		for i, s := range series {
			col := SeriesColor(s.Name, i)
			var pts, means []any
			var bars [][]any
			for g := range n {
				lane, ok := lanes[[2]int{i, g}]
				if !ok {
					continue
				}
				center, width := BarCenter(lane[0], lane[1])
				center += float64(g)
				for k, v := range s.Values[g] {
					x := center + width*(stripPointsFrom+(stripPointsTo-stripPointsFrom)*(float64(k)+0.5)/float64(len(s.Values[g])))
					pt := map[string]any{"value": []any{x, c.yValue(v)}}
					if s.Labels != nil && s.Labels[g] != nil {
						pt["name"] = s.Labels[g][k]
					}
					pts = append(pts, pt)
				}
				x := center + width*stripMeanAt
				if m := at(s.Mean, g); finite(m) {
					means = append(means, map[string]any{"value": []any{x, c.yValue(m)}, "name": intervalName(m, at(s.Low, g), at(s.High, g))})
				}
				if lo, hi := at(s.Low, g), at(s.High, g); finite(lo) && finite(hi) {
					cp := width * stripCap
					bars = append(bars, []any{x, end(lo)}, []any{x, end(hi)}, nil,
						[]any{x - cp, end(lo)}, []any{x + cp, end(lo)}, nil,
						[]any{x - cp, end(hi)}, []any{x + cp, end(hi)}, nil)
				}
			}
			sc.AddSeries(s.Name, nil, charts.WithSeriesOpts(func(ss *charts.SingleSeries) {
				ss.Data = pts
				ss.XAxisIndex = 1
				ss.Symbol = "emptyCircle"
				ss.SymbolSize = 8
				ss.ItemStyle = &opts.ItemStyle{Color: col, Opacity: opts.Float(0.85)}
			}))
			sc.AddSeries(s.Name, nil, charts.WithSeriesOpts(func(ss *charts.SingleSeries) {
				ss.Data = means
				ss.XAxisIndex = 1
				ss.Symbol = "diamond"
				ss.SymbolSize = 14
				ss.ItemStyle = &opts.ItemStyle{Color: col, BorderColor: "#222222", BorderWidth: 1}
			}))
			if len(bars) > 0 {
				line := charts.NewLine()
				line.AddSeries(s.Name, nil, charts.WithSeriesOpts(func(ss *charts.SingleSeries) {
					ss.Data = bars
					ss.XAxisIndex = 1
					ss.ShowSymbol = opts.Bool(false)
					ss.Symbol = "none"
					ss.LineStyle = &opts.LineStyle{Color: col, Width: 2}
				}))
				sc.Overlap(line)
			}
			legend = append(legend, s.Name)
		}
		for j, r := range refs {
			col := SeriesColor(r.Name, len(series)+j)
			line := charts.NewLine()
			line.AddSeries(r.Name, nil, charts.WithSeriesOpts(func(ss *charts.SingleSeries) {
				ss.Data = [][]any{{-0.5, c.yValue(r.Y)}, {float64(n) - 0.5, c.yValue(r.Y)}}
				ss.XAxisIndex = 1
				ss.ShowSymbol = opts.Bool(false)
				ss.Symbol = "none"
				ss.Color = col
				ss.LineStyle = &opts.LineStyle{Color: col, Width: 1.5, Type: "dashed"}
			}))
			sc.Overlap(line)
			legend = append(legend, r.Name)
		}
		if !stripsShare(lanes) { // each category is one series': the x axis names them, a legend would repeat it
			legend = legend[len(series):]
		}
		o, err := finish(c, &sc.RectChart, legend, 0)
		if err != nil {
			return nil, err
		}
		categoryAxis(c, o, categories)
		if ys, ok := o["yAxis"].([]any); ok && len(ys) > 0 {
			if y, ok := ys[0].(map[string]any); ok {
				// The name starts at the axis and runs right: centred over it, a long name is cut at the chart's edge.
				y["nameTextStyle"] = map[string]any{"align": "left"}
				if ranged {
					y["min"], y["max"] = ylo, yhi
					if !c.logY {
						y["interval"] = step
					}
				}
			}
		}
		for _, s := range o["series"].([]any) {
			if s := s.(map[string]any); s["type"] == "line" {
				s["tooltip"] = map[string]any{"show": false}
				s["silent"] = true
			}
		}
		return o, nil
	}}
}

// stripLanes gives each (series, category) with data its lane: its index among the series with data in that
// category, and their number.
func stripLanes(series []Strip, n int) map[[2]int][2]int {
	lanes := map[[2]int][2]int{}
	for g := range n {
		var in []int
		for i, s := range series {
			if len(s.Values[g]) > 0 || finite(at(s.Mean, g)) {
				in = append(in, i)
			}
		}
		for j, i := range in {
			lanes[[2]int{i, g}] = [2]int{j, len(in)}
		}
	}
	return lanes
}

// stripsShare reports whether some category holds more than one series.
func stripsShare(lanes map[[2]int][2]int) bool {
	for _, l := range lanes {
		if l[1] > 1 {
			return true
		}
	}
	return false
}

// stripRange is the y axis' range: the points, means and references with a margin, ending on ticks step apart
// (on a log axis, at powers of ten; step 0). The intervals do not widen it: from two LOs a 95% interval is the mean
// -+ 12.7 standard errors and would squeeze the points into a line; a bar that runs past the plot is cut at its
// edge, without its cap. ok is false where there is nothing to draw.
func stripRange(series []Strip, refs []Ref, log bool) (lo, hi, step float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	see := func(v float64) {
		if finite(v) && (!log || v > 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	for _, s := range series {
		for _, vals := range s.Values {
			for _, v := range vals {
				see(v)
			}
		}
		for _, m := range s.Mean {
			see(m)
		}
	}
	for _, r := range refs {
		see(r.Y)
	}
	if math.IsInf(lo, 1) {
		return 0, 0, 0, false
	}
	if log {
		return math.Pow(10, math.Floor(math.Log10(lo))), math.Pow(10, math.Ceil(math.Log10(hi)+1e-9)), 0, true
	}
	pad := 0.1 * (hi - lo)
	if pad == 0 {
		pad = 0.05 * math.Max(math.Abs(hi), 1e-3)
	}
	step = niceStep((hi - lo + 2*pad) / 5)
	return round12(math.Floor((lo-pad)/step) * step), round12(math.Ceil((hi+pad)/step) * step), step, true
}

// niceStep is the smallest of 1, 2 and 5 times a power of ten that is at least v (v > 0).
func niceStep(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v*(1-1e-9) {
			return round12(m * p)
		}
	}
	return 10 * p
}

// stripsSpanDecades reports whether every finite value, mean and reference is positive and the largest is more
// than ten times the smallest.
func stripsSpanDecades(series []Strip, refs []Ref) bool {
	var bands []Band
	for _, s := range series {
		var v []float64
		for _, vals := range s.Values {
			v = append(v, vals...)
		}
		bands = append(bands, Band{Mean: append(v, s.Mean...)})
	}
	for _, r := range refs {
		bands = append(bands, Band{Mean: []float64{r.Y}})
	}
	return spansDecades(bands)
}

func at(v []float64, i int) float64 {
	if i >= len(v) {
		return math.NaN()
	}
	return v[i]
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// intervalName is a mean's tooltip: "mean 0.8405 [0.8351, 0.8459]".
func intervalName(m, lo, hi float64) string {
	if finite(lo) && finite(hi) {
		return fmt.Sprintf("mean %.4g [%.4g, %.4g]", m, lo, hi)
	}
	return fmt.Sprintf("mean %.4g", m)
}
