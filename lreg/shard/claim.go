package shard

// Claims keep two processes on one run directory (two commands, a notebook and a command, shards) from doing
// the same work: before it computes a unit (an LO's meta-training, a method's cells on a task) a process
// claims it; another process that finds the claim held waits for the unit instead of computing it again.
//
// A claim is an flock(2) on a lock file, which the kernel drops when its process ends, even when it is killed:
// a claim is never stale. The file holds who claimed it, for the messages of those who wait.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrBusy marks a unit of work that another process has claimed.
var ErrBusy = errors.New("claimed by another process")

// Claim is a held claim; Release gives it back.
type Claim struct {
	f *os.File
}

// TryClaim claims the unit whose lock file is path (its folder is created), without waiting. When another
// process holds it, the error wraps ErrBusy and names the holder.
func TryClaim(path, what string) (*Claim, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("claiming %s: %w", what, err)
	}
	ok, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("claiming %s (%s): %w", what, path, err)
	}
	if !ok {
		f.Close()
		return nil, fmt.Errorf("%w: %s is being computed by %s", ErrBusy, what, Holder(path))
	}
	host, _ := os.Hostname()
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d on %s since %s\n", os.Getpid(), host, time.Now().Format(time.DateTime))), 0)
	return &Claim{f: f}, nil
}

// Release gives the claim back. A nil claim is a no-op.
func (c *Claim) Release() {
	if c == nil || c.f == nil {
		return
	}
	_ = c.f.Truncate(0)
	c.f.Close() // closing drops the lock
	c.f = nil
}

// Holder says who holds the claim of path, from its lock file ("pid 123 on host since ...").
func Holder(path string) string {
	b, err := os.ReadFile(path)
	if s := strings.TrimSpace(string(b)); err == nil && s != "" {
		return "another process (" + s + ")"
	}
	return "another process"
}

// WaitClaim claims the unit of path, waiting while another process holds it, with a progress line on log
// every report (0: a minute) saying who holds it and, if status is not nil, how far it is.
func WaitClaim(path, what string, log io.Writer, poll, report time.Duration, status func() string) (*Claim, error) {
	c, err := TryClaim(path, what)
	if !errors.Is(err, ErrBusy) {
		return c, err
	}
	if poll <= 0 {
		poll = 2 * time.Second
	}
	if report <= 0 {
		report = time.Minute
	}
	start, last := time.Now(), time.Time{}
	for {
		if now := time.Now(); log != nil && now.Sub(last) >= report {
			line := fmt.Sprintf("waiting for %s, which %s is computing (%s so far)", what, Holder(path), now.Sub(start).Round(time.Second))
			if status != nil {
				if s := status(); s != "" {
					line += ": " + s
				}
			}
			fmt.Fprintln(log, line)
			last = now
		}
		time.Sleep(poll)
		if c, err = TryClaim(path, what); !errors.Is(err, ErrBusy) {
			return c, err
		}
	}
}
