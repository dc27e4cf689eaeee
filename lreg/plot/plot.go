// Package plot draws lreg's figures with go-echarts and writes them so that they open offline: a
// self-contained HTML page with echarts inlined (no network), a static SVG rendered by Node with the npm
// package echarts (server-side rendering), and HTML snippets for notebooks (Setup once, then Snippet per
// chart). Tables render as HTML and Markdown.
//
// echarts comes from npm (echarts@5.6.0 in the repository's package.json): `npm ci` in the repository root
// installs it into node_modules/, where EchartsDir finds it from any folder below.
//
// Every chart renders with the SVG renderer and no animation, so a headless browser sees the finished
// drawing (see plot/browser) and the static SVG equals what a page shows.
package plot

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// Band is a curve with an optional band: Std nil draws a plain line, else the mean ± std band is shaded
// behind the mean line. A non-finite value leaves a gap.
type Band struct {
	Name         string
	X, Mean, Std []float64
	// Dash draws the line "dashed" or "dotted" ("": solid), to tell apart series of one kind (and so of one
	// colour: SeriesColor), e.g. one LO at two moments.
	Dash string
}

// Points is a set of scattered points (Figure 2's data).
type Points struct {
	Name string
	X, Y []float64
}

// Default size of a chart in pixels; Chart.Size changes it.
const (
	DefaultWidth  = 800
	DefaultHeight = 480
)

// Chart is an echarts chart. Its option is built when it is drawn, so LogX/LogY/Size may come in any order.
type Chart struct {
	title         string
	width, height int
	legendRows    int // rows the legend takes, set when the option is built; each row past the first adds to the height
	logX, logY    bool
	linearY       bool    // no automatic log y axis (see Curves)
	xName         string  // the category axis' name (Bars)
	markX         float64 // a vertical reference line at this x (MarkX), with its label
	markLabel     string
	caption       string // text under the title (Caption)
	build         func(c *Chart) (map[string]any, error)
}

// LogY makes the y axis logarithmic (meta-loss curves). Values <= 0 cannot be drawn there and leave gaps;
// a band's lower edge <= 0 is raised to the smallest positive value drawn.
func (c *Chart) LogY() *Chart { c.logY = true; return c }

// LogX makes the x axis logarithmic (radii). Points with x <= 0 are left out.
func (c *Chart) LogX() *Chart { c.logX = true; return c }

// LinearY keeps the y axis linear where Curves would make it logarithmic.
func (c *Chart) LinearY() *Chart { c.linearY = true; return c }

// XName names the category axis of a bar chart (what its groups are).
func (c *Chart) XName(name string) *Chart { c.xName = name; return c }

// MarkX draws a vertical dashed reference line at x with a label (the paper's value, where it gives one).
func (c *Chart) MarkX(x float64, label string) *Chart { c.markX, c.markLabel = x, label; return c }

// Size sets the chart's size in pixels (default DefaultWidth x DefaultHeight).
func (c *Chart) Size(width, height int) *Chart { c.width, c.height = width, height; return c }

// Title is the chart's title.
func (c *Chart) Title() string { return c.title }

func (c *Chart) dims() (int, int) {
	w, h := c.width, c.height
	if w <= 0 {
		w = DefaultWidth
	}
	if h <= 0 {
		h = DefaultHeight
	}
	if c.legendRows > 1 {
		h += (c.legendRows - 1) * legendRowHeight
	}
	h += len(c.captionLines()) * captionLineHeight
	return w, h
}

// layout builds the option and then the size, which grows with the legend's rows.
func (c *Chart) layout() (option map[string]any, w, h int, err error) {
	option, err = c.Option()
	w, h = c.dims()
	return option, w, h, err
}

// Option is the chart's echarts option as a JSON-ready map (what setOption receives).
func (c *Chart) Option() (map[string]any, error) {
	return c.build(c)
}

// OptionJSON is the chart's echarts option as JSON.
func (c *Chart) OptionJSON() ([]byte, error) {
	o, err := c.Option()
	if err != nil {
		return nil, err
	}
	return json.Marshal(o)
}

