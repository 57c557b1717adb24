package model

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/taskmatch/taskmatch/kernels"
)

// MaxHeaderBytes bounds the JSON header of a safetensors file.
const MaxHeaderBytes = 100 << 20

// TensorInfo describes one tensor of a safetensors file. Offsets are relative
// to the start of the data section, which follows the header.
type TensorInfo struct {
	Name  string
	DType kernels.DType
	Shape []int
	Begin int64 // first byte, relative to the data section
	End   int64 // one past the last byte
}

// Elements is the product of the shape (1 for a scalar).
func (t *TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// Header is a parsed and validated safetensors header.
type Header struct {
	Tensors  []TensorInfo      // sorted by Begin
	Metadata map[string]string // the "__metadata__" entry, may be nil
	DataOff  int64             // offset of the data section in the file (8 + header length)
}

// dtypeOf maps safetensors dtype names to kernel types.
func dtypeOf(s string) (kernels.DType, bool, bool) {
	switch s {
	case "F32":
		return kernels.F32, true, true
	case "F16":
		return kernels.F16, true, true
	case "BF16":
		return kernels.BF16, true, true
	case "F64", "I64", "I32", "I16", "I8", "U8", "U16", "U32", "U64", "BOOL", "F8_E4M3", "F8_E5M2":
		return 0, true, false
	}
	return 0, false, false
}

// ParseHeader parses the header at the start of a safetensors file of
// fileSize bytes whose first bytes are prefix (at least the 8-byte length and
// the whole header). It checks the size bounds, the dtypes, that byte lengths
// match shapes and that the tensors lie inside the file without overlapping.
func ParseHeader(prefix []byte, fileSize int64) (*Header, error) {
	if fileSize < 8 || len(prefix) < 8 {
		return nil, fmt.Errorf("model: file too short for a safetensors header (%d bytes)", fileSize)
	}
	n := binary.LittleEndian.Uint64(prefix[:8])
	if n > MaxHeaderBytes {
		return nil, fmt.Errorf("model: header length %d exceeds the limit of %d bytes", n, MaxHeaderBytes)
	}
	if int64(n) > fileSize-8 {
		return nil, fmt.Errorf("model: header length %d exceeds the file (%d bytes): file truncated?", n, fileSize)
	}
	if uint64(len(prefix)) < 8+n {
		return nil, fmt.Errorf("model: header needs %d bytes, got %d", 8+n, len(prefix))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(prefix[8:8+n], &raw); err != nil {
		return nil, fmt.Errorf("model: header JSON: %v", err)
	}
	h := &Header{DataOff: 8 + int64(n)}
	dataLen := fileSize - h.DataOff
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &h.Metadata); err != nil {
				return nil, fmt.Errorf("model: header __metadata__: %v", err)
			}
			continue
		}
		var e struct {
			DType   string  `json:"dtype"`
			Shape   []int64 `json:"shape"`
			Offsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("model: tensor %q: %v", name, err)
		}
		dt, known, ok := dtypeOf(e.DType)
		if !known {
			return nil, fmt.Errorf("model: tensor %q: unknown dtype %q", name, e.DType)
		}
		if !ok {
			return nil, fmt.Errorf("model: tensor %q: unsupported dtype %s (want F32, F16 or BF16)", name, e.DType)
		}
		if len(e.Offsets) != 2 {
			return nil, fmt.Errorf("model: tensor %q: data_offsets must have two entries", name)
		}
		t := TensorInfo{Name: name, DType: dt, Begin: e.Offsets[0], End: e.Offsets[1]}
		elems := int64(1)
		for _, d := range e.Shape {
			if d < 0 || d > math.MaxInt32 {
				return nil, fmt.Errorf("model: tensor %q: bad dimension %d", name, d)
			}
			if d != 0 && elems > math.MaxInt64/8/d {
				return nil, fmt.Errorf("model: tensor %q: shape %v overflows", name, e.Shape)
			}
			elems *= d
			t.Shape = append(t.Shape, int(d))
		}
		if t.Begin < 0 || t.End < t.Begin || t.End > dataLen {
			return nil, fmt.Errorf("model: tensor %q: data_offsets [%d, %d] outside the data section (%d bytes)", name, t.Begin, t.End, dataLen)
		}
		if want := elems * int64(dt.Size()); t.End-t.Begin != want {
			return nil, fmt.Errorf("model: tensor %q: %d bytes for shape %v of %s, want %d", name, t.End-t.Begin, e.Shape, e.DType, want)
		}
		h.Tensors = append(h.Tensors, t)
	}
	sort.Slice(h.Tensors, func(i, j int) bool {
		a, b := h.Tensors[i], h.Tensors[j]
		if a.Begin != b.Begin {
			return a.Begin < b.Begin
		}
		return a.Name < b.Name
	})
	for i := 1; i < len(h.Tensors); i++ {
		prev, cur := h.Tensors[i-1], h.Tensors[i]
		if cur.Begin < prev.End {
			return nil, fmt.Errorf("model: tensors %q and %q overlap", prev.Name, cur.Name)
		}
	}
	return h, nil
}

