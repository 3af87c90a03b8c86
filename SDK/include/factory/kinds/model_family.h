/*
 * factory/kinds/model_family.h — kind "factory.model-family/1".
 *
 * A model family knows one architecture: its parameter table, how checkpoint
 * names map to it, its default LoRA targets and its KV-cache layout. The
 * descriptor's `features` list the HF `model_type`s and GGUF
 * `general.architecture` values it handles; the host finds a family through
 * them. create() receives {"hf_config": <config.json>} for a Hugging Face
 * directory or {"gguf": <metadata, without arrays longer than 1024>} for a
 * GGUF file; the family reads whichever it is given.
 */
#ifndef FACTORY_KINDS_MODEL_FAMILY_H
#define FACTORY_KINDS_MODEL_FAMILY_H

#include <stdint.h>

#include "../descriptor.h"
#include "../host.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A model family instance, bound to one model configuration. Thread: [instance]. */
typedef struct factory_model_family {
    factory_instance_t base;

    /**
     * Writes the model's description as one JSON object to `out`. The host checks it when the model
     * loads and refuses it in one line naming the key (docs/abi.md#model-family-describe):
     *
     *   "parameters"   required, non-empty: [{"name": "model.layers.0.self_attn.q_proj.weight",
     *                  "shape": [576, 576], "linear": true}, ...] — every parameter load_weights registers,
     *                  once each, under its Hugging Face checkpoint name. "linear": true marks a weight
     *                  forward() reads only through host->linear(module, x) with module = the name without
     *                  ".weight" (shape [out, in]): those are the LoRA targets and quantizer candidates, and
     *                  a LoRA target matches a module by its last dotted component(s) as PEFT does
     *                  ("q_proj" matches "model.layers.3.self_attn.q_proj"). The LM head must be named
     *                  "lm_head.weight" (the host's linear("lm_head") reads it, and training replaces that
     *                  call by its fused loss); it is not "linear".
     *   "vocab_size"   required, > 0: the logits' last dimension.
     *   "kv_cache"     required: {"layers": L, "kv_heads": H, "head_dim": D}, what forward() appends per
     *                  layer with host->kv_cache_update (k and v [batch, H, T, D], any strides).
     *   "context_length"  optional, >= 0 (0 or absent: unknown): bounds generation.
     *   "default_lora_targets"  optional: module names LoRA adapts when the config names none.
     *   "hf_config"    optional: the config.json a full fine-tune saves beside its weights (its
     *                  "tie_word_embeddings" says whether the head is tied).
     *   "final_logit_softcapping"  optional, >= 0 (0: none): the host applies cap * tanh(logits / cap)
     *                  to what forward() returns, and fuses it into the training loss; forward() must
     *                  not cap its own output.
     *
     * Any other key is refused (a misspelt optional key would otherwise do nothing). A tied LM head is
     * declared by registering the embeddings' tensor handle under "lm_head.weight" too (one tensor,
     * two names), never a copy.
     * Thread: [instance].
     */
    factory_status_t (*describe)(const struct factory_model_family *self, const factory_ostream_t *out,
                                 factory_error_t *err);

    /**
     * Maps one tensor name of a checkpoint in `format` ("gguf" or "safetensors") to the family's
     * parameter name and writes it to `out`, or writes nothing (FACTORY_OK) when the tensor is to be
     * dropped (rotary caches, say). For a name the family does not know it writes nothing and returns
     * FACTORY_ERR_NOT_FOUND with a message naming it: the host refuses such a checkpoint rather than
     * load it partly. Every "parameters" name maps to itself for "safetensors".
     * Thread: [instance].
     */
    factory_status_t (*map_checkpoint_name)(const struct factory_model_family *self, const char *format,
                                            const char *name, const factory_ostream_t *out,
                                            factory_error_t *err);

    /* ---- since 1.1 ---- */

    /**
     * Loads the weights: for each parameter, reads checkpoint tensors with host->checkpoint_tensor,
     * transforms them if the format needs it (llama.cpp's q/k row permutation, say), and registers
     * them with host->param_register under their Hugging Face names. Called once after create(),
     * inside a host scope; retain what must outlive it.
     * Thread: [instance].
     */
    factory_status_t (*load_weights)(const struct factory_model_family *self, factory_error_t *err);

    /**
     * The forward pass for `ids` ([batch, seq], row-major) at absolute `positions` (seq entries,
     * shared by the batch): sets *logits to a scope handle of [batch, seq, vocab]. `mask` is an
     * additive attention mask broadcastable to [batch, heads, seq, keys] or NULL (causal only);
     * `cache` is NULL when no KV cache is used (training, scoring).
     * Thread: [instance].
     */
    factory_status_t (*forward)(const struct factory_model_family *self, const int64_t *ids, int64_t batch, int64_t seq,
                                const int64_t *positions, factory_tensor_t *mask, factory_kv_cache_t *cache,
                                factory_tensor_t **logits, factory_error_t *err);

    /* ---- since 1.8 ---- */

    /**
     * forward() with one row of positions per batch row: `positions` holds batch · seq entries
     * (row-major, row b's tokens at positions[b·seq ..< (b+1)·seq]). The host calls it to decode
     * several sequences of different lengths in one pass (continuous batching): each row's KV cache
     * row has its own length (host->kv_cache_update appends each row at its own end and returns keys
     * up to the longest row), `mask` hides every row's keys past its own end, and the host's
     * attention() runs each row over its own keys only. So a family must pass the positions on to
     * host->rope (which takes batch · seq positions since 1.8) and anything else it derives from them
     * (a scaled RoPE's length) per row or from their maximum, and attend through host->attention.
     * NULL (or an older plugin): the host decodes such a family's sequences one at a time.
     * Thread: [instance].
     */
    factory_status_t (*forward_rows)(const struct factory_model_family *self, const int64_t *ids, int64_t batch,
                                     int64_t seq, const int64_t *positions, factory_tensor_t *mask,
                                     factory_kv_cache_t *cache, factory_tensor_t **logits, factory_error_t *err);
} factory_model_family_t;

#ifdef __cplusplus
}
#endif

#endif /* FACTORY_KINDS_MODEL_FAMILY_H */
