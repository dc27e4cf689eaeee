package browser

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/plot"
)

// TestCheckFilesReportsEachFileAsItself checks six files in two Chromium runs (Batch 3): a drawn page, the
// same page without its echarts script (blank), a page without charts, a missing file, a page that
// navigates itself to a missing file (a browser error page, whose document the check cannot read), and a
// notebook-like page with a chart that draws and an error div. Each report must match what the
// one-file DOM dump of that file gives, and nothing may leak between files.
func TestCheckFilesReportsEachFileAsItself(t *testing.T) {
	needBrowser(t)
	page, err := bars().Page()
	if err != nil {
		t.Fatal(err)
	}
	lib, err := plot.Setup()
	if err != nil {
		t.Fatal(err)
	}
	blankPage := strings.Replace(string(page), lib, "", 1)
	if len(blankPage) == len(page) {
		t.Fatal("the page does not hold Setup()'s script")
	}
	dir := t.TempDir()
	drawn := write(t, "drawn page.html", string(page)) // a space in the name: the URL must be escaped
	blank := write(t, "blank.html", blankPage)
	none := write(t, "none.html", "<!DOCTYPE html><html><body><p>no chart here</p></body></html>")
	missing := filepath.Join(dir, "missing.html")
	away := write(t, "away.html", `<!DOCTYPE html><html><body><div class="lreg-chart"></div>
<script>location.replace('file:///no/such/dir/gone.html');</script></body></html>`)
	notebook := write(t, "nb#1.html", "<!DOCTYPE html><html><body>"+lib+curves().Snippet()+
		`<div class="lreg-chart lreg-chart-error">cannot build</div></body></html>`)

	files := []string{drawn, blank, none, missing, away, notebook}
	o := fast
	o.Batch = 3
	rs, err := CheckFiles(context.Background(), files, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		t.Logf("%s: %+v err=%v", filepath.Base(r.File), r.Charts, r.Err)
	}
	if len(rs) != len(files) {
		t.Fatalf("%d reports for %d files", len(rs), len(files))
	}
	for i, r := range rs {
		if r.File != files[i] {
			t.Errorf("report %d is for %s, want %s", i, r.File, files[i])
		}
	}
	// The drawn page and the notebook: the same charts and path counts as the one-file DOM dump.
	for _, i := range []int{0, 5} {
		dom, err := DumpDOM(context.Background(), files[i], fast)
		if err != nil {
			t.Fatal(err)
		}
		want := CountCharts(dom, "lreg-chart", 5)
		if rs[i].Err != nil || len(rs[i].Charts) != len(want) {
			t.Errorf("%s: %+v (err %v), want charts %+v", filepath.Base(files[i]), rs[i].Charts, rs[i].Err, want)
			continue
		}
		for j := range want {
			got := rs[i].Charts[j]
			if len(got.Overlaps) > 0 {
				t.Errorf("%s chart %d draws text over text: %q", filepath.Base(files[i]), j, got.Overlaps)
			}
			got.Overlaps = nil // CountCharts cannot measure them
			if got.ID != want[j].ID || got.Title != want[j].Title || got.Paths != want[j].Paths || got.Drawn != want[j].Drawn {
				t.Errorf("%s chart %d: %+v, want %+v (one-file dump)", filepath.Base(files[i]), j, rs[i].Charts[j], want[j])
			}
		}
	}
	if r := rs[0]; len(r.Charts) != 1 || !r.OK() || r.Charts[0].Paths < 10 || r.Charts[0].Title != "Test accuracy" {
		t.Errorf("drawn page: %+v, want 1 chart 'Test accuracy' drawn with >= 10 paths", r)
	}
	if r := rs[1]; r.Err != nil || len(r.Charts) != 1 || r.Charts[0].Paths != 0 || r.Charts[0].Drawn || r.OK() {
		t.Errorf("page without echarts: %+v, want 1 chart with 0 paths, not OK", r)
	}
	if r := rs[2]; r.Err != nil || len(r.Charts) != 0 || r.OK() {
		t.Errorf("page without charts: %+v, want no charts, no error, not OK", r)
	}
	if r := rs[3]; !errors.Is(r.Err, fs.ErrNotExist) || !strings.Contains(r.Err.Error(), missing) || r.OK() {
		t.Errorf("missing file: err %v, want not-exist naming %s", r.Err, missing)
	}
	if r := rs[4]; r.Err == nil || !strings.Contains(r.Err.Error(), away) || !strings.Contains(r.Err.Error(), "cannot be read") || r.OK() {
		t.Errorf("page that left for a missing file: %+v, want an error naming it: its document cannot be read", r)
	}
	if r := rs[5]; len(r.Charts) != 2 || !r.Charts[0].Drawn || r.Charts[1].Drawn || r.Charts[1].Paths != 0 || r.OK() {
		t.Errorf("notebook: %+v, want a drawn chart then an error div with 0 paths", r)
	}
}

