// IEEE half precision ↔ float for the block kernels' portable paths (GGUF stores block scales as fp16).
// Private to BlockProducts; both functions are exact where noted and pure.
#ifndef FACTORY_BLOCK_PRODUCTS_HALF_FLOAT_H
#define FACTORY_BLOCK_PRODUCTS_HALF_FLOAT_H

#include <stdint.h>
#include <string.h>

/// The float an fp16 holds (little-endian bytes at p); exact for every fp16, subnormals and nan included.
static inline float half_to_float(const uint8_t *p) {
    uint16_t h = (uint16_t)(p[0] | (p[1] << 8));
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF, bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            exponent = 127 - 15 + 1;
            while (!(mantissa & 0x400)) { mantissa <<= 1; exponent--; }
            bits = sign | (exponent << 23) | ((mantissa & 0x3FF) << 13);
        }
    } else if (exponent == 31) {
        bits = sign | 0x7F800000 | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// The fp16 bits of `f` into *out when fp16 holds f exactly (returns 1); 0 when it does not (too large,
/// too small, too many mantissa bits, inf or nan), *out untouched.
static inline int float_to_half_exact(float f, uint16_t *out) {
    uint32_t b;
    memcpy(&b, &f, 4);
    uint16_t sign = (uint16_t)((b >> 16) & 0x8000);
    int e = (int)((b >> 23) & 0xFF) - 127;
    uint32_t mantissa = b & 0x7FFFFF;
    if ((b & 0x7FFFFFFF) == 0) { *out = sign; return 1; }
    if (e > 15) return 0;  // beyond fp16's range, inf, nan
    if (e >= -14) {        // normal in fp16
        if (mantissa & 0x1FFF) return 0;
        *out = (uint16_t)(sign | ((e + 15) << 10) | (mantissa >> 13));
        return 1;
    }
    if (e < -24) return 0;  // below fp16's smallest subnormal (float subnormals included)
    uint32_t full = mantissa | 0x800000, shift = (uint32_t)(-(e + 1));  // value = full · 2^(e−23) = code · 2^−24
    if (full & ((1u << shift) - 1)) return 0;
    *out = (uint16_t)(sign | (full >> shift));
    return 1;
}
#endif
