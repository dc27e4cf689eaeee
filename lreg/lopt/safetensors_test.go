package lopt

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/nlpodyssey/safetensors"
)

// An exported LO reads back to the same config and bit-equal weights, under the documented names, shapes and
// dtype; a file that is not an LO, or a weight of the wrong shape, is refused.
func TestSafetensorsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		dt  dtypes.DType
		st  safetensors.DType
	}{
		{Config{}.Defaults(), dtypes.Float32, safetensors.F32},
		{Config{ParamInput: true, Hidden: 3}.Defaults(), dtypes.Float64, safetensors.F64},
	} {
		weights := tc.cfg.InitWeights(rand.New(rand.NewPCG(1, 2)), tc.dt)
		raw, err := EncodeSafetensors(tc.cfg, weights, map[string]string{"name": "lo-none"})
		if err != nil {
			t.Fatal(err)
		}
		// What a PyTorch user's safetensors.torch.load_file sees: the names, shapes and dtype of the docs.
		st, err := safetensors.Deserialize(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := st.Len(), len(tc.cfg.WeightNames()); got != want {
			t.Fatalf("%d tensors in the file, want %d", got, want)
		}
		w0, _ := st.Tensor("l0/Wi")
		if w0.DType() != tc.st || w0.Shape()[0] != uint64(tc.cfg.NumInputs()) || w0.Shape()[1] != uint64(tc.cfg.Hidden) {
			t.Errorf("l0/Wi: %s %v, want %s [%d %d]", w0.DType(), w0.Shape(), tc.st, tc.cfg.NumInputs(), tc.cfg.Hidden)
		}
		cfg, back, meta, err := DecodeSafetensors(raw)
		if err != nil {
			t.Fatal(err)
		}
		if cfg != tc.cfg || meta["name"] != "lo-none" {
			t.Errorf("read back config %+v and metadata %v, want %+v and the name", cfg, meta, tc.cfg)
		}
		for i := range weights {
			a, b := flat(weights[i]), flat(back[i])
			if !slices.Equal(a, b) || !slices.Equal(weights[i].Shape().Dimensions, back[i].Shape().Dimensions) {
				t.Fatalf("weight %s differs after the round trip", tc.cfg.WeightNames()[i])
			}
		}
	}
	if _, _, _, err := DecodeSafetensors([]byte("not a file")); err == nil {
		t.Error("garbage was read as an LO")
	}
	small := Config{Hidden: 5}.Defaults()
	raw, _ := EncodeSafetensors(small, small.InitWeights(rand.New(rand.NewPCG(1, 2)), dtypes.Float32), nil)
	// The same file claiming a hidden size of 7 (same header length): every weight has the wrong shape.
	claimed := strings.Replace(string(raw), `\"hidden\":5`, `\"hidden\":7`, 1)
	if claimed == string(raw) {
		t.Fatal("the test could not find the hidden size in the header")
	}
	if _, _, _, err := DecodeSafetensors([]byte(claimed)); err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("weights of hidden 5 read as an LO of hidden 7: %v", err)
	}
}

func flat(t *tensors.Tensor) []float64 {
	var out []float64
	switch t.DType() {
	case dtypes.Float32:
		for _, v := range tensors.MustCopyFlatData[float32](t) {
			out = append(out, float64(v))
		}
	default:
		out = tensors.MustCopyFlatData[float64](t)
	}
	return out
}
