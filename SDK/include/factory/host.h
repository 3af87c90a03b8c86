/*
 * factory/host.h — what the host offers every plugin: the host-services table,
 * error reporting and byte streams.
 *
 * The host passes one `const factory_host_api_t *` to the plugin's init(). It
 * stays valid until the matching deinit() returns; a plugin stores it in one
 * global (like SQLite's SQLITE_EXTENSION_INIT2). The table is APPEND-ONLY:
 * before calling a member added after 1.0, check FACTORY_HOST_HAS.
 */
#ifndef FACTORY_HOST_H
#define FACTORY_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "tensor.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A byte sink (after CLAP's clap_ostream_t): the owner of `ctx` receives bytes
 * through write(). Used where a plugin returns variable-size data (JSON text),
 * so memory never changes owner.
 * write() returns the number of bytes accepted (all of them, or -1 on error).
 * Lifetime: [call]. Thread: the thread of the call that received it.
 */
typedef struct factory_ostream {
    void *ctx;
    int64_t (*write)(const struct factory_ostream *stream, const void *buffer, uint64_t size); /* [call] */
} factory_ostream_t;

/** A block for checkpoint(): computes *output from input with host ops; returns a status. Thread: [build]. */
typedef factory_status_t (*factory_checkpoint_fn)(void *userdata, factory_tensor_t *input, factory_tensor_t **output,
                                                  factory_error_t *err);

/**
 * The host-services table. Version and struct_size come first and never move.
 * Everything after `struct_size` is grouped by the ABI minor that added it.
 */
