/*
 * factory/kinds/quantizer.h — kind "factory.quantizer/1".
 *
 * A quantizer packs fp32 weight matrices into its format and unpacks them
 * again. Matrices are row-major [rows, cols]; rows are independent, so any
 * row range can be unpacked on its own (the host unpacks tiles into a small
 * buffer feeding sgemm instead of the whole matrix). The descriptor's `name`
 * is the format users select ("nf4", "q4_1"); `features` may list aliases.
 * Since 1.4 the table ends with matmul_rows: a product straight from the packed rows, for the
 * few-row inputs of decoding (the host keeps the tile-and-sgemm path for
 * larger inputs and for backward). A host reads it only when the instance's
 * struct_size covers it, and a NULL pointer means "not provided".
 * Since 1.9 three more follow (prepare_rows_int8, matmul_rows_int8, release_rows_int8): the
 * same product from a layout the plugin builds once, with the inputs rounded to 8 bits per
 * 32-value block as llama.cpp decodes, for the integer dot products of the CPU.
 */
#ifndef FACTORY_KINDS_QUANTIZER_H
#define FACTORY_KINDS_QUANTIZER_H

#include <stdbool.h>
#include <stdint.h>

#include "../descriptor.h"
#include "../host.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a quantizer instance declares. Owned by the instance, valid until destroy(). */
typedef struct factory_quantizer_info {
    uint32_t struct_size;
    const char *format;      /* format name, e.g. "nf4" */
    uint32_t block_size;     /* values sharing one scale; 0 = one scale per row */
    double bits_per_weight;  /* storage cost including scales, e.g. 4.5 for q4_0 */
    bool trainable_base;     /* can a base stored in this format be trained? (false: adapters only, QLoRA) */
    bool mergeable;          /* can an adapter be merged back into this format? */
} factory_quantizer_info_t;

/** A quantizer instance, returned by its factory's create(). Thread: [instance]. */
typedef struct factory_quantizer {
    factory_instance_t base;

    /** The instance's declaration. Never NULL; valid until destroy(). Thread: [instance]. */
    const factory_quantizer_info_t *(*info)(const struct factory_quantizer *self);

    /**
     * Bytes needed to pack a [rows, cols] matrix into `*size`. Fails with
     * FACTORY_ERR_SHAPE_MISMATCH when `cols` does not suit the format.
     * Thread: [instance].
     */
    factory_status_t (*packed_size)(const struct factory_quantizer *self, uint64_t rows, uint64_t cols,
                                    uint64_t *size, factory_error_t *err);

    /**
     * Packs `src` ([rows, cols] fp32, [call]) into `dst` (`dst_size` bytes,
     * at least packed_size(); owned by the caller).
     */
    factory_status_t (*quantize)(const struct factory_quantizer *self, const float *src, uint64_t rows,
                                 uint64_t cols, uint8_t *dst, uint64_t dst_size, factory_error_t *err);

    /**
     * Unpacks rows [first_row, first_row + row_count) of a packed [rows, cols]
     * matrix (`packed`, `packed_size` bytes, [call]) into `dst`
     * ([row_count, cols] fp32, owned by the caller).
     */
    factory_status_t (*dequantize_rows)(const struct factory_quantizer *self, const uint8_t *packed,
                                        uint64_t packed_size, uint64_t rows, uint64_t cols, uint64_t first_row,
                                        uint64_t row_count, float *dst, factory_error_t *err);

    /* ---- since 1.4 ---- */

    /**
     * out[i, r - first_row] = sum_c x[i, c] * W[r, c] for i < n and r in [first_row,
     * first_row + row_count), with W the packed [rows, cols] matrix (`packed`,
     * `packed_size` bytes), read in place: no fp32 copy of W beyond a few rows.
     * `x` is [n, cols] fp32 (row stride cols); `out` has row stride `out_stride`
     * (>= row_count). All buffers are the caller's, [call]. Optional (NULL: the
     * host unpacks tiles into sgemm). Thread: [thread-safe] — the host calls it at once
     * from several threads on disjoint row ranges of one matrix; it writes only
     * the `out` entries of its range.
     */
    factory_status_t (*matmul_rows)(const struct factory_quantizer *self, const uint8_t *packed, uint64_t packed_size,
                                    uint64_t rows, uint64_t cols, const float *x, uint64_t n, uint64_t first_row,
                                    uint64_t row_count, float *out, uint64_t out_stride, factory_error_t *err);

    /* ---- since 1.9: products with 8-bit inputs, as llama.cpp decodes (all three or none) ---- */

    /**
     * Builds the plugin's own layout of a packed [rows, cols] matrix for matmul_rows_int8 (for
     * example rows interleaved so that several rows' block scales form one vector) and returns
     * it in `*prepared`, an opaque handle owned by the host until it passes it to
     * release_rows_int8; `*bytes` receives the memory the handle holds. `packed`
     * (`packed_size` bytes) is read during the call only. FACTORY_ERR_UNSUPPORTED for a
     * matrix the plugin cannot prepare (the host then keeps matmul_rows). Optional (NULL: no
     * 8-bit-input products). Thread: [thread-safe].
     */
    factory_status_t (*prepare_rows_int8)(const struct factory_quantizer *self, const uint8_t *packed, uint64_t packed_size,
                                          uint64_t rows, uint64_t cols, void **prepared, uint64_t *bytes,
                                          factory_error_t *err);

    /**
     * matmul_rows over a prepared matrix, with each 32-value block b of each input row first
     * rounded to int8 codes of step s_b = max|x_b| / 127 (llama.cpp's q8 activations): every
     * output lies within sum_b (s_b / 2) * sum_{c in b} |W[r, c]| of the exact product, plus fp32
     * rounding (`factory plugins check` verifies this bound), and an input row's outputs do not
     * depend on the other rows of the call (batched decoding equals one row at a time). An
     * input block holding inf or nan gives nan. Buffers as matmul_rows; `prepared` is a handle
     * from prepare_rows_int8 on this instance. Thread: [thread-safe] on disjoint row ranges.
     */
    factory_status_t (*matmul_rows_int8)(const struct factory_quantizer *self, const void *prepared, const float *x,
                                         uint64_t n, uint64_t first_row, uint64_t row_count, float *out,
                                         uint64_t out_stride, factory_error_t *err);

    /**
     * Frees a handle from prepare_rows_int8 (NULL is ignored). Thread: [instance] — no product on
     * the handle may be running.
     */
    void (*release_rows_int8)(const struct factory_quantizer *self, void *prepared);
} factory_quantizer_t;

#ifdef __cplusplus
}
#endif

#endif /* FACTORY_KINDS_QUANTIZER_H */