func TestCheckMissingFileNamesIt(t *testing.T) {
	needBrowser(t)
	missing := filepath.Join(t.TempDir(), "nope.html")
	if _, err := Check(context.Background(), missing, fast); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Check(missing): %v, want not-exist naming %s", err, missing)
	}
	if _, err := Check(context.Background(), t.TempDir(), fast); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Check(directory): %v, want an error saying it is a directory", err)
	}
}

func TestHarnessResultParsing(t *testing.T) {
	dom := `<html><body><pre id="lreg-result">{"done":true,"files":[{"loaded":true,"error":"","charts":[{"id":"a","title":"x &lt; y &amp; z","paths":7}]}]}</pre></body></html>`
	res, err := parseResult(dom)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Done || len(res.Files) != 1 || len(res.Files[0].Charts) != 1 || res.Files[0].Charts[0].Title != "x < y & z" || res.Files[0].Charts[0].Paths != 7 {
		t.Errorf("parsed %+v", res)
	}
	for _, bad := range []string{`<html></html>`, `<pre id="lreg-result"></pre>`, `<pre id="lreg-result">{`, `<pre id="lreg-result">{"files":[]`} {
		if _, err := parseResult(bad); err == nil {
			t.Errorf("parseResult(%q): no error", bad)
		}
	}
}

// tenPages writes ten copies of a chart page for the benchmarks.
func tenPages(b *testing.B) []string {
	page, err := curves().Page()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var files []string
	for i := range 10 {
		p := filepath.Join(dir, string(rune('a'+i))+".html")
		if err := os.WriteFile(p, page, 0o644); err != nil {
			b.Fatal(err)
		}
		files = append(files, p)
	}
	return files
}

func benchBrowser(b *testing.B) {
	if _, err := Chromium(); err != nil {
		b.Skip(err)
	}
	if _, err := plot.EchartsDir(); err != nil {
		b.Skip(err)
	}
}

// BenchmarkCheckFiles10 checks ten chart pages with one Chromium run.
func BenchmarkCheckFiles10(b *testing.B) {
	benchBrowser(b)
	files := tenPages(b)
	for b.Loop() {
		rs, err := CheckFiles(context.Background(), files, fast)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rs {
			if !r.OK() {
				b.Fatalf("%s: %+v", r.File, r)
			}
		}
	}
}

// BenchmarkCheck10Singly checks the same ten pages with one Chromium run each.
func BenchmarkCheck10Singly(b *testing.B) {
	benchBrowser(b)
	files := tenPages(b)
	for b.Loop() {
		for _, f := range files {
			r, err := Check(context.Background(), f, fast)
			if err != nil || !r.OK() {
				b.Fatalf("%s: %+v %v", f, r, err)
			}
		}
	}
}

// TestCheckFilesRetriesAFailedBatchFileByFile runs a fake Chromium that fails on any run holding bad.html
// and otherwise reports one chart of 7 paths per frame: the failure must land on bad.html alone, and the
// others must be checked: the batch of 3 fails, its files are run singly, then the batch of 1.
func TestCheckFilesRetriesAFailedBatchFileByFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake Chromium is a shell script")
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "fake-chromium")
	runs := filepath.Join(dir, "runs.log")
	script := `#!/bin/sh
for a; do url=$a; done
harness=${url#file://}
echo run >> ` + runs + `
if grep -q 'bad.html' "$harness"; then echo "renderer crashed" >&2; exit 1; fi
n=$(grep -c '<iframe' "$harness")
files=""
i=0
while [ $i -lt $n ]; do
  [ -n "$files" ] && files="$files,"
  files="$files{\"loaded\":true,\"error\":\"\",\"charts\":[{\"id\":\"c\",\"title\":\"t\",\"paths\":7}]}"
  i=$((i+1))
done
echo "<html><body><pre id=\"lreg-result\">{\"done\":true,\"files\":[$files]}</pre></body></html>"
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LREG_CHROMIUM", fake)
	var files []string
	for _, name := range []string{"a.html", "bad.html", "c.html", "d.html"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("<html></html>"), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	rs, err := CheckFiles(context.Background(), files, Options{Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if i == 1 {
			if r.Err == nil || !strings.Contains(r.Err.Error(), "bad.html") || !strings.Contains(r.Err.Error(), "renderer crashed") {
				t.Errorf("bad.html: err %v, want the run's failure naming it", r.Err)
			}
			continue
		}
		if r.Err != nil || len(r.Charts) != 1 || r.Charts[0].Paths != 7 || !r.OK() {
			t.Errorf("%s: %+v, want 1 chart of 7 paths, OK", filepath.Base(r.File), r)
		}
	}
	log, err := os.ReadFile(runs)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(log), "run"); n != 5 {
		t.Errorf("%d Chromium runs, want 5 (batch of 3 fails, 3 single runs, batch of 1)", n)
	}
}
