/*
 * example_quantizer.c — a complete Factory plugin in one C file: a row-wise
 * absmax quantizer. Copy this folder, rename things, build with `make`, and
 * load the result with `factory plugins list --plugins ./example_quantizer.so`.
 *
 * Format "example_absmax": each row is one float32 scale (max |x| / QMAX)
 * followed by the row's values rounded to integers in [-QMAX, QMAX]:
 *   EXAMPLE_BITS=8: one int8 per value, QMAX = 127
 *   EXAMPLE_BITS=4: two values per byte (low nibble first, stored + 8), QMAX = 7
 * Build with -DEXAMPLE_BITS=4 to get a different plugin under the same name:
 * swapping the .so changes behaviour with no change to the host.
 *
 * The plugin exports one symbol (see exports.map), keeps the host table from
 * init(), reference-counts init()/deinit(), and reports every failure through
 * host->error_set() instead of crashing.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <factory/factory.h>

/* The name users select it by (quantizer: NAME); -DEXAMPLE_NAME='"nf4"' makes it stand in for nf4. */
#ifndef EXAMPLE_NAME
#define EXAMPLE_NAME "example_absmax"
#endif

#ifndef EXAMPLE_BITS
#define EXAMPLE_BITS 8
#endif

#if EXAMPLE_BITS == 8
static const int QMAX = 127;
#elif EXAMPLE_BITS == 4
static const int QMAX = 7;
#else
#error "EXAMPLE_BITS must be 8 or 4"
#endif

static const factory_host_api_t *host; /* valid between init() and the last deinit() */
static int init_count;

static factory_status_t fail(factory_error_t *err, factory_status_t status, const char *message) {
    if (host && host->error_set) host->error_set(err, status, message);
    return status;
}

/* Bytes of one packed row: the scale, then the values. */
static uint64_t row_bytes(uint64_t cols) {
    return sizeof(float) + (EXAMPLE_BITS == 8 ? cols : (cols + 1) / 2);
}

typedef struct example {
    factory_quantizer_t table;     /* first: the host sees this */
    factory_quantizer_info_t info;
} example_t;

static const factory_quantizer_info_t *example_info(const factory_quantizer_t *self) {
    return self ? &((const example_t *)self)->info : NULL;
}

static factory_status_t example_packed_size(const factory_quantizer_t *self, uint64_t rows, uint64_t cols, uint64_t *size,
                                            factory_error_t *err) {
    (void)self;
    if (!size) return fail(err, FACTORY_ERR_INVALID_ARGUMENT, "example_absmax: size pointer is NULL");
    if (cols == 0 || rows > UINT64_MAX / row_bytes(cols)) return fail(err, FACTORY_ERR_SHAPE_MISMATCH, "example_absmax: bad shape");
    *size = rows * row_bytes(cols);
    return FACTORY_OK;
}

static factory_status_t example_quantize(const factory_quantizer_t *self, const float *src, uint64_t rows, uint64_t cols,
                                         uint8_t *dst, uint64_t dst_size, factory_error_t *err) {
    uint64_t need = 0;
    factory_status_t s = example_packed_size(self, rows, cols, &need, err);
    if (s != FACTORY_OK) return s;
    if (!src || !dst) return fail(err, FACTORY_ERR_INVALID_ARGUMENT, "example_absmax: source or destination is NULL");
    if (dst_size < need) return fail(err, FACTORY_ERR_SHAPE_MISMATCH, "example_absmax: destination too small");
    for (uint64_t r = 0; r < rows; r++) {
        const float *x = src + r * cols;
        uint8_t *out = dst + r * row_bytes(cols);
        float amax = 0;
        for (uint64_t c = 0; c < cols; c++) amax = fmaxf(amax, fabsf(x[c]));
        float scale = amax / (float)QMAX;
        float inv = scale > 0 ? 1.0f / scale : 0;
        memcpy(out, &scale, sizeof scale);
        uint8_t *q = out + sizeof scale;
        if (EXAMPLE_BITS == 4) memset(q, 0, (cols + 1) / 2);
        for (uint64_t c = 0; c < cols; c++) {
            int v = (int)lrintf(x[c] * inv);
            v = v > QMAX ? QMAX : (v < -QMAX ? -QMAX : v);
            if (EXAMPLE_BITS == 8) q[c] = (uint8_t)(int8_t)v;
            else q[c / 2] |= (uint8_t)((v + 8) << (4 * (c % 2)));
        }
    }
    return FACTORY_OK;
}

