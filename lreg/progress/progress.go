// Package progress prints a one-line progress bar for long work: redrawn in place on a terminal, and as a
// plain line every few seconds otherwise (CI logs), so logs stay short. Where a Display is set (a notebook:
// see lreg/notebook), every bar is drawn by it instead, and its lines still go to the progress log.
package progress

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Bar tracks done out of Total units of work.
type Bar struct {
	ID    string // unique to this bar (a Display updates its output by it)
	Label string
	Total int
	Out   io.Writer
	start time.Time
	last  time.Time
	tty   bool
	final bool
	every time.Duration
}

// State is what a Display draws: a bar's progress at one update.
type State struct {
	ID          string // the bar's
	Label       string
	Done, Total int
	Status      string
	Elapsed     time.Duration
	ETA         string // "?" until there is progress
	Final       bool   // the bar's last update (Done)
}

// A Display draws bars in place of their writers: a notebook shows each bar as one output updated in place.
type Display func(State)

var (
	displayMu sync.Mutex
	display   Display
)

// SetDisplay makes d draw every bar from now on (nil: back to writing lines). Bars still mirror their lines to
// the progress log ($LREG_PROGRESS_LOG).
func SetDisplay(d Display) {
	displayMu.Lock()
	display = d
	displayMu.Unlock()
}

func currentDisplay() Display {
	displayMu.Lock()
	defer displayMu.Unlock()
	return display
}

// New starts a bar on stderr.
func New(label string, total int) *Bar { return NewTo(os.Stderr, label, total) }

// NewTo starts a bar on w: redrawn in place where w is a terminal, a line every 5 s otherwise.
func NewTo(w io.Writer, label string, total int) *Bar {
	var id [6]byte
	_, _ = rand.Read(id[:])
	b := &Bar{ID: "lreg-progress-" + hex.EncodeToString(id[:]), Label: label, Total: total, Out: w, start: time.Now(), every: 5 * time.Second}
	if currentDisplay() != nil {
		b.every = 500 * time.Millisecond
	} else if f, ok := w.(*os.File); ok {
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
	if d := currentDisplay(); d != nil {
		d(State{ID: b.ID, Label: b.Label, Done: done, Total: b.Total, Status: status,
			Elapsed: elapsed.Round(time.Second), ETA: eta, Final: b.final})
	} else if b.tty {
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
	b.last, b.final = time.Time{}, true
	b.Update(b.Total, status)
	if b.tty && currentDisplay() == nil {
		fmt.Fprintln(b.Out)
	}
}
