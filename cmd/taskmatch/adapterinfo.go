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
	s := a.Summary()
	var extra int64
	if len(s.TargetModules) > 0 {
		perModule := int64(s.Modules) / int64(len(s.TargetModules)) // adapted layers per module
		for _, m := range s.TargetModules {
			out, in := w.Config.ModuleShape(m)
			extra += int64(out) * int64(in) * 4 * perModule
		}
	}
	return s, extra, nil
}
