package lora

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
)

// ConfigFile is the name of a PEFT adapter's configuration file.
const ConfigFile = "adapter_config.json"

// Config is the part of a PEFT adapter_config.json that decides how an
// adapter merges. Fields that only matter for training (dropout,
// init_lora_weights, task_type, ...) are ignored.
type Config struct {
	PeftType string  // peft_type; always "LORA" after ParseConfig
	R        int     // r: the default rank
	Alpha    float64 // lora_alpha: the default alpha
	RSLoRA   bool    // use_rslora: scale by alpha/sqrt(r) instead of alpha/r

	// TargetModules is target_modules in its list form: a module is
	// targeted when its full name equals an entry or ends with "." plus
	// the entry. TargetRegex is the string form, matched against the whole
	// module name (Python's re.fullmatch). Exactly one of them is set.
	TargetModules []string
	TargetRegex   string

	// ExcludeModules is exclude_modules: a list of names (exact or "."
	// suffix match) or, in ExcludeRegex, a regular expression matched
	// against the whole module name.
	ExcludeModules []string
	ExcludeRegex   string

	RankPattern  []RankOverride  // rank_pattern, in file order
	AlphaPattern []AlphaOverride // alpha_pattern, in file order

	Bias              string   // bias: "none", "all" or "lora_only"
	ModulesToSave     []string // modules_to_save: layers stored whole
	LayersToTransform []int    // layers_to_transform; nil means every layer

	// EnsureWeightTying is ensure_weight_tying: a modules_to_save
	// embedding or output layer of a tied model replaces both.
	EnsureWeightTying bool

	targetRe  *regexp.Regexp
	excludeRe *regexp.Regexp
}

// RankOverride is one rank_pattern entry: modules whose name matches Key
// (see Config.Rank) get rank R.
type RankOverride struct {
	Key string
	R   int
	re  *regexp.Regexp
}

// AlphaOverride is one alpha_pattern entry: modules whose name matches Key
// get alpha Alpha.
type AlphaOverride struct {
	Key   string
	Alpha float64
	re    *regexp.Regexp
}

// rawConfig mirrors adapter_config.json. Pointers and raw messages tell
// absent keys and nulls from zero values.
type rawConfig struct {
	PeftType          *string         `json:"peft_type"`
	R                 *int            `json:"r"`
	LoraAlpha         *float64        `json:"lora_alpha"`
	UseRSLoRA         *bool           `json:"use_rslora"`
	TargetModules     json.RawMessage `json:"target_modules"`
	ExcludeModules    json.RawMessage `json:"exclude_modules"`
	RankPattern       json.RawMessage `json:"rank_pattern"`
	AlphaPattern      json.RawMessage `json:"alpha_pattern"`
	FanInFanOut       *bool           `json:"fan_in_fan_out"`
	UseDoRA           *bool           `json:"use_dora"`
	Bias              *string         `json:"bias"`
	LoraBias          *bool           `json:"lora_bias"`
	ModulesToSave     json.RawMessage `json:"modules_to_save"`
	LayersToTransform json.RawMessage `json:"layers_to_transform"`
	LayersPattern     json.RawMessage `json:"layers_pattern"`
	LayerReplication  json.RawMessage `json:"layer_replication"`
	EnsureWeightTying *bool           `json:"ensure_weight_tying"`
}

