package shard

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A claim keeps a second claimant out until it is released; the second one learns who holds it, and
// WaitClaim returns once the first lets go.
func TestClaimExcludesUntilReleased(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "unit.lock")
	first, err := TryClaim(path, "unit")
	if err != nil {
		t.Fatal(err)
	}
	_, err = TryClaim(path, "unit")
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "unit is being computed by another process (pid ") {
		t.Fatalf("second claim: %v, want ErrBusy naming the holder", err)
	}
	var log strings.Builder
	got := make(chan *Claim)
	go func() {
		c, err := WaitClaim(path, "unit", &log, 5*time.Millisecond, time.Hour, func() string { return "half done" })
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	select {
	case <-got:
		t.Fatal("WaitClaim returned while the claim was held")
	case <-time.After(100 * time.Millisecond):
	}
	first.Release()
	second := <-got
	if second == nil || !strings.Contains(log.String(), "waiting for unit, which another process (pid ") || !strings.Contains(log.String(), "half done") {
		t.Fatalf("claim %v, log %q", second, log.String())
	}
	second.Release()
	third, err := TryClaim(path, "unit")
	if err != nil {
		t.Fatalf("after both released: %v", err)
	}
	third.Release()
}
