package plot

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// needFigures skips a test that needs the npm package echarts (and node) when they are missing, unless
// LREG_REQUIRE_FIGURES=1 (CI), where a missing install fails.
func needFigures(t *testing.T) {
	t.Helper()
	_, err := EchartsDir()
	if err == nil {
		return
	}
	if os.Getenv("LREG_REQUIRE_FIGURES") == "1" {
		t.Fatalf("LREG_REQUIRE_FIGURES=1 but: %v", err)
	}
	if errors.Is(err, ErrNoEcharts) {
		t.Skipf("skipping: %v", err)
	}
	t.Fatal(err)
}

// option decodes a chart's option JSON as setOption receives it.
func option(t *testing.T, c *Chart) map[string]any {
	t.Helper()
	raw, err := c.OptionJSON()
	if err != nil {
		t.Fatal(err)
	}
	var o map[string]any
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

// series finds a series of the option by name.
func series(t *testing.T, o map[string]any, name string) map[string]any {
	t.Helper()
	for _, s := range o["series"].([]any) {
		if s := s.(map[string]any); s["name"] == name {
			return s
		}
	}
	t.Fatalf("no series %q in the option", name)
	return nil
}

// points is a series' data as pairs; a JSON null (a gap) is NaN.
func points(t *testing.T, s map[string]any) [][2]float64 {
	t.Helper()
	var out [][2]float64
	for _, p := range s["data"].([]any) {
		if p == nil {
			out = append(out, [2]float64{math.NaN(), math.NaN()})
			continue
		}
		var xy [2]float64
		for k, v := range p.([]any) {
			if v == nil {
				xy[k] = math.NaN()
			} else {
				xy[k] = v.(float64)
			}
		}
		out = append(out, xy)
	}
	return out
}

func same(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func TestCurvesBandHoldsLowerEdgeAndWidth(t *testing.T) {
	x := []float64{0, 10, 20}
	mean := []float64{2.5, 1.25, -0.5}
	std := []float64{0.5, 0.75, 1}
	o := option(t, Curves("loss", "step", "loss", []Band{{Name: "LO", X: x, Mean: mean, Std: std}, {Name: "SGD", X: x, Mean: mean}}))

	// The band's columns are [y, x] (see finish): lower edge, then its width stacked on it.
	low := points(t, series(t, o, "LO (band low)"))
	width := points(t, series(t, o, "LO (band)"))
	line := points(t, series(t, o, "LO"))
	wantLow := []float64{2, 0.5, -1.5}
	wantWidth := []float64{1, 1.5, 2}
	for i := range x {
		if low[i] != [2]float64{wantLow[i], x[i]} {
			t.Errorf("band low %d = %v, want [%v %v]", i, low[i], wantLow[i], x[i])
		}
		if width[i] != [2]float64{wantWidth[i], x[i]} {
			t.Errorf("band width %d = %v, want [%v %v]", i, width[i], wantWidth[i], x[i])
		}
		if line[i] != [2]float64{x[i], mean[i]} {
			t.Errorf("mean line %d = %v, want [%v %v]", i, line[i], x[i], mean[i])
		}
	}
	for _, name := range []string{"LO (band low)", "LO (band)"} {
		s := series(t, o, name)
		if s["stack"] != "band:0" || s["stackStrategy"] != "all" {
			t.Errorf("%s: stack %v, strategy %v; want band:0, all (a negative lower edge must be stacked on)", name, s["stack"], s["stackStrategy"])
		}
		if enc := s["encode"].(map[string]any); enc["x"] != 1.0 || enc["y"] != 0.0 {
			t.Errorf("%s: encode %v, want x:1 y:0", name, enc)
		}
	}
	if _, ok := series(t, o, "LO (band)")["areaStyle"]; !ok {
		t.Error("band width has no areaStyle: the band would not be shaded")
	}
	if n := len(o["series"].([]any)); n != 4 {
		t.Errorf("%d series, want 4 (LO's band low, band, line; SGD's line alone)", n)
	}
	if got := o["legend"].(map[string]any)["data"]; len(got.([]any)) != 2 {
		t.Errorf("legend %v, want only LO and SGD", got)
	}
	if o["animation"] != false {
		t.Errorf("animation %v, want false (a headless browser would catch the chart mid-draw)", o["animation"])
	}
}

func TestLogYRaisesBandFloorAndDropsNonPositive(t *testing.T) {
	x := []float64{1, 2, 3}
	mean := []float64{4, 0.5, 0}
	std := []float64{1, 1, 0.1}
	o := option(t, Curves("loss", "step", "loss", []Band{{Name: "LO", X: x, Mean: mean, Std: std}}).LogY())
	if typ := o["yAxis"].([]any)[0].(map[string]any)["type"]; typ != "log" {
		t.Fatalf("y axis type %v, want log", typ)
	}
	// The smallest positive value drawn is 0.5 (mean[1]); the lower edges 3, -0.5, -0.1 become 3, 0.5, 0.5.
	low := points(t, series(t, o, "LO (band low)"))
	width := points(t, series(t, o, "LO (band)"))
	line := points(t, series(t, o, "LO"))
	wantLow := []float64{3, 0.5, 0.5}
	wantWidth := []float64{2, 1, math.NaN()} // the third band (up to 0.1) lies below the floor: a gap
	for i := range x {
		if !same(low[i][0], wantLow[i]) || !same(width[i][0], wantWidth[i]) {
			t.Errorf("point %d: low %v width %v, want %v %v", i, low[i][0], width[i][0], wantLow[i], wantWidth[i])
		}
	}
	if !math.IsNaN(line[2][1]) {
		t.Errorf("a mean of 0 on a log axis is %v, want a gap (null)", line[2][1])
	}
}

func TestNonFiniteValuesAreGaps(t *testing.T) {
	o := option(t, Curves("c", "x", "y", []Band{{Name: "a", X: []float64{0, 1, 2}, Mean: []float64{1, math.NaN(), math.Inf(1)}},
		{Name: "b", X: []float64{0, 1}, Mean: []float64{3, 4}, Std: []float64{1, math.NaN()}}}))
	line := points(t, series(t, o, "a"))
	if line[0][1] != 1 || !math.IsNaN(line[1][1]) || !math.IsNaN(line[2][1]) {
		t.Errorf("line %v, want y = 1, null, null", line)
	}
	low, width := points(t, series(t, o, "b (band low)")), points(t, series(t, o, "b (band)"))
	if low[0][0] != 2 || width[0][0] != 2 || !math.IsNaN(low[1][0]) || !math.IsNaN(width[1][0]) {
		t.Errorf("band low %v width %v, want 2, null and 2, null", low, width)
	}
	if series(t, o, "b (band)")["stack"] != "band:1" {
		t.Error("the second curve's band shares the first one's stack")
	}
}

func TestBarCenterMatchesEchartsLayout(t *testing.T) {
	// 3 bars fill 80% of a group: width w with 3w + 2*0.3w = 0.8, w = 0.8/3.6.
	w := 0.8 / 3.6
	for s, want := range []float64{-0.4 + w/2, -0.4 + 1.3*w + w/2, -0.4 + 2.6*w + w/2} {
		c, width := BarCenter(s, 3)
		if math.Abs(c-want) > 1e-12 || math.Abs(width-w) > 1e-12 {
			t.Errorf("BarCenter(%d, 3) = %v, %v; want %v, %v", s, c, width, want, w)
		}
	}
	if c, width := BarCenter(0, 1); c != 0 || math.Abs(width-0.8) > 1e-12 {
		t.Errorf("BarCenter(0, 1) = %v, %v; want 0, 0.8", c, width)
	}
	if c, _ := BarCenter(1, 3); math.Abs(c) > 1e-12 {
		t.Errorf("the middle of 3 bars is at %v, want 0", c)
	}
}

func TestBarsErrorBarsSpanMeanPlusMinusStd(t *testing.T) {
	groups := []string{"MNIST", "CIFAR-10"}
	mean := [][]float64{{0.9, 0.5}, {0.8, 0.25}}
	std := [][]float64{{0.05, 0.125}, nil}
	o := option(t, Bars("acc", "accuracy", groups, []string{"LO", "Adam"}, mean, std))
	if bars := series(t, o, "LO"); bars["type"] != "bar" || bars["barGap"] != "30%" || bars["barCategoryGap"] != "20%" {
		t.Errorf("LO bars: type %v gap %v category gap %v; want bar, 30%%, 20%% (BarCenter assumes them)", bars["type"], bars["barGap"], bars["barCategoryGap"])
	}
	errs := series(t, o, "LO ± std")
	if errs["xAxisIndex"] != 1.0 {
		t.Errorf("error bars on x axis %v, want the hidden value axis 1", errs["xAxisIndex"])
	}
	hidden := o["xAxis"].([]any)[1].(map[string]any)
	if hidden["type"] != "value" || hidden["min"] != -0.5 || hidden["max"] != 1.5 {
		t.Errorf("hidden axis %v, want value from -0.5 to 1.5", hidden)
	}
	p := points(t, errs)
	if len(p) != 2*9 {
		t.Fatalf("%d points, want 9 per group", len(p))
	}
	center, width := BarCenter(0, 2)
	for g := range groups {
		x := float64(g) + center
		lo, hi := mean[0][g]-std[0][g], mean[0][g]+std[0][g]
		q := p[9*g:]
		want := [][2]float64{{x, lo}, {x, hi}, {math.NaN(), math.NaN()},
			{x - width/4, lo}, {x + width/4, lo}, {math.NaN(), math.NaN()},
			{x - width/4, hi}, {x + width/4, hi}, {math.NaN(), math.NaN()}}
		for k := range want {
			if !same(q[k][0], want[k][0]) || !same(q[k][1], want[k][1]) {
				t.Errorf("group %d point %d = %v, want %v", g, k, q[k], want[k])
			}
		}
	}
	for _, s := range o["series"].([]any) {
		if s.(map[string]any)["name"] == "Adam ± std" {
			t.Error("Adam has no stds but got error bars")
		}
	}
}

func TestBadInputIsAnErrorAndAVisibleBlankSnippet(t *testing.T) {
	c := Curves("bad <chart>", "x", "y", []Band{{Name: "a", X: []float64{0, 1}, Mean: []float64{1}}})
	if _, err := c.Option(); err == nil || !strings.Contains(err.Error(), "2 x, 1 means") {
		t.Fatalf("err = %v, want the lengths named", err)
	}
	if _, err := c.Page(); err == nil {
		t.Error("Page of a bad chart gave no error")
	}
	s := c.Snippet()
	if !strings.Contains(s, `class="lreg-chart lreg-chart-error"`) || !strings.Contains(s, "bad &lt;chart&gt;") || strings.Contains(s, "<script") {
		t.Errorf("snippet of a bad chart: %s", s)
	}
	b := Bars("b", "y", []string{"g1", "g2"}, []string{"s"}, [][]float64{{1, 2}}, [][]float64{{1}})
	if _, err := b.Option(); err == nil {
		t.Error("Bars with 1 std for 2 groups gave no error")
	}
}

func TestSnippetWaitsForEchartsWithUniqueIDs(t *testing.T) {
	c := Curves("t", "x", "y", []Band{{Name: "a", X: []float64{0, 1}, Mean: []float64{1, 2}}})
	s1, s2 := c.Snippet(), c.Snippet()
	id := regexp.MustCompile(`<div class="lreg-chart" id="([^"]+)"`)
	m1, m2 := id.FindStringSubmatch(s1), id.FindStringSubmatch(s2)
	if m1 == nil || m2 == nil || m1[1] == m2[1] {
		t.Fatalf("ids %v %v: want two distinct chart divs", m1, m2)
	}
	for _, want := range []string{"window.echarts", "setInterval", "renderer:'svg'", `"animation":false`} {
		if !strings.Contains(s1, want) {
			t.Errorf("snippet lacks %q", want)
		}
	}
	var shown string
	c.Show(func(html string) { shown = html })
	if !strings.Contains(shown, `class="lreg-chart"`) {
		t.Error("Show did not pass the snippet on")
	}
}

func TestEchartsDirFromEnvAndParents(t *testing.T) {
	root := t.TempDir()
	pkg := filepath.Join(root, "node_modules", "echarts")
	if err := os.MkdirAll(filepath.Join(pkg, "dist"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pkg, minJS), []byte("/* echarts */"), 0o644); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "notebooks", "sub")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(deep)
	t.Setenv("LREG_ECHARTS_DIR", "")
	if got, err := EchartsDir(); err != nil || got != pkg {
		t.Errorf("from %s: %q, %v; want %s", deep, got, err, pkg)
	}
	t.Setenv("LREG_ECHARTS_DIR", root) // not the package folder
	if _, err := EchartsDir(); !errors.Is(err, ErrNoEcharts) || !strings.Contains(err.Error(), "npm ci") {
		t.Errorf("bad LREG_ECHARTS_DIR: %v; want ErrNoEcharts naming the fix", err)
	}
	t.Setenv("LREG_ECHARTS_DIR", "")
	t.Chdir(t.TempDir())
	if _, err := EchartsDir(); !errors.Is(err, ErrNoEcharts) || !strings.Contains(err.Error(), "npm ci") {
		t.Errorf("no node_modules: %v; want ErrNoEcharts naming the fix", err)
	}
}

// allowedURLs are the http(s) strings echarts' bundle holds that are never fetched: XML namespace names and
// the license texts cited in comments.
var allowedURLs = map[string]bool{
	"http://www.w3.org/2000/svg": true, "http://www.w3.org/1999/xlink": true, "http://www.w3.org/2000/xmlns/": true,
	"http://www.w3.org/XML/1998/namespace": true, "http://www.apache.org/licenses/LICENSE-2.0": true,
	"https://github.com/ecomfe/zrender/blob/master/LICENSE.txt": true,
}

func TestPageInlinesEchartsAndLoadsNothing(t *testing.T) {
	needFigures(t)
	dir, _ := EchartsDir()
	lib, err := os.ReadFile(filepath.Join(dir, minJS))
	if err != nil {
		t.Fatal(err)
	}
	page, err := Bars("acc <&>", "accuracy", []string{"a", "b"}, []string{"LO", "SGD"}, [][]float64{{1, 2}, {3, 4}}, nil).Page()
	if err != nil {
		t.Fatal(err)
	}
	p := string(page)
	if !strings.Contains(p, string(lib)) {
		t.Error("the page does not hold echarts.min.js verbatim")
	}
	if len(page) < len(lib) {
		t.Errorf("page %d bytes, smaller than echarts (%d)", len(page), len(lib))
	}
	if !strings.Contains(p, "window.define=undefined") || !strings.Contains(p, "<title>acc &lt;&amp;&gt;</title>") {
		t.Error("the page lacks the AMD guard or its escaped title")
	}
	// Outside the bundle (checked verbatim above; its code sets src and url() on elements it makes), the page
	// references nothing.
	rest := strings.Replace(p, string(lib), "", 1)
	if m := regexp.MustCompile(`(?i)\b(src|href)\s*=|url\(|@import`).FindString(rest); m != "" {
		t.Errorf("the page loads something: %q", m)
	}
	for _, u := range regexp.MustCompile(`https?://[^\s"'<>)]*`).FindAllString(p, -1) {
		if !allowedURLs[u] {
			t.Errorf("remote URL %q in the page", u)
		}
	}
	if n := strings.Count(p, `class="lreg-chart"`); n != 1 {
		t.Errorf("%d chart divs, want 1", n)
	}
}

func TestSetupHidesAMDDefine(t *testing.T) {
	needFigures(t)
	s, err := Setup()
	if err != nil {
		t.Fatal(err)
	}
	open, end := strings.Index(s, "window.define=undefined"), strings.Index(s, "window.define=lregDefine")
	echarts := strings.Index(s, "echarts")
	if open < 0 || end < 0 || !(open < echarts && echarts < end) {
		t.Errorf("define hidden at %d, echarts at %d, define restored at %d: want hidden around the bundle", open, echarts, end)
	}
	if strings.Count(strings.ToLower(s), "</script") != 1 {
		t.Error("Setup must be exactly one script element")
	}
}

func TestWriteSVGHoldsPathsAndNames(t *testing.T) {
	needFigures(t)
	dir := t.TempDir()
	x := []float64{0, 1, 2, 3, 4}
	c := Curves("Meta-loss curves", "meta-step", "meta-loss", []Band{
		{Name: "LO-none", X: x, Mean: []float64{2, 1.5, 1, 0.8, 0.7}, Std: []float64{0.2, 0.2, 0.1, 0.1, 0.1}},
		{Name: "LO-SAM", X: x, Mean: []float64{2, 1.4, 0.9, 0.7, 0.6}},
	}).LogY()
	paths, err := c.Write(dir, "meta-loss")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "meta-loss.html"), filepath.Join(dir, "meta-loss.svg")}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Fatalf("wrote %v, want %v", paths, want)
	}
	svg, err := os.ReadFile(paths[1])
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	if !strings.HasPrefix(s, "<svg") || !strings.Contains(s, `width="800" height="480"`) {
		t.Errorf("not an 800x480 SVG: %.100s", s)
	}
	if n := strings.Count(s, "<path"); n < 10 {
		t.Errorf("%d paths in the SVG, want >= 10 (axes, grid, 2 lines, a band)", n)
	}
	for _, name := range []string{"LO-none", "LO-SAM", "Meta-loss curves", "meta-step"} {
		if !strings.Contains(s, name) {
			t.Errorf("SVG lacks %q", name)
		}
	}
	if strings.Contains(s, "LO-none (band") {
		t.Error("the band's helper series show in the legend")
	}
	if html, err := os.ReadFile(paths[0]); err != nil || !strings.Contains(string(html), `class="lreg-chart"`) {
		t.Errorf("HTML page missing or without a chart: %v", err)
	}
}