// Curves draws one line per series with its x values, each with a shaded mean ± std band where Std is given.
// The y axis is logarithmic where every mean drawn is positive and they span more than a decade (LinearY keeps
// it linear).
func Curves(title, xName, yName string, series []Band) *Chart {
	return &Chart{title: title, build: func(c *Chart) (map[string]any, error) {
		if !c.linearY && spansDecades(series) {
			c.logY = true
		}
		line := newRect(c, xName, yName, "axis")
		var legend []string
		for i, b := range series {
			if err := addBand(line, c, b, i, len(b.X) <= 30); err != nil {
				return nil, err
			}
			legend = append(legend, b.Name)
		}
		o, err := finish(c, &line.RectChart, legend, bandFloor(c, series))
		if err != nil {
			return nil, err
		}
		c.mark(o)
		return o, nil
	}}
}

// spansDecades reports whether the series' finite means are all positive and their largest is more than ten
// times their smallest.
func spansDecades(series []Band) bool {
	lo, hi, n := math.Inf(1), math.Inf(-1), 0
	for _, b := range series {
		for _, m := range b.Mean {
			if math.IsNaN(m) || math.IsInf(m, 0) {
				continue
			}
			if m <= 0 {
				return false
			}
			lo, hi, n = math.Min(lo, m), math.Max(hi, m), n+1
		}
	}
	return n >= 2 && hi > 10*lo
}

// mark adds the reference line of MarkX to the first drawn series of an option.
func (c *Chart) mark(o map[string]any) {
	if c.markLabel == "" {
		return
	}
	for _, s := range o["series"].([]any) {
		s := s.(map[string]any)
		if _, band := s["stack"]; band {
			continue
		}
		s["markLine"] = map[string]any{
			"silent": true, "symbol": []any{"none", "none"},
			"lineStyle": map[string]any{"color": "#555555", "type": "dashed", "width": 1},
			"label":     map[string]any{"formatter": c.markLabel, "position": "insideEndTop", "color": "#333333"},
			"data":      []any{map[string]any{"xAxis": c.xValue(c.markX)}},
		}
		return
	}
}

// FitScatter draws scattered points with fitted curves over them (Figure 2: the data and the fits of
// SGD/SGD-L2/LO/LO-L2). A fit with Std is drawn with its band.
func FitScatter(title, xName, yName string, points []Points, fits []Band) *Chart {
	return &Chart{title: title, build: func(c *Chart) (map[string]any, error) {
		line := newRect(c, xName, yName, "item")
		var legend []string
		for i, p := range points {
			if len(p.X) != len(p.Y) {
				return nil, fmt.Errorf("plot %q: points %q have %d x and %d y values: give one y per x", c.title, p.Name, len(p.X), len(p.Y))
			}
			data := make([][]any, len(p.X))
			for j := range p.X {
				data[j] = []any{c.xValue(p.X[j]), c.yValue(p.Y[j])}
			}
			sc := charts.NewScatter()
			sc.AddSeries(p.Name, nil, charts.WithSeriesOpts(func(s *charts.SingleSeries) {
				s.Data = data
				s.SymbolSize = 7
				s.ItemStyle = &opts.ItemStyle{Color: SeriesColor(p.Name, i), Opacity: opts.Float(0.7)}
			}))
			line.Overlap(sc)
			legend = append(legend, p.Name)
		}
		for i, f := range fits {
			if err := addBand(line, c, f, len(points)+i, false); err != nil {
				return nil, err
			}
			legend = append(legend, f.Name)
		}
		o, err := finish(c, &line.RectChart, legend, bandFloor(c, fits))
		if err != nil {
			return nil, err
		}
		for _, s := range o["series"].([]any) {
			if s := s.(map[string]any); s["type"] == "scatter" {
				s["z"] = 3 // the data over the fits
			}
		}
		return o, nil
	}}
}

// newRect starts a chart on two value axes with lreg's common options.
func newRect(c *Chart, xName, yName, trigger string) *charts.Line {
	line := charts.NewLine()
	line.SetGlobalOptions(common(c, trigger)...)
	line.SetGlobalOptions(
		// The x labels sit 14 px below the axis, clear of the lowest y label beside the corner.
		charts.WithXAxisOpts(opts.XAxis{Type: axisType(c.logX), Name: xName, NameLocation: "middle", NameGap: 32,
			Min: "dataMin", Max: "dataMax", AxisLine: offZero(), AxisLabel: &opts.AxisLabel{Margin: 14}}),
		charts.WithYAxisOpts(opts.YAxis{Type: axisType(c.logY), Name: yName, Scale: opts.Bool(true),
			AxisLabel: &opts.AxisLabel{}, AxisLine: offZero()}),
	)
	return line
}

