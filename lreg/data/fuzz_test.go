package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"strings"
	"testing"
)

// The readers of outside bytes never panic, and what they accept is consistent with the bytes they were
// given (no buffer larger than the input promises). Seeds: valid files, then damaged ones; `go test` replays
// them and testdata/fuzz, `go test -fuzz` searches further.

func idxImagesFile(n, r, c int) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, []uint32{idxImagesMagic, uint32(n), uint32(r), uint32(c)})
	for i := range n * r * c {
		b.WriteByte(byte(i))
	}
	return b.Bytes()
}

func idxLabelsFile(labels ...byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, []uint32{idxLabelsMagic, uint32(len(labels))})
	b.Write(labels)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

func FuzzIDX(f *testing.F) {
	img, lab := idxImagesFile(2, 3, 4), idxLabelsFile(1, 9)
	for _, b := range [][]byte{img, lab, gz(img), gz(lab), img[:20], gz(img)[:15], {0x1f, 0x8b}, idxImagesFile(0, 28, 28), nil} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := maybeGunzip("f", raw, "fix")
		if err != nil {
			return
		}
		if img, err := parseIDXImages("f", b, "fix"); err == nil {
			if len(img.pix) != img.n*img.rows*img.cols || len(b) != 16+len(img.pix) {
				t.Fatalf("accepted %d images of %dx%d from %d bytes", img.n, img.rows, img.cols, len(b))
			}
			s := toSubset(img, make([]byte, img.n))
			if len(s.X) != len(img.pix) {
				t.Fatalf("subset of %d values from %d pixels", len(s.X), len(img.pix))
			}
		}
		if lab, err := parseIDXLabels("f", b, "fix"); err == nil {
			if len(b) != 8+len(lab) {
				t.Fatalf("accepted %d labels from %d bytes", len(lab), len(b))
			}
			for _, l := range lab {
				if l >= numClasses {
					t.Fatalf("accepted label %d", l)
				}
			}
		}
	})
}

func FuzzCIFARBatch(f *testing.F) {
	rec := make([]byte, cifarRecord)
	rec[0] = 3
	f.Add(rec)
	f.Add(append(append([]byte{}, rec...), rec...))
	f.Add(rec[:100])
	bad := append([]byte{}, rec...)
	bad[0] = 10
	f.Add(bad)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Subset
		if err := decodeCIFARBatch("f", b, &s, "fix"); err != nil {
			return
		}
		if s.N*cifarRecord != len(b) || len(s.X) != s.N*cifarChannels*cifarPlane || len(s.Y) != s.N {
			t.Fatalf("accepted %d records (%d values) from %d bytes", s.N, len(s.X), len(b))
		}
	})
}

func FuzzNPMDigits(f *testing.F) {
	one := "[" + strings.TrimSuffix(strings.Repeat("0.5,", npmDim), ",") + "]"
	f.Add([]byte(`{"data": ` + one + `}`))
	f.Add([]byte(`{"data": [0.1, 2]}`))
	f.Add([]byte(`{"data": [`))
	f.Add([]byte(`{"data": null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		pix, err := decodeNPMDigits("f", raw, "fix")
		if err != nil {
			return
		}
		if len(pix) == 0 || len(pix)%npmDim != 0 || len(pix) > len(raw) {
			t.Fatalf("accepted %d pixels from %d bytes", len(pix), len(raw))
		}
	})
}