typedef struct factory_host_api {
    factory_version_t abi_version; /* the host's ABI version */
    uint32_t struct_size;          /* sizeof(factory_host_api_t) as the host was built */

    /* ---- since 1.0 ---- */

    /** Host program name and version, e.g. "factory", "0.1.0". Static strings. */
    const char *host_name;
    const char *host_version;

    /**
     * Writes one log line. `plugin_id` is the descriptor id or the plugin file's
     * name; `message` is UTF-8 without a trailing newline. Both are copied.
     * Thread: [thread-safe].
     */
    void (*log)(factory_log_level_t level, const char *plugin_id, const char *message);

    /**
     * Reports a failure: stores `status` and a copy of `message` (UTF-8, may be
     * NULL) in `err`. The host owns the copy; the plugin's buffer may be freed
     * right after the call. Calling it again on the same slot replaces the
     * message. `err` may be NULL, then nothing happens.
     * Thread: [call] (the thread of the call that received `err`).
     */
    void (*error_set)(factory_error_t *err, factory_status_t status, const char *message);

    /**
     * Allocates `size` bytes aligned to `alignment` (a power of two, at most
     * 4096; 0 means 16). Returns NULL on failure. Use it for buffers that change
     * owner; release with free() of this same table. Thread: [thread-safe].
     */
    void *(*alloc)(uint64_t size, uint64_t alignment);

    /** Releases memory from alloc(). NULL is ignored. Thread: [thread-safe]. */
    void (*free)(void *pointer);

    /**
     * True once the user asked to stop (Ctrl-C). Long-running plugin calls poll
     * it and return FACTORY_ERR_CANCELLED. Thread: [thread-safe].
     */
    bool (*is_cancelled)(void);

    /* ---- since 1.1: the engine (factory/tensor.h explains handles, scopes and the [build] rule) ---- */

    /** Opens a scope: handles returned after it are released by the matching scope_pop(). Thread: [build]. */
    void (*scope_push)(void);
    /** Closes the innermost scope, releasing its handles. Thread: [build]. */
    void (*scope_pop)(void);
    /** A new handle to `t` owned by the caller (survives scopes); NULL for NULL. Thread: [build]. */
    factory_tensor_t *(*tensor_retain)(factory_tensor_t *t);
    /** Releases a handle from tensor_retain(). NULL is ignored. Thread: [build]. */
    void (*tensor_release)(factory_tensor_t *t);

    /** A new tensor of `shape` (`rank` ≤ 8 entries ≥ 0) holding `data` (row-major, copied) or zeros when NULL. Thread: [build]. */
    factory_tensor_t *(*tensor_new)(const int64_t *shape, int32_t rank, const float *data, factory_error_t *err);
    /** Rank of `t` (-1 for NULL). Thread: [build]. */
    int32_t (*tensor_rank)(const factory_tensor_t *t);
    /** Size of dimension `axis` (negative counts from the end); -1 when out of range. Thread: [build]. */
    int64_t (*tensor_dim)(const factory_tensor_t *t, int32_t axis);
    /** Element count. Thread: [build]. */
    int64_t (*tensor_count)(const factory_tensor_t *t);
    /** The contiguous fp32 elements of `t`, valid while the handle is; NULL for a non-contiguous view. Thread: [build]. */
    float *(*tensor_data)(factory_tensor_t *t);
    /** Copies `count` (= element count) values of `t`, row-major, into `dst`. Thread: [build]. */
    factory_status_t (*tensor_read)(const factory_tensor_t *t, float *dst, uint64_t count, factory_error_t *err);
    /** Overwrites `t`'s values (not recorded: for initialising parameters). Thread: [build]. */
    factory_status_t (*tensor_write)(factory_tensor_t *t, const float *src, uint64_t count, factory_error_t *err);
    /** The accumulated gradient of a trainable tensor (scope handle), or NULL when none. Thread: [build]. */
    factory_tensor_t *(*tensor_grad)(factory_tensor_t *t);

    /** Makes a leaf tensor trainable (backward accumulates its gradient) under `name` (may be NULL). Thread: [build]. */
    factory_status_t (*mark_trainable)(factory_tensor_t *t, const char *name, factory_error_t *err);
    /**
     * Registers `t` as the parameter `name`, the weight linear(name, x) uses ([out, in]). Registering
     * one tensor under a second name (tie_word_embeddings) makes that name an alias the host reads
     * by name; a fine-tuning method may untie it (the alias then gets its own copy), so a family keeps
     * handles only to the name it registered first. Thread: [build].
     */
    factory_status_t (*param_register)(const char *name, factory_tensor_t *t, factory_error_t *err);
    /** Turns recording on or off (no_grad); returns the previous setting. Thread: [build]. */
    bool (*grad_enabled)(bool enabled);
    /** Back-propagates from a one-element `loss`; leaf gradients accumulate. Thread: [build]. */
    factory_status_t (*backward)(factory_tensor_t *loss, factory_error_t *err);
    /** Clears the gradient of `t`. Thread: [build]. */
    void (*zero_grad)(factory_tensor_t *t);

    /* Graph-building ops: each returns a scope handle, or NULL and fills err. */
    factory_tensor_t *(*add)(factory_tensor_t *a, factory_tensor_t *b, factory_error_t *err);   /* broadcasting; [build] */
    factory_tensor_t *(*sub)(factory_tensor_t *a, factory_tensor_t *b, factory_error_t *err); /* [build] */
    factory_tensor_t *(*mul)(factory_tensor_t *a, factory_tensor_t *b, factory_error_t *err); /* [build] */
    factory_tensor_t *(*div)(factory_tensor_t *a, factory_tensor_t *b, factory_error_t *err); /* [build] */
    factory_tensor_t *(*scale)(factory_tensor_t *x, float s, factory_error_t *err); /* [build] */
    factory_tensor_t *(*add_scalar)(factory_tensor_t *x, float s, factory_error_t *err); /* [build] */
    /** [..., M, K] · [..., K, N] or · [K, N]; transposed views go to sgemm by flag. Thread: [build]. */
    factory_tensor_t *(*matmul)(factory_tensor_t *a, factory_tensor_t *b, factory_error_t *err);
    factory_tensor_t *(*sum)(factory_tensor_t *x, factory_error_t *err); /* [build] */
    factory_tensor_t *(*mean)(factory_tensor_t *x, factory_error_t *err); /* [build] */
    factory_tensor_t *(*sum_axis)(factory_tensor_t *x, int32_t axis, bool keep_dim, factory_error_t *err); /* [build] */
    factory_tensor_t *(*reshape)(factory_tensor_t *x, const int64_t *shape, int32_t rank, factory_error_t *err); /* [build] */
    factory_tensor_t *(*permute)(factory_tensor_t *x, const int32_t *order, int32_t rank, factory_error_t *err); /* [build] */
    factory_tensor_t *(*transpose)(factory_tensor_t *x, int32_t axis_a, int32_t axis_b, factory_error_t *err); /* [build] */
    factory_tensor_t *(*slice)(factory_tensor_t *x, int32_t axis, int64_t start, int64_t length, factory_error_t *err); /* [build] */
    factory_tensor_t *(*concat)(factory_tensor_t *const *xs, int32_t n, int32_t axis, factory_error_t *err); /* [build] */
    factory_tensor_t *(*contiguous)(factory_tensor_t *x, factory_error_t *err); /* [build] */
    /** Rows `ids` (n entries in [0, V)) of weight [V, D] -> [n, D]. Thread: [build]. */
    factory_tensor_t *(*embedding)(factory_tensor_t *weight, const int64_t *ids, int64_t n, factory_error_t *err);
    factory_tensor_t *(*rms_norm)(factory_tensor_t *x, factory_tensor_t *weight, float eps, factory_error_t *err); /* [build] */
    factory_tensor_t *(*layer_norm)(factory_tensor_t *x, factory_tensor_t *weight, factory_tensor_t *bias, float eps, factory_error_t *err); /* [build] */
    /**
     * RoPE (rotate-half) on x [B, T, H, D] or [T, H, D]: T positions shared by the batch, or (since 1.8)
     * B · T, one row each; `half` inverse frequencies (scaled variants pass their own). Thread: [build].
     */
    factory_tensor_t *(*rope)(factory_tensor_t *x, const int64_t *positions, int64_t n_positions, const float *inv_freq,
                              int32_t half, float attention_scaling, factory_error_t *err);
    factory_tensor_t *(*silu)(factory_tensor_t *x, factory_error_t *err); /* [build] */
    factory_tensor_t *(*gelu_tanh)(factory_tensor_t *x, factory_error_t *err); /* [build] */
    factory_tensor_t *(*gelu_erf)(factory_tensor_t *x, factory_error_t *err); /* [build] */
    factory_tensor_t *(*swiglu)(factory_tensor_t *gate, factory_tensor_t *up, factory_error_t *err); /* [build] */
    factory_tensor_t *(*softmax)(factory_tensor_t *x, factory_error_t *err); /* [build] */
    factory_tensor_t *(*log_softmax)(factory_tensor_t *x, factory_error_t *err); /* [build] */
    /** Mean cross-entropy of logits [N, V] against N labels; -100 is ignored. Thread: [build]. */
    factory_tensor_t *(*cross_entropy)(factory_tensor_t *logits, const int64_t *labels, int64_t n, factory_error_t *err);
    factory_tensor_t *(*dropout)(factory_tensor_t *x, float p, uint64_t seed, factory_error_t *err); /* [build] */
    /**
     * The hookable linear: x · Wᵀ (+ b) where W is the parameter `name`.weight (or `name` itself) and b
     * the optional `name`.bias; routed to the chosen quantizer and fine-tuning method.
     * Thread: [build].
     */
    factory_tensor_t *(*linear)(const char *name, factory_tensor_t *x, factory_error_t *err);
    /** The hookable attention: q [B, Hq, T, D], k/v [B, Hkv, S, D]; mask additive, broadcastable to [B, Hq, T, S], or NULL. Thread: [build]. */
    factory_tensor_t *(*attention)(factory_tensor_t *q, factory_tensor_t *k, factory_tensor_t *v, factory_tensor_t *mask,
                                   const factory_attention_params_t *params, factory_error_t *err);
    /**
     * A plugin-supplied op: output of `out_shape` filled by `forward`; `backward`
     * (NULL = not differentiable) fills input gradients. `userdata` must stay
     * valid while the result or its tape lives.
     * Thread: [build].
     */
    factory_tensor_t *(*custom_op)(const char *name, factory_tensor_t *const *inputs, int32_t n_inputs, const int64_t *out_shape,
                                   int32_t out_rank, factory_custom_forward_fn forward, factory_custom_backward_fn backward,
                                   void *userdata, factory_error_t *err);

    /** torch.optim.AdamW. Thread: [build]. */
    factory_optimizer_t *(*optimizer_new)(double lr, double beta1, double beta2, double eps, factory_error_t *err);
    /** Adds a trainable tensor with its own weight decay and learning-rate multiplier. Thread: [build]. */
    factory_status_t (*optimizer_add)(factory_optimizer_t *opt, factory_tensor_t *t, double weight_decay, double lr_scale,
                                      factory_error_t *err);
    /** One step at learning rate `lr`. Thread: [build]. */
    factory_status_t (*optimizer_step)(factory_optimizer_t *opt, double lr, factory_error_t *err);
    /** Clears the gradients of every added tensor. Thread: [build]. */
    void (*optimizer_zero_grad)(factory_optimizer_t *opt);
    /** clip_grad_norm_ over the added tensors; returns the norm before clipping (-1 on error). Thread: [build]. */
    double (*optimizer_clip_grad_norm)(factory_optimizer_t *opt, double max_norm);
    /** Frees an optimizer. NULL is ignored. Thread: [build]. */
    void (*optimizer_free)(factory_optimizer_t *opt);

    /* Model loading and generation (since 1.1). */

    /**
     * The tensor called `name` in the loaded checkpoint (its name in the file: GGUF or safetensors),
     * as fp32 in row-major order with the checkpoint's own layout; NULL and no error when the
     * checkpoint has no such tensor. Valid inside a model family's load_weights().
     * Thread: [build].
     */
    factory_tensor_t *(*checkpoint_tensor)(const char *name, factory_error_t *err);
    /** "gguf" or "safetensors" while load_weights() runs, else "". Static string. Thread: [build]. */
    const char *(*checkpoint_format)(void);
    /**
     * Appends `k_new` and `v_new` ([B, Hkv, T, D]) to `layer` of `cache` and sets *k_all and *v_all
     * to that layer's keys and values so far ([B, Hkv, S, D], scope handles). In a forward_rows() call
     * (1.8) each row is appended at its own length and S is the longest row's: the keys past a row's
     * end are zeros that the mask hides.
     * Thread: [build].
     */
    factory_status_t (*kv_cache_update)(factory_kv_cache_t *cache, int32_t layer, factory_tensor_t *k_new,
                                         factory_tensor_t *v_new, factory_tensor_t **k_all, factory_tensor_t **v_all,
                                         factory_error_t *err);

    /**
     * Reports an intermediate tensor of a forward pass under `name` (e.g. "layer0_out",
     * "final_norm_out"). The host keeps it only while a capture is active (`factory score --dump`,
     * tests comparing with reference dumps); otherwise the call costs nothing. Thread: [build].
     */
    void (*observe)(const char *name, factory_tensor_t *t);

    /* ---- since 1.2: training ---- */

    /**
     * The parameter `name` of the model that is running (a base weight, or a tensor a fine-tuning
     * method added), as a scope handle; NULL and no error when there is none. Thread: [build].
     */
    factory_tensor_t *(*param_get)(const char *name, factory_error_t *err);
    /** x · wᵀ (+ bias) with explicit tensors (bias may be NULL): the dense op a fine-tuning method builds on. Thread: [build]. */
    factory_tensor_t *(*linear_with)(factory_tensor_t *x, factory_tensor_t *w, factory_tensor_t *bias, factory_error_t *err);
    /**
     * The base model's own linear for `name` (dense, or packed by the chosen quantizer), bypassing the
     * fine-tuning method: what a method's linear() calls for the frozen path. Thread: [build].
     */
    factory_tensor_t *(*linear_base)(const char *name, factory_tensor_t *x, factory_error_t *err);
    /**
     * Gradient checkpointing of a block (a decoder layer): sets *output from fn(userdata, input)
     * run without keeping its activations; backward runs fn again, recording, and back-propagates
     * through it. fn must be deterministic. Outside training (or with checkpointing off) fn runs
     * once, plainly. The host calls release(userdata) (may be NULL) when it no longer needs fn:
     * after the backward pass, or when the graph is dropped. fn's handles live in a scope the host
     * pushes around each call. Thread: [build].
     */
    factory_tensor_t *(*checkpoint)(factory_checkpoint_fn fn, void *userdata, void (*release)(void *userdata),
                                    factory_tensor_t *input, factory_error_t *err);

    /* ---- since 1.3 ---- */

    /**
     * Runs body(userdata, begin, end) over consecutive chunks of `grain` items (the last may be
     * shorter; grain < 1 counts as 1) that cover [0, count); the engine's threads (the run's
     * `threads:`) take chunks in turn, so uneven chunks balance. Returns when all have finished.
     * Chunks run concurrently: body must be thread-safe towards its userdata and must not call the
     * engine (tensor ops, scopes); plain memory and libc are fine; scratch memory is the body's own.
     * Thread: [thread-safe].
     */
    void (*parallel_for)(int64_t count, int64_t grain, void (*body)(void *userdata, int64_t begin, int64_t end), void *userdata);

    /**
     * Non-zero while a training micro-batch runs: a seed for its random choices (dropout masks),
     * the same during its forward pass and its backward pass (where checkpointed blocks are run
     * again), different for every micro-batch and step, and a function of (seed, step, micro-batch)
     * only, so a resumed run draws the same masks. 0 outside training (evaluation, generation): no
     * dropout then. Combine it with something per call site (a layer name) for independent masks.
     * Thread: [build].
     */
    uint64_t (*training_seed)(void);

    /* ---- since 1.11 ---- */

    /**
     * linear(names[i], x) for i in [0, count), into out[i]: the same tensors as `count` calls of
     * `linear`, in that order, but the host may run them as one product (decoding a quantized base: the
     * q, k and v projections of a layer, or its gate and up projections, as one split across the
     * engine's threads instead of one each). `names` holds `count` non-NULL strings, read during the
     * call only; `out` has room for `count` handles. On FACTORY_OK every out[i] is a scope handle; on an
     * error every out[i] is NULL and err names the first linear that failed. Thread: [build].
     */
    factory_status_t (*linears)(const char *const *names, int32_t count, factory_tensor_t *x, factory_tensor_t **out,
                                factory_error_t *err);

    /* ---- later minors append here ---- */
} factory_host_api_t;

/** FACTORY_TABLE_HAS (version.h) for the host table, kept under its 1.1 name. */
#define FACTORY_HOST_HAS(api, member) FACTORY_TABLE_HAS(api, member)

#ifdef __cplusplus
}
#endif

#endif /* FACTORY_HOST_H */
