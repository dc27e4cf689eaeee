// Package store writes lreg's files atomically: result records (JSON) and tensor files (checkpoints and
// stored LOs). A write goes to a temporary file in the same folder, is synced, then renamed over the target,
// so a crash leaves either the old file or the new one, never half of one.
package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// WriteAtomic writes data to path via a temporary file and a rename. The temporary file (TempPattern) is
// created with mode 0666 less the umask, as os.WriteFile would (a result is an ordinary file, readable where
// the user's umask says so), and is locked (flock) while it is written, so that CleanStale knows it from one
// that an interrupted write left behind. It is renamed before it is closed: the lock covers it to the end.
func WriteAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, tmp, err := createTemp(dir, filepath.Base(path))
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tryLock(f)
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// TempPattern matches the temporary files of WriteAtomic: ".<name>.lregtmp<digits>"; OldTempPattern those of
// older versions of lreg (os.CreateTemp's ".<name>.tmp<digits>"), of the files big enough to matter, LOs,
// checkpoints and JSON records, only: the name is common enough that other programs' files could have it.
var (
	TempPattern    = regexp.MustCompile(`^\..+\.lregtmp[0-9]+$`)
	OldTempPattern = regexp.MustCompile(`^\..+\.(lreg|json)\.tmp[0-9]+$`)
)

// createTemp creates a new ".<base>.lregtmp<digits>" in dir, mode 0666 less the umask (os.CreateTemp's 0600
// would make every result private, and a chmod afterwards ignores the umask).
func createTemp(dir, base string) (*os.File, string, error) {
	for range 100 {
		name := filepath.Join(dir, "."+base+".lregtmp"+strconv.FormatUint(uint64(rand.Uint32()), 10))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("no free temporary file name for %s in %s", base, dir)
}

// StaleAge is how old an unlocked temporary file must be before CleanStale removes it: a writer locks its file
// right after creating it (the age covers that instant), and a writer of an older lreg, which does not lock,
// finishes its write in seconds.
const StaleAge = time.Minute

// CleanStale removes, under dir and its subfolders, the temporary files that interrupted atomic writes left
// (a process killed while writing a 5 MB checkpoint leaves one that nothing else removes): only files of
// TempPattern or OldTempPattern, only those older than minAge, and only those whose lock it can take, so never
// the file of a write that is going on in another process. It does not enter hidden folders (.git, .venv,
// .claims: lreg writes no result there). It returns the files removed.
func CleanStale(dir string, minAge time.Duration) ([]string, error) {
	var removed []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			return nil // a folder that vanished or cannot be read: not ours to clean
		}
		if d.IsDir() && path != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() || !(TempPattern.MatchString(d.Name()) || OldTempPattern.MatchString(d.Name())) {
			return nil
		}
		info, err := d.Info()
		if err != nil || time.Since(info.ModTime()) < minAge {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return nil
		}
		defer f.Close()
		if tryLock(f) && os.Remove(path) == nil { // removed while locked: no writer can be using it
			removed = append(removed, path)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return removed, err
}

// WriteJSON writes v as indented JSON, atomically.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return WriteAtomic(path, append(data, '\n'))
}

// ReadJSON reads a JSON file into v; a decoding error names the file.
func ReadJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s is not valid JSON (%v): delete it to start over", path, err)
	}
	return nil
}

// The tensor file: magic, uint64 header length, JSON header, raw little-endian values, CRC-32 of all before.
const magic = "LREGTENSORS1\n"

type header struct {
	Meta    json.RawMessage `json:"meta"`
	Tensors []tensorInfo    `json:"tensors"`
}

type tensorInfo struct {
	Name  string `json:"name"`
	DType string `json:"dtype"` // "float32" or "float64"
	Shape []int  `json:"shape"`
}

// Tensors is a named list of float tensors.
type Tensors struct {
	Names   []string
	Tensors []*tensors.Tensor
}

// SaveTensors writes named Float32/Float64 tensors and a JSON-able meta value to path, atomically.
func SaveTensors(path string, meta any, ts Tensors) error {
	metaJSON, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	h := header{Meta: metaJSON}
	var body bytes.Buffer
	for i, t := range ts.Tensors {
		info := tensorInfo{Name: ts.Names[i], Shape: t.Shape().Dimensions}
		switch t.DType() {
		case dtypes.Float32:
			info.DType = "float32"
			err = binary.Write(&body, binary.LittleEndian, tensors.MustCopyFlatData[float32](t))
		case dtypes.Float64:
			info.DType = "float64"
			err = binary.Write(&body, binary.LittleEndian, tensors.MustCopyFlatData[float64](t))
		default:
			err = fmt.Errorf("tensor %s: dtype %s not supported", ts.Names[i], t.DType())
		}
		if err != nil {
			return err
		}
		h.Tensors = append(h.Tensors, info)
	}
	hJSON, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	out.WriteString(magic)
	_ = binary.Write(&out, binary.LittleEndian, uint64(len(hJSON)))
	out.Write(hJSON)
	out.Write(body.Bytes())
	_ = binary.Write(&out, binary.LittleEndian, crc32.ChecksumIEEE(out.Bytes()))
	return WriteAtomic(path, out.Bytes())
}

