/*
 * factory/kinds/attention_kernel.h — kind "factory.attention-kernel/1".
 *
 * An attention kernel computes softmax(q kᵀ · scale + mask) v and its
 * backward. It declares what it supports; the host picks the highest-scoring
 * kernel that supports the run (ggml's backend score), or the one named by
 * `attention_kernel:`. The engine issue appends forward()/backward().
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

/** An attention kernel instance. Thread: [instance]. */
typedef struct factory_attention_kernel {
    factory_instance_t base;

    /** The instance's declaration. Never NULL; valid until destroy(). */
    const factory_attention_info_t *(*info)(const struct factory_attention_kernel *self);
} factory_attention_kernel_t;

#ifdef __cplusplus
}
#endif

#endif /* FACTORY_KINDS_ATTENTION_KERNEL_H */
