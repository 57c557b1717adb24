package main

import (
	"github.com/taskmatch/taskmatch/lora"
	"github.com/taskmatch/taskmatch/model"
)

// adapterInfo loads an adapter, checks it against w and returns its summary
// and the bytes its merged matrices add (float32 copies of the changed
// matrices, the engine's default).
func adapterInfo(dir string, w *model.Weights) (any, int64, error) {
	a, err := lora.Load(dir)
	if err != nil {
		return nil, 0, err
	}
	if err := a.Check(w.Config); err != nil {
		return nil, 0, err
	}
	return a.Summary(), a.F32Bytes(), nil
}
