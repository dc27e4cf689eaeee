// Package records is the one reader of meta-test records (metatest.Result files in a run directory) for the
// tables and for the sweeps that reuse them. Before a number of a record is used, the record is checked against
// what its reader expects of it: its key (the protocol, the method and its identity: a baseline's settings or a
// hash of an LO's weights; the data and the backend where the reader knows them), its seed (a record copied
// under another seed's name is caught) and the checksum it was written with (a record changed by hand is
// caught). A record that cannot be read is an error naming it, never skipped. A Table collects what one table
// read: records of one data set made on different data are refused, and records of mixed code versions or
// backends are stated in the table's caption, or refused where the table pins them.
package records

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/lreg/lreg/lreg/data"
	"github.com/lreg/lreg/lreg/metatest"
	"github.com/lreg/lreg/lreg/store"
)

// What is wrong with a record (Error.Kind).
const (
	Unreadable = "unreadable" // not a record: truncated, not JSON
	Changed    = "changed"    // its content does not match its checksum
	OtherKey   = "other key"  // made for another cell: protocol, method, identity, data or backend
	OtherSeed  = "other seed" // the run of another seed
	Pinned     = "pinned"     // made with another backend or code version than its table pins
)

// Fix is what to do about a refused record.
const Fix = "delete it and run the sweep that made it again (it recomputes only the cells without a record), or restore the record from where it came"

// Error is a record that cannot be taken: the file, what is wrong with it, and the fix.
type Error struct {
	Path, Kind, Why string
	Differs         string // for OtherKey: the parts of the key that differ (metatest.Key.Differs)
	Err             error  // for Unreadable: the reader's error
}

func (e *Error) Error() string { return fmt.Sprintf("record %s %s: %s", e.Path, e.Why, Fix) }

func (e *Error) Unwrap() error { return e.Err }

// Read reads the record of the cell (key, seed) at path and checks it (Check): (the record, true, nil) when it can
// be taken, (zero, false, nil) when there is none, and an *Error otherwise.
func Read(path string, key metatest.Key, seed uint64) (metatest.Result, bool, error) {
	var res metatest.Result
	err := store.ReadJSON(path, &res)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return res, false, nil
	case err != nil:
		return res, false, &Error{Path: path, Kind: Unreadable, Why: fmt.Sprintf("cannot be read (%v)", err), Err: err}
	}
	if e := Check(res, key, seed); e != nil {
		e.Path = path
		return res, false, e
	}
	return res, true, nil
}

// Check reports how res differs from the record of the cell (key, seed), or nil. key.Data and key.Backend are
// compared where set (a table built from records alone knows neither: Table compares the records with each
// other). A record without a checksum (written before records had one) is not checked for changes.
func Check(res metatest.Result, key metatest.Key, seed uint64) *Error {
	if res.SHA256 != "" && res.SHA256 != res.Checksum() {
		return &Error{Kind: Changed, Why: "was changed after lreg wrote it (its content does not match its checksum)"}
	}
	want := key
	if want.Data == "" {
		want.Data = res.Key.Data
	}
	if want.Backend == "" {
		want.Backend = res.Key.Backend
	}
	switch {
	case res.Key != want:
		d := want.Differs(res.Key)
		return &Error{Kind: OtherKey, Why: "was made with other " + d, Differs: d}
	case res.Seed != seed || (len(res.Provenance.Seeds) > 0 && !slices.Contains(res.Provenance.Seeds, seed)):
		return &Error{Kind: OtherSeed, Why: fmt.Sprintf("holds the run of seed %d, not of seed %d, whose name it has (a copy of another seed's record?)", res.Seed, seed)}
	case res.Method != key.Method || res.Config != key.Config || res.Dataset != canonical(key.Config.Dataset) || res.Optimizee != key.Config.Optimizee:
		return &Error{Kind: OtherKey, Why: fmt.Sprintf("holds a run of %s on %s/%s, not of its key's %s on %s/%s", res.Method, res.Dataset, res.Optimizee, key.Method, key.Config.Dataset, key.Config.Optimizee)}
	case res.Key.Data == "" || res.Key.Backend == "":
		return &Error{Kind: OtherKey, Why: "does not state its data or its backend"}
	case res.Key.Backend != metatest.BackendKind(res.Provenance.Backend):
		return &Error{Kind: OtherKey, Why: fmt.Sprintf("says backend %s in its key and %s in its provenance", res.Key.Backend, res.Provenance.Backend)}
	}
	return nil
}

// CheckSelf checks a record read where its cell is not known (an archive of records): its checksum, and that it
// holds the run of the seed its file name ends with (NAME-seedN.json).
func CheckSelf(name string, res metatest.Result) *Error {
	if res.SHA256 != "" && res.SHA256 != res.Checksum() {
		return &Error{Path: name, Kind: Changed, Why: "was changed after lreg wrote it (its content does not match its checksum)"}
	}
	var seed uint64
	if _, err := fmt.Sscanf(name[strings.LastIndex(name, "-seed")+1:], "seed%d.json", &seed); err == nil && seed != res.Seed {
		return &Error{Path: name, Kind: OtherSeed, Why: fmt.Sprintf("holds the run of seed %d, not of seed %d, whose name it has (a copy of another seed's record?)", res.Seed, seed)}
	}
	return nil
}

