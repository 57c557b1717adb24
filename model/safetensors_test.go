package model

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawFile builds a safetensors file from a header object and a data length.
func rawFile(t testing.TB, header map[string]any, dataLen int) []byte {
	t.Helper()
	hj, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 8, 8+len(hj)+dataLen)
	binary.LittleEndian.PutUint64(out, uint64(len(hj)))
	out = append(out, hj...)
	return append(out, make([]byte, dataLen)...)
}

func ent(dtype string, shape []int, b, e int) map[string]any {
	return map[string]any{"dtype": dtype, "shape": shape, "data_offsets": []int{b, e}}
}

func TestParseHeader(t *testing.T) {
	good := rawFile(t, map[string]any{
		"__metadata__": map[string]string{"format": "pt"},
		"a":            ent("BF16", []int{2, 3}, 0, 12),
		"b":            ent("F32", []int{3}, 12, 24),
	}, 24)
	h, err := ParseHeader(good, int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Tensors) != 2 || h.Tensors[0].Name != "a" || h.Metadata["format"] != "pt" {
		t.Errorf("header %+v", h)
	}
}

func TestParseHeaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header map[string]any
		data   int
		trunc  int // bytes cut from the end
		want   string
	}{
		{"truncated data", map[string]any{"a": ent("F32", []int{4}, 0, 16)}, 16, 8, "outside the data section"},
		{"overlap", map[string]any{"a": ent("F32", []int{4}, 0, 16), "b": ent("F32", []int{2}, 8, 16)}, 16, 0, "overlap"},
		{"out of range", map[string]any{"a": ent("F32", []int{4}, 16, 32)}, 16, 0, "outside the data section"},
		{"wrong length", map[string]any{"a": ent("F32", []int{5}, 0, 16)}, 16, 0, "want 20"},
		{"unknown dtype", map[string]any{"a": ent("Q4", []int{4}, 0, 16)}, 16, 0, "unknown dtype"},
		{"unsupported dtype", map[string]any{"a": ent("I64", []int{2}, 0, 16)}, 16, 0, "unsupported dtype"},
		{"negative dim", map[string]any{"a": ent("F32", []int{-4}, 0, 16)}, 16, 0, "bad dimension"},
		{"reversed offsets", map[string]any{"a": ent("F32", []int{0}, 8, 0)}, 16, 0, "outside"},
		{"one offset", map[string]any{"a": map[string]any{"dtype": "F32", "shape": []int{1}, "data_offsets": []int{0}}}, 4, 0, "two entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := rawFile(t, tc.header, tc.data)
			f = f[:len(f)-tc.trunc]
			_, err := ParseHeader(f, int64(len(f)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), "model: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
	// Header length beyond the file.
	f := rawFile(t, map[string]any{}, 0)
	binary.LittleEndian.PutUint64(f, 1<<20)
	if _, err := ParseHeader(f, int64(len(f))); err == nil || !strings.Contains(err.Error(), "exceeds the file") {
		t.Errorf("long header: %v", err)
	}
	if _, err := ParseHeader([]byte{1, 2}, 2); err == nil {
		t.Error("short file accepted")
	}
	bad := append(rawFile(t, map[string]any{}, 0)[:8], []byte("{not json")...)
	binary.LittleEndian.PutUint64(bad, 9)
	if _, err := ParseHeader(bad, int64(len(bad))); err == nil || !strings.Contains(err.Error(), "header JSON") {
		t.Errorf("bad json: %v", err)
	}
}

func TestOpenFileTruncated(t *testing.T) {
	dir := t.TempDir()
	f := rawFile(t, map[string]any{"a": ent("F32", []int{4}, 0, 16)}, 16)
	path := filepath.Join(dir, "model.safetensors")
	if err := os.WriteFile(path, f[:len(f)-4], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenFile(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("truncated file: %v", err)
	}
	if err := os.WriteFile(path, f[:3], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(path); err == nil {
		t.Error("3-byte file accepted")
	}
}

// FuzzParseHeader checks that no header crashes the parser and that every
// accepted header describes tensors inside the file that do not overlap.
func FuzzParseHeader(f *testing.F) {
	f.Add(rawFile(f, map[string]any{"a": ent("BF16", []int{2, 3}, 0, 12)}, 12))
	f.Add(rawFile(f, map[string]any{"__metadata__": map[string]string{"k": "v"}, "x": ent("F16", []int{}, 0, 2)}, 2))
	f.Add(rawFile(f, map[string]any{"a": ent("F32", []int{1}, 0, 4), "b": ent("F32", []int{1}, 2, 6)}, 8))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeader(data, int64(len(data)))
		if err != nil {
			return
		}
		dataLen := int64(len(data)) - h.DataOff
		var prevEnd int64
		for _, ti := range h.Tensors {
			if ti.Begin < prevEnd || ti.End > dataLen || ti.End-ti.Begin != ti.Elements()*int64(ti.DType.Size()) {
				t.Fatalf("accepted bad tensor %+v", ti)
			}
			prevEnd = ti.End
		}
	})
}
