package lora

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/taskmatch/taskmatch/kernels"
	"github.com/taskmatch/taskmatch/model"
)

// WeightsFile is the name of a PEFT adapter's tensor file.
const WeightsFile = "adapter_model.safetensors"

// keyPrefix starts every tensor name PEFT saves for a causal LM.
const keyPrefix = "base_model.model."

// linearModules are the decoder-layer modules a LoRA can merge into.
var linearModules = model.Modules

// Delta is the low-rank update of one linear module: W' = W + Scale (B A).
type Delta struct {
	Module string    // full module name, e.g. "model.layers.3.self_attn.q_proj"
	Layer  int       // decoder layer index
	Proj   string    // the module's short name, e.g. "q_proj"
	Rank   int       // r, after rank_pattern
	Alpha  float64   // lora_alpha, after alpha_pattern
	Scale  float64   // Alpha/Rank, or Alpha/sqrt(Rank) with rsLoRA
	In     int       // columns of A and of W
	Out    int       // rows of B and of W
	A      []float32 // lora_A [Rank, In]
	B      []float32 // lora_B [Out, Rank]

	aName, bName string // tensor names, for errors
}

// Replacement is a tensor stored whole in the adapter (modules_to_save)
// that replaces the base's embedding or output layer.
type Replacement struct {
	Module string        // "model.embed_tokens" or "lm_head"
	Tensor *model.Tensor // [vocab, hidden], data on the heap
}

// BiasTensor is a trained bias (bias "all" or "lora_only") that replaces
// the bias of a decoder-layer linear module.
type BiasTensor struct {
	Module string // full module name
	Layer  int
	Proj   string
	Values []float32 // [out]

	name string
}

// Adapter is a loaded PEFT LoRA adapter: its configuration and its tensors
// decoded to float32, on the heap. It holds no open files.
type Adapter struct {
	Dir     string
	Config  *Config
	DType   kernels.DType // the dtype of the lora_A/lora_B tensors in the file
	Deltas  []Delta       // sorted by layer, then in model.Modules order
	Replace []Replacement // modules_to_save tensors
	Biases  []BiasTensor
}

// Load reads dir/adapter_config.json and dir/adapter_model.safetensors.
// Tensor names carry PEFT's "base_model.model." prefix, with or without the
// ".default" adapter name before ".weight". It checks everything that does
// not depend on the base model: that lora_A and lora_B come in pairs of
// rank Config.Rank(module), that every module with tensors is targeted, and
// that no tensor has an unknown name. Merge checks the rest against the
// base. A pickled adapter_model.bin without the safetensors file is an
// error that says to convert it.
func Load(dir string) (*Adapter, error) {
	data, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("lora: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, dir)
	}
	path := filepath.Join(dir, WeightsFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, "adapter_model.bin")); err == nil {
			return nil, fmt.Errorf("lora: %s holds adapter_model.bin (a pickle), which is not supported: "+
				"convert it to %s, e.g. in Python: safetensors.torch.save_file(torch.load(\"adapter_model.bin\"), \"%s\")",
				dir, WeightsFile, WeightsFile)
		}
		return nil, fmt.Errorf("lora: %s has no %s", dir, WeightsFile)
	}
	f, err := model.OpenFile(path)
	if err != nil {
		return nil, fmt.Errorf("lora: %w", err)
	}
	defer f.Close()
	tensors := make([]*model.Tensor, len(f.Header.Tensors))
	for i := range f.Header.Tensors {
		info := f.Header.Tensors[i]
		tensors[i] = &model.Tensor{TensorInfo: info, File: WeightsFile, Data: f.Bytes(&info)}
	}
	a, err := fromTensors(cfg, tensors)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	a.Dir = dir
	return a, nil
}

// moduleRe matches a decoder-layer linear module name.
var moduleRe = regexp.MustCompile(`^model\.layers\.(\d{1,7})\.(?:self_attn\.(q_proj|k_proj|v_proj|o_proj)|mlp\.(gate_proj|up_proj|down_proj))$`)

// parseModule splits a decoder-layer linear module name into its layer
// index and short name.
func parseModule(module string) (layer int, proj string, ok bool) {
	m := moduleRe.FindStringSubmatch(module)
	if m == nil {
		return 0, "", false
	}
	layer, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, "", false
	}
	proj = m[2] + m[3]
	if model.ModulePath(layer, proj) != module {
		return 0, "", false // leading zeros in the index
	}
	return layer, proj, true
}

