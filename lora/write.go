package lora

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unsafe"

	"github.com/taskmatch/taskmatch/kernels"
	"github.com/taskmatch/taskmatch/model"
)

// copiedFiles are the files besides config.json and the weights that a
// merged checkpoint takes over from its base when they exist.
var copiedFiles = []string{
	"generation_config.json",
	"tokenizer.json", "tokenizer.json.gz", "tokenizer_config.json", "special_tokens_map.json",
	"added_tokens.json", "vocab.json", "merges.txt", "tokenizer.model",
	"chat_template.jinja", "chat_template.json",
}

// WriteMerged writes w, the weights built from ck (typically after Merge),
// as a complete Hugging Face checkpoint in outDir: config.json with
// torch_dtype bfloat16, every tensor in bfloat16 (rounded to nearest, ties
// to even, which leaves bfloat16 weights unchanged) in safetensors files
// with the same names and the same tensor-to-file assignment as ck,
// model.safetensors.index.json when ck has one, and the tokenizer and
// generation files copied. When Merge untied a tied output layer, the
// config says tie_word_embeddings false and lm_head.weight is written
// next to the embedding.
//
// outDir is created if needed; it must not be ck's directory and must not
// already hold a config.json or safetensors files. ck must stay open while
// WriteMerged runs.
func WriteMerged(ck *model.Checkpoint, w *model.Weights, outDir string) error {
	if err := checkOutDir(ck.Dir, outDir); err != nil {
		return err
	}
	plan, err := tensorPlan(ck, w)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("lora: %w", err)
	}
	if err := writeConfig(ck.Dir, outDir, w); err != nil {
		return err
	}

	shards := map[string][]source{}
	var files []string
	for _, s := range plan {
		if _, ok := shards[s.file]; !ok {
			files = append(files, s.file)
		}
		shards[s.file] = append(shards[s.file], s)
	}
	weightMap := map[string]string{}
	var total int64
	for _, file := range files {
		n, err := writeShard(filepath.Join(outDir, file), shards[file])
		if err != nil {
			return err
		}
		total += n
		for _, s := range shards[file] {
			weightMap[s.name] = file
		}
	}
	if _, err := os.Stat(filepath.Join(ck.Dir, model.IndexFile)); err == nil {
		idx, _ := json.MarshalIndent(map[string]any{
			"metadata":   map[string]any{"total_size": total},
			"weight_map": weightMap,
		}, "", "  ")
		if err := os.WriteFile(filepath.Join(outDir, model.IndexFile), append(idx, '\n'), 0o644); err != nil {
			return fmt.Errorf("lora: %w", err)
		}
	}
	for _, name := range copiedFiles {
		if err := copyFile(filepath.Join(ck.Dir, name), filepath.Join(outDir, name)); err != nil {
			return err
		}
	}
	return nil
}

// checkOutDir refuses to write over the base or over another checkpoint.
func checkOutDir(base, out string) error {
	if out == "" {
		return errors.New("lora: no output directory")
	}
	ab, err1 := filepath.Abs(base)
	ao, err2 := filepath.Abs(out)
	if err1 == nil && err2 == nil && ab == ao {
		return fmt.Errorf("lora: output directory %s is the base checkpoint's directory", out)
	}
	if st1, err := os.Stat(base); err == nil {
		if st2, err := os.Stat(out); err == nil && os.SameFile(st1, st2) {
			return fmt.Errorf("lora: output directory %s is the base checkpoint's directory", out)
		}
	}
	entries, err := os.ReadDir(out)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lora: %w", err)
	}
	for _, e := range entries {
		if e.Name() == "config.json" || strings.HasSuffix(e.Name(), ".safetensors") {
			return fmt.Errorf("lora: output directory %s already holds %s; remove it or choose another", out, e.Name())
		}
	}
	return nil
}

// source is one tensor to write: its name, shard file, shape and where its
// values come from (a matrix or a vector of the merged weights).
type source struct {
	name  string
	file  string
	shape []int
	mat   kernels.Mat
	vec   []float32
	isMat bool
}

// tensorPlan maps every tensor of ck to its merged value in w, in shard
// order (by file, then by offset in the base file).
func tensorPlan(ck *model.Checkpoint, w *model.Weights) ([]source, error) {
	c := w.Config
	if c == nil || len(w.Layers) != c.Layers {
		return nil, errors.New("lora: weights do not match their config")
	}
	vals := map[string]source{
		"model.embed_tokens.weight": {mat: w.Embed, isMat: true},
		"model.norm.weight":         {vec: w.Norm},
	}
	if !w.Tied {
		vals["lm_head.weight"] = source{mat: w.Output, isMat: true}
	}
	for i := range w.Layers {
		l := &w.Layers[i]
		p := fmt.Sprintf("model.layers.%d.", i)
		vals[p+"input_layernorm.weight"] = source{vec: l.AttnNorm}
		vals[p+"post_attention_layernorm.weight"] = source{vec: l.MLPNorm}
		for _, m := range linearModules {
			lin, _ := w.Module(i, m)
			vals[model.ModulePath(i, m)+".weight"] = source{mat: lin.W, isMat: true}
			if lin.Bias != nil {
				vals[model.ModulePath(i, m)+".bias"] = source{vec: lin.Bias}
			}
		}
	}

	var plan []source
	embedFile := ""
	for _, name := range ck.Files {
		var ts []*model.Tensor
		for _, t := range ck.Tensors {
			if t.File == name {
				ts = append(ts, t)
			}
		}
		slices.SortFunc(ts, func(a, b *model.Tensor) int {
			if a.Begin != b.Begin {
				return int(a.Begin - b.Begin)
			}
			return strings.Compare(a.Name, b.Name)
		})
		for _, t := range ts {
			if strings.HasSuffix(t.Name, ".rotary_emb.inv_freq") {
				continue // recomputed by every loader
			}
			if t.Name == "lm_head.weight" && w.Tied {
				continue // tied: the embedding is the output layer
			}
			s, ok := vals[t.Name]
			if !ok {
				return nil, fmt.Errorf("lora: tensor %q of the base has no counterpart in the weights", t.Name)
			}
			delete(vals, t.Name)
			s.name, s.file = t.Name, name
			s.shape = slices.Clone(t.Shape)
			if err := s.check(); err != nil {
				return nil, err
			}
			plan = append(plan, s)
			if t.Name == "model.embed_tokens.weight" {
				embedFile = name
			}
		}
	}
	if s, ok := vals["lm_head.weight"]; ok && embedFile != "" {
		// Merge untied the output layer: store it beside the embedding.
		delete(vals, "lm_head.weight")
		s.name, s.file, s.shape = "lm_head.weight", embedFile, []int{s.mat.Rows, s.mat.Cols}
		plan = append(plan, s)
	}
	for name := range vals {
		return nil, fmt.Errorf("lora: weight %q is not in the base checkpoint", name)
	}
	return plan, nil
}

