package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/taskmatch/taskmatch/model"
)

// GPU is an accelerator found by NVML, or described by the user for a plan.
type GPU struct {
	Index      int    `json:"index"`
	Name       string `json:"name"`
	UUID       string `json:"uuid,omitempty"`
	TotalBytes int64  `json:"total_bytes"`
	FreeBytes  int64  `json:"free_bytes"`
}

// ParseGPUs reads a description such as "4x24GiB" or "24GiB,24GiB,16GiB" of
// GPUs with that much free memory, for planning without the hardware.
func ParseGPUs(s string) ([]GPU, error) {
	var gpus []GPU
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		count := 1
		if i := strings.IndexByte(part, 'x'); i > 0 {
			n, err := strconv.Atoi(part[:i])
			if err != nil || n <= 0 || n > 64 {
				return nil, fmt.Errorf("engine: bad GPU count in %q", part)
			}
			count, part = n, part[i+1:]
		}
		b, err := parseBytes(part)
		if err != nil {
			return nil, err
		}
		for range count {
			gpus = append(gpus, GPU{Index: len(gpus), Name: "planned", TotalBytes: b, FreeBytes: b})
		}
	}
	return gpus, nil
}

func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
		{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			v, err := strconv.ParseFloat(strings.TrimSuffix(s, u.suffix), 64)
			if err != nil || v <= 0 || v > 1<<50/u.mult {
				break
			}
			return int64(v * u.mult), nil
		}
	}
	return 0, fmt.Errorf("engine: bad memory size %q (want e.g. 24GiB)", s)
}

// Plan is a placement of the layers over GPUs: Layers[i] consecutive layers
// on GPUs[i], with the bytes each needs.
type Plan struct {
	GPUs   []GPU   `json:"gpus"`
	Layers []int   `json:"layers"`
	Bytes  []int64 `json:"bytes"`
}

// ErrDoesNotFit is returned by PlanLayers when the model does not fit.
var ErrDoesNotFit = errors.New("engine: the model does not fit the devices")

// PlanLayers spreads c's layers over gpus in order, in proportion to what
// each can hold after a reserve (for the CUDA context and workspace). Every
// layer costs its weights plus its KV cache for ctx positions and slots
// sequences; the first GPU also holds the embedding, the last the final
// norm, the output layer and the logits. weightBytes is the stored size of
// one decoder layer's weights, edgeBytes that of the embedding (and of the
// output layer when untied).
func PlanLayers(c *model.Config, layerWeightBytes, embedBytes, outputBytes int64, ctx, slots int, gpus []GPU, reserve int64) (*Plan, error) {
	if len(gpus) == 0 {
		return nil, errors.New("engine: no GPUs to plan for")
	}
	kvPerLayer := int64(ctx) * int64(slots) * 2 * int64(c.KVHeads*c.HeadDim) * 4
	perLayer := layerWeightBytes + kvPerLayer
	logits := int64(slots) * logitRows * int64(c.Vocab) * 4
	room := make([]int, len(gpus)) // layers each GPU can hold
	total := 0
	for i, g := range gpus {
		free := g.FreeBytes - reserve
		if i == 0 {
			free -= embedBytes
		}
		if i == len(gpus)-1 {
			free -= outputBytes + logits
		}
		if free > 0 {
			room[i] = int(free / perLayer)
		}
		total += room[i]
	}
	if total < c.Layers {
		return nil, fmt.Errorf("%w: %d layers of %d bytes each (weights and KV cache), room for %d",
			ErrDoesNotFit, c.Layers, perLayer, total)
	}
	// Share the layers in proportion to room, largest remainders first,
	// never above a GPU's room.
	p := &Plan{GPUs: gpus, Layers: make([]int, len(gpus)), Bytes: make([]int64, len(gpus))}
	assigned := 0
	rem := make([]int64, len(gpus))
	for i := range gpus {
		share := int64(c.Layers) * int64(room[i])
		p.Layers[i] = int(share / int64(total))
		rem[i] = share % int64(total)
		assigned += p.Layers[i]
	}
	for assigned < c.Layers {
		best := -1
		for i := range gpus {
			if p.Layers[i] < room[i] && (best < 0 || rem[i] > rem[best]) {
				best = i
			}
		}
		p.Layers[best]++
		rem[best] = -1
		assigned++
	}
	for i := range gpus {
		p.Bytes[i] = int64(p.Layers[i]) * perLayer
		if i == 0 {
			p.Bytes[i] += embedBytes
		}
		if i == len(gpus)-1 {
			p.Bytes[i] += outputBytes + logits
		}
	}
	return p, nil
}
