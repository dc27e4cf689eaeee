package plot

import (
	"fmt"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// Bar layout, set on every bar series so that the error bars can be placed on the bars' centers.
const (
	barCategoryGap = 0.2 // fraction of a group's width left empty
	barGap         = 0.3 // gap between bars of a group, as a fraction of a bar's width
)

// Bars draws grouped bars with error bars: mean[s][g] and std[s][g] for series s over groups g (std may be
// nil, or hold nil rows, for bars without error bars). Error bars span mean ± std.
//
// echarts has no error bars: each series' error bars are a line series on a hidden value x axis that
// spans the groups (group g at g, from g-0.5 to g+0.5), drawn as a vertical segment and two caps at the
// center of each bar, with null points between segments.
func Bars(title, yName string, groups, series []string, mean, std [][]float64) *Chart {
	return &Chart{title: title, build: func(c *Chart) (map[string]any, error) {
		if len(mean) != len(series) || (std != nil && len(std) != len(series)) {
			return nil, fmt.Errorf("plot %q: %d series names, %d rows of means, %d rows of stds: give one row per series", c.title, len(series), len(mean), len(std))
		}
		bar := charts.NewBar()
		bar.SetGlobalOptions(common(c, "item")...)
		bar.SetGlobalOptions(charts.WithYAxisOpts(opts.YAxis{Type: axisType(c.logY), Name: yName, AxisLabel: &opts.AxisLabel{}, AxisLine: offZero()}))
		bar.SetXAxis(groups)
		// One series of bars over groups that are methods: each bar takes its method's colour.
		byGroup := len(series) == 1
		for _, g := range groups {
			byGroup = byGroup && Kind(g) != ""
		}
		bar.ExtendXAxis(opts.XAxis{Type: "value", Min: -0.5, Max: float64(len(groups)) - 0.5, Show: opts.Bool(false)})
		for s, name := range series {
			if len(mean[s]) != len(groups) || (std != nil && std[s] != nil && len(std[s]) != len(groups)) {
				return nil, fmt.Errorf("plot %q: series %q has %d means and %d stds for %d groups: give one per group", c.title, name, len(mean[s]), len(std[s]), len(groups))
			}
			data := make([]opts.BarData, len(groups))
			for g := range groups {
				data[g] = opts.BarData{Value: c.yValue(mean[s][g])}
				if byGroup {
					data[g].ItemStyle = &opts.ItemStyle{Color: SeriesColor(groups[g], g)}
				}
			}
			bar.AddSeries(name, data, charts.WithBarChartOpts(opts.BarChart{
				BarGap: percent(barGap), BarCategoryGap: percent(barCategoryGap)}),
				charts.WithItemStyleOpts(opts.ItemStyle{Color: SeriesColor(name, s)}))
		}
		for s, name := range series {
			if std == nil || std[s] == nil {
				continue
			}
			errs := errorBars(c, s, len(series), mean[s], std[s])
			line := charts.NewLine()
			line.AddSeries(name+" ± std", nil, charts.WithSeriesOpts(func(ss *charts.SingleSeries) {
				ss.Data = errs
				ss.XAxisIndex = 1
				ss.ShowSymbol = opts.Bool(false)
				ss.Symbol = "none"
				ss.LineStyle = &opts.LineStyle{Color: "#333", Width: 1.5}
			}))
			bar.Overlap(line)
		}
		o, err := finish(c, &bar.RectChart, series, 0)
		if err != nil {
			return nil, err
		}
		categoryAxis(c, o, groups)
		if lg, ok := o["legend"].(map[string]any); ok && byGroup {
			lg["show"] = false // the bars take their groups' colours: a legend of the one series would mislead
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

func percent(f float64) string { return fmt.Sprintf("%g%%", f*100) }

// BarCenter is where bar s of n sits in its group, as an offset from the group's center in units of the
// group's width: the n bars and their n-1 gaps fill 1-barCategoryGap of the group, as echarts lays them out.
func BarCenter(s, n int) (center, width float64) {
	width = (1 - barCategoryGap) / (float64(n) + float64(n-1)*barGap)
	return -(1-barCategoryGap)/2 + float64(s)*width*(1+barGap) + width/2, width
}

// errorBars is the polyline of series s's error bars: per group a vertical segment from mean-std to mean+std
// and a cap at each end, separated by null points.
func errorBars(c *Chart, s, n int, mean, std []float64) [][]any {
	center, width := BarCenter(s, n)
	half := width / 4
	var pts [][]any
	for g := range mean {
		lo, hi := mean[g]-std[g], mean[g]+std[g]
		x := float64(g) + center
		y := func(v float64) any { return c.yValue(v) }
		pts = append(pts,
			[]any{x, y(lo)}, []any{x, y(hi)}, nil,
			[]any{x - half, y(lo)}, []any{x + half, y(lo)}, nil,
			[]any{x - half, y(hi)}, []any{x + half, y(hi)}, nil)
	}
	return pts
}

// categoryAxis lays out a bar chart's groups: every label shown, wrapped at word breaks to its group's width
// (so that long labels never run into each other or the y axis' labels), and the axis' name (XName) below them.
func categoryAxis(c *Chart, o map[string]any, groups []string) {
	axes, _ := o["xAxis"].([]any)
	if len(axes) == 0 || len(groups) == 0 {
		return
	}
	ax, ok := axes[0].(map[string]any)
	if !ok {
		return
	}
	w, _ := c.dims()
	per := float64(w-140) / float64(len(groups)) // the plot's width (less the y labels and margins) per group
	lines := 1
	for _, g := range groups {
		lines = max(lines, wrappedLines(g, per-8))
	}
	ax["axisLabel"] = map[string]any{"interval": 0, "width": per - 8, "overflow": "break", "margin": 12, "lineHeight": 14}
	if c.xName != "" {
		ax["name"], ax["nameLocation"], ax["nameGap"] = c.xName, "middle", 22+14*lines
	}
}

// wrappedLines is how many lines echarts' "break" overflow makes of a label in width pixels (12 px text,
// words of legendCharWidth per character); a "\n" in the label starts a line.
func wrappedLines(label string, width float64) int {
	if before, after, ok := strings.Cut(label, "\n"); ok {
		return wrappedLines(before, width) + wrappedLines(after, width)
	}
	lines, x := 1, 0.0
	for i, word := range strings.Fields(label) {
		ww := legendCharWidth * float64(len([]rune(word)))
		if i > 0 && x+legendCharWidth+ww > width {
			lines, x = lines+1, 0
		} else if i > 0 {
			x += legendCharWidth
		}
		// A word wider than the label is broken across lines.
		for x+ww > width && width > legendCharWidth {
			lines, ww = lines+1, ww-(width-x)
			x = 0
		}
		x += ww
	}
	return lines
}
