package notebook

import (
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/protocol"

	"github.com/lreg/lreg/lreg/plot"
	"github.com/lreg/lreg/lreg/progress"
)

// In a notebook every progress bar is one HTML output updated in place (GoNB's display update by id), not a
// stream of stderr lines; its lines still go to the progress log.
func init() {
	if gonbui.IsNotebook {
		progress.SetDisplay(func(s progress.State) {
			gonbui.UpdateHTML(s.ID, BarHTML(s, os.Getenv(progress.LogEnv)))
			if s.Final {
				flush()
			}
		})
	}
}

// flush waits until GoNB has taken every output sent so far. A cell's program sends its outputs through a pipe
// that GoNB reads while the program runs; what is still in the pipe when the program exits can be lost (a
// headless nbconvert run kept only a cell's first output), so every lasting output is flushed as it is sent.
// Outside GoNB it does nothing; if GoNB does not answer within flushWait (its pipe broke), the cell goes on.
func flush() {
	done := make(chan struct{})
	go func() { gonbui.Sync(); close(done) }()
	select {
	case <-done:
	case <-time.After(flushWait):
	}
}

const flushWait = 30 * time.Second

// BarHTML draws a bar's state as HTML: label, a filled bar, done/total, status, elapsed time and what is left,
// and where its log is.
func BarHTML(s progress.State, logPath string) string {
	frac := 0.0
	if s.Total > 0 {
		frac = float64(s.Done) / float64(s.Total)
	}
	frac = min(max(frac, 0), 1)
	color, timing := "#5470c6", fmt.Sprintf("%s elapsed, %s left", s.Elapsed, s.ETA)
	if s.Final {
		color, timing = "#3ba272", fmt.Sprintf("done in %s", s.Elapsed)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="lreg-progress" style="font-family:monospace;font-size:12px;line-height:1.6">`)
	fmt.Fprintf(&b, `<b>%s</b> <span style="display:inline-block;vertical-align:middle;width:240px;height:10px;background:#e6e6e6;border-radius:3px">`+
		`<span style="display:block;width:%.1f%%;height:10px;background:%s;border-radius:3px"></span></span> %d/%d · %s · %s`,
		html.EscapeString(s.Label), 100*frac, color, s.Done, s.Total, html.EscapeString(s.Status), timing)
	if logPath != "" {
		fmt.Fprintf(&b, `<br><span style="color:#777">one line per run in %s</span>`, html.EscapeString(logPath))
	}
	b.WriteString("</div>")
	return b.String()
}

// logFile is where a notebook's per-run lines go: $LREG_PROGRESS_LOG (reproduce.sh follows it), else
// progress.log in the run directory. Open exports it as $LREG_PROGRESS_LOG, so the bars mirror there too.
func logFile(runDir string) string {
	if p := os.Getenv(progress.LogEnv); p != "" {
		return p
	}
	return filepath.Join(runDir, "progress.log")
}

// lineLog appends every write to a file (opened and closed each time: cells are short-lived programs, and
// reproduce.sh follows the file as it grows).
type lineLog struct{ path string }

func (l lineLog) Write(p []byte) (int, error) {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return 0, err
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.Write(p)
}

// openLog sets e.Log (and $LREG_PROGRESS_LOG) to the progress log.
func (e *Env) openLog() {
	e.LogPath = logFile(e.RunDir)
	os.Setenv(progress.LogEnv, e.LogPath)
	e.Log = lineLog{e.LogPath}
	fmt.Fprintf(e.Log, "-- %s: a notebook cell started\n", time.Now().Format(time.DateTime))
}

var _ io.Writer = lineLog{}

// showChart sends a chart as one output with two representations: the interactive echarts HTML (whose div
// holds the static SVG until it draws) and the static image/svg+xml. A trusted JupyterLab shows the
// interactive chart; an untrusted one (a saved notebook reopened) the HTML sanitized, which keeps the picture;
// viewers that take only images the SVG.
func showChart(c *plot.Chart, svg []byte) {
	gonbui.SendData(&protocol.DisplayData{Data: map[protocol.MIMEType]any{
		protocol.MIMETextHTML:  c.Notebook(svg),
		protocol.MIMEImageSVG:  string(svg),
		protocol.MIMETextPlain: c.Title(),
	}})
	flush()
}
