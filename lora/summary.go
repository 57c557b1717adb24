package lora

import (
	"slices"
)

// Summary describes an adapter for `taskmatch inspect --adapter`.
type Summary struct {
	Dir      string  `json:"dir"`
	PeftType string  `json:"peft_type"`
	DType    string  `json:"dtype"` // dtype of the lora_A/lora_B tensors
	Rank     int     `json:"rank"`  // r
	Alpha    float64 `json:"alpha"` // lora_alpha
	RSLoRA   bool    `json:"use_rslora"`
	Scale    float64 `json:"scale"` // alpha/r, or alpha/sqrt(r) with rsLoRA

	// Ranks and Scales are the distinct values over the adapted modules,
	// ascending; they differ from Rank and Scale only with rank_pattern or
	// alpha_pattern.
	Ranks  []int     `json:"ranks"`
	Scales []float64 `json:"scales"`

	TargetModules []string `json:"target_modules"`      // short names of the adapted modules, in layer order
	Layers        []int    `json:"layers"`              // the decoder layers with adapted modules
	Modules       int      `json:"modules"`             // adapted (layer, module) pairs
	ModulesToSave []string `json:"modules_to_save"`     // tensors that replace base layers
	Biases        int      `json:"biases"`              // trained bias tensors
	LoRAParams    int64    `json:"lora_params"`         // elements of all lora_A and lora_B
	Params        int64    `json:"params"`              // every element the adapter stores
	Overrides     []string `json:"overrides,omitempty"` // rank_pattern and alpha_pattern keys
}

// Summary returns the adapter's rank, alpha, scales, targeted modules and
// parameter counts.
func (a *Adapter) Summary() Summary {
	c := a.Config
	s := Summary{
		Dir: a.Dir, PeftType: c.PeftType, DType: a.DType.String(),
		Rank: c.R, Alpha: c.Alpha, RSLoRA: c.RSLoRA, Scale: scale(c.Alpha, c.R, c.RSLoRA),
		Ranks: []int{}, Scales: []float64{}, TargetModules: []string{}, Layers: []int{},
		ModulesToSave: []string{}, Modules: len(a.Deltas), Biases: len(a.Biases),
	}
	for _, d := range a.Deltas {
		s.Ranks = appendUnique(s.Ranks, d.Rank)
		s.Scales = appendUnique(s.Scales, d.Scale)
		s.Layers = appendUnique(s.Layers, d.Layer)
		n := int64(len(d.A) + len(d.B))
		s.LoRAParams += n
		s.Params += n
	}
	for _, m := range linearModules {
		if slices.ContainsFunc(a.Deltas, func(d Delta) bool { return d.Proj == m }) {
			s.TargetModules = append(s.TargetModules, m)
		}
	}
	for _, r := range a.Replace {
		s.ModulesToSave = append(s.ModulesToSave, r.Module)
		s.Params += r.Tensor.Elements()
	}
	for _, b := range a.Biases {
		s.Params += int64(len(b.Values))
	}
	for _, o := range c.RankPattern {
		s.Overrides = append(s.Overrides, "rank_pattern "+o.Key)
	}
	for _, o := range c.AlphaPattern {
		s.Overrides = append(s.Overrides, "alpha_pattern "+o.Key)
	}
	slices.Sort(s.Ranks)
	slices.Sort(s.Scales)
	slices.Sort(s.Layers)
	return s
}

func appendUnique[T comparable](list []T, v T) []T {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// F32Bytes is the memory that float32 copies of the matrices the adapter
// changes take (MergeOptions.KeepF32).
func (a *Adapter) F32Bytes() int64 {
	var n int64
	for _, d := range a.Deltas {
		n += int64(d.Out) * int64(d.In) * 4
	}
	return n
}
