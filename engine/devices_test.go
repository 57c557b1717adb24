package engine

import (
	"errors"
	"testing"

	"github.com/taskmatch/taskmatch/model"
)

func TestParseGPUs(t *testing.T) {
	g, err := ParseGPUs("4x24GiB")
	if err != nil || len(g) != 4 || g[3].FreeBytes != 24<<30 {
		t.Fatalf("4x24GiB: %v %v", g, err)
	}
	g, err = ParseGPUs("24GiB, 16GB")
	if err != nil || len(g) != 2 || g[1].FreeBytes != 16e9 {
		t.Fatalf("24GiB, 16GB: %v %v", g, err)
	}
	if g, err := ParseGPUs("2x512KiB"); err != nil || g[1].FreeBytes != 512<<10 {
		t.Errorf("2x512KiB: %v %v", g, err)
	}
	for _, bad := range []string{"", "4x", "0x24GiB", "24", "x24GiB", "-1GiB", "4x24PiB", "1e9TiB"} {
		if _, err := ParseGPUs(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// qwen7b is the shape of Qwen2-7B-Instruct.
var qwen7b = &model.Config{Hidden: 3584, Intermediate: 18944, Layers: 28, Heads: 28, KVHeads: 4,
	HeadDim: 128, Vocab: 152064}

func TestPlanLayers(t *testing.T) {
	c := qwen7b
	layer := int64(2 * (3584*3584*2 + 3584*512*2 + 3*3584*18944)) // bf16 bytes
	embed := int64(2 * 152064 * 3584)
	gpus, _ := ParseGPUs("4x24GiB")
	p, err := PlanLayers(c, layer, embed, embed, 4096, 1, gpus, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for i, n := range p.Layers {
		sum += n
		if p.Bytes[i] > gpus[i].FreeBytes {
			t.Errorf("GPU %d: %d bytes planned, %d free", i, p.Bytes[i], gpus[i].FreeBytes)
		}
	}
	if sum != 28 {
		t.Errorf("plan covers %d layers: %v", sum, p.Layers)
	}
	// Equal GPUs share the layers evenly.
	for _, n := range p.Layers {
		if n != 7 {
			t.Errorf("uneven plan %v", p.Layers)
			break
		}
	}
	// About 15 GiB of weights, KV cache and edges do not fit one 12 GiB GPU.

	one, _ := ParseGPUs("1x12GiB")
	if _, err := PlanLayers(c, layer, embed, embed, 4096, 1, one, 1<<30); !errors.Is(err, ErrDoesNotFit) {
		t.Errorf("12 GiB: %v", err)
	}
	// A small GPU gets fewer layers than a large one.
	mixed, _ := ParseGPUs("24GiB,8GiB")
	p, err = PlanLayers(c, layer, embed, embed, 4096, 1, mixed, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if p.Layers[0] <= p.Layers[1] || p.Layers[0]+p.Layers[1] != 28 {
		t.Errorf("mixed plan %v", p.Layers)
	}
}

func TestDiscoverGPUsWithoutDriver(t *testing.T) {
	// On a machine without an NVIDIA driver this must fail cleanly, not
	// crash; with one, it lists the GPUs.
	gpus, err := DiscoverGPUs()
	if err != nil {
		t.Logf("no GPUs: %v", err)
		return
	}
	for _, g := range gpus {
		if g.TotalBytes <= 0 {
			t.Errorf("GPU %d reports %d bytes", g.Index, g.TotalBytes)
		}
	}
}