// ParseConfig parses the contents of an adapter_config.json and refuses
// what the merge does not support: another peft_type, DoRA (use_dora),
// fan_in_fan_out (the targeted layers are torch Linear, [out, in]),
// lora_bias, layer_replication, an unknown bias mode, a non-positive rank
// and regular expressions Go cannot compile. Defaults follow PEFT's
// LoraConfig: r 8, lora_alpha 8, bias "none".
func ParseConfig(data []byte) (*Config, error) {
	var raw rawConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("lora: %s: %v", ConfigFile, err)
	}
	c := &Config{PeftType: "LORA", R: 8, Alpha: 8, Bias: "none"}
	if raw.PeftType != nil {
		c.PeftType = *raw.PeftType
	}
	if c.PeftType != "LORA" {
		return nil, fmt.Errorf("lora: %s: peft_type %q is not supported (want LORA)", ConfigFile, c.PeftType)
	}
	if raw.R != nil {
		c.R = *raw.R
	}
	if raw.LoraAlpha != nil {
		c.Alpha = *raw.LoraAlpha
	}
	if raw.UseRSLoRA != nil {
		c.RSLoRA = *raw.UseRSLoRA
	}
	if raw.Bias != nil {
		c.Bias = *raw.Bias
	}
	if raw.EnsureWeightTying != nil {
		c.EnsureWeightTying = *raw.EnsureWeightTying
	}
	if err := c.checkScalars(raw); err != nil {
		return nil, err
	}

	var err error
	if c.TargetModules, c.TargetRegex, err = parseNames("target_modules", raw.TargetModules); err != nil {
		return nil, err
	}
	if c.TargetModules == nil && c.TargetRegex == "" {
		return nil, fmt.Errorf("lora: %s: target_modules is missing or empty", ConfigFile)
	}
	if c.TargetRegex == "all-linear" {
		c.TargetModules, c.TargetRegex = append([]string(nil), linearModules...), ""
	}
	if c.ExcludeModules, c.ExcludeRegex, err = parseNames("exclude_modules", raw.ExcludeModules); err != nil {
		return nil, err
	}
	if c.targetRe, err = compileFull("target_modules", c.TargetRegex); err != nil {
		return nil, err
	}
	if c.excludeRe, err = compileFull("exclude_modules", c.ExcludeRegex); err != nil {
		return nil, err
	}
	if c.ModulesToSave, _, err = parseNames("modules_to_save", raw.ModulesToSave); err != nil {
		return nil, err
	}
	if c.LayersToTransform, err = parseLayers(raw.LayersToTransform); err != nil {
		return nil, err
	}
	if err := checkLayersPattern(raw.LayersPattern); err != nil {
		return nil, err
	}
	if c.RankPattern, c.AlphaPattern, err = parsePatterns(raw.RankPattern, raw.AlphaPattern); err != nil {
		return nil, err
	}
	return c, nil
}

// checkScalars validates the numeric and boolean fields.
func (c *Config) checkScalars(raw rawConfig) error {
	if c.R <= 0 || c.R > 1<<20 {
		return fmt.Errorf("lora: %s: r must be a positive rank, got %d", ConfigFile, c.R)
	}
	if math.IsNaN(c.Alpha) || math.IsInf(c.Alpha, 0) {
		return fmt.Errorf("lora: %s: lora_alpha must be finite", ConfigFile)
	}
	if raw.UseDoRA != nil && *raw.UseDoRA {
		return fmt.Errorf("lora: %s: use_dora true (DoRA) is not supported", ConfigFile)
	}
	if raw.FanInFanOut != nil && *raw.FanInFanOut {
		return fmt.Errorf("lora: %s: fan_in_fan_out true is not supported: "+
			"the targeted layers are torch Linear with weights [out, in]", ConfigFile)
	}
	if raw.LoraBias != nil && *raw.LoraBias {
		return fmt.Errorf("lora: %s: lora_bias true is not supported", ConfigFile)
	}
	if !isNull(raw.LayerReplication) {
		return fmt.Errorf("lora: %s: layer_replication is not supported", ConfigFile)
	}
	switch c.Bias {
	case "none", "all", "lora_only":
	default:
		return fmt.Errorf("lora: %s: unknown bias mode %q (want none, all or lora_only)", ConfigFile, c.Bias)
	}
	return nil
}

func isNull(data json.RawMessage) bool {
	return len(data) == 0 || string(bytes.TrimSpace(data)) == "null"
}

