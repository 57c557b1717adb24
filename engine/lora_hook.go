package engine

import (
	"github.com/taskmatch/taskmatch/lora"
	"github.com/taskmatch/taskmatch/model"
)

// mergeAdapters merges PEFT LoRA adapters into w, in order. With baseDType
// the changed matrices are rounded back to the base weights' dtype (half the
// memory); otherwise they stay float32, which reproduces a float32 merge
// exactly.
func mergeAdapters(w *model.Weights, dirs []string, baseDType bool) error {
	for _, dir := range dirs {
		a, err := lora.Load(dir)
		if err != nil {
			return err
		}
		if err := a.MergeWith(w, lora.MergeOptions{KeepF32: !baseDType}); err != nil {
			return err
		}
	}
	return nil
}