static factory_status_t example_dequantize_rows(const factory_quantizer_t *self, const uint8_t *packed, uint64_t packed_size,
                                                uint64_t rows, uint64_t cols, uint64_t first_row, uint64_t row_count, float *dst,
                                                factory_error_t *err) {
    uint64_t need = 0;
    factory_status_t s = example_packed_size(self, rows, cols, &need, err);
    if (s != FACTORY_OK) return s;
    if (!packed || !dst) return fail(err, FACTORY_ERR_INVALID_ARGUMENT, "example_absmax: packed or destination is NULL");
    if (packed_size < need) return fail(err, FACTORY_ERR_SHAPE_MISMATCH, "example_absmax: packed buffer too small");
    if (first_row > rows || row_count > rows - first_row) return fail(err, FACTORY_ERR_INVALID_ARGUMENT, "example_absmax: rows out of range");
    for (uint64_t r = 0; r < row_count; r++) {
        const uint8_t *in = packed + (first_row + r) * row_bytes(cols);
        float scale;
        memcpy(&scale, in, sizeof scale);
        const uint8_t *q = in + sizeof scale;
        for (uint64_t c = 0; c < cols; c++) {
            int v = EXAMPLE_BITS == 8 ? (int)(int8_t)q[c] : (int)((q[c / 2] >> (4 * (c % 2))) & 0xF) - 8;
            dst[r * cols + c] = (float)v * scale;
        }
    }
    return FACTORY_OK;
}

static void example_destroy(const factory_instance_t *self) { free((void *)self); }

static const factory_descriptor_t DESCRIPTOR = {
    .struct_size = sizeof(factory_descriptor_t),
    .id = "org.example.quantizer.absmax",
    .name = EXAMPLE_NAME,
    .version = "1.0.0",
    .vendor = "Example Inc.",
    .description = "row-wise absmax integer quantizer (SDK template)",
    .features = NULL,
};

static uint32_t factory_count(void) { return init_count > 0 ? 1 : 0; }

static const factory_descriptor_t *factory_descriptor(uint32_t index) {
    return init_count > 0 && index == 0 ? &DESCRIPTOR : NULL;
}

/* Accepts only "{}" (with optional whitespace): this quantizer has no settings. */
static int is_empty_object(const char *json, uint64_t len) {
    uint64_t i = 0;
    while (i < len && (json[i] == ' ' || json[i] == '\n' || json[i] == '\t' || json[i] == '\r')) i++;
    if (i == len) return 1;
    if (json[i++] != '{') return 0;
    while (i < len && (json[i] == ' ' || json[i] == '\n' || json[i] == '\t' || json[i] == '\r')) i++;
    if (i == len || json[i++] != '}') return 0;
    while (i < len && (json[i] == ' ' || json[i] == '\n' || json[i] == '\t' || json[i] == '\r')) i++;
    return i == len;
}

static const factory_instance_t *factory_create(const char *name, const char *config_json, uint64_t config_len,
                                                factory_error_t *err) {
    if (!name || strcmp(name, DESCRIPTOR.name) != 0) {
        fail(err, FACTORY_ERR_NOT_FOUND, "example plugin: no quantizer of that name");
        return NULL;
    }
    if (config_json && !is_empty_object(config_json, config_len)) {
        fail(err, FACTORY_ERR_INVALID_ARGUMENT, "example_absmax: takes no config keys (expected {})");
        return NULL;
    }
    example_t *e = calloc(1, sizeof *e);
    if (!e) {
        fail(err, FACTORY_ERR_OUT_OF_MEMORY, "example_absmax: out of memory");
        return NULL;
    }
    e->table.base.struct_size = sizeof(factory_quantizer_t);
    e->table.base.plugin_data = e;
    e->table.base.destroy = example_destroy;
    e->table.info = example_info;
    e->table.packed_size = example_packed_size;
    e->table.quantize = example_quantize;
    e->table.dequantize_rows = example_dequantize_rows;
    e->info.struct_size = sizeof(factory_quantizer_info_t);
    e->info.format = DESCRIPTOR.name;
    e->info.block_size = 0; /* one scale per row */
    e->info.bits_per_weight = EXAMPLE_BITS; /* plus 32 bits per row for the scale */
    e->info.trainable_base = false;
    e->info.mergeable = true;
    return &e->table.base;
}

static const factory_factory_t FACTORY = {
    .struct_size = sizeof(factory_factory_t),
    .count = factory_count,
    .descriptor = factory_descriptor,
    .create = factory_create,
};

static factory_status_t entry_init(const factory_host_api_t *h, const char *plugin_path, factory_error_t *err) {
    (void)plugin_path;
    if (!h) return FACTORY_ERR_INVALID_ARGUMENT;
    if (h->abi_version.major != FACTORY_ABI_MAJOR) {
        /* cannot use h->error_set safely on a foreign major: just refuse */
        return FACTORY_ERR_UNSUPPORTED;
    }
    (void)err;
    if (init_count++ == 0) host = h;
    return FACTORY_OK;
}

static void entry_deinit(void) {
    if (init_count > 0 && --init_count == 0) host = NULL;
}

static const factory_factory_t *entry_get_factory(const char *kind_id) {
    return init_count > 0 && kind_id && strcmp(kind_id, FACTORY_KIND_QUANTIZER) == 0 ? &FACTORY : NULL;
}

static const factory_entry_t ENTRY = {
    .abi_version = FACTORY_VERSION_INIT,
    .struct_size = sizeof(factory_entry_t),
    .build_info = "c",
    .init = entry_init,
    .deinit = entry_deinit,
    .get_factory = entry_get_factory,
};

FACTORY_EXPORT const factory_entry_t *factory_plugin_entry(void) { return &ENTRY; }
