/*
 * factory/kinds/finetuning_method.h — kind "factory.finetuning-method/1".
 *
 * A fine-tuning method decides what trains: which base parameters stay
 * frozen, which train, and which new tensors it adds (LoRA's A and B). The
 * descriptor's `name` is what `finetuning_type:` selects. The method reaches
 * the model only through the host's `linear` hook and the parameter table:
 * the host creates the tensors plan() adds, makes them trainable, and routes
 * linear(name, x) for every name in "adapted_linears" to the method's linear().
 */
#ifndef FACTORY_KINDS_FINETUNING_METHOD_H
#define FACTORY_KINDS_FINETUNING_METHOD_H

#include <stdbool.h>
#include <stdint.h>

#include "../descriptor.h"
#include "../host.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a method declares. Owned by the instance, valid until destroy(). */
typedef struct factory_finetuning_method_info {
    uint32_t struct_size;
    bool trains_base;           /* does it update base weights? (full, freeze: yes; lora: no) */
    bool quantized_base_ok;     /* can it train on a base packed by a quantizer? */
    const char *adapter_format; /* what it saves: "peft" (adapter files) or "full" (model weights) */
} factory_finetuning_method_info_t;

/** A fine-tuning method instance, configured by its section of the run config. Thread: [instance]. */
typedef struct factory_finetuning_method {
    factory_instance_t base;

    /** The instance's declaration. Never NULL; valid until destroy(). Thread: [instance]. */
    const factory_finetuning_method_info_t *(*info)(const struct factory_finetuning_method *self);

    /**
     * Plans training for a model. `model_json` is the model family's
     * describe() output ([call]). Writes one JSON object to `out`:
     *   {"trainable": [base parameters the optimizer updates: a name, or (so the method says how the
     *                  file names it) {"name": ..., "saved_as": "name in the adapter file",
     *                  "untie": true|false, "also_saved_as": ["further names in the adapter file"]}],
     *    "added": [{"name": ..., "shape": [out, in], "init": "kaiming_uniform"|"zeros", "lr_scale": 1.0,
     *               "saved_as": "name in the adapter file"}],
     *    "adapted_linears": [names whose linear() the method computes],
     *    "adapter_config": {...}   (written as adapter_config.json when the method saves adapters)}
     * "kaiming_uniform" is U(-1/sqrt(in), 1/sqrt(in)) (PEFT's LoRA A), from the host's seeded generator.
     * A trainable given by name alone is saved under that name, or, for adapter_format "peft", under
     * "base_model.model." + name (what methods built before the object form relied on).
     * "untie" (since 1.5, default false): the parameter gets storage no other name shares (PEFT's
     * modules_to_save copy): of the names registered for one tensor (tied weights), the first registered
     * keeps it and every later one gets a frozen copy, so training one does not move its twin.
     * "also_saved_as" (since 1.5): the tensor is written under these names too (never read back).
     * When an adapter directory is applied, every added and trainable tensor is read from its saved
     * name; any other tensor in the file must be "base_model.model.<parameter>" and overwrites that
     * parameter (as PEFT loads it); anything else refuses the adapter.
     */
    factory_status_t (*plan)(const struct factory_finetuning_method *self, const char *model_json,
                             uint64_t model_len, const factory_ostream_t *out, factory_error_t *err);

    /* ---- since 1.2 ---- */

    /**
     * The adapted linear for a name plan() listed in "adapted_linears": sets *out to a scope handle of
     * x · Wᵀ plus the method's term, built from host ops (linear_base, param_get, linear_with, ...) so
     * that the host's tape differentiates it. Called inside forward passes. Thread: [instance].
     */
    factory_status_t (*linear)(const struct factory_finetuning_method *self, const char *name, factory_tensor_t *x,
                               factory_tensor_t **out, factory_error_t *err);
} factory_finetuning_method_t;

#ifdef __cplusplus
}
#endif

#endif /* FACTORY_KINDS_FINETUNING_METHOD_H */
