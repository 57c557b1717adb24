// Package model reads Hugging Face checkpoints of Qwen2ForCausalLM and
// LlamaForCausalLM: config.json (Config), safetensors files (File, with
// every header checked and the data memory-mapped), sharded checkpoints
// through model.safetensors.index.json (Checkpoint), and the map from the
// checkpoint's tensor names to the weights of the forward pass (Weights).
//
// Shapes follow the checkpoint's row-major convention: a linear layer's
// weight is [out, in] and computes y = x W^T + b. With hidden = hidden_size,
// q = num_attention_heads*head_dim, kv = num_key_value_heads*head_dim and
// inter = intermediate_size, a layer holds q_proj [q, hidden], k_proj and
// v_proj [kv, hidden], o_proj [hidden, q], gate_proj and up_proj [inter,
// hidden], down_proj [hidden, inter], and two norm weights [hidden]; the
// embedding and lm_head are [vocab, hidden].
//
// Matrices stay in the file's dtype (bf16, f16 or f32) and are used in
// place from the memory map; only norm weights and biases are decoded to
// float32. Everything that comes from a file is validated and a problem is
// an error naming the file or tensor, never a panic.
package model