// check makes sure the value has the tensor's shape.
func (s *source) check() error {
	if s.isMat {
		if len(s.shape) != 2 || s.shape[0] != s.mat.Rows || s.shape[1] != s.mat.Cols {
			return fmt.Errorf("lora: tensor %q has shape %v, its merged matrix is [%d, %d]", s.name, s.shape, s.mat.Rows, s.mat.Cols)
		}
		return nil
	}
	if len(s.shape) != 1 || s.shape[0] != len(s.vec) {
		return fmt.Errorf("lora: tensor %q has shape %v, its merged vector has %d values", s.name, s.shape, len(s.vec))
	}
	return nil
}

// elements is the number of values of the tensor.
func (s *source) elements() int {
	if s.isMat {
		return s.mat.Rows * s.mat.Cols
	}
	return len(s.vec)
}

// writeShard writes tensors to path as bfloat16 safetensors, in order, and
// returns the size of the data section.
func writeShard(path string, tensors []source) (int64, error) {
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var off int64
	for _, t := range tensors {
		n := int64(t.elements()) * 2
		header[t.name] = map[string]any{"dtype": "BF16", "shape": t.shape, "data_offsets": []int64{off, off + n}}
		off += n
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return 0, fmt.Errorf("lora: %w", err)
	}
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("lora: %w", err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = binary.Write(bw, binary.LittleEndian, uint64(len(hj)))
	if err == nil {
		_, err = bw.Write(hj)
	}
	buf := make([]uint16, 0, 1<<16)
	for i := 0; err == nil && i < len(tensors); i++ {
		err = writeBF16(bw, &tensors[i], buf)
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("lora: writing %s: %w", path, err)
	}
	return off, nil
}

// writeBF16 writes the tensor's values as little-endian bfloat16, in
// chunks of cap(buf) values.
func writeBF16(w io.Writer, s *source, buf []uint16) error {
	if s.isMat && s.mat.DType == kernels.BF16 && len(s.mat.U16) > 0 {
		return writeU16(w, s.mat.U16)
	}
	n, chunk := s.elements(), cap(buf)
	var f32 []float32
	if s.isMat && s.mat.DType != kernels.F32 {
		f32 = make([]float32, s.mat.Cols)
	}
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		b := buf[:hi-lo]
		switch {
		case !s.isMat:
			for i, v := range s.vec[lo:hi] {
				b[i] = kernels.F32ToBF16(v)
			}
		case s.mat.DType == kernels.F32:
			for i, v := range s.mat.F32[lo:hi] {
				b[i] = kernels.F32ToBF16(v)
			}
		default: // F16: decode element by element through whole rows
			for i := range b {
				e := lo + i
				if e%s.mat.Cols == 0 || i == 0 {
					s.mat.Row(e/s.mat.Cols, f32)
				}
				b[i] = kernels.F32ToBF16(f32[e%s.mat.Cols])
			}
		}
		if err := writeU16(w, b); err != nil {
			return err
		}
	}
	return nil
}

// writeU16 writes v as little-endian bytes.
func writeU16(w io.Writer, v []uint16) error {
	if len(v) == 0 {
		return nil
	}
	if littleEndian {
		_, err := w.Write(unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 2*len(v)))
		return err
	}
	return binary.Write(w, binary.LittleEndian, v)
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// writeConfig copies the base's config.json with torch_dtype bfloat16 and,
// when the merge untied the output layer, tie_word_embeddings false. Other
// keys keep their values (in sorted order).
func writeConfig(baseDir, outDir string, w *model.Weights) error {
	data, err := os.ReadFile(filepath.Join(baseDir, "config.json"))
	if err != nil {
		return fmt.Errorf("lora: %w", err)
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("lora: base config.json: %v", err)
	}
	cfg["torch_dtype"] = json.RawMessage(`"bfloat16"`)
	if w.Config.TieEmbeddings && !w.Tied {
		cfg["tie_word_embeddings"] = json.RawMessage(`false`)
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("lora: %w", err)
	}
	if err := os.WriteFile(filepath.Join(outDir, "config.json"), append(out, '\n'), 0o644); err != nil {
		return fmt.Errorf("lora: %w", err)
	}
	return nil
}

// copyFile copies src to dst when src exists.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lora: %w", err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("lora: %w", err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("lora: copying %s: %w", src, err)
	}
	return nil
}