// TestSVGErrorBarsSitOnBarCenters reads the SVG echarts drew: each error bar's vertical segment is at the
// center of its bar, which checks BarCenter against echarts' real layout.
func TestSVGErrorBarsSitOnBarCenters(t *testing.T) {
	needFigures(t)
	groups, names := []string{"a", "b", "c"}, []string{"s0", "s1", "s2"}
	mean := [][]float64{{5, 6, 7}, {4, 5, 6}, {3, 4, 5}}
	std := [][]float64{{1, 1, 1}, {0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}}
	svg, err := Bars("layout", "y", groups, names, mean, std).SVG()
	if err != nil {
		t.Fatal(err)
	}
	// Bars: <path d="M{x} {y}l{w} 0..." fill="{color}" ecmeta_series_index="s" ecmeta_data_index="g"> (the
	// legend's items carry ecmeta too, but a transform before their fill).
	barRe := regexp.MustCompile(`<path d="M([\d.]+) [\d.]+l([\d.]+) 0[^"]*" fill="#[0-9a-f]{6}" ecmeta_series_index="(\d)" ecmeta_data_index="(\d)"`)
	centers := map[[2]int]float64{}
	for _, m := range barRe.FindAllStringSubmatch(string(svg), -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		w, _ := strconv.ParseFloat(m[2], 64)
		s, _ := strconv.Atoi(m[3])
		g, _ := strconv.Atoi(m[4])
		centers[[2]int{s, g}] = x + w/2
	}
	if len(centers) != 9 {
		t.Fatalf("found %d bars in the SVG, want 9", len(centers))
	}
	// Error bars: one path per series, stroke #333, "M{x} {lo}L{x} {hi}" then two caps per group.
	errRe := regexp.MustCompile(`<path d="([^"]+)"[^>]*stroke="#333"`)
	segRe := regexp.MustCompile(`M([\d.]+) [\d.]+L([\d.]+) [\d.]+`)
	found := errRe.FindAllStringSubmatch(string(svg), -1)
	if len(found) != 3 {
		t.Fatalf("found %d error-bar paths, want 3", len(found))
	}
	for s, m := range found {
		segs := segRe.FindAllStringSubmatch(m[1], -1)
		if len(segs) != 9 {
			t.Fatalf("series %d: %d segments, want 9", s, len(segs))
		}
		for g := range groups {
			x0, _ := strconv.ParseFloat(segs[3*g][1], 64)
			x1, _ := strconv.ParseFloat(segs[3*g][2], 64)
			want := centers[[2]int{s, g}]
			if math.Abs(x0-want) > 0.6 || x0 != x1 {
				t.Errorf("series %d group %d: error bar at x %v..%v, bar center %v", s, g, x0, x1, want)
			}
		}
	}
}