// parseNames reads a field that is null, a string or a list of strings.
func parseNames(key string, data json.RawMessage) (list []string, str string, err error) {
	if isNull(data) {
		return nil, "", nil
	}
	if err := json.Unmarshal(data, &str); err == nil {
		return nil, str, nil
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, "", fmt.Errorf("lora: %s: %s must be a string or a list of strings", ConfigFile, key)
	}
	if list == nil {
		list = []string{}
	}
	for _, s := range list {
		if s == "" {
			return nil, "", fmt.Errorf("lora: %s: %s has an empty entry", ConfigFile, key)
		}
	}
	return list, "", nil
}

// compileFull compiles expr so that it must match a whole module name, as
// Python's re.fullmatch does. An empty expr gives nil.
func compileFull(key, expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		return nil, fmt.Errorf("lora: %s: %s regular expression %q: %v", ConfigFile, key, expr, err)
	}
	return re, nil
}

// parseLayers reads layers_to_transform: null, an index or a list of them.
func parseLayers(data json.RawMessage) ([]int, error) {
	if isNull(data) {
		return nil, nil
	}
	var one int
	if err := json.Unmarshal(data, &one); err == nil {
		data = []byte(fmt.Sprintf("[%d]", one))
	}
	var list []int
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("lora: %s: layers_to_transform must be an integer or a list of integers", ConfigFile)
	}
	if len(list) == 0 {
		return nil, nil // PEFT treats an empty list as "every layer"
	}
	for _, l := range list {
		if l < 0 {
			return nil, fmt.Errorf("lora: %s: layers_to_transform has a negative index %d", ConfigFile, l)
		}
	}
	return list, nil
}

// checkLayersPattern accepts only the layer naming of Qwen2 and Llama.
func checkLayersPattern(data json.RawMessage) error {
	if isNull(data) {
		return nil
	}
	list, str, err := parseNames("layers_pattern", data)
	if err != nil {
		return err
	}
	if str != "" {
		list = []string{str}
	}
	for _, p := range list {
		if p != "layers" {
			return fmt.Errorf("lora: %s: layers_pattern %q is not supported (the layers are model.layers)", ConfigFile, p)
		}
	}
	return nil
}

// parsePatterns reads rank_pattern and alpha_pattern, keeping file order:
// like PEFT, the first key that matches a module wins.
func parsePatterns(rankData, alphaData json.RawMessage) ([]RankOverride, []AlphaOverride, error) {
	var ranks []RankOverride
	var alphas []AlphaOverride
	kvs, err := orderedObject("rank_pattern", rankData)
	if err != nil {
		return nil, nil, err
	}
	for _, kv := range kvs {
		var r int
		if err := json.Unmarshal(kv.value, &r); err != nil || r <= 0 || r > 1<<20 {
			return nil, nil, fmt.Errorf("lora: %s: rank_pattern[%q] must be a positive integer", ConfigFile, kv.key)
		}
		re, err := compilePatternKey("rank_pattern", kv.key)
		if err != nil {
			return nil, nil, err
		}
		ranks = append(ranks, RankOverride{Key: kv.key, R: r, re: re})
	}
	if kvs, err = orderedObject("alpha_pattern", alphaData); err != nil {
		return nil, nil, err
	}
	for _, kv := range kvs {
		var a float64
		if err := json.Unmarshal(kv.value, &a); err != nil || math.IsNaN(a) || math.IsInf(a, 0) {
			return nil, nil, fmt.Errorf("lora: %s: alpha_pattern[%q] must be a finite number", ConfigFile, kv.key)
		}
		re, err := compilePatternKey("alpha_pattern", kv.key)
		if err != nil {
			return nil, nil, err
		}
		alphas = append(alphas, AlphaOverride{Key: kv.key, Alpha: a, re: re})
	}
	return ranks, alphas, nil
}

// compilePatternKey compiles a rank_pattern or alpha_pattern key the way
// PEFT's get_pattern_key uses it: re.match(rf"(.*\.)?({key})$", name), so
// a key matches a module whose name ends with the key after a dot, or is
// the key, and the key may be a regular expression.
func compilePatternKey(field, key string) (*regexp.Regexp, error) {
	if key == "" {
		return nil, fmt.Errorf("lora: %s: %s has an empty key", ConfigFile, field)
	}
	re, err := regexp.Compile(`^(?:.*\.)?(?:` + key + `)$`)
	if err != nil {
		return nil, fmt.Errorf("lora: %s: %s key %q is not a regular expression Go accepts: %v", ConfigFile, field, key, err)
	}
	return re, nil
}

