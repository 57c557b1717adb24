//go:build cgo

package engine

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
)

// DiscoverGPUs lists the NVIDIA GPUs that NVML reports, with their free
// memory. Without a driver (or with no NVML library) it returns no GPUs and
// an error that says why; callers then run on the CPU.
func DiscoverGPUs() ([]GPU, error) {
	if ret := nvml.Init(); ret != nvml.SUCCESS {
		return nil, fmt.Errorf("engine: nvml: %v", nvml.ErrorString(ret))
	}
	defer nvml.Shutdown()
	n, ret := nvml.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("engine: nvml: device count: %v", nvml.ErrorString(ret))
	}
	var gpus []GPU
	for i := range n {
		d, ret := nvml.DeviceGetHandleByIndex(i)
		if ret != nvml.SUCCESS {
			return gpus, fmt.Errorf("engine: nvml: device %d: %v", i, nvml.ErrorString(ret))
		}
		g := GPU{Index: i}
		g.Name, _ = d.GetName()
		g.UUID, _ = d.GetUUID()
		if mem, ret := d.GetMemoryInfo(); ret == nvml.SUCCESS {
			g.TotalBytes, g.FreeBytes = int64(mem.Total), int64(mem.Free)
		}
		gpus = append(gpus, g)
	}
	return gpus, nil
}