// BenchmarkSVG measures charts (200 points with a band) rendered to SVG by node: one chart (a process start,
// echarts' load and the render), and a batch of ten in one process.
func BenchmarkSVG(b *testing.B) {
	if _, err := EchartsDir(); err != nil {
		b.Skip(err)
	}
	x := make([]float64, 200)
	mean, std := make([]float64, 200), make([]float64, 200)
	for i := range x {
		x[i], mean[i], std[i] = float64(i), 2*math.Exp(-float64(i)/50), 0.1
	}
	c := Curves("bench", "step", "loss", []Band{{Name: "LO", X: x, Mean: mean, Std: std}})
	b.Run("one", func(b *testing.B) {
		for b.Loop() {
			if _, err := c.SVG(); err != nil {
				b.Fatal(err)
			}
		}
	})
	// ten charts in one node process; ns/op is per batch of 10
	b.Run("batch10", func(b *testing.B) {
		batch := []*Chart{c, c, c, c, c, c, c, c, c, c}
		for b.Loop() {
			if _, err := SVGs(batch...); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPage measures a self-contained page (echarts read from disk and inlined).
func BenchmarkPage(b *testing.B) {
	if _, err := EchartsDir(); err != nil {
		b.Skip(err)
	}
	c := Bars("bench", "y", []string{"a", "b", "c"}, []string{"s", "t"}, [][]float64{{1, 2, 3}, {3, 2, 1}}, nil)
	for b.Loop() {
		if _, err := c.Page(); err != nil {
			b.Fatal(err)
		}
	}
}

func TestWriteAllRendersEachChart(t *testing.T) {
	needFigures(t)
	dir := t.TempDir()
	paths, err := WriteAll(dir, map[string]*Chart{
		"b-bars":   Bars("Accuracy bars", "acc", []string{"g"}, []string{"LO"}, [][]float64{{0.9}}, [][]float64{{0.1}}),
		"a-curves": Curves("Loss curves", "x", "y", []Band{{Name: "SGD", X: []float64{0, 1}, Mean: []float64{1, 0.5}}}),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a-curves.html", "a-curves.svg", "b-bars.html", "b-bars.svg"}
	if len(paths) != len(want) {
		t.Fatalf("wrote %v, want %v", paths, want)
	}
	for i, w := range want {
		if paths[i] != filepath.Join(dir, w) {
			t.Errorf("path %d = %s, want %s", i, paths[i], w)
		}
	}
	for _, c := range []struct{ file, title string }{{"a-curves.svg", "Loss curves"}, {"b-bars.svg", "Accuracy bars"}} {
		svg, _ := os.ReadFile(filepath.Join(dir, c.file))
		if !strings.Contains(string(svg), c.title) || strings.Count(string(svg), "<path") < 5 {
			t.Errorf("%s: not the SVG of %q", c.file, c.title)
		}
	}
}

// The x axis spans the data and echarts labels its ends with the data's values: they are rounded so that a
// grid point computed as 0.01 + 0.98 * 49/49 is labelled 0.99.
func TestXValuesRounded(t *testing.T) {
	i, n := 49, 50
	x := 0.01 + 0.98*float64(i)/float64(n-1)
	if x == 0.99 {
		t.Fatal("0.01 + 0.98 is 0.99 exactly here: the test no longer tests the rounding")
	}
	c := Curves("c", "x", "y", []Band{{Name: "a", X: []float64{0.01, x}, Mean: []float64{1, 2}}})
	js, err := c.OptionJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), "[0.99,2]") || strings.Contains(string(js), "0.9899999") {
		t.Fatalf("option: %s", js)
	}
}