type keyValue struct {
	key   string
	value json.RawMessage
}

// orderedObject returns the members of a JSON object in file order. A key
// given twice keeps its first position and its last value, as a Python
// dict does. null or absent gives nothing.
func orderedObject(field string, data json.RawMessage) ([]keyValue, error) {
	if isNull(data) {
		return nil, nil
	}
	bad := fmt.Errorf("lora: %s: %s must be an object", ConfigFile, field)
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, bad
	}
	var out []keyValue
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad
		}
		key, ok := tok.(string)
		if !ok {
			return nil, bad
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, bad
		}
		dup := false
		for i := range out {
			if out[i].key == key {
				out[i].value, dup = v, true
			}
		}
		if !dup {
			out = append(out, keyValue{key, v})
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, bad
	}
	return out, nil
}

// Rank returns the rank of the module with the given full name (for
// example "model.layers.3.self_attn.q_proj"): the value of the first
// rank_pattern key that matches it, else R.
func (c *Config) Rank(module string) int {
	for _, o := range c.RankPattern {
		if o.re.MatchString(module) {
			return o.R
		}
	}
	return c.R
}

// LoraAlpha returns the alpha of the module with the given full name: the
// value of the first alpha_pattern key that matches it, else Alpha.
func (c *Config) LoraAlpha(module string) float64 {
	for _, o := range c.AlphaPattern {
		if o.re.MatchString(module) {
			return o.Alpha
		}
	}
	return c.Alpha
}

// Scale returns the factor s of W' = W + s (B A) for the module with the
// given full name: alpha/r, or alpha/sqrt(r) with rsLoRA, after the rank
// and alpha patterns.
func (c *Config) Scale(module string) float64 {
	return scale(c.LoraAlpha(module), c.Rank(module), c.RSLoRA)
}

func scale(alpha float64, r int, rslora bool) float64 {
	if rslora {
		return alpha / math.Sqrt(float64(r))
	}
	return alpha / float64(r)
}

// Targets says whether the configuration targets the module with the given
// full name, as PEFT's check_target_module_exists decides it: a regular
// expression must match the whole name; a list entry must equal the name or
// be a "."-separated suffix of it, and then layers_to_transform, when set,
// must hold the module's layer index. exclude_modules wins over both.
func (c *Config) Targets(module string) bool {
	if c.excluded(module) {
		return false
	}
	if c.targetRe != nil {
		return c.targetRe.MatchString(module)
	}
	found := false
	for _, t := range c.TargetModules {
		if module == t {
			return true
		}
		if strings.HasSuffix(module, "."+t) {
			found = true
		}
	}
	if !found || c.LayersToTransform == nil {
		return found
	}
	layer, ok := layerIndex(module)
	if !ok {
		return false
	}
	for _, l := range c.LayersToTransform {
		if l == layer {
			return true
		}
	}
	return false
}

func (c *Config) excluded(module string) bool {
	if c.excludeRe != nil {
		return c.excludeRe.MatchString(module)
	}
	for _, t := range c.ExcludeModules {
		if module == t || strings.HasSuffix(module, "."+t) {
			return true
		}
	}
	return false
}

// layerIndexRe is PEFT's default layer index pattern, r".*\.[^.]*\.(\d+)\.".
var layerIndexRe = regexp.MustCompile(`^.*\.[^.]*\.(\d+)\.`)

// layerIndex returns the layer index in a module name such as
// "model.layers.12.mlp.up_proj".
func layerIndex(module string) (int, bool) {
	m := layerIndexRe.FindStringSubmatch(module)
	if m == nil || len(m[1]) > 7 {
		return 0, false
	}
	n := 0
	for _, ch := range m[1] {
		n = n*10 + int(ch-'0')
	}
	return n, true
}
