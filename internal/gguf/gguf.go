// Package gguf writes GGUF version 3 files, the format llama.cpp loads, and
// converts Hugging Face checkpoints to it so that taskmatch can be compared
// with llama.cpp on the same weights.
//
// A GGUF file is, in little-endian order: the magic "GGUF", the version, the
// tensor count, the key/value count, the key/value pairs, one descriptor per
// tensor (name, dimensions, type, offset), padding to the alignment, and the
// tensor data, each tensor starting at a multiple of the alignment.
//
// Axis order: GGUF lists dimensions innermost first (ggml's ne[0] is the
// contiguous axis), the reverse of PyTorch and safetensors. A Hugging Face
// weight of shape [out, in] is therefore described as [in, out]; the bytes
// are the same.
package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// Version is the GGUF version this package writes.
const Version = 3

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the tensor data alignment in bytes when the file does
// not set general.alignment.
const DefaultAlignment = 32

// ValueType is the type tag of a metadata value.
type ValueType uint32

// Metadata value types, as numbered by the GGUF specification.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

// TensorType is a ggml tensor element type.
type TensorType uint32

// The ggml tensor types this package writes.
const (
	F32  TensorType = 0
	F16  TensorType = 1
	BF16 TensorType = 30
)

// Size is the size in bytes of one element of t.
func (t TensorType) Size() int {
	switch t {
	case F32:
		return 4
	case F16, BF16:
		return 2
	}
	panic(fmt.Sprintf("gguf: unsupported tensor type %d", t))
}

// String returns the ggml name of t.
func (t TensorType) String() string {
	switch t {
	case F32:
		return "F32"
	case F16:
		return "F16"
	case BF16:
		return "BF16"
	}
	return fmt.Sprintf("type%d", uint32(t))
}

// KV is one metadata pair. Value must be one of uint8, int8, uint16, int16,
// uint32, int32, float32, bool, string, uint64, int64, float64, or a slice
// of one of those (a GGUF array).
type KV struct {
	Key   string
	Value any
}

// Tensor describes one tensor to write. Dims are in ggml order (innermost
// first). Write must write exactly Bytes() bytes.
type Tensor struct {
	Name  string
	Dims  []uint64
	Type  TensorType
	Write func(w io.Writer) error
}

// Elements is the number of elements of t.
func (t *Tensor) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Bytes is the size of t's data in bytes.
func (t *Tensor) Bytes() uint64 { return t.Elements() * uint64(t.Type.Size()) }

// File is a GGUF file being assembled: metadata and tensors, written in the
// order they were added.
type File struct {
	KVs       []KV
	Tensors   []*Tensor
	Alignment int // 0 means DefaultAlignment
}

// Add appends a metadata pair.
func (f *File) Add(key string, value any) { f.KVs = append(f.KVs, KV{key, value}) }

// AddTensor appends a tensor.
func (f *File) AddTensor(t *Tensor) { f.Tensors = append(f.Tensors, t) }

func (f *File) align() uint64 {
	if f.Alignment <= 0 {
		return DefaultAlignment
	}
	return uint64(f.Alignment)
}

func padTo(n, a uint64) uint64 { return (n + a - 1) / a * a }

// WriteTo writes the whole file to w.
func (f *File) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	e := &encoder{w: bw}

	// Header: magic, version, tensor count, metadata count.
	e.raw([]byte(Magic))
	e.u32(Version)
	e.u64(uint64(len(f.Tensors)))
	e.u64(uint64(len(f.KVs)))
	for _, kv := range f.KVs {
		e.str(kv.Key)
		e.value(kv.Value)
	}

	// Tensor descriptors, with offsets relative to the start of the data.
	a := f.align()
	var off uint64
	for _, t := range f.Tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(off)
		off = padTo(off+t.Bytes(), a)
	}
	if e.err != nil {
		return cw.n, e.err
	}

	// The data section starts at the next multiple of the alignment.
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	e.zeros(padTo(uint64(cw.n), a) - uint64(cw.n))
	for _, t := range f.Tensors {
		if e.err != nil {
			break
		}
		lw := &limitCheck{w: bw, left: t.Bytes()}
		if err := t.Write(lw); err != nil {
			return cw.n, fmt.Errorf("gguf: tensor %s: %w", t.Name, err)
		}
		if lw.left != 0 {
			return cw.n, fmt.Errorf("gguf: tensor %s: wrote %d bytes too few", t.Name, lw.left)
		}
		e.zeros(padTo(t.Bytes(), a) - t.Bytes())
	}
	if e.err != nil {
		return cw.n, e.err
	}
	err := bw.Flush()
	return cw.n, err
}