// offZero keeps an axis at the plot's edge rather than where the other axis is 0.
func offZero() *opts.AxisLine { return &opts.AxisLine{Show: opts.Bool(true), OnZero: opts.Bool(false)} }

func axisType(log bool) string {
	if log {
		return "log"
	}
	return "value"
}

// common are the options every chart shares: SVG renderer, no animation, title, legend below the plot.
func common(c *Chart, trigger string) []charts.GlobalOpts {
	w, h := c.dims()
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{Renderer: "svg", Width: fmt.Sprintf("%dpx", w), Height: fmt.Sprintf("%dpx", h)}),
		charts.WithAnimation(false),
		charts.WithTitleOpts(opts.Title{Title: c.title, Left: "center"}),
		// A plain legend wraps onto more rows (finish makes room for them); a "scroll" legend would page
		// ("1/2") and hide some series' colors, in the page and in the static SVG alike.
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Bottom: "0", Type: "plain"}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: trigger}),
		charts.WithGridOpts(opts.Grid{Left: "60", Right: "40", Top: "60", Bottom: "70", ContainLabel: opts.Bool(true)}),
	}
}

// addBand adds a curve to line: for a band, first its lower edge (invisible) and then the band's width
// stacked on it as a shaded area with no line, then the mean line on top.
func addBand(line *charts.Line, c *Chart, b Band, index int, symbols bool) error {
	col := SeriesColor(b.Name, index)
	n := len(b.X)
	if len(b.Mean) != n || (b.Std != nil && len(b.Std) != n) {
		return fmt.Errorf("plot %q: curve %q has %d x, %d means and %d stds: give one mean (and std) per x", c.title, b.Name, n, len(b.Mean), len(b.Std))
	}
	mean := make([][]any, n)
	for i := range n {
		mean[i] = []any{c.xValue(b.X[i]), c.yValue(b.Mean[i])}
	}
	if b.Std != nil {
		stack := fmt.Sprintf("band:%d", index)
		lower := make([][]any, n)
		width := make([][]any, n)
		for i := range n {
			lo, hi := b.Mean[i]-b.Std[i], b.Mean[i]+b.Std[i]
			// [y, x]: see finish for why a band's columns are swapped.
			lower[i] = []any{bandLow(lo), c.xValue(b.X[i])}
			width[i] = []any{bandWidth(lo, hi), c.xValue(b.X[i])}
		}
		hidden := func(s *charts.SingleSeries) {
			s.Stack = stack
			s.ShowSymbol = opts.Bool(false)
			s.Symbol = "none"
			s.LineStyle = &opts.LineStyle{Opacity: opts.Float(0)}
		}
		line.AddSeries(b.Name+" (band low)", nil, charts.WithSeriesOpts(func(s *charts.SingleSeries) {
			hidden(s)
			s.Data = lower
		}))
		line.AddSeries(b.Name+" (band)", nil, charts.WithSeriesOpts(func(s *charts.SingleSeries) {
			hidden(s)
			s.Data = width
			s.AreaStyle = &opts.AreaStyle{Color: col, Opacity: opts.Float(0.2)}
		}))
	}
	line.AddSeries(b.Name, nil, charts.WithSeriesOpts(func(s *charts.SingleSeries) {
		s.Data = mean
		s.ShowSymbol = opts.Bool(symbols)
		s.SymbolSize = 4
		s.Color = col
		s.LineStyle = &opts.LineStyle{Color: col, Width: 2, Type: b.Dash}
	}))
	return nil
}

// bandLow and bandWidth are placeholders that finish replaces once the log floor is known: a band's lower
// edge on a log axis must stay positive.
type bandEdge struct {
	lo, hi float64
	width  bool // the band's width (hi - lo) rather than its lower edge
}

func bandLow(lo float64) any       { return bandEdge{lo: lo} }
func bandWidth(lo, hi float64) any { return bandEdge{lo: lo, hi: hi, width: true} }
func (e bandEdge) resolve(floor float64) any {
	lo := e.lo
	if floor > 0 && lo < floor {
		lo = floor
	}
	if !e.width {
		return num(lo)
	}
	if e.hi < lo { // the whole band lies below a log axis
		return nil
	}
	return num(e.hi - lo)
}