// canonical is a data set's name as a record states it (the name of the data set loaded: `--dataset fmnist` runs
// fashion-mnist).
func canonical(name string) string {
	if c, err := data.Canonical(name); err == nil {
		return c
	}
	return name
}

// Table reads the records of one table and collects what they were made with.
type Table struct {
	// Dir is the run directory the records are in: the caption names records relative to it, so that a table
	// built from a copy of the records is the same.
	Dir string
	// PinBackend and PinVersion, where set, are the backend kind ("go", "xla") and the code version every
	// record must have been made with; a record of another is refused.
	PinBackend, PinVersion string

	n        int
	data     map[string]map[string][]string // data set -> data fingerprint -> records
	backends map[string][]string            // backend kind -> records
	versions map[string][]string            // code version -> records
	unsealed int                            // records without a checksum
}

// Read is Read for a record of the table; a record that can be taken is counted in the table's caption.
func (t *Table) Read(path string, key metatest.Key, seed uint64) (metatest.Result, bool, error) {
	res, ok, err := Read(path, key, seed)
	if !ok || err != nil {
		return res, ok, err
	}
	v := res.Provenance.CodeVersion
	switch {
	case t.PinBackend != "" && res.Key.Backend != t.PinBackend:
		return res, false, &Error{Path: path, Kind: Pinned, Why: fmt.Sprintf("was made on backend %s; this table takes %s only", res.Key.Backend, t.PinBackend)}
	case t.PinVersion != "" && v != t.PinVersion:
		return res, false, &Error{Path: path, Kind: Pinned, Why: fmt.Sprintf("was made by code version %s; this table takes %s only", v, t.PinVersion)}
	}
	if t.data == nil {
		t.data, t.backends, t.versions = map[string]map[string][]string{}, map[string][]string{}, map[string][]string{}
	}
	if t.data[res.Dataset] == nil {
		t.data[res.Dataset] = map[string][]string{}
	}
	t.n++
	rel := path
	if r, err := filepath.Rel(t.Dir, path); t.Dir != "" && err == nil {
		rel = filepath.ToSlash(r)
	}
	t.data[res.Dataset][res.Key.Data] = append(t.data[res.Dataset][res.Key.Data], path)
	t.backends[res.Key.Backend] = append(t.backends[res.Key.Backend], rel)
	t.versions[v] = append(t.versions[v], rel)
	if res.SHA256 == "" {
		t.unsealed++
	}
	return res, true, nil
}

// Records is how many records the table took.
func (t *Table) Records() int { return t.n }

// Finish checks the records the table took against each other and returns its caption: an error where the
// records of one data set were made on different data (a table compares runs on one data set's files), and a
// line for each mix of code versions or backends, and for records without a checksum.
func (t *Table) Finish() ([]string, error) {
	for _, name := range sortedKeys(t.data) {
		if fps := t.data[name]; len(fps) > 1 {
			return nil, fmt.Errorf("the records of %s were made on different data (%s): a table compares runs on one data set's files; delete the records of the data you do not want (their cells are recomputed on the data you load), or build the table from a run directory of one data",
				name, groups(fps, 19))
		}
	}
	var caption []string
	if len(t.versions) > 1 {
		caption = append(caption, fmt.Sprintf("Records of %d code versions: %s.", len(t.versions), groups(t.versions, 0)))
	}
	if len(t.backends) > 1 {
		caption = append(caption, fmt.Sprintf("Records of %d backends, whose float32 roundings differ: %s.", len(t.backends), groups(t.backends, 0)))
	}
	if t.unsealed > 0 {
		caption = append(caption, fmt.Sprintf("%d of the %d records carry no checksum (written by an lreg before records had one): a change to them cannot be detected.", t.unsealed, t.n))
	}
	return caption, nil
}

// groups writes each value with its number of records and, for the smaller groups, one of them: "abc (950
// records), def (1 record: metatest/...)". Values are cut to width characters where width > 0.
func groups(m map[string][]string, width int) string {
	keys := sortedKeys(m)
	sort.SliceStable(keys, func(i, j int) bool { return len(m[keys[i]]) > len(m[keys[j]]) })
	var parts []string
	for i, k := range keys {
		name := k
		if name == "" {
			name = "unrecorded"
		}
		if width > 0 && len(name) > width {
			name = name[:width] + "..."
		}
		n := len(m[k])
		s := fmt.Sprintf("%s (%d record%s", name, n, map[bool]string{true: "", false: "s"}[n == 1])
		if i > 0 {
			s += ", e.g. " + m[k][0]
		}
		parts = append(parts, s+")")
	}
	return strings.Join(parts, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
