package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CheckFiles checks many files with one Chromium run per o.Batch files (a launch costs seconds; a file
// in a warm browser, a fraction of one). Each file is opened as itself, in its own iframe of a generated
// page: its own document and scripts, nothing merged. Chromium reads the frames' documents because it
// runs with --allow-file-access-from-files, besides the offline flags of every run.
//
// The reports come in the order of files. A file's own problems (missing, a document that cannot be read,
// not loaded within o.Budget) are in its Report.Err; the error is for what stops the whole check (no
// Chromium, ctx done). A batch whose Chromium run fails is checked again one file per run, so that the
// failure is laid on the file that caused it.
func CheckFiles(ctx context.Context, files []string, o Options) ([]Report, error) {
	o = o.withDefaults()
	bin, err := Chromium()
	if err != nil {
		return nil, err
	}
	reports := make([]Report, len(files))
	var pending []int // indices of files that exist
	for i, f := range files {
		reports[i].File = f
		if err := checkable(f); err != nil {
			reports[i].Err = err
			continue
		}
		pending = append(pending, i)
	}
	for start := 0; start < len(pending); start += o.Batch {
		batch := pending[start:min(start+o.Batch, len(pending))]
		if err := checkBatch(ctx, bin, reports, batch, o); err != nil {
			if ctx.Err() != nil {
				return reports, ctx.Err()
			}
			if len(batch) == 1 {
				reports[batch[0]].Err = err
				continue
			}
			for _, i := range batch {
				if err := checkBatch(ctx, bin, reports, []int{i}, o); err != nil {
					if ctx.Err() != nil {
						return reports, ctx.Err()
					}
					reports[i].Err = err
				}
			}
		}
	}
	return reports, nil
}

// checkable is nil when file is a regular file that can be opened.
func checkable(file string) error {
	st, err := os.Stat(file)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a directory: give the HTML files inside it", file)
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	return f.Close()
}

// checkBatch opens reports[i].File for each i of batch in one Chromium run and fills in their charts, or
// the Err of a file whose frame could not be read; the error is for a run that gave no result.
func checkBatch(ctx context.Context, bin string, reports []Report, batch []int, o Options) error {
	dir, err := os.MkdirTemp("", "lreg-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	urls := make([]string, len(batch))
	for k, i := range batch {
		abs, err := filepath.Abs(reports[i].File)
		if err != nil {
			return err
		}
		urls[k] = fileURL(abs)
	}
	harness := filepath.Join(dir, "harness.html")
	if err := os.WriteFile(harness, []byte(harnessPage(urls, o)), 0o644); err != nil {
		return err
	}
	what := reports[batch[0]].File
	if len(batch) > 1 {
		what = fmt.Sprintf("%d files (%s ... %s)", len(batch), what, reports[batch[len(batch)-1]].File)
	}
	dom, err := dumpDOM(ctx, bin, fileURL(harness), what, o, "--allow-file-access-from-files")
	if err != nil {
		return err
	}
	res, err := parseResult(dom)
	if err != nil {
		return fmt.Errorf("checking %s: %w", what, err)
	}
	if len(res.Files) != len(batch) {
		return fmt.Errorf("checking %s: the check page reported %d files, want %d", what, len(res.Files), len(batch))
	}
	for k, i := range batch {
		f := res.Files[k]
		switch {
		case f.Error != "":
			reports[i].Err = fmt.Errorf("%s: %s", reports[i].File, f.Error)
		case !f.Loaded:
			reports[i].Err = fmt.Errorf("%s did not finish loading within %v of virtual time: raise the budget", reports[i].File, o.Budget)
		default:
			reports[i].Charts = make([]Chart, len(f.Charts))
			for j, c := range f.Charts {
				reports[i].Charts[j] = Chart{ID: c.ID, Title: c.Title, Paths: c.Paths, Drawn: c.Paths >= o.MinPaths, Overlaps: c.Overlaps}
			}
		}
	}
	return nil
}

// result is what the check page writes into its <pre id="lreg-result">.
type result struct {
	Done  bool `json:"done"`
	Files []struct {
		Loaded bool   `json:"loaded"`
		Error  string `json:"error"`
		Charts []struct {
			ID       string   `json:"id"`
			Title    string   `json:"title"`
			Paths    int      `json:"paths"`
			Overlaps []string `json:"overlaps"`
		} `json:"charts"`
	} `json:"files"`
}

const resultOpen, resultClose = `<pre id="lreg-result">`, `</pre>`

// parseResult reads the check page's result from its serialized DOM.
func parseResult(dom string) (result, error) {
	var res result
	i := strings.Index(dom, resultOpen)
	if i < 0 {
		return res, errors.New("the check page holds no result: its script did not run")
	}
	body := dom[i+len(resultOpen):]
	j := strings.Index(body, resultClose)
	if j < 0 {
		return res, errors.New("the check page's result is cut off")
	}
	text := strings.TrimSpace(html.UnescapeString(body[:j]))
	if text == "" {
		return res, errors.New("the check page wrote no result within the budget: raise it")
	}
	if err := json.Unmarshal([]byte(text), &res); err != nil {
		return res, fmt.Errorf("the check page's result is not JSON: %v", err)
	}
	return res, nil
}

// poll is how often the check page counts the charts' paths; settlePolls is how many counts in a row must
// agree, after every frame loaded, before it stops.
const (
	poll        = 100 * time.Millisecond
	settlePolls = 5
)

// harnessPage is a page with one iframe per URL and a script that, once every frame fired load, counts the
// SVG paths of each chart element in each frame until the counts stop changing (or 90% of the budget is
// spent), writing the counts as JSON into <pre id="lreg-result"> at every poll.
func harnessPage(urls []string, o Options) string {
	cls, _ := json.Marshal(o.Class)
	limit := max(int(o.Budget*9/10/poll), settlePolls+1)
	var b strings.Builder
	fmt.Fprintf(&b, `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>lreg check-html</title>
<style>iframe{display:block;width:1280px;height:900px;border:0}</style>
<script>
(function(){
var cls=%s, n=%d, pollMs=%d, settle=%d, limit=%d;
var loaded=[], ticks=0, stable=0, last='';
for(var i=0;i<n;i++){loaded.push(false);}
window.lregLoaded=function(i,frame){
  // The initial about:blank of a frame may fire load too; wait for the file itself.
  try{var d=frame.contentDocument; if(d&&d.URL==='about:blank'){return;}}catch(e){}
  loaded[i]=true;
};
// overlaps are the pairs of the chart's texts (title, legend, axis names and labels) whose boxes overlap by
// more than a pixel each way, as "A / B".
function overlaps(el){
  var ts=el.getElementsByTagName('text'), bs=[], out=[];
  for(var k=0;k<ts.length;k++){
    var s=(ts[k].textContent||'').trim(), r=ts[k].getBoundingClientRect();
    if(s&&r.width>0&&r.height>0){bs.push({s:s,r:r});}
  }
  for(var a=0;a<bs.length;a++){for(var b=a+1;b<bs.length;b++){
    var p=bs[a].r,q=bs[b].r;
    if(Math.min(p.right,q.right)-Math.max(p.left,q.left)>1&&Math.min(p.bottom,q.bottom)-Math.max(p.top,q.top)>1){out.push(bs[a].s+' / '+bs[b].s);}
  }}
  return out;
}
function count(i){
  var frame=document.getElementById('lreg-frame-'+i), r={loaded:loaded[i],error:'',charts:[]};
  try{
    var d=frame.contentDocument;
    if(!d){r.error='its document cannot be read by the check page (a browser error page, or a document of another origin)';return r;}
    var els=d.getElementsByClassName(cls);
    for(var j=0;j<els.length;j++){
      r.charts.push({id:els[j].id||'',title:els[j].getAttribute('title')||'',paths:els[j].getElementsByTagName('path').length,overlaps:overlaps(els[j])});
    }
  }catch(e){r.error='its document cannot be read in the check page: '+e;}
  return r;
}
function tick(){
  ticks++;
  var files=[], all=true;
  for(var i=0;i<n;i++){files.push(count(i)); all=all&&loaded[i];}
  var key=JSON.stringify(files);
  stable=(all&&key===last)?stable+1:0;
  last=key;
  var done=stable>=settle||ticks>=limit;
  document.getElementById('lreg-result').textContent=JSON.stringify({done:done,files:files});
  if(!done){setTimeout(tick,pollMs);}
}
window.addEventListener('DOMContentLoaded',function(){setTimeout(tick,pollMs);});
})();
</script>
</head><body>
%s%s
`, cls, len(urls), poll.Milliseconds(), settlePolls, limit, resultOpen, resultClose)
	for k, u := range urls {
		fmt.Fprintf(&b, `<iframe id="lreg-frame-%d" src="%s" onload="lregLoaded(%d,this)"></iframe>`+"\n", k, html.EscapeString(u), k)
	}
	b.WriteString("</body></html>\n")
	return b.String()
}
