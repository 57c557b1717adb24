//go:build !cgo

package engine

import "errors"

// DiscoverGPUs needs NVML, which needs cgo: a build without cgo finds no
// GPUs and says so.
func DiscoverGPUs() ([]GPU, error) {
	return nil, errors.New("engine: built without cgo, so without NVML: no GPUs")
}
