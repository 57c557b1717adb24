package engine

import (
	"errors"

	"github.com/taskmatch/taskmatch/model"
)

func mergeAdapters(w *model.Weights, dirs []string) error {
	if len(dirs) > 0 {
		return errors.New("engine: TEMPORARY: lora not wired yet")
	}
	return nil
}
