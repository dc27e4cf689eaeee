package lopt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/nlpodyssey/safetensors"
)

// Safetensors: an LO for PyTorch, JAX or NumPy users (https://huggingface.co/docs/safetensors). The tensors are
// the LO's weights under their WeightNames, little-endian F32 (F64 for a float64 LO):
//
//	l{layer}/W{gate}  [in, H]   the input matrix of gate i, f, g or o (in = 2 features, or 3 with the parameter
//	                            input, for layer 0; H for the layers above)
//	l{layer}/U{gate}  [H, H]    the recurrent matrix
//	l{layer}/b{gate}  [H]       the bias
//	out/W [H, 1], out/b [1]    the output layer
//
// Gate pre-activations are x W + h U + b (row vectors), as in Forward; the update of a parameter is
// theta + out_scale * (h_L out/W + out/b). The header's metadata "lreg_lo" holds the Config (hidden, layers,
// out_scale, p, param_input), and the other entries whatever the caller adds (its provenance).

// SafetensorsConfigKey is the metadata entry that holds the LO's Config as JSON.
const SafetensorsConfigKey = "lreg_lo"

// EncodeSafetensors serialises weights (in WeightNames order) and the config, with info added to the metadata.
func EncodeSafetensors(cfg Config, weights []*tensors.Tensor, info map[string]string) ([]byte, error) {
	names := cfg.WeightNames()
	if len(weights) != len(names) {
		return nil, fmt.Errorf("lopt: %d weights, the config needs %d", len(weights), len(names))
	}
	views := make(map[string]safetensors.TensorView, len(names))
	for i, w := range weights {
		var data []byte
		var dt safetensors.DType
		switch w.DType() {
		case dtypes.Float32:
			dt = safetensors.F32
			for _, v := range tensors.MustCopyFlatData[float32](w) {
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
			}
		case dtypes.Float64:
			dt = safetensors.F64
			for _, v := range tensors.MustCopyFlatData[float64](w) {
				data = binary.LittleEndian.AppendUint64(data, math.Float64bits(v))
			}
		default:
			return nil, fmt.Errorf("lopt: weight %s is %s; only float32 and float64 LOs can be exported", names[i], w.DType())
		}
		shape := make([]uint64, w.Rank())
		for k, d := range w.Shape().Dimensions {
			shape[k] = uint64(d)
		}
		v, err := safetensors.NewTensorView(dt, shape, data)
		if err != nil {
			return nil, fmt.Errorf("lopt: weight %s: %w", names[i], err)
		}
		views[names[i]] = v
	}
	meta := map[string]string{}
	for k, v := range info {
		meta[k] = v
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	meta[SafetensorsConfigKey] = string(raw)
	return safetensors.Serialize(views, meta)
}

// DecodeSafetensors reads what EncodeSafetensors wrote: the config, the weights in WeightNames order and the
// metadata.
func DecodeSafetensors(data []byte) (Config, []*tensors.Tensor, map[string]string, error) {
	var cfg Config
	_, header, err := safetensors.ReadMetadata(data)
	if err != nil {
		return cfg, nil, nil, fmt.Errorf("not a safetensors file: %w", err)
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return cfg, nil, nil, fmt.Errorf("not a safetensors file: %w", err)
	}
	meta := header.Metadata()
	if err := json.Unmarshal([]byte(meta[SafetensorsConfigKey]), &cfg); err != nil {
		return cfg, nil, nil, fmt.Errorf("no LO config in the metadata entry %q (%v): not an LO exported by lreg", SafetensorsConfigKey, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, nil, err
	}
	var weights []*tensors.Tensor
	shapes := cfg.WeightShapes()
	for i, name := range cfg.WeightNames() {
		v, ok := st.Tensor(name)
		if !ok {
			return cfg, nil, nil, fmt.Errorf("the LO's weight %s is missing", name)
		}
		dims := make([]int, len(v.Shape()))
		for k, d := range v.Shape() {
			dims[k] = int(d)
		}
		if !slices.Equal(dims, shapes[i]) {
			return cfg, nil, nil, fmt.Errorf("weight %s has shape %v, the config needs %v", name, dims, shapes[i])
		}
		raw := v.Data()
		switch v.DType() {
		case safetensors.F32:
			vals := make([]float32, len(raw)/4)
			for k := range vals {
				vals[k] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:]))
			}
			weights = append(weights, tensors.FromFlatDataAndDimensions(vals, dims...))
		case safetensors.F64:
			vals := make([]float64, len(raw)/8)
			for k := range vals {
				vals[k] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*k:]))
			}
			weights = append(weights, tensors.FromFlatDataAndDimensions(vals, dims...))
		default:
			return cfg, nil, nil, fmt.Errorf("weight %s is %s; want F32 or F64", name, v.DType())
		}
	}
	return cfg, weights, meta, nil
}