// File is a memory-mapped safetensors file. Tensor data slices point into
// the mapping and stay valid until Close.
type File struct {
	Path   string
	Header *Header
	data   []byte // the whole mapping
}

// OpenFile maps a safetensors file read-only and validates its header.
func OpenFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	size := st.Size()
	if size < 8 {
		return nil, fmt.Errorf("model: %s: file too short for safetensors (%d bytes)", path, size)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("model: mmap %s: %w", path, err)
	}
	h, err := ParseHeader(data, size)
	if err != nil {
		unix.Munmap(data)
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return &File{Path: path, Header: h, data: data}, nil
}

// Bytes returns the raw bytes of t, a tensor of this file.
func (f *File) Bytes(t *TensorInfo) []byte {
	off := f.Header.DataOff
	return f.data[off+t.Begin : off+t.End : off+t.End]
}

// Close unmaps the file. Slices obtained from it must not be used after.
func (f *File) Close() error {
	if f.data == nil {
		return nil
	}
	err := unix.Munmap(f.data)
	f.data = nil
	return err
}

// Tensor is a tensor of a checkpoint with its bytes (in a memory map, or on
// the heap after a conversion).
type Tensor struct {
	TensorInfo
	File string // the file it came from
	Data []byte
}

// Floats decodes the tensor into a new float32 slice. Use it for small
// tensors (norms, biases) only.
func (t *Tensor) Floats() []float32 {
	n := int(t.Elements())
	out := make([]float32, n)
	switch t.DType {
	case kernels.F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
	case kernels.BF16:
		for i := range out {
			out[i] = kernels.BF16ToF32(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
	case kernels.F16:
		for i := range out {
			out[i] = kernels.F16ToF32(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
	}
	return out
}

// Mat views a 2-D tensor [rows, cols] as a kernel matrix, in place when the
// bytes are suitably aligned and copied otherwise.
func (t *Tensor) Mat() kernels.Mat {
	rows, cols := t.Shape[0], t.Shape[1]
	m := kernels.Mat{DType: t.DType, Rows: rows, Cols: cols}
	n := rows * cols
	if n == 0 {
		return m
	}
	data := t.Data
	align := uintptr(t.DType.Size())
	if uintptr(unsafe.Pointer(&data[0]))%align != 0 {
		data = append(make([]byte, 0, len(data)+8)[:0], data...)
	}
	switch t.DType {
	case kernels.F32:
		m.F32 = unsafe.Slice((*float32)(unsafe.Pointer(&data[0])), n)
	default:
		m.U16 = unsafe.Slice((*uint16)(unsafe.Pointer(&data[0])), n)
	}
	return m
}
