package gguf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/taskmatch/taskmatch/internal/ckptgen"
	"github.com/taskmatch/taskmatch/model"
)

// reader is a minimal GGUF parser for the tests: it reads the header, the
// metadata and the tensor descriptors, and knows where the data starts.
type reader struct {
	data []byte
	pos  int
}

type tensorInfo struct {
	name   string
	dims   []uint64
	typ    TensorType
	offset uint64
}

type parsed struct {
	version uint32
	kv      map[string]any
	keys    []string
	tensors []tensorInfo
	dataOff int
}

func (r *reader) u8() uint8   { r.pos++; return r.data[r.pos-1] }
func (r *reader) u16() uint16 { r.pos += 2; return binary.LittleEndian.Uint16(r.data[r.pos-2:]) }
func (r *reader) u32() uint32 { r.pos += 4; return binary.LittleEndian.Uint32(r.data[r.pos-4:]) }
func (r *reader) u64() uint64 { r.pos += 8; return binary.LittleEndian.Uint64(r.data[r.pos-8:]) }

func (r *reader) str() string {
	n := int(r.u64())
	r.pos += n
	return string(r.data[r.pos-n : r.pos])
}

func (r *reader) value(t ValueType) any {
	switch t {
	case TypeUint8:
		return r.u8()
	case TypeInt8:
		return int8(r.u8())
	case TypeUint16:
		return r.u16()
	case TypeInt16:
		return int16(r.u16())
	case TypeUint32:
		return r.u32()
	case TypeInt32:
		return int32(r.u32())
	case TypeFloat32:
		return math.Float32frombits(r.u32())
	case TypeBool:
		return r.u8() != 0
	case TypeString:
		return r.str()
	case TypeUint64:
		return r.u64()
	case TypeInt64:
		return int64(r.u64())
	case TypeFloat64:
		return math.Float64frombits(r.u64())
	case TypeArray:
		et := ValueType(r.u32())
		n := int(r.u64())
		out := make([]any, n)
		for i := range out {
			out[i] = r.value(et)
		}
		return out
	}
	panic(fmt.Sprintf("unknown value type %d", t))
}

func parse(t *testing.T, data []byte) *parsed {
	t.Helper()
	r := &reader{data: data}
	if string(data[:4]) != Magic {
		t.Fatalf("magic = %q, want %q", data[:4], Magic)
	}
	r.pos = 4
	p := &parsed{version: r.u32(), kv: map[string]any{}}
	nt, nkv := r.u64(), r.u64()
	for range nkv {
		k := r.str()
		p.kv[k] = r.value(ValueType(r.u32()))
		p.keys = append(p.keys, k)
	}
	for range nt {
		ti := tensorInfo{name: r.str()}
		nd := r.u32()
		for range nd {
			ti.dims = append(ti.dims, r.u64())
		}
		ti.typ = TensorType(r.u32())
		ti.offset = r.u64()
		p.tensors = append(p.tensors, ti)
	}
	align := DefaultAlignment
	if a, ok := p.kv["general.alignment"].(uint32); ok {
		align = int(a)
	}
	p.dataOff = (r.pos + align - 1) / align * align
	return p
}

func bytesTensor(name string, typ TensorType, dims []uint64, data []byte) *Tensor {
	return &Tensor{Name: name, Dims: dims, Type: typ, Write: func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}}
}

func TestWriteAndParseHeader(t *testing.T) {
	f := &File{}
	f.Add("general.architecture", "qwen2")
	f.Add("general.alignment", uint32(64))
	f.Add("u8", uint8(7))
	f.Add("i16", int16(-3))
	f.Add("f32", float32(1.5))
	f.Add("f64", 2.25)
	f.Add("b", true)
	f.Add("u64", uint64(1<<40))
	f.Add("strs", []string{"a", "", "héllo"})
	f.Add("i32s", []int32{1, -2, 3})
	f.Alignment = 64

	a := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12} // 3 F32 elements
	b := bytes.Repeat([]byte{0xab}, 2*2*5)             // [5, 2] BF16
	f.AddTensor(bytesTensor("a.weight", F32, []uint64{3}, a))
	f.AddTensor(bytesTensor("b.weight", BF16, []uint64{5, 2}, b))

	var buf bytes.Buffer
	n, err := f.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d bytes", n, buf.Len())
	}
	p := parse(t, buf.Bytes())

	if p.version != Version {
		t.Errorf("version = %d, want %d", p.version, Version)
	}
	want := map[string]any{
		"general.architecture": "qwen2", "general.alignment": uint32(64), "u8": uint8(7),
		"i16": int16(-3), "f32": float32(1.5), "f64": 2.25, "b": true, "u64": uint64(1 << 40),
		"strs": []any{"a", "", "héllo"}, "i32s": []any{int32(1), int32(-2), int32(3)},
	}
	if !reflect.DeepEqual(p.kv, want) {
		t.Errorf("metadata = %v, want %v", p.kv, want)
	}
	if p.keys[0] != "general.architecture" {
		t.Errorf("first key = %q, want general.architecture", p.keys[0])
	}

	wantT := []tensorInfo{{"a.weight", []uint64{3}, F32, 0}, {"b.weight", []uint64{5, 2}, BF16, 64}}
	if !reflect.DeepEqual(p.tensors, wantT) {
		t.Errorf("tensors = %+v, want %+v", p.tensors, wantT)
	}
	if p.dataOff%64 != 0 {
		t.Errorf("data offset %d not aligned to 64", p.dataOff)
	}
	if got := buf.Bytes()[p.dataOff : p.dataOff+len(a)]; !bytes.Equal(got, a) {
		t.Errorf("tensor a data = %v, want %v", got, a)
	}
	if got := buf.Bytes()[p.dataOff+64 : p.dataOff+64+len(b)]; !bytes.Equal(got, b) {
		t.Errorf("tensor b data = %x, want %x", got, b)
	}
	if wantLen := p.dataOff + 64 + 64; buf.Len() != wantLen {
		t.Errorf("file length = %d, want %d (padded to the alignment)", buf.Len(), wantLen)
	}
}

