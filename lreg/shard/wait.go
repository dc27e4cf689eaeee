package shard

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Options is this process's part in a sweep shared with others.
type Options struct {
	Shard Shard
	// Merge computes nothing: the tables are built from the records stored in the run directory, and what is
	// still missing is reported.
	Merge bool
	Wait  Wait // how long to wait for what another shard makes
}

// Wait polls for something another shard makes (an LO file, a search result).
type Wait struct {
	// Timeout is how long to wait at most; 0 does not wait: a missing input is an error at once.
	Timeout time.Duration
	Poll    time.Duration // time between two checks; 0 means 2 s
	Report  time.Duration // time between two progress lines; 0 means 1 minute
	Log     io.Writer     // progress lines; nil discards them
}

// ErrNotReady is returned by Wait.Until when the input did not appear in time (or Timeout is 0).
var ErrNotReady = errors.New("not ready")

// Until calls ready every Poll until it reports true, for at most Timeout. what names the input ("lo-sam.lreg,
// meta-trained by shard 1/4"); status, if not nil, says how far its maker is ("meta-step 120, stage 2/5") in
// the progress lines. The error wraps ErrNotReady and says what was waited for; callers add how to fix it.
func (w Wait) Until(what string, ready func() bool, status func() string) error {
	if ready() {
		return nil
	}
	if w.Timeout <= 0 {
		return fmt.Errorf("%w: %s", ErrNotReady, what)
	}
	poll, report := w.Poll, w.Report
	if poll <= 0 {
		poll = 2 * time.Second
	}
	if report <= 0 {
		report = time.Minute
	}
	start := time.Now()
	var lastReport time.Time
	for {
		if now := time.Now(); w.Log != nil && now.Sub(lastReport) >= report {
			line := fmt.Sprintf("waiting for %s (%s of at most %s)", what, now.Sub(start).Round(time.Second), w.Timeout)
			if status != nil {
				if s := status(); s != "" {
					line += ": " + s
				}
			}
			fmt.Fprintln(w.Log, line)
			lastReport = now
		}
		if time.Since(start) >= w.Timeout {
			return fmt.Errorf("%w: waited %s for %s", ErrNotReady, w.Timeout, what)
		}
		time.Sleep(min(poll, max(w.Timeout-time.Since(start), time.Millisecond)))
		if ready() {
			return nil
		}
	}
}
