package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// IndexFile is the name of the shard index of a sharded checkpoint.
const IndexFile = "model.safetensors.index.json"

// Checkpoint is an opened Hugging Face checkpoint directory: its config and
// every tensor of its safetensors files, memory-mapped.
type Checkpoint struct {
	Dir     string
	Config  *Config
	Tensors map[string]*Tensor
	Files   []string // safetensors file names, in load order
	files   []*File
}

// Open reads dir/config.json and the safetensors files: the shards listed by
// model.safetensors.index.json when it exists, else model.safetensors. A
// tensor the index lists in one shard but that sits in another, a missing
// shard, or a tensor that appears twice are errors.
func Open(dir string) (*Checkpoint, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	ck := &Checkpoint{Dir: dir, Config: cfg, Tensors: map[string]*Tensor{}}
	idxPath := filepath.Join(dir, IndexFile)
	var index map[string]string // tensor -> shard
	if data, err := os.ReadFile(idxPath); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(data, &idx); err != nil {
			return nil, fmt.Errorf("model: %s: %v", idxPath, err)
		}
		if len(idx.WeightMap) == 0 {
			return nil, fmt.Errorf("model: %s: empty weight_map", idxPath)
		}
		index = idx.WeightMap
		seen := map[string]bool{}
		for _, shard := range idx.WeightMap {
			if shard != filepath.Base(shard) || shard == "" || shard == "." || shard == ".." {
				return nil, fmt.Errorf("model: %s: bad shard name %q", idxPath, shard)
			}
			if !seen[shard] {
				seen[shard] = true
				ck.Files = append(ck.Files, shard)
			}
		}
		sort.Strings(ck.Files)
	} else if errors.Is(err, fs.ErrNotExist) {
		ck.Files = []string{"model.safetensors"}
	} else {
		return nil, fmt.Errorf("model: %w", err)
	}

	for _, name := range ck.Files {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			ck.Close()
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("model: missing safetensors file %s", path)
			}
			return nil, fmt.Errorf("model: %w", err)
		}
		f, err := OpenFile(path)
		if err != nil {
			ck.Close()
			return nil, err
		}
		ck.files = append(ck.files, f)
		for i := range f.Header.Tensors {
			info := f.Header.Tensors[i]
			if prev, dup := ck.Tensors[info.Name]; dup {
				ck.Close()
				return nil, fmt.Errorf("model: tensor %q appears in both %s and %s", info.Name, prev.File, name)
			}
			if index != nil && index[info.Name] != name {
				ck.Close()
				if index[info.Name] == "" {
					return nil, fmt.Errorf("model: tensor %q in %s is not listed in %s", info.Name, name, IndexFile)
				}
				return nil, fmt.Errorf("model: tensor %q is in %s but %s lists it in %s", info.Name, name, IndexFile, index[info.Name])
			}
			ck.Tensors[info.Name] = &Tensor{TensorInfo: info, File: name, Data: f.Bytes(&info)}
		}
	}
	for t, shard := range index {
		if _, ok := ck.Tensors[t]; !ok {
			ck.Close()
			return nil, fmt.Errorf("model: tensor %q listed in %s is missing from %s", t, IndexFile, shard)
		}
	}
	return ck, nil
}

// WeightBytes is the total size of the tensor data.
func (ck *Checkpoint) WeightBytes() int64 {
	var n int64
	for _, t := range ck.Tensors {
		n += t.End - t.Begin
	}
	return n
}

// Close unmaps every file. Weights built from the checkpoint must not be
// used after, except matrices that were copied out of the mapping.
func (ck *Checkpoint) Close() error {
	var first error
	for _, f := range ck.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	ck.files = nil
	return first
}
