package engine

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/taskmatch/taskmatch/lora"
	"github.com/taskmatch/taskmatch/model"
)

// Merged dtype policies for Options.MergedDType.
const (
	MergedAuto = "auto" // float32 when it fits comfortably in memory, else the base dtype
	MergedF32  = "f32"  // float32: exactly what a float32 merge gives
	MergedBase = "base" // the base weights' dtype: half the memory for bf16 bases
)

// mergeAdapters merges PEFT LoRA adapters into w, in order, keeping the
// changed matrices in float32 or rounding them to the base dtype as policy
// says. It returns the dtype used and, for "auto", why.
func mergeAdapters(w *model.Weights, dirs []string, policy string) (string, string, error) {
	if len(dirs) == 0 {
		return "", "", nil
	}
	var adapters []*lora.Adapter
	var extra int64 // bytes of float32 copies of the changed matrices
	for _, dir := range dirs {
		a, err := lora.Load(dir)
		if err != nil {
			return "", "", err
		}
		if err := a.Check(w.Config); err != nil {
			return "", "", err
		}
		extra += a.F32Bytes()
		adapters = append(adapters, a)
	}
	keepF32, note := true, ""
	switch policy {
	case "", MergedAuto:
		avail, ok := memAvailable()
		switch {
		case !ok:
			keepF32 = extra <= 4<<30
			note = fmt.Sprintf("float32 copies of the changed matrices need %d MiB; available memory unknown", extra>>20)
		default:
			keepF32 = extra <= avail/2
			note = fmt.Sprintf("float32 copies of the changed matrices need %d MiB of %d MiB available", extra>>20, avail>>20)
		}
		if !keepF32 {
			note += ": merged in the base dtype (use --merged-dtype f32 to force float32)"
		}
	case MergedF32:
	case MergedBase:
		keepF32 = false
	default:
		return "", "", fmt.Errorf("engine: merged dtype %q (want auto, f32 or base)", policy)
	}
	for _, a := range adapters {
		if err := a.MergeWith(w, lora.MergeOptions{KeepF32: keepF32}); err != nil {
			return "", "", err
		}
	}
	if keepF32 {
		return MergedF32, note, nil
	}
	return MergedBase, note, nil
}

// memAvailable reads MemAvailable from /proc/meminfo.
func memAvailable() (int64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemAvailable:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return 0, false
			}
			return kb << 10, true
		}
	}
	return 0, false
}
