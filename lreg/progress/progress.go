// Package progress prints a one-line progress bar for long work: redrawn in place on a terminal, and as a
// plain line every few seconds otherwise (CI logs, notebooks), so logs stay short.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Bar tracks done out of Total units of work.
type Bar struct {
	Label string
	Total int
	Out   io.Writer
	start time.Time
	last  time.Time
	tty   bool
	every time.Duration
}

// New starts a bar on stderr.
func New(label string, total int) *Bar { return NewTo(os.Stderr, label, total) }

// NewTo starts a bar on w: redrawn in place where w is a terminal, a line every 5 s otherwise.
func NewTo(w io.Writer, label string, total int) *Bar {
	b := &Bar{Label: label, Total: total, Out: w, start: time.Now(), every: 5 * time.Second}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			b.tty, b.every = true, 200*time.Millisecond
		}
	}
	return b
}

// Update reports done units and a short status; it draws at most every few hundred milliseconds.
func (b *Bar) Update(done int, status string) {
	now := time.Now()
	if now.Sub(b.last) < b.every && done < b.Total {
		return
	}
	b.last = now
	elapsed := now.Sub(b.start)
	frac := 0.0
	if b.Total > 0 {
		frac = float64(done) / float64(b.Total)
	}
	eta := "?"
	if frac > 0 {
		eta = (time.Duration(float64(elapsed)/frac) - elapsed).Round(time.Second).String()
	}
	const width = 24
	filled := int(frac * width)
	if filled > width {
		filled = width
	}
	line := fmt.Sprintf("%s [%s%s] %d/%d %s elapsed %s eta %s", b.Label, strings.Repeat("#", filled),
		strings.Repeat(".", width-filled), done, b.Total, status, elapsed.Round(time.Second), eta)
	if b.tty {
		fmt.Fprintf(b.Out, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(b.Out, line)
	}
	mirror(line)
}

// LogEnv names a file that every bar's lines are also appended to. A notebook executed headless shows its
// progress only when it ends; reproduce.sh sets this and follows the file, so long work is seen as it goes.
const LogEnv = "LREG_PROGRESS_LOG"

func mirror(line string) {
	path := os.Getenv(LogEnv)
	if path == "" {
		return
	}
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err == nil {
		fmt.Fprintln(f, line)
		f.Close()
	}
}

// Done ends the bar's line.
func (b *Bar) Done(status string) {
	b.last = time.Time{}
	b.Update(b.Total, status)
	if b.tty {
		fmt.Fprintln(b.Out)
	}
}
