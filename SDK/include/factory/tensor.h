/*
 * factory/tensor.h — the engine as plugins see it (since 1.1): opaque
 * tensor handles, scopes, custom ops and optimizer handles. The calls
 * themselves are members of factory_host_api_t (host.h, "since 1.1").
 *
 * Handles. A `factory_tensor_t *` is owned by the host. Every handle a call
 * returns belongs to the innermost open scope (scope_push / scope_pop) and is
 * released when that scope closes; tensor_retain() returns a second handle
 * that the plugin owns until tensor_release() (parameters, caches). Releasing
 * a handle never frees memory another handle or the autograd tape still uses.
 *
 * Tensors are fp32, row-major unless a view (reshape, permute, transpose,
 * slice) says otherwise; tensor_data() returns NULL for a non-contiguous view
 * (call contiguous() first). Shapes are int64 arrays of `rank` entries.
 *
 * Thread rule [build]: engine calls are made from the thread that called into
 * the plugin, never concurrently with other engine calls of the same run.
 * Failing calls return NULL (or a negative status) and fill `err`; the host
 * validates shapes before computing, so a wrong shape is an error, not a crash.
 */
#ifndef FACTORY_TENSOR_H
#define FACTORY_TENSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An fp32 tensor owned by the host. */
typedef struct factory_tensor factory_tensor_t;

/** A key/value cache owned by the host for one generation (see kv_cache_update in host.h). */
typedef struct factory_kv_cache factory_kv_cache_t;

/** An AdamW optimizer owned by the plugin that created it (free with optimizer_free). */
typedef struct factory_optimizer factory_optimizer_t;

/** What attention() is asked to compute (the engine's reference, or the chosen kernel). */
typedef struct factory_attention_params {
    uint32_t struct_size;
    float scale;              /* multiplies q·kᵀ, usually 1/sqrt(head_dim) */
    bool causal;              /* query i (at position i + S − T) sees keys j <= i + S − T */
    int32_t sliding_window;   /* 0 = none; else keys further back than this are hidden */
    float softcap;            /* 0 = none; else scores -> softcap · tanh(scores / softcap) */
} factory_attention_params_t;

/**
 * A custom op's forward: fills `output` (contiguous, shape fixed at creation)
 * from `inputs`. Pointers are [call]; use the host's tensor_data()/tensor_read().
 */
typedef factory_status_t (*factory_custom_forward_fn)(void *userdata, factory_tensor_t *const *inputs, int32_t n_inputs,
                                                      factory_tensor_t *output, factory_error_t *err);

/**
 * A custom op's backward: given `grad_output`, fills each non-NULL
 * `grad_inputs[i]` (contiguous, zero-filled, shaped like inputs[i]); entries
 * are NULL for inputs that need no gradient. Pointers are [call].
 */
typedef factory_status_t (*factory_custom_backward_fn)(void *userdata, factory_tensor_t *const *inputs, int32_t n_inputs,
                                                       factory_tensor_t *output, factory_tensor_t *grad_output,
                                                       factory_tensor_t *const *grad_inputs, factory_error_t *err);

#ifdef __cplusplus
}
#endif

#endif /* FACTORY_TENSOR_H */