// WriteFile writes f to path.
func (f *File) WriteFile(path string) error {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	if _, err := f.WriteTo(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// encoder writes little-endian GGUF primitives and remembers the first error.
type encoder struct {
	w   io.Writer
	err error
	buf [8]byte
}

func (e *encoder) raw(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], v)
	e.raw(e.buf[:4])
}

func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], v)
	e.raw(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.raw([]byte(s))
}

func (e *encoder) zeros(n uint64) {
	var z [64]byte
	for n > 0 {
		k := min(n, uint64(len(z)))
		e.raw(z[:k])
		n -= k
	}
}

// value writes a type tag and a value; slices become arrays.
func (e *encoder) value(v any) {
	switch x := v.(type) {
	case []string:
		e.u32(uint32(TypeArray))
		e.u32(uint32(TypeString))
		e.u64(uint64(len(x)))
		for _, s := range x {
			e.str(s)
		}
	case []int32:
		e.array(TypeInt32, len(x), func(i int) { e.u32(uint32(x[i])) })
	case []uint32:
		e.array(TypeUint32, len(x), func(i int) { e.u32(x[i]) })
	case []float32:
		e.array(TypeFloat32, len(x), func(i int) { e.u32(math.Float32bits(x[i])) })
	case []int64:
		e.array(TypeInt64, len(x), func(i int) { e.u64(uint64(x[i])) })
	default:
		t, ok := scalarType(v)
		if !ok {
			panic(fmt.Sprintf("gguf: unsupported metadata value type %T", v))
		}
		e.u32(uint32(t))
		e.scalar(v)
	}
}

func (e *encoder) array(t ValueType, n int, elem func(i int)) {
	e.u32(uint32(TypeArray))
	e.u32(uint32(t))
	e.u64(uint64(n))
	for i := range n {
		elem(i)
	}
}

func scalarType(v any) (ValueType, bool) {
	switch v.(type) {
	case uint8:
		return TypeUint8, true
	case int8:
		return TypeInt8, true
	case uint16:
		return TypeUint16, true
	case int16:
		return TypeInt16, true
	case uint32:
		return TypeUint32, true
	case int32:
		return TypeInt32, true
	case float32:
		return TypeFloat32, true
	case bool:
		return TypeBool, true
	case string:
		return TypeString, true
	case uint64:
		return TypeUint64, true
	case int64:
		return TypeInt64, true
	case float64:
		return TypeFloat64, true
	}
	return 0, false
}

func (e *encoder) scalar(v any) {
	switch x := v.(type) {
	case uint8:
		e.raw([]byte{x})
	case int8:
		e.raw([]byte{byte(x)})
	case uint16:
		binary.LittleEndian.PutUint16(e.buf[:2], x)
		e.raw(e.buf[:2])
	case int16:
		binary.LittleEndian.PutUint16(e.buf[:2], uint16(x))
		e.raw(e.buf[:2])
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		b := byte(0)
		if x {
			b = 1
		}
		e.raw([]byte{b})
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// limitCheck refuses writes past a tensor's declared size.
type limitCheck struct {
	w    io.Writer
	left uint64
}

func (l *limitCheck) Write(p []byte) (int, error) {
	if uint64(len(p)) > l.left {
		return 0, fmt.Errorf("gguf: %d bytes more than declared", uint64(len(p))-l.left)
	}
	l.left -= uint64(len(p))
	return l.w.Write(p)
}