func TestWriteRejectsWrongSize(t *testing.T) {
	for _, size := range []int{11, 13} {
		f := &File{}
		f.AddTensor(bytesTensor("a", F32, []uint64{3}, make([]byte, size)))
		if _, err := f.WriteTo(io.Discard); err == nil {
			t.Errorf("%d bytes for a 12-byte tensor: no error", size)
		}
	}
}

func TestQKPermutation(t *testing.T) {
	c := &model.Config{Heads: 2, KVHeads: 1, HeadDim: 4}
	got := qkPermutation("llama", "self_attn.q_proj", c)
	// Per head: rows [x0 x1 y0 y1] become [x0 y0 x1 y1].
	want := []int{0, 2, 1, 3, 4, 6, 5, 7}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("q rows = %v, want %v", got, want)
	}
	if got := qkPermutation("llama", "self_attn.k_proj", c); len(got) != 4 {
		t.Errorf("k rows = %v, want 4 rows", got)
	}
	if got := qkPermutation("qwen2", "self_attn.q_proj", c); got != nil {
		t.Errorf("qwen2 q rows = %v, want nil", got)
	}
}

func TestRopeFreqs(t *testing.T) {
	c := &model.Config{HeadDim: 64, RopeTheta: 500000, RopeScaling: &model.RopeScaling{
		Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPos: 8192}}
	f := ropeFreqs(c)
	if len(f) != 32 {
		t.Fatalf("len = %d, want 32", len(f))
	}
	if f[0] != 1 || f[31] != 8 {
		t.Errorf("first, last = %g, %g; want 1, 8", f[0], f[31])
	}
	for i := 1; i < len(f); i++ {
		if f[i] < f[i-1] {
			t.Errorf("factors not increasing at %d: %g < %g", i, f[i], f[i-1])
		}
	}
}

// TestConvertLlama converts a small random Llama 3.1 checkpoint with the
// real tokenizer and checks names, shapes, the Q permutation and metadata.
func TestConvertLlama(t *testing.T) {
	dir := t.TempDir()
	spec := ckptgen.Spec{Arch: model.ArchLlama, Hidden: 16, Intermediate: 24, Layers: 1,
		Heads: 2, KVHeads: 1, Vocab: 128256, RopeTheta: 500000, Llama3Rope: true, Seed: 3}
	if err := spec.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tokenizer.json.gz", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join("../../tokenizer/testdata/llama3.1", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ck, err := model.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	f, err := Convert(ck, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	p := parse(t, buf.Bytes())

	for k, want := range map[string]any{
		"general.architecture":         "llama",
		"llama.block_count":            uint32(1),
		"llama.attention.head_count":   uint32(2),
		"tokenizer.ggml.pre":           "llama-bpe",
		"tokenizer.ggml.bos_token_id":  uint32(128000),
		"tokenizer.ggml.add_bos_token": true,
	} {
		if got := p.kv[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	if toks := p.kv["tokenizer.ggml.tokens"].([]any); len(toks) != 128256 || toks[128000] != "<|begin_of_text|>" {
		t.Errorf("tokens: len %d, [128000] = %v", len(toks), toks[128000])
	}

	byName := map[string]tensorInfo{}
	for _, ti := range p.tensors {
		byName[ti.name] = ti
	}
	for name, dims := range map[string][]uint64{
		"token_embd.weight":     {16, 128256},
		"output.weight":         {16, 128256},
		"rope_freqs.weight":     {4},
		"blk.0.attn_q.weight":   {16, 16},
		"blk.0.attn_k.weight":   {16, 8},
		"blk.0.ffn_down.weight": {24, 16},
		"output_norm.weight":    {16},
	} {
		if ti, ok := byName[name]; !ok || !reflect.DeepEqual(ti.dims, dims) || ti.typ != F32 {
			t.Errorf("%s: %+v, want dims %v F32", name, ti, dims)
		}
	}

	// Row 1 of the output q weight is source row 4 (= headDim/2).
	q := ck.Tensors["model.layers.0.self_attn.q_proj.weight"].Floats()
	off := p.dataOff + int(byName["blk.0.attn_q.weight"].offset)
	for col := range 16 {
		got := math.Float32frombits(binary.LittleEndian.Uint32(buf.Bytes()[off+4*(16+col):]))
		if got != q[4*16+col] {
			t.Fatalf("attn_q row 1 col %d = %g, want source row 4: %g", col, got, q[4*16+col])
		}
	}
}
