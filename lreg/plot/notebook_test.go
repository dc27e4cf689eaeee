package plot

import (
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// table1Methods are Table 1's 17 methods: a legend that pages ("1/2") would hide some of their colors.
var table1Methods = []string{"lo-none", "lo-init", "lo-sam", "lo-gsam", "lo-gam", "lo-sam-meta", "lo-gsam-meta",
	"lo-gam-meta", "lo-none-smooth", "lo-sam-smooth", "lo-gsam-meta-smooth", "lo-hessian", "lo-entropy", "sgd", "adam", "sam", "gsam"}

// TestLegendWrapsInsteadOfPaging draws Table 1's bar chart as SVG with echarts: every method's name is in the
// legend, there is no pager, the legend takes the rows LegendRows said (the chart grew by them) and they fit
// below the plot.
func TestLegendWrapsInsteadOfPaging(t *testing.T) {
	needFigures(t)
	var mean, std [][]float64
	for range table1Methods {
		mean = append(mean, []float64{0.8, 0.7})
		std = append(std, []float64{0.01, 0.02})
	}
	c := Bars("Test accuracy on mnist", "test accuracy", []string{"mlp-sigmoid", "mlp-relu"}, table1Methods, mean, std)
	svg, err := c.SVG()
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	rows := LegendRows(table1Methods, DefaultWidth)
	if rows < 2 {
		t.Fatalf("LegendRows = %d for 17 methods in %d px, want >= 2", rows, DefaultWidth)
	}
	wantH := DefaultHeight + (rows-1)*legendRowHeight
	if !strings.Contains(s, `width="800" height="`+strconv.Itoa(wantH)+`"`) {
		t.Errorf("the SVG is not 800x%d (the legend's %d rows): %.120s", wantH, rows, s)
	}
	if regexp.MustCompile(`>\s*\d+\s*/\s*\d+\s*<`).MatchString(s) {
		t.Error("the legend pages (a \"1/2\" pager is drawn)")
	}
	// Legend items: <text ... transform="translate(X Y)" fill="#333">NAME</text>.
	item := regexp.MustCompile(`transform="translate\([\d.]+ ([\d.]+)\)" fill="#333">([^<]+)<`)
	ys := map[string]bool{}
	seen := map[string]bool{}
	for _, m := range item.FindAllStringSubmatch(s, -1) {
		seen[m[2]] = true
		for _, n := range table1Methods {
			if m[2] == n {
				ys[m[1]] = true
				if y, _ := strconv.ParseFloat(m[1], 64); y < float64(wantH-rows*legendRowHeight-10) || y > float64(wantH) {
					t.Errorf("legend item %s at y %v, outside the legend's rows (%d..%d)", n, y, wantH-rows*legendRowHeight, wantH)
				}
			}
		}
	}
	for _, n := range table1Methods {
		if !seen[n] {
			t.Errorf("the legend lacks %s", n)
		}
	}
	if len(ys) > rows || len(ys) < 2 {
		t.Errorf("the legend drew %d rows, LegendRows said %d", len(ys), rows)
	}
	if o := option(t, c); o["legend"].(map[string]any)["type"] != "plain" {
		t.Errorf("legend type %v, want plain", o["legend"].(map[string]any)["type"])
	}
}

func TestLegendRows(t *testing.T) {
	if n := LegendRows([]string{"LO-none", "SGD"}, 800); n != 1 {
		t.Errorf("two short names: %d rows, want 1", n)
	}
	long := make([]string, 40)
	for i := range long {
		long[i] = "a-fairly-long-method-name"
	}
	// Each item is 25 + 5 + 25*7.5 = 217.5 px (+10 between): 3 fit in 770 px, so 40 items take 14 rows.
	if n := LegendRows(long, 800); n != 14 {
		t.Errorf("40 long names: %d rows, want 14", n)
	}
}

// TestNotebookHTMLCarriesTheStaticSVG: a notebook chart's div holds the static SVG as an <img> (shown where
// scripts do not run, such as an untrusted notebook in JupyterLab), and its script empties the div before it
// draws the interactive chart.
func TestNotebookHTMLCarriesTheStaticSVG(t *testing.T) {
	c := Bars("b", "y", []string{"g"}, []string{"s"}, [][]float64{{1}}, nil)
	svg := []byte(`<svg width="800" height="480" xmlns="http://www.w3.org/2000/svg"><path d="M0 0L1 1"/></svg>`)
	h := c.Notebook(svg)
	m := regexp.MustCompile(`<div class="lreg-chart" id="(lreg-[0-9a-f-]+)"[^>]*><img class="lreg-chart-static" [^>]*src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"></div>`).FindStringSubmatch(h)
	if m == nil {
		t.Fatalf("no chart div holding the static image:\n%.400s", h)
	}
	if got, err := base64.StdEncoding.DecodeString(m[2]); err != nil || string(got) != string(svg) {
		t.Errorf("the image is not the SVG given: %q, %v", got, err)
	}
	if !strings.Contains(h, "el.innerHTML='';\n  var chart=window.echarts.init(el") {
		t.Error("the script does not empty the div before drawing")
	}
	if strings.Contains(c.Notebook(nil), "<img") {
		t.Error("an image without an SVG")
	}
	if a, b := c.Notebook(svg), h; a == b {
		t.Error("two outputs of one chart share an id")
	}
}
