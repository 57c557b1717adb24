// Package lora loads PEFT LoRA adapters (adapter_config.json and
// adapter_model.safetensors) and merges them into the weights of a Qwen2 or
// Llama checkpoint at load time.
//
// # Shapes
//
// Shapes are written in PyTorch's order, as in package kernels: a linear
// weight W is [out, in], lora_A is [r, in] and lora_B is [out, r], so the
// merged weight is
//
//	W' = W + s * (B @ A),  s = lora_alpha / r  (alpha / sqrt(r) with rsLoRA)
//
// with r and lora_alpha taken per module from rank_pattern and
// alpha_pattern when a key matches. The product and the sum are computed in
// float32 and rounded once to W's dtype.
//
// # Names
//
// Module names are the full names of torch's named_modules, such as
// "model.layers.3.self_attn.q_proj". target_modules, exclude_modules,
// layers_to_transform, rank_pattern and alpha_pattern are matched against
// them the way PEFT matches them. Tensor names carry PEFT's
// "base_model.model." prefix and may carry the ".default" adapter name.
//
// # Errors
//
// Everything read from an adapter is checked; what does not fit or is not
// supported (DoRA, fan_in_fan_out, LoRA on embeddings, resized
// vocabularies, unknown tensors, ...) is an error whose text starts with
// "lora: " and names the key or tensor. Nothing in the package panics on
// bad input.
package lora
