//go:build !amd64 || purego || noasm

package kernels

// asmImplementations returns no implementations: this build uses the
// portable kernels only.
func asmImplementations() []*implementation { return nil }
