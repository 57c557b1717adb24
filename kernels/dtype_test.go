package kernels

import (
	"math"
	"testing"
)

func TestDType(t *testing.T) {
	tests := []struct {
		d    DType
		size int
		name string
	}{
		{F32, 4, "F32"},
		{F16, 2, "F16"},
		{BF16, 2, "BF16"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.Size(); got != tt.size {
				t.Errorf("Size() = %d, want %d", got, tt.size)
			}
			if got := tt.d.String(); got != tt.name {
				t.Errorf("String() = %q, want %q", got, tt.name)
			}
		})
	}
	mustPanic(t, func() { DType(9).Size() })
}

func TestBF16ToF32(t *testing.T) {
	tests := []struct {
		h    uint16
		want float32
	}{
		{0x3f80, 1},
		{0xc000, -2},
		{0x7f80, float32(math.Inf(1))},
		{0xff80, float32(math.Inf(-1))},
		{0x0001, 9.18354962e-41},
		{0x4780, 65536},
		{0x0000, 0},
	}
	for _, tt := range tests {
		if got := BF16ToF32(tt.h); got != tt.want {
			t.Errorf("BF16ToF32(%#04x) = %g, want %g", tt.h, got, tt.want)
		}
	}
	if got := BF16ToF32(0x0001); got == 0 {
		t.Errorf("BF16ToF32(0x0001) flushed to zero")
	}
	if got := BF16ToF32(0x7fc0); !math.IsNaN(float64(got)) {
		t.Errorf("BF16ToF32(0x7fc0) = %g, want NaN", got)
	}
}

func TestF32ToBF16(t *testing.T) {
	tests := []struct {
		name string
		f    uint32 // bits of the input
		want uint16
	}{
		{"one", 0x3f800000, 0x3f80},
		{"below half ulp", 0x3f807fff, 0x3f80},
		{"tie to even down", 0x3f808000, 0x3f80},
		{"tie to even up", 0x3f818000, 0x3f82},
		{"above half ulp", 0x3f808001, 0x3f81},
		{"negative tie", 0xbf808000, 0xbf80},
		{"overflow to inf", 0x7f7fffff, 0x7f80},
		{"inf", 0x7f800000, 0x7f80},
		{"subnormal", 0x00010000, 0x0001},
		{"minus zero", 0x80000000, 0x8000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := F32ToBF16(math.Float32frombits(tt.f)); got != tt.want {
				t.Errorf("F32ToBF16(%#08x) = %#04x, want %#04x", tt.f, got, tt.want)
			}
		})
	}
	t.Run("NaN", func(t *testing.T) {
		for _, bits := range []uint32{0x7fc00000, 0x7f800001, 0xff800001, 0x7fffffff} {
			got := F32ToBF16(math.Float32frombits(bits))
			if !math.IsNaN(float64(BF16ToF32(got))) || got&0x8000 != uint16(bits>>16)&0x8000 {
				t.Errorf("F32ToBF16(%#08x) = %#04x, want a NaN of the same sign", bits, got)
			}
		}
	})
	t.Run("round trip", func(t *testing.T) {
		for h := range 1 << 16 {
			f := BF16ToF32(uint16(h))
			if math.IsNaN(float64(f)) {
				continue
			}
			if got := F32ToBF16(f); got != uint16(h) {
				t.Fatalf("F32ToBF16(BF16ToF32(%#04x)) = %#04x", h, got)
			}
		}
	})
}

func TestF16(t *testing.T) {
	tests := []struct {
		h    uint16
		want float64
	}{
		{0x3c00, 1},
		{0xc000, -2},
		{0x7bff, 65504},
		{0x0001, 0x1p-24}, // smallest subnormal
		{0x03ff, 1023 * 0x1p-24},
		{0x0400, 0x1p-14}, // smallest normal
		{0x3555, 0.333251953125},
		{0x7c00, math.Inf(1)},
		{0xfc00, math.Inf(-1)},
		{0x8000, 0},
	}
	for _, tt := range tests {
		if got := F16ToF32(tt.h); float64(got) != tt.want {
			t.Errorf("F16ToF32(%#04x) = %g, want %g", tt.h, got, tt.want)
		}
	}
	if got := F16ToF32(0x8000); !math.Signbit(float64(got)) {
		t.Errorf("F16ToF32(0x8000) lost its sign")
	}

	t.Run("round trip", func(t *testing.T) {
		for h := range 1 << 16 {
			f := F16ToF32(uint16(h))
			got := F32ToF16(f)
			if math.IsNaN(float64(f)) {
				if got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
					t.Fatalf("F32ToF16(NaN from %#04x) = %#04x, not a NaN", h, got)
				}
				continue
			}
			if got != uint16(h) {
				t.Fatalf("F32ToF16(F16ToF32(%#04x)) = %#04x", h, got)
			}
		}
	})

	rounding := []struct {
		name string
		f    float64
		want uint16
	}{
		{"tie to even down", 1 + 0x1p-11, 0x3c00},
		{"tie to even up", 1 + 3*0x1p-11, 0x3c02},
		{"above tie", 1 + 0x1p-11 + 0x1p-20, 0x3c01},
		{"overflow", 65520, 0x7c00},
		{"largest below overflow", 65519, 0x7bff},
		{"subnormal tie down", 0x1p-25, 0x0000},
		{"subnormal above tie", 0x1p-25 + 0x1p-35, 0x0001},
		{"subnormal tie up", 3 * 0x1p-25, 0x0002},
		{"subnormal to normal", 0x1p-14 - 0x1p-26, 0x0400},
		{"underflow", 0x1p-30, 0x0000},
		{"negative underflow", -0x1p-30, 0x8000},
	}
	for _, tt := range rounding {
		t.Run(tt.name, func(t *testing.T) {
			if got := F32ToF16(float32(tt.f)); got != tt.want {
				t.Errorf("F32ToF16(%g) = %#04x, want %#04x", tt.f, got, tt.want)
			}
		})
	}

	// Every float32 rounds to one of its two half neighbours, the nearer.
	t.Run("nearest", func(t *testing.T) {
		r := newRand(1)
		for range 100000 {
			f := math.Float32frombits(r.Uint32())
			if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) || math.Abs(float64(f)) > 65504 {
				continue
			}
			h := F32ToF16(f)
			got := float64(F16ToF32(h))
			for _, nb := range []uint16{h - 1, h + 1} {
				if nb&0x7fff > 0x7bff || nb&0x8000 != h&0x8000 {
					continue
				}
				if d := math.Abs(float64(F16ToF32(nb)) - float64(f)); d < math.Abs(got-float64(f)) {
					t.Fatalf("F32ToF16(%g) = %#04x (%g), but %#04x is nearer", f, h, got, nb)
				}
			}
		}
	})
}

func BenchmarkF32ToBF16(b *testing.B) {
	x := randSlice(newRand(1), 4096)
	dst := make([]uint16, len(x))
	b.SetBytes(int64(4 * len(x)))
	for b.Loop() {
		for i, v := range x {
			dst[i] = F32ToBF16(v)
		}
	}
}

func BenchmarkF16ToF32(b *testing.B) {
	src := make([]uint16, 4096)
	for i, v := range randSlice(newRand(1), len(src)) {
		src[i] = F32ToF16(v)
	}
	dst := make([]float32, len(src))
	b.SetBytes(int64(2 * len(src)))
	for b.Loop() {
		decodeF16(dst, src)
	}
}
