/*
 * factory/kinds/attention_kernel.h — kind "factory.attention-kernel/1".
 *
 * An attention kernel computes softmax(q kᵀ · scale + mask) v and its
 * backward. It declares what it supports; the host picks the highest-scoring
 * kernel that supports the run (ggml's backend score), or the one named by
 * `attention_kernel:`, or what `flash_attn:` asks for.
 *
 * A kernel computes (since 1.3): forward() fills the output and whatever it keeps
 * for the backward pass (saved_size() floats: the probabilities for an eager
 * kernel, one log-sum-exp per query row for a flash kernel); backward() turns
 * the output gradient into dq, dk, dv. All buffers are plain contiguous fp32
 * arrays owned by the host, valid for the call ([call]); the kernel allocates
 * nothing that outlives a call. A kernel may split its work across the host's
 * threads with host->parallel_for.
 *
 * The rule every kernel computes (and `factory plugins check` verifies against
 * the host's reference): query i of sequence b sits at key position
 * p = i + kv_len − q_len; it sees key j when
 *   - causal is false or j <= p, and
 *   - sliding_window is 0 or p − j < sliding_window, and
 *   - segments is NULL, or segments[b·kv_len + j] != 0 and, when packed,
 *     segments[b·kv_len + j] == segments[b·kv_len + p] (p clamped to >= 0).
 * score_ij = scale · q_i·k_j, then softcap · tanh(score_ij / softcap) when
 * softcap > 0; out_i = Σ_j softmax_j(score_i)·v_j over the visible keys; a row
 * that sees no key is 0 (and passes no gradient). Query head h reads kv head
 * h / (q_heads / kv_heads).
 */
#ifndef FACTORY_KINDS_ATTENTION_KERNEL_H
#define FACTORY_KINDS_ATTENTION_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "../descriptor.h"
#include "../host.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a kernel supports. Owned by the instance, valid until destroy(). */
typedef struct factory_attention_info {
    uint32_t struct_size;
    int32_t score;            /* 0 = cannot run on this machine; higher wins among capable kernels */
    bool memory_efficient;    /* O(T) extra memory (what `flash_attn: fa2/sdpa` asks for) */
    bool causal;
    bool padding_mask;
    bool packed_sequences;    /* no attention across packed sample boundaries */
    bool grouped_query;       /* fewer kv heads than q heads, without repeating K/V */
    bool sliding_window;
    bool logit_softcap;
    bool backward;            /* can train */
    uint32_t max_head_dim;    /* 0 = any */
} factory_attention_info_t;

/**
 * One attention call (since 1.3). Layouts, all contiguous row-major fp32:
 * q [batch, q_heads, q_len, head_dim], k [batch, kv_heads, kv_len, head_dim],
 * v [batch, kv_heads, kv_len, value_dim], out [batch, q_heads, q_len, value_dim].
 * Lifetime: [call].
 */
typedef struct factory_attention_problem {
    uint32_t struct_size;
    int32_t batch, q_heads, kv_heads, q_len, kv_len, head_dim, value_dim;
    factory_attention_params_t params; /* scale, causal, sliding window, soft cap */
    /** [batch × kv_len] sample number of every key position, 0 = padding; NULL = every position is a token. */
    const int32_t *segments;
    /** Packed sequences (neat_packing): a query sees only keys of its own sample. */
    bool packed;
} factory_attention_problem_t;

/** An attention kernel instance. Thread: [instance]. */
typedef struct factory_attention_kernel {
    factory_instance_t base;

    /** The instance's declaration. Never NULL; valid until destroy(). Thread: [instance]. */
    const factory_attention_info_t *(*info)(const struct factory_attention_kernel *self);

    /* ---- since 1.3 ---- */

    /**
     * How many floats forward() keeps for backward() on `problem` (the host allocates them).
     * Negative = the kernel cannot run this problem (unsupported head size, ...); the message
     * then goes to `err`.
     * Thread: [instance].
     */
    int64_t (*saved_size)(struct factory_attention_kernel *self, const factory_attention_problem_t *problem, factory_error_t *err);

    /**
     * Computes `out` from q, k, v. When `saved` is not NULL it has saved_size() floats and the
     * kernel fills what its backward() needs; NULL means no backward will follow (inference).
     * Thread: [instance]; the kernel may use host->parallel_for inside.
     */
    factory_status_t (*forward)(struct factory_attention_kernel *self, const factory_attention_problem_t *problem,
                                const float *q, const float *k, const float *v, float *out, float *saved, factory_error_t *err);

    /**
     * Gradients: given forward's inputs, `out`, `saved` and the output gradient `dout` (shaped like
     * out), ADDS into dq, dk, dv (shaped like q, k, v; the host zero-fills them). Thread: [instance].
     */
    factory_status_t (*backward)(struct factory_attention_kernel *self, const factory_attention_problem_t *problem,
                                 const float *q, const float *k, const float *v, const float *out, const float *dout,
                                 const float *saved, float *dq, float *dk, float *dv, factory_error_t *err);
} factory_attention_kernel_t;

#ifdef __cplusplus
}
#endif

#endif /* FACTORY_KINDS_ATTENTION_KERNEL_H */