// ErrCorrupt marks a tensor file that cannot be trusted.
var ErrCorrupt = errors.New("corrupt tensor file")

// LoadTensors reads a file written by SaveTensors; meta (a pointer) receives the meta value if not nil.
func LoadTensors(path string, meta any) (Tensors, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Tensors{}, err
	}
	return DecodeTensors(path, data, meta)
}

// DecodeTensors is LoadTensors on the bytes of the file path. Nothing is allocated beyond what the bytes
// hold: a header announcing more values than follow is refused before any buffer is made.
func DecodeTensors(path string, data []byte, meta any) (Tensors, error) {
	var ts Tensors
	bad := func(why string) (Tensors, error) {
		return ts, fmt.Errorf("%w %s: %s; delete it (a run resumes from scratch) or restore a good copy", ErrCorrupt, path, why)
	}
	if len(data) < len(magic)+12 || string(data[:len(magic)]) != magic {
		return bad("not an lreg tensor file (wrong magic)")
	}
	n := len(data)
	if crc32.ChecksumIEEE(data[:n-4]) != binary.LittleEndian.Uint32(data[n-4:]) {
		return bad("checksum mismatch (truncated or damaged)")
	}
	r := bytes.NewReader(data[len(magic) : n-4])
	var hLen uint64
	_ = binary.Read(r, binary.LittleEndian, &hLen)
	if hLen > uint64(r.Len()) {
		return bad("header length out of range")
	}
	hJSON := make([]byte, hLen)
	_, _ = io.ReadFull(r, hJSON)
	var h header
	if err := json.Unmarshal(hJSON, &h); err != nil {
		return bad("bad header: " + err.Error())
	}
	if meta != nil && len(h.Meta) > 0 {
		if err := json.Unmarshal(h.Meta, meta); err != nil {
			return bad("bad meta: " + err.Error())
		}
	}
	for _, info := range h.Tensors {
		width := map[string]int{"float32": 4, "float64": 8}[info.DType]
		if width == 0 {
			return bad("unknown dtype " + info.DType)
		}
		size := 1
		for _, d := range info.Shape {
			if d < 0 || (d > 0 && size > r.Len()/width/d) {
				return bad(fmt.Sprintf("tensor %s: shape %v needs more bytes than the file holds", info.Name, info.Shape))
			}
			size *= d
		}
		if size*width > r.Len() {
			return bad("tensor " + info.Name + " truncated")
		}
		var t *tensors.Tensor
		switch info.DType {
		case "float32":
			vals := make([]float32, size)
			if err := binary.Read(r, binary.LittleEndian, vals); err != nil {
				return bad("tensor " + info.Name + " truncated")
			}
			t = tensors.FromFlatDataAndDimensions(vals, info.Shape...)
		case "float64":
			vals := make([]float64, size)
			if err := binary.Read(r, binary.LittleEndian, vals); err != nil {
				return bad("tensor " + info.Name + " truncated")
			}
			t = tensors.FromFlatDataAndDimensions(vals, info.Shape...)
		default:
			return bad("unknown dtype " + info.DType)
		}
		ts.Names = append(ts.Names, info.Name)
		ts.Tensors = append(ts.Tensors, t)
	}
	return ts, nil
}

// Finite reports whether every value of the float tensors is finite.
func Finite(ts []*tensors.Tensor) bool {
	for _, t := range ts {
		ok := true
		t.MustConstFlatData(func(flat any) {
			switch v := flat.(type) {
			case []float32:
				for _, x := range v {
					if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
						ok = false
						return
					}
				}
			case []float64:
				for _, x := range v {
					if math.IsNaN(x) || math.IsInf(x, 0) {
						ok = false
						return
					}
				}
			}
		})
		if !ok {
			return false
		}
	}
	return true
}

// CheckWritable makes sure files can be written in dir (creating it): it creates and removes a small file
// there, so that a command fails at its start, not after hours of work, when an output folder is a file, is
// read-only or is on a full disk.
func CheckWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".lreg-write-check*")
	if err != nil {
		return err
	}
	_, err = f.Write([]byte("lreg\n"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := os.Remove(f.Name()); err == nil {
		err = rerr
	}
	return err
}
