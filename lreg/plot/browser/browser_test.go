package browser

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lreg/lreg/lreg/plot"
)

// needBrowser skips a test when Chromium or the npm package echarts is missing, unless
// LREG_REQUIRE_FIGURES=1 (CI), where it fails.
func needBrowser(t *testing.T) {
	t.Helper()
	_, errC := Chromium()
	_, errE := plot.EchartsDir()
	err := errors.Join(errC, errE)
	if err == nil {
		return
	}
	if os.Getenv("LREG_REQUIRE_FIGURES") == "1" {
		t.Fatalf("LREG_REQUIRE_FIGURES=1 but: %v", err)
	}
	t.Skipf("skipping: %v", err)
}

// fast gives the page's scripts 2 s of virtual time: the charts draw at once, or within 50 ms of Setup.
var fast = Options{Budget: 2 * time.Second}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func bars() *plot.Chart {
	return plot.Bars("Test accuracy", "accuracy", []string{"MNIST", "CIFAR-10"}, []string{"LO", "SGD"},
		[][]float64{{0.97, 0.5}, {0.95, 0.45}}, [][]float64{{0.01, 0.05}, {0.02, 0.03}})
}

func curves() *plot.Chart {
	x := []float64{0, 1, 2, 3}
	return plot.Curves("Meta-loss", "meta-step", "loss", []plot.Band{
		{Name: "LO", X: x, Mean: []float64{2, 1, 0.5, 0.4}, Std: []float64{0.1, 0.1, 0.1, 0.1}}}).LogY()
}

// TestPageDrawsAndPageWithoutEchartsIsBlank opens a chart's page, then the same page with the echarts
// script cut out: the first draws (many paths), the second holds the chart element with no path.
func TestPageDrawsAndPageWithoutEchartsIsBlank(t *testing.T) {
	needBrowser(t)
	page, err := bars().Page()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Check(context.Background(), write(t, "page.html", string(page)), fast)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Charts) != 1 || !r.OK() || r.Charts[0].Paths < 10 {
		t.Errorf("page: %+v, want 1 chart drawn with >= 10 paths (grid, axes, 4 bars, error bars)", r.Charts)
	}
	lib, err := plot.Setup()
	if err != nil {
		t.Fatal(err)
	}
	blank := strings.Replace(string(page), lib, "", 1)
	if len(blank) == len(page) {
		t.Fatal("the page does not hold Setup()'s script")
	}
	r, err = Check(context.Background(), write(t, "blank.html", blank), fast)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Charts) != 1 || r.Drawn() != 0 || r.Charts[0].Paths != 0 || r.OK() {
		t.Errorf("page without echarts: %+v, want 1 chart with 0 paths, not OK", r.Charts)
	}
}

// TestNotebookExport mimics nbconvert's HTML of a notebook: require.js's define is present, Setup comes
// once, a chart's snippet runs before Setup (it must wait) and two after it; define is restored after Setup.
func TestNotebookExport(t *testing.T) {
	needBrowser(t)
	setup, err := plot.Setup()
	if err != nil {
		t.Fatal(err)
	}
	amd := `<script>window.amdCalls=0;window.define=function(){window.amdCalls++;};window.define.amd={};</script>`
	after := `<script>document.addEventListener('DOMContentLoaded',function(){document.body.setAttribute('data-define',
typeof window.define+' '+window.amdCalls);});</script>`
	doc := "<!DOCTYPE html><html><head>" + amd + "</head><body>\n" +
		`<div class="output">` + bars().Snippet() + "</div>\n" +
		`<div class="output">` + setup + "</div>\n" +
		`<div class="output">` + curves().Snippet() + "</div>\n" +
		`<div class="output">` + bars().Snippet() + "</div>\n" + after + "</body></html>"
	dom, err := DumpDOM(context.Background(), write(t, "notebook.html", doc), fast)
	if err != nil {
		t.Fatal(err)
	}
	if c := CountCharts(dom, "lreg-chart", 5); len(c) != 3 || !c[0].Drawn || !c[1].Drawn || !c[2].Drawn {
		t.Errorf("notebook: %+v, want 3 charts drawn", c)
	}
	if !strings.Contains(dom, `data-define="function 0"`) {
		i := strings.Index(dom, "data-define")
		t.Errorf("require.js's define after Setup: %q, want restored and never called by echarts", dom[max(i, 0):min(i+40, len(dom))])
	}
}

func TestCheckErrors(t *testing.T) {
	t.Setenv("LREG_CHROMIUM", filepath.Join(t.TempDir(), "no-chromium"))
	if _, err := Check(context.Background(), "x.html", fast); !errors.Is(err, ErrNoChromium) || !strings.Contains(err.Error(), "apt-get install -y chromium") {
		t.Errorf("missing Chromium: %v, want ErrNoChromium naming the fix", err)
	}
}

// TestNbconvertExport exports a notebook whose outputs are Setup and two Snippets with nbconvert (which
// loads require.js where Debian's libjs-requirejs is installed) and checks that both charts draw. Skipped
// where nbconvert or require.js is missing.
func TestNbconvertExport(t *testing.T) {
	needBrowser(t)
	nbconvert, err := exec.LookPath("jupyter-nbconvert")
	if err != nil {
		t.Skip("skipping: jupyter-nbconvert not installed (apt-get install -y jupyter-nbconvert)")
	}
	if _, err := os.Stat("/usr/share/javascript/requirejs/require.min.js"); err != nil {
		t.Skip("skipping: require.js not installed (apt-get install -y libjs-requirejs)")
	}
	setup, err := plot.Setup()
	if err != nil {
		t.Fatal(err)
	}
	cell := func(html string) map[string]any {
		return map[string]any{"cell_type": "code", "execution_count": 1, "metadata": map[string]any{}, "source": "",
			"outputs": []any{map[string]any{"output_type": "display_data", "metadata": map[string]any{},
				"data": map[string]any{"text/html": html}}}}
	}
	nb, err := json.Marshal(map[string]any{"nbformat": 4, "nbformat_minor": 5, "metadata": map[string]any{},
		"cells": []any{cell(setup), cell(curves().Snippet()), cell(bars().Snippet())}})
	if err != nil {
		t.Fatal(err)
	}
	ipynb := write(t, "figs.ipynb", string(nb))
	dir := filepath.Dir(ipynb)
	if out, err := exec.Command(nbconvert, "--to", "html", "--output-dir", dir, ipynb).CombinedOutput(); err != nil {
		t.Fatalf("nbconvert: %v: %s", err, out)
	}
	html, err := os.ReadFile(filepath.Join(dir, "figs.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "require.min.js") {
		t.Fatal("nbconvert's HTML does not load require.js: the test would not test the AMD guard")
	}
	r, err := Check(context.Background(), filepath.Join(dir, "figs.html"), fast)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Charts) != 2 || r.Drawn() != 2 {
		t.Errorf("nbconvert export: %+v, want 2 charts drawn", r.Charts)
	}
}
