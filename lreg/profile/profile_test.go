package profile

import (
	"strings"
	"testing"
)

func TestPick(t *testing.T) {
	for name, want := range map[string]int{"smoke": 1, "cpu": 2, "paper": 3} {
		got, err := Pick(name, func() int { return 1 }, func() int { return 2 }, func() int { return 3 })
		if err != nil || got != want {
			t.Errorf("Pick(%q) = %d, %v; want %d", name, got, err, want)
		}
	}
	_, err := Pick("gpu", func() int { return 1 }, func() int { return 2 }, func() int { return 3 })
	if err == nil || !strings.Contains(err.Error(), `"gpu"`) || !strings.Contains(err.Error(), "smoke, cpu, paper") {
		t.Errorf("Pick(gpu): %v; want an error naming gpu and the profiles", err)
	}
}
