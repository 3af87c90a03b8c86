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
     * Writes the model's description as one JSON object to `out`:
     *   {"parameters": [{"name": "model.layers.0.self_attn.q_proj.weight",
     *                    "shape": [576, 576], "linear": true}, ...],
     *    "default_lora_targets": ["q_proj", "v_proj"],
     *    "kv_cache": {"layers": 30, "kv_heads": 3, "head_dim": 64}}
     * Names are Hugging Face checkpoint names.
     * Thread: [instance].
     */
    factory_status_t (*describe)(const struct factory_model_family *self, const factory_ostream_t *out,
                                 factory_error_t *err);

    /**
     * Maps one tensor name of a checkpoint in `format` ("gguf" or
     * "safetensors") to the family's parameter name and writes it to `out`,
     * or writes nothing when the tensor is to be dropped. Also writes nothing
     * and returns FACTORY_ERR_NOT_FOUND for a name the family does not know.
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
} factory_model_family_t;

#ifdef __cplusplus
}
#endif

#endif /* FACTORY_KINDS_MODEL_FAMILY_H */