// bandFloor is the lowest value a band may reach: on a log y axis the smallest positive value drawn, else 0
// (no floor).
func bandFloor(c *Chart, bands []Band) float64 {
	if !c.logY {
		return 0
	}
	floor := math.Inf(1)
	for _, b := range bands {
		for i, m := range b.Mean {
			if m > 0 && !math.IsInf(m, 0) {
				floor = math.Min(floor, m)
			}
			if b.Std != nil && i < len(b.Std) {
				if lo := m - b.Std[i]; lo > 0 && !math.IsInf(lo, 0) {
					floor = math.Min(floor, lo)
				}
			}
		}
	}
	if math.IsInf(floor, 1) {
		return 1
	}
	return floor
}

// xValue and yValue turn a value into JSON: a number, or null (a gap) where the axis cannot show it. x is
// rounded to 12 significant digits: the x axis spans the data, and echarts labels its ends with the values
// themselves (0.9899999999999999 for a grid point computed as 0.01 + 49 * 0.02).
func (c *Chart) xValue(v float64) any { return axisValue(round12(v), c.logX) }
func (c *Chart) yValue(v float64) any { return axisValue(v, c.logY) }

func axisValue(v float64, log bool) any {
	if log && v <= 0 {
		return nil
	}
	return num(v)
}

func round12(v float64) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// num is v, or nil (JSON null, a gap in echarts) when v is not finite, which JSON cannot hold.
func num(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return v
}

// finish turns the go-echarts chart into the option map and adds what go-echarts has no field for.
// The legend's layout as echarts draws it (legend defaults: 25 px icon, 5 px to the text, 10 px between items,
// 12 px sans-serif text), with the text's width overestimated so that a row never holds more than echarts puts
// on it; a row is legendRowHeight high. gridBottom leaves one legend row and the x axis' name below the plot.
const (
	legendRowHeight = 24
	legendCharWidth = 7.5
	gridBottom      = 70
)

// LegendRows is how many rows a plain legend of these names takes in a chart width pixels wide.
func LegendRows(names []string, width int) int {
	avail := float64(width) - 2*5 - 20 // the legend's padding, and a margin
	rows, x := 1, 0.0
	for i, n := range names {
		item := 25 + 5 + legendCharWidth*float64(len([]rune(n)))
		if i > 0 && x+10+item > avail {
			rows, x = rows+1, item
			continue
		}
		if i > 0 {
			x += 10
		}
		x += item
	}
	return rows
}

func finish(c *Chart, rc *charts.RectChart, legend []string, floor float64) (map[string]any, error) {
	rc.Validate()
	// Resolve band edges before encoding (they are Go values inside the series data).
	for i := range rc.MultiSeries {
		if data, ok := rc.MultiSeries[i].Data.([][]any); ok {
			for _, p := range data {
				for k, v := range p {
					if e, ok := v.(bandEdge); ok {
						p[k] = e.resolve(floor)
					}
				}
			}
		}
	}
	raw, err := json.Marshal(rc.JSON())
	if err != nil {
		return nil, fmt.Errorf("plot %q: encoding the option: %w", c.title, err)
	}
	var o map[string]any
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, err
	}
	if lg, ok := o["legend"].(map[string]any); ok {
		lg["data"] = legend // only the named series, not the band helpers
		w, _ := c.dims()
		c.legendRows = LegendRows(legend, w)
		if grid, ok := o["grid"].(map[string]any); ok {
			grid["bottom"] = strconv.Itoa(gridBottom + (c.legendRows-1)*legendRowHeight)
		} else if grids, ok := o["grid"].([]any); ok {
			for _, g := range grids {
				if grid, ok := g.(map[string]any); ok {
					grid["bottom"] = strconv.Itoa(gridBottom + (c.legendRows-1)*legendRowHeight)
				}
			}
		}
	}
	for _, s := range o["series"].([]any) {
		s := s.(map[string]any)
		if _, ok := s["stack"]; ok {
			// echarts stacks the first value dimension of the data, which on two value axes is x: the band's
			// points are [y, x] and encode maps them back. Its default 'samesign' strategy would stack a
			// positive band width on 0 instead of a negative lower edge.
			s["encode"] = map[string]any{"x": 1, "y": 0}
			s["stackStrategy"] = "all"
			s["tooltip"] = map[string]any{"show": false}
			s["silent"] = true
		}
	}
	c.captionInto(o)
	return o, nil
}