// splitKey takes a tensor name apart: the module it belongs to and the
// part after it ("lora_A.weight", "lora_B.weight", "weight", "bias", ...),
// with the ".default" adapter name and ".modules_to_save" removed.
func splitKey(name string) (module, part string, ok bool) {
	rest, found := strings.CutPrefix(name, keyPrefix)
	if !found {
		return "", "", false
	}
	rest = strings.Replace(rest, ".modules_to_save.", ".", 1)
	rest = strings.Replace(rest, ".default.", ".", 1)
	if s, ok := strings.CutSuffix(rest, ".default"); ok {
		rest = s // lora_magnitude_vector.default
	}
	for _, p := range []string{"lora_A.weight", "lora_B.weight", "lora_A.bias", "lora_B.bias",
		"lora_embedding_A", "lora_embedding_B", "lora_magnitude_vector.weight", "lora_magnitude_vector",
		"weight", "bias"} {
		if m, ok := strings.CutSuffix(rest, "."+p); ok && m != "" {
			return m, p, true
		}
	}
	return "", "", false
}

// pair collects the two halves of one module's update while loading.
type pair struct {
	a, b *model.Tensor
}

func fromTensors(cfg *Config, tensors []*model.Tensor) (*Adapter, error) {
	ad := &Adapter{Config: cfg, DType: kernels.F32}
	pairs := map[string]*pair{}
	seen := map[string]string{} // canonical key -> tensor name
	for _, t := range tensors {
		module, part, ok := splitKey(t.Name)
		if !ok {
			return nil, fmt.Errorf("lora: tensor %q: unknown name (want %s<module>.lora_A.weight and similar)", t.Name, keyPrefix)
		}
		canon := module + "." + part
		if prev, dup := seen[canon]; dup {
			return nil, fmt.Errorf("lora: tensors %q and %q are the same weight", prev, t.Name)
		}
		seen[canon] = t.Name
		switch part {
		case "lora_magnitude_vector", "lora_magnitude_vector.weight":
			return nil, fmt.Errorf("lora: tensor %q: DoRA (lora_magnitude_vector) is not supported", t.Name)
		case "lora_A.bias", "lora_B.bias":
			return nil, fmt.Errorf("lora: tensor %q: lora_bias is not supported", t.Name)
		case "lora_embedding_A", "lora_embedding_B":
			return nil, fmt.Errorf("lora: tensor %q: LoRA on an embedding layer is not supported", t.Name)
		case "lora_A.weight", "lora_B.weight":
			if _, _, ok := parseModule(module); !ok {
				return nil, unknownModule(t.Name, module)
			}
			p := pairs[module]
			if p == nil {
				p = &pair{}
				pairs[module] = p
			}
			if part == "lora_A.weight" {
				p.a = t
				ad.DType = t.DType
			} else {
				p.b = t
			}
		case "weight":
			if err := ad.addReplacement(module, t); err != nil {
				return nil, err
			}
		case "bias":
			if err := ad.addBias(module, t); err != nil {
				return nil, err
			}
		}
	}
	// Check the modules in model order, so that the first error reported
	// is the same from run to run.
	modules := make([]string, 0, len(pairs))
	for module := range pairs {
		modules = append(modules, module)
	}
	slices.SortFunc(modules, func(x, y string) int {
		lx, px, _ := parseModule(x)
		ly, py, _ := parseModule(y)
		return moduleOrder(lx, px) - moduleOrder(ly, py)
	})
	for _, module := range modules {
		p := pairs[module]
		d, err := newDelta(cfg, module, p)
		if err != nil {
			return nil, err
		}
		ad.Deltas = append(ad.Deltas, d)
	}
	if len(ad.Deltas) == 0 && len(ad.Replace) == 0 && len(ad.Biases) == 0 {
		return nil, errors.New("lora: the adapter has no tensors")
	}
	slices.SortFunc(ad.Deltas, func(x, y Delta) int { return moduleOrder(x.Layer, x.Proj) - moduleOrder(y.Layer, y.Proj) })
	slices.SortFunc(ad.Biases, func(x, y BiasTensor) int { return moduleOrder(x.Layer, x.Proj) - moduleOrder(y.Layer, y.Proj) })
	slices.SortFunc(ad.Replace, func(x, y Replacement) int { return strings.Compare(y.Module, x.Module) })
	return ad, nil
}

