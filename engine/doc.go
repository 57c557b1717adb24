// Package engine runs the model: the forward pass, the KV cache, option
// scoring and the library API that embedders use.
//
// The forward pass (Net, Seq) is written once against the Backend interface.
// The CPU backend uses the kernels package on float32 activations with the
// weights in place; a backend for another device implements the same
// operations, and a Placement spreads consecutive layers over several
// backends (PlanLayers sizes such a placement from the GPUs' free memory,
// which DiscoverGPUs reads through NVML).
//
// Activations are row-major [n, dim] float32: n positions, one row each.
// A Seq holds a KV cache of [ctx, kv_heads*head_dim] per layer for keys and
// for values. Prompts run in steps of up to Options.Batch positions; a row's
// numbers do not depend on the step it falls in, so a prompt evaluated in
// chunks, or continued from a cached prefix, gives the same bits as one
// pass.
//
// Engine is the API: Load a checkpoint (merging PEFT adapters) or the
// built-in demo model, Score a prompt against a closed set of options, and
// Close. An option's score is the teacher-forced sum of the log-probabilities
// of its tokens followed by the end-of-turn token; the options run together
// as branches after the prompt (ForwardBranches), each attending to the
// prompt and to itself only. An Engine is safe for concurrent use.
package engine
