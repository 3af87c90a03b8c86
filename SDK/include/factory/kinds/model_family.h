/*
 * factory/kinds/model_family.h — kind "factory.model-family/1".
 *
 * A model family knows one architecture: its parameter table, how checkpoint
 * names map to it, its default LoRA targets and its KV-cache layout. The
 * descriptor's `features` list the HF `model_type`s and GGUF
 * `general.architecture` values it handles; the host finds a family through
 * them. create() receives the model's config.json (or the GGUF metadata turned
 * into the same keys). The engine issue appends build_forward().
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
     */
    factory_status_t (*describe)(const struct factory_model_family *self, const factory_ostream_t *out,
                                 factory_error_t *err);

    /**
     * Maps one tensor name of a checkpoint in `format` ("gguf" or
     * "safetensors") to the family's parameter name and writes it to `out`,
     * or writes nothing when the tensor is to be dropped. Also writes nothing
     * and returns FACTORY_ERR_NOT_FOUND for a name the family does not know.
     */
    factory_status_t (*map_checkpoint_name)(const struct factory_model_family *self, const char *format,
                                            const char *name, const factory_ostream_t *out,
                                            factory_error_t *err);
} factory_model_family_t;

#ifdef __cplusplus
}
#endif

#endif /* FACTORY_KINDS_MODEL_FAMILY_H */
