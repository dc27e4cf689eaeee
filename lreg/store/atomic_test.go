package store

import (
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// Result files respect the umask, as os.WriteFile's do: 0666 less it (issue 27: they were always 0644, or 0600
// before that).
func TestWriteAtomicRespectsTheUmask(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ umask, want os.FileMode }{{0o022, 0o644}, {0o002, 0o664}, {0o077, 0o600}} {
		old := syscall.Umask(int(c.umask))
		path := filepath.Join(dir, "r.json")
		err := WriteJSON(path, map[string]int{"a": 1})
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != c.want {
			t.Errorf("umask %03o: the file is %03o, want %03o", c.umask, got, c.want)
		}
	}
}

// CleanStale removes the temporary files interrupted writes left, and nothing else: not a young one, not one
// whose writer is alive (it holds the file's lock), not a file of another pattern, and not a folder.
func TestCleanStaleRemovesOnlyAbandonedTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "metatest", "sgd")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	mk := func(path string, age time.Time) string {
		if err := os.WriteFile(path, []byte("half a checkpoint"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, age, age); err != nil {
			t.Fatal(err)
		}
		return path
	}
	abandoned := mk(filepath.Join(dir, ".checkpoint-none.lreg.tmp123456"), old) // an older lreg's
	abandonedDeep := mk(filepath.Join(sub, ".mnist-seed100.json.tmp42"), old)
	abandonedNew := mk(filepath.Join(sub, ".table1.md.lregtmp9"), old)
	young := mk(filepath.Join(dir, ".lo-none.lreg.tmp777"), time.Now())
	live := mk(filepath.Join(dir, ".lo-sam.lreg.lregtmp888"), old)
	others := []string{
		mk(filepath.Join(dir, "lo-none.lreg"), old),
		mk(filepath.Join(dir, ".lo-none.lreg.tmpx"), old), // not our digits
		mk(filepath.Join(dir, "lo-none.lreg.tmp1"), old),  // not hidden: not ours
		mk(filepath.Join(dir, ".mnist.gz.123.part"), old), // a download's
		mk(filepath.Join(dir, ".notes.txt.tmp123"), old),  // the old pattern, of a file lreg does not write
	}
	if err := os.Mkdir(filepath.Join(dir, ".dir.tmp5"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	others = append(others, mk(filepath.Join(dir, ".git", ".x.lreg.lregtmp1"), old)) // hidden folders are not entered
	// A writer that is still going: it holds the lock, as WriteAtomic does while it writes.
	f, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !tryLock(f) {
		t.Fatal("cannot lock")
	}
	removed, err := CleanStale(dir, StaleAge)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	want := []string{abandoned, abandonedDeep, abandonedNew}
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, p := range append([]string{young, live, filepath.Join(dir, ".dir.tmp5")}, others...) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	for _, p := range want {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there", p)
		}
	}
	// Once its writer is gone, the live one goes too.
	f.Close()
	if removed, _ := CleanStale(dir, StaleAge); !slices.Equal(removed, []string{live}) {
		t.Errorf("after the writer closed: removed %v, want %v", removed, []string{live})
	}
	if removed, err := CleanStale(filepath.Join(dir, "missing"), StaleAge); err != nil || len(removed) != 0 {
		t.Errorf("a missing folder: %v, %v", removed, err)
	}
}

// WriteAtomic's temporary file matches TempPattern and is locked while it is written.
func TestWriteAtomicTempFileIsOurs(t *testing.T) {
	dir := t.TempDir()
	f, name, err := createTemp(dir, "x.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if !TempPattern.MatchString(filepath.Base(name)) {
		t.Errorf("temporary file %s does not match %s", name, TempPattern)
	}
}