func moduleOrder(layer int, proj string) int {
	return layer*len(linearModules) + slices.Index(linearModules, proj)
}

func unknownModule(name, module string) error {
	switch module {
	case "model.embed_tokens", "lm_head":
		return fmt.Errorf("lora: tensor %q: LoRA on %s is not supported (only the decoder layers' linear modules)", name, module)
	}
	return fmt.Errorf("lora: tensor %q: unknown module %q (want model.layers.N.self_attn.{q,k,v,o}_proj or model.layers.N.mlp.{gate,up,down}_proj)", name, module)
}

// newDelta checks one module's lora_A and lora_B and decodes them.
func newDelta(cfg *Config, module string, p *pair) (Delta, error) {
	layer, proj, _ := parseModule(module)
	if p.a == nil || p.b == nil {
		have, miss := p.b, "lora_A"
		if p.a != nil {
			have, miss = p.a, "lora_B"
		}
		return Delta{}, fmt.Errorf("lora: tensor %q has no matching %s tensor", have.Name, miss)
	}
	if !cfg.Targets(module) {
		return Delta{}, fmt.Errorf("lora: tensor %q: module %s is not targeted by %s (target_modules, layers_to_transform, exclude_modules)",
			p.a.Name, module, ConfigFile)
	}
	r := cfg.Rank(module)
	if len(p.a.Shape) != 2 || len(p.b.Shape) != 2 {
		return Delta{}, fmt.Errorf("lora: tensors %q %v and %q %v must be matrices", p.a.Name, p.a.Shape, p.b.Name, p.b.Shape)
	}
	if p.a.Shape[0] != r {
		return Delta{}, fmt.Errorf("lora: tensor %q has shape %v: rank %d, but %s gives %s rank %d",
			p.a.Name, p.a.Shape, p.a.Shape[0], ConfigFile, module, r)
	}
	if p.b.Shape[1] != r {
		return Delta{}, fmt.Errorf("lora: tensor %q has shape %v: rank %d, but %s gives %s rank %d",
			p.b.Name, p.b.Shape, p.b.Shape[1], ConfigFile, module, r)
	}
	if p.a.Shape[1] == 0 || p.b.Shape[0] == 0 {
		return Delta{}, fmt.Errorf("lora: tensors %q and %q are empty", p.a.Name, p.b.Name)
	}
	alpha := cfg.LoraAlpha(module)
	return Delta{
		Module: module, Layer: layer, Proj: proj,
		Rank: r, Alpha: alpha, Scale: scale(alpha, r, cfg.RSLoRA),
		In: p.a.Shape[1], Out: p.b.Shape[0],
		A: p.a.Floats(), B: p.b.Floats(),
		aName: p.a.Name, bName: p.b.Name,
	}, nil
}

// addReplacement records a modules_to_save tensor.
func (ad *Adapter) addReplacement(module string, t *model.Tensor) error {
	switch module {
	case "model.embed_tokens", "lm_head":
	default:
		if _, _, ok := parseModule(module); ok {
			return fmt.Errorf("lora: tensor %q: modules_to_save for %s is not supported (only embed_tokens and lm_head)", t.Name, module)
		}
		return fmt.Errorf("lora: tensor %q: unknown module %q (modules_to_save supports embed_tokens and lm_head)", t.Name, module)
	}
	if len(t.Shape) != 2 {
		return fmt.Errorf("lora: tensor %q has shape %v, want [vocab, hidden]", t.Name, t.Shape)
	}
	c := *t
	c.Data = slices.Clone(t.Data)
	c.File = ""
	ad.Replace = append(ad.Replace, Replacement{Module: module, Tensor: &c})
	return nil
}

// addBias records a trained bias of a decoder-layer linear module.
func (ad *Adapter) addBias(module string, t *model.Tensor) error {
	layer, proj, ok := parseModule(module)
	if !ok {
		return unknownModule(t.Name, module)
	}
	if ad.Config.Bias == "none" {
		return fmt.Errorf("lora: tensor %q: a bias tensor, but %s says bias \"none\"", t.Name, ConfigFile)
	}
	if len(t.Shape) != 1 {
		return fmt.Errorf("lora: tensor %q has shape %v, want [out]", t.Name, t.Shape)
	}
	ad.Biases = append(ad.Biases, BiasTensor{Module: module, Layer: layer, Proj: proj, Values: t.Floats(), name: t.Name})
	return nil
}
