package kernels

import (
	"math"
	"strconv"
)

// DType is the element type of a weight matrix as stored on disk.
type DType uint8

// The element types a Mat can hold.
const (
	F32  DType = iota // IEEE 754 binary32
	F16               // IEEE 754 binary16
	BF16              // bfloat16: the top 16 bits of a binary32
)

// Size returns the number of bytes of one element of type d.
// It panics if d is not a known type.
func (d DType) Size() int {
	switch d {
	case F32:
		return 4
	case F16, BF16:
		return 2
	}
	panic("kernels: unknown dtype " + strconv.Itoa(int(d)))
}

// String returns the safetensors spelling of d: "F32", "F16" or "BF16".
func (d DType) String() string {
	switch d {
	case F32:
		return "F32"
	case F16:
		return "F16"
	case BF16:
		return "BF16"
	}
	return "DType(" + strconv.Itoa(int(d)) + ")"
}

// BF16ToF32 returns the float32 value of the bfloat16 h. The conversion is
// exact: h becomes the top 16 bits of the result.
func BF16ToF32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// F32ToBF16 returns f rounded to the nearest bfloat16, ties to even.
// Values too large for bfloat16 become infinities, and a NaN stays a NaN
// (quiet, with its sign kept).
func F32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN: keep it one after truncation
		return uint16(b>>16) | 0x0040
	}
	// Add half an ulp of the result, minus one unless the kept lsb is
	// odd, so that exact ties round to the even neighbour.
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// F16ToF32 returns the float32 value of the IEEE 754 half-precision h,
// including subnormals, infinities and NaNs. The conversion is exact.
func F16ToF32(h uint16) float32 {
	// Move exponent and mantissa into place and rebias the exponent
	// from 15 to 127; this is right for normal numbers. Infinities and
	// NaNs need the exponent raised to 255; zeros and subnormals are
	// built as 2^-14 + m*2^-24 and then have 2^-14 taken off, which is
	// exact.
	const expMask = 0x7c00 << 13
	o := uint32(h&0x7fff)<<13 + (127-15)<<23
	switch uint32(h&0x7fff) << 13 & expMask {
	case expMask:
		o += (128 - 16) << 23
	case 0:
		o += 1 << 23
		o = math.Float32bits(math.Float32frombits(o) - 0x1p-14)
	}
	return math.Float32frombits(o | uint32(h&0x8000)<<16)
}

// F32ToF16 returns f rounded to the nearest IEEE 754 half-precision value,
// ties to even. Values too large become infinities, values too small become
// subnormals or signed zeros, and a NaN stays a (quiet) NaN.
func F32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	mant := b & 0x7fffff

	if exp == 0xff { // infinity or NaN
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // biased half exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Subnormal or zero in half precision. Make the implicit bit
		// explicit and shift so that the result counts units of 2^-24.
		if e < -10 {
			return sign // below half the smallest subnormal
		}
		m := mant | 0x800000
		shift := uint(14 - e) // 13 for the mantissa width, plus 1-e
		return sign | uint16(roundShift(m, shift))
	}
	// Normal: round the 23-bit mantissa to 10 bits. A carry out of the
	// mantissa correctly bumps the exponent, up to infinity.
	v := uint32(e)<<10 | mant>>13
	rest := mant & 0x1fff
	if rest > 0x1000 || rest == 0x1000 && v&1 == 1 {
		v++
	}
	return sign | uint16(v)
}

// roundShift returns m >> shift rounded to nearest, ties to even.
func roundShift(m uint32, shift uint) uint32 {
	v := m >> shift
	rest := m & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rest > half || rest == half && v&1 == 1 {
		v++
	}
	return v
}
