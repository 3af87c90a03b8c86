// Products of GGUF block rows with a few float input rows (see BlockProducts.h). Block layouts are
// ggml's (ggml-common.h): each format's decoder turns one 32-value stretch of a row into integer codes w,
// a float scale and a float offset, so that value_j = scale·w_j + offset.
//
// Each input block of 32 floats is split once per call into two int16 parts with the block's step
// h = max|x| / 32767: x = h·(high + low / 65534) + e, |e| ≤ h / 131068, about 2^-32 of the block's
// largest value, below fp32's own rounding of the dense product. The codes then meet both parts in
// exact int32 sums (|w| ≤ 4064 after a Q6_K sub-scale, four products per lane: no overflow), and
// a stretch's product is scale·h·(Σ w·high + Σ w·low / 65534) + offset·Σ x.
#include "BlockProducts.h"
#include "HalfFloat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define FBP_X86 1
#endif

int fbp_supports(int type) {
    switch (type) {
    case FBP_Q4_0: case FBP_Q4_1: case FBP_Q5_0: case FBP_Q5_1: case FBP_Q8_0:
    case FBP_Q2_K: case FBP_Q3_K: case FBP_Q4_K: case FBP_Q5_K: case FBP_Q6_K: return 1;
    default: return 0;
    }
}

/// One input row split for the integer sums: per 32-value block its two int16 parts, step and exact sum.
typedef struct {
    int16_t *high, *low;
    float *step, *sum, *half;  // half: the sums of each block's two 16-value halves (Q2_K's per-16 minima)
} prepared_input;

static void prepare(const float *x, int blocks, prepared_input p) {
    for (int b = 0; b < blocks; b++) {
        const float *v = x + 32 * b;
        float amax = 0, total = 0;
        for (int j = 0; j < 32; j++) {
            float a = fabsf(v[j]);
            amax = a > amax ? a : amax;
            total += v[j];
        }
        p.sum[b] = total;
        float first = 0, second = 0;
        for (int j = 0; j < 16; j++) { first += v[j]; second += v[16 + j]; }
        p.half[2 * b] = first;
        p.half[2 * b + 1] = second;
        if (!(amax > 0) || !isfinite(amax)) {  // zeros; inf or nan reach the output as nan
            p.step[b] = amax > 0 || amax != amax ? NAN : 0;
            memset(p.high + 32 * b, 0, 64);
            memset(p.low + 32 * b, 0, 64);
            continue;
        }
        float inverse = 32767.0f / amax;
        p.step[b] = amax / 32767.0f;
        for (int j = 0; j < 32; j++) {
            float scaled = v[j] * inverse, high = rintf(scaled);
            p.high[32 * b + j] = (int16_t)high;
            p.low[32 * b + j] = (int16_t)rintf((scaled - high) * 65534.0f);
        }
    }
}

// MARK: portable decoders: one 32-value stretch k of a row

/// Q4_K/Q5_K's packed 6-bit scale and minimum of sub-block j (ggml's get_scale_min_k4).
static void k4_scale_min(int j, const uint8_t *s, int *scale, int *minimum) {
    if (j < 4) {
        *scale = s[j] & 63;
        *minimum = s[j + 4] & 63;
    } else {
        *scale = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        *minimum = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/// value_j = scale·w_j + offset[j / 16]: each 16-value half has its own offset (Q2_K's minima differ per 16).
static void decode_stretch(int type, const uint8_t *row, int k, int16_t w[32], float *scale, float offset[2]) {
    offset[0] = offset[1] = 0;
    switch (type) {
    case FBP_Q8_0: {
        const uint8_t *b = row + 34 * k;
        *scale = half_to_float(b);
        for (int j = 0; j < 32; j++) w[j] = (int8_t)b[2 + j];
        break;
    }
    case FBP_Q4_0: case FBP_Q4_1: {
        int offsetBytes = type == FBP_Q4_1 ? 2 : 0;
        const uint8_t *b = row + (18 + offsetBytes) * k, *qs = b + 2 + offsetBytes;
        int zero = type == FBP_Q4_0 ? 8 : 0;
        *scale = half_to_float(b);
        if (type == FBP_Q4_1) offset[0] = offset[1] = half_to_float(b + 2);
        for (int j = 0; j < 16; j++) {
            w[j] = (int16_t)((qs[j] & 0xF) - zero);
            w[j + 16] = (int16_t)((qs[j] >> 4) - zero);
        }
        break;
    }
    case FBP_Q5_0: case FBP_Q5_1: {
        int offsetBytes = type == FBP_Q5_1 ? 2 : 0;
        const uint8_t *b = row + (22 + offsetBytes) * k, *qh = b + 2 + offsetBytes, *qs = qh + 4;
        uint32_t high = (uint32_t)qh[0] | ((uint32_t)qh[1] << 8) | ((uint32_t)qh[2] << 16) | ((uint32_t)qh[3] << 24);
        int zero = type == FBP_Q5_0 ? 16 : 0;
        *scale = half_to_float(b);
        if (type == FBP_Q5_1) offset[0] = offset[1] = half_to_float(b + 2);
        for (int j = 0; j < 16; j++) {
            w[j] = (int16_t)(((qs[j] & 0xF) | (((high >> j) & 1) << 4)) - zero);
            w[j + 16] = (int16_t)(((qs[j] >> 4) | (((high >> (j + 16)) & 1) << 4)) - zero);
        }
        break;
    }
    case FBP_Q4_K: {
        const uint8_t *b = row + 144 * (k / 8);
        int sub = k % 8, sc, m;
        k4_scale_min(sub, b + 4, &sc, &m);
        *scale = half_to_float(b) * (float)sc;
        offset[0] = offset[1] = -half_to_float(b + 2) * (float)m;
        const uint8_t *qs = b + 16 + 32 * (sub / 2);
        for (int j = 0; j < 32; j++) w[j] = (int16_t)(sub % 2 ? qs[j] >> 4 : qs[j] & 0xF);
        break;
    }
    case FBP_Q5_K: {  // Q4_K's scales; the fifth bit of value 64c + l in bit 2c of qh[l], of 64c + 32 + l in bit 2c + 1
        const uint8_t *b = row + 176 * (k / 8);
        int sub = k % 8, sc, m;
        k4_scale_min(sub, b + 4, &sc, &m);
        *scale = half_to_float(b) * (float)sc;
        offset[0] = offset[1] = -half_to_float(b + 2) * (float)m;
        const uint8_t *qh = b + 16, *qs = b + 48 + 32 * (sub / 2);
        for (int j = 0; j < 32; j++) w[j] = (int16_t)((sub % 2 ? qs[j] >> 4 : qs[j] & 0xF) | (((qh[j] >> sub) & 1) << 4));
        break;
    }
    case FBP_Q2_K: {  // 16 sub-blocks of 16, a 4-bit scale (low nibble) and minimum (high) each; value 128h + 32s + l in bits 2s of qs[32h + l]
        const uint8_t *b = row + 84 * (k / 8);
        int t = k % 8, h = t / 4, s = t % 4;  // the stretch is values 128h + 32s … + 31: sub-blocks 2t and 2t + 1
        float dmin = half_to_float(b + 82);
        const uint8_t *qs = b + 16 + 32 * h;
        int sc[2] = {b[2 * t] & 0xF, b[2 * t + 1] & 0xF};
        *scale = half_to_float(b + 80);  // each half's own scale folded into its codes (≤ 3 · 15)
        offset[0] = -dmin * (float)(b[2 * t] >> 4);
        offset[1] = -dmin * (float)(b[2 * t + 1] >> 4);
        for (int j = 0; j < 32; j++) w[j] = (int16_t)(((qs[j] >> (2 * s)) & 3) * sc[j / 16]);
        break;
    }
    case FBP_Q3_K: {  // 16 sub-blocks of 16: 6-bit signed scales; value 32b + m's third bit in bit b of hmask[m], low bits as Q2_K's
        const uint8_t *b = row + 110 * (k / 8);
        int t = k % 8, h = t / 4, s = t % 4;
        const uint8_t *hmask = b, *qs = b + 32 + 32 * h, *sc = b + 96;
        int scales[2];
        for (int half = 0; half < 2; half++) {
            int j = 2 * t + half;
            int low = j < 8 ? sc[j] & 0xF : sc[j - 8] >> 4;
            scales[half] = (low | (((sc[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) - 32;
        }
        *scale = half_to_float(b + 108);
        for (int j = 0; j < 32; j++) {
            int code = ((qs[j] >> (2 * s)) & 3) - (((hmask[j] >> (4 * h + s)) & 1) ? 0 : 4);
            w[j] = (int16_t)(code * scales[j / 16]);
        }
        break;
    }
    case FBP_Q6_K: {
        const uint8_t *b = row + 210 * (k / 8);
        int chunk = (k % 8) / 4, t = k % 4;
        const uint8_t *ql = b + 64 * chunk + (t % 2 ? 32 : 0), *qh = b + 128 + 32 * chunk;
        const int8_t *sc = (const int8_t *)(b + 192) + 8 * chunk + 2 * t;
        *scale = half_to_float(b + 208);
        for (int j = 0; j < 32; j++) {
            int low = t < 2 ? ql[j] & 0xF : ql[j] >> 4;
            int code = (low | (((qh[j] >> (2 * t)) & 3) << 4)) - 32;
            w[j] = (int16_t)(code * sc[j / 16]);
        }
        break;
    }
    }
}

static float dot_portable(int type, const uint8_t *row, int blocks, prepared_input x) {
    float total = 0;
    for (int k = 0; k < blocks; k++) {
        int16_t w[32] = {0};
        float scale = 0, offset[2] = {0, 0};
        decode_stretch(type, row, k, w, &scale, offset);
        int32_t high = 0, low = 0;
        for (int j = 0; j < 32; j++) {
            high += (int32_t)w[j] * x.high[32 * k + j];
            low += (int32_t)w[j] * x.low[32 * k + j];
        }
        total += scale * x.step[k] * ((float)high + (float)low / 65534.0f) + offset[0] * x.half[2 * k] + offset[1] * x.half[2 * k + 1];
    }
    return total;
}

// MARK: x86 kernels

#ifdef FBP_X86
#define FBP_AVX2 __attribute__((target("avx2,fma,f16c")))
#define FBP_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw")))

static inline uint32_t load32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

FBP_AVX2 static inline float half_x86(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

/// Bytes j = 0…31: 0x10 where bit j of `bits` is set, else 0 (the fifth bit of Q5 codes).
FBP_AVX2 static inline __m256i fifth_bits(uint32_t bits) {
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i select = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), spread);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, select), select);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/// 16 low nibbles then 16 high nibbles of 16 bytes, as 32 bytes j = 0…31 (Q4_0/Q4_1/Q5 order).
FBP_AVX2 static inline __m256i nibbles_in_order(const uint8_t *qs) {
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)qs);
    __m128i mask = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), mask), _mm_and_si128(v, mask));
}

// The arithmetic per instruction set: a vector of float lanes and Σ w·x over one prepared 32-value block,
// from the codes as 32 signed bytes (bytes) or as two halves of 16 int16 (words).

FBP_AVX2 static inline __m256 words_avx2(__m256i w0, __m256i w1, const int16_t *high, const int16_t *low) {
    __m256i h = _mm256_add_epi32(_mm256_madd_epi16(w0, _mm256_loadu_si256((const __m256i *)(const void *)high)),
                                 _mm256_madd_epi16(w1, _mm256_loadu_si256((const __m256i *)(const void *)(high + 16))));
    __m256i l = _mm256_add_epi32(_mm256_madd_epi16(w0, _mm256_loadu_si256((const __m256i *)(const void *)low)),
                                 _mm256_madd_epi16(w1, _mm256_loadu_si256((const __m256i *)(const void *)(low + 16))));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(l), _mm256_set1_ps(1.0f / 65534.0f), _mm256_cvtepi32_ps(h));
}
FBP_AVX2 static inline __m256 bytes_avx2(__m256i w, const int16_t *high, const int16_t *low) {
    return words_avx2(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(w)), _mm256_cvtepi8_epi16(_mm256_extracti128_si256(w, 1)), high, low);
}
FBP_AVX2 static inline float sum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#define zero_avx2 _mm256_setzero_ps
#define set1_avx2 _mm256_set1_ps
#define fma_avx2 _mm256_fmadd_ps
#define add_avx2 _mm256_add_ps
typedef __m256 vec_avx2;

FBP_AVX512 static inline __m512 words16_avx512(__m512i w, const int16_t *high, const int16_t *low) {
    __m512i h = _mm512_madd_epi16(w, _mm512_loadu_si512((const void *)high));
    __m512i l = _mm512_madd_epi16(w, _mm512_loadu_si512((const void *)low));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(l), _mm512_set1_ps(1.0f / 65534.0f), _mm512_cvtepi32_ps(h));
}
FBP_AVX512 static inline __m512 words_avx512(__m256i w0, __m256i w1, const int16_t *high, const int16_t *low) {
    return words16_avx512(_mm512_inserti64x4(_mm512_castsi256_si512(w0), w1, 1), high, low);
}
FBP_AVX512 static inline __m512 bytes_avx512(__m256i w, const int16_t *high, const int16_t *low) {
    return words16_avx512(_mm512_cvtepi8_epi16(w), high, low);
}
FBP_AVX512 static inline float sum_avx512(__m512 v) { return _mm512_reduce_add_ps(v); }
#define zero_avx512 _mm512_setzero_ps
#define set1_avx512 _mm512_set1_ps
#define fma_avx512 _mm512_fmadd_ps
#define add_avx512 _mm512_add_ps
typedef __m512 vec_avx512;

#define FBP_CAT(a, b) a##_##b
#define FBP_ISA(name, isa) FBP_CAT(name, isa)

/// Every row × every input for a 32-value format: `stride` bytes a block; CODES the block's 32 codes as
/// signed bytes in value order; OFFSET adds the block's offset term. Blocks alternate between two
/// accumulators so that their FMAs do not wait on each other.
#define FBP_SMALL_BLOCK_ROWS(format, isa, TARGET, stride, CODES, OFFSET)                                           \
    TARGET static void FBP_ISA(rows_##format, isa)(const uint8_t *packed, size_t rowBytes, int rowCount, int blocks, \
                                                    const prepared_input *inputs, int n, float *out, size_t outStride) { \
        for (int r = 0; r < rowCount; r++) {                                                                       \
            const uint8_t *row = packed + (size_t)r * rowBytes;                                                    \
            for (int i = 0; i < n; i++) {                                                                          \
                const prepared_input x = inputs[i];                                                                \
                FBP_ISA(vec, isa) even = FBP_ISA(zero, isa)(), odd = FBP_ISA(zero, isa)();                         \
                float offsets = 0;                                                                                 \
                for (int k = 0; k < blocks; k++) {                                                                 \
                    const uint8_t *b = row + (stride) * k;                                                         \
                    FBP_ISA(vec, isa) t = FBP_ISA(bytes, isa)(CODES, x.high + 32 * k, x.low + 32 * k);             \
                    FBP_ISA(vec, isa) scale = FBP_ISA(set1, isa)(half_x86(b) * x.step[k]);                         \
                    if (k & 1) odd = FBP_ISA(fma, isa)(t, scale, odd);                                             \
                    else even = FBP_ISA(fma, isa)(t, scale, even);                                                 \
                    OFFSET;                                                                                        \
                }                                                                                                  \
                out[(size_t)i * outStride + r] = FBP_ISA(sum, isa)(FBP_ISA(add, isa)(even, odd)) + offsets;        \
            }                                                                                                      \
        }                                                                                                          \
    }

/// Q4_K: super-blocks of 256, 32 bytes of nibbles per 64 values (low nibbles one sub-block, high the
/// next), a 6-bit scale and minimum per sub-block of 32.
#define FBP_Q4_K_ROWS(isa, TARGET)                                                                                 \
    TARGET static void FBP_ISA(rows_q4_K, isa)(const uint8_t *packed, size_t rowBytes, int rowCount, int blocks,   \
                                                const prepared_input *inputs, int n, float *out, size_t outStride) { \
        const __m256i mask = _mm256_set1_epi8(0x0F);                                                               \
        for (int r = 0; r < rowCount; r++) {                                                                       \
            const uint8_t *row = packed + (size_t)r * rowBytes;                                                    \
            for (int i = 0; i < n; i++) {                                                                          \
                const prepared_input x = inputs[i];                                                                \
                FBP_ISA(vec, isa) acc[2] = {FBP_ISA(zero, isa)(), FBP_ISA(zero, isa)()};                           \
                float offsets = 0;                                                                                 \
                for (int s = 0; s < blocks / 8; s++) {                                                             \
                    const uint8_t *b = row + 144 * s;                                                              \
                    float d = half_x86(b), dmin = half_x86(b + 2);                                                 \
                    for (int c = 0; c < 4; c++) {                                                                  \
                        __m256i codes = _mm256_loadu_si256((const __m256i *)(const void *)(b + 16 + 32 * c));      \
                        for (int half = 0; half < 2; half++) {                                                     \
                            int sub = 2 * c + half, k = 8 * s + sub, sc, m;                                        \
                            k4_scale_min(sub, b + 4, &sc, &m);                                                     \
                            __m256i w = _mm256_and_si256(half ? _mm256_srli_epi16(codes, 4) : codes, mask);        \
                            FBP_ISA(vec, isa) t = FBP_ISA(bytes, isa)(w, x.high + 32 * k, x.low + 32 * k);         \
                            acc[half] = FBP_ISA(fma, isa)(t, FBP_ISA(set1, isa)(d * (float)sc * x.step[k]), acc[half]); \
                            offsets -= dmin * (float)m * x.sum[k];                                                 \
                        }                                                                                          \
                    }                                                                                              \
                }                                                                                                  \
                out[(size_t)i * outStride + r] = FBP_ISA(sum, isa)(FBP_ISA(add, isa)(acc[0], acc[1])) + offsets;   \
            }                                                                                                      \
        }                                                                                                          \
    }

/// Q6_K: super-blocks of 256 in two chunks of 128: low nibbles in 64 bytes, two high bits per value in
/// 32, an int8 scale per 16 values, one fp16 scale for all.
#define FBP_Q6_K_ROWS(isa, TARGET)                                                                                 \
    TARGET static void FBP_ISA(rows_q6_K, isa)(const uint8_t *packed, size_t rowBytes, int rowCount, int blocks,   \
                                                const prepared_input *inputs, int n, float *out, size_t outStride) { \
        const __m256i low4 = _mm256_set1_epi8(0x0F), low2 = _mm256_set1_epi8(0x03), bias = _mm256_set1_epi8(32);  \
        for (int r = 0; r < rowCount; r++) {                                                                       \
            const uint8_t *row = packed + (size_t)r * rowBytes;                                                    \
            for (int i = 0; i < n; i++) {                                                                          \
                const prepared_input x = inputs[i];                                                                \
                FBP_ISA(vec, isa) acc[2] = {FBP_ISA(zero, isa)(), FBP_ISA(zero, isa)()};                           \
                for (int s = 0; s < blocks / 8; s++) {                                                             \
                    const uint8_t *b = row + 210 * s;                                                              \
                    float d = half_x86(b + 208);                                                                   \
                    for (int chunk = 0; chunk < 2; chunk++) {                                                      \
                        const uint8_t *ql = b + 64 * chunk, *qh = b + 128 + 32 * chunk;                            \
                        const int8_t *sc = (const int8_t *)(b + 192) + 8 * chunk;                                  \
                        __m256i lowA = _mm256_loadu_si256((const __m256i *)(const void *)ql);                      \
                        __m256i lowB = _mm256_loadu_si256((const __m256i *)(const void *)(ql + 32));               \
                        __m256i high = _mm256_loadu_si256((const __m256i *)(const void *)qh);                      \
                        for (int t = 0; t < 4; t++) { /* values 32t…32t + 31: two sub-blocks of 16 */               \
                            __m256i source = t % 2 ? lowB : lowA;                                                  \
                            __m256i low = _mm256_and_si256(t < 2 ? source : _mm256_srli_epi16(source, 4), low4);   \
                            __m256i top = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high, 2 * t), low2), 4); \
                            __m256i codes = _mm256_sub_epi8(_mm256_or_si256(low, top), bias);                      \
                            __m256i w0 = _mm256_mullo_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(codes)),  \
                                                            _mm256_set1_epi16(sc[2 * t]));                         \
                            __m256i w1 = _mm256_mullo_epi16(_mm256_cvtepi8_epi16(_mm256_extracti128_si256(codes, 1)), \
                                                            _mm256_set1_epi16(sc[2 * t + 1]));                     \
                            int k = 8 * s + 4 * chunk + t;                                                         \
                            FBP_ISA(vec, isa) p = FBP_ISA(words, isa)(w0, w1, x.high + 32 * k, x.low + 32 * k);    \
                            acc[t & 1] = FBP_ISA(fma, isa)(p, FBP_ISA(set1, isa)(d * x.step[k]), acc[t & 1]);      \
                        }                                                                                          \
                    }                                                                                              \
                }                                                                                                  \
                out[(size_t)i * outStride + r] = FBP_ISA(sum, isa)(FBP_ISA(add, isa)(acc[0], acc[1]));             \
            }                                                                                                      \
        }                                                                                                          \
    }

#define FBP_ALL_ROWS(isa, TARGET)                                                                                  \
    FBP_SMALL_BLOCK_ROWS(q8_0, isa, TARGET, 34, _mm256_loadu_si256((const __m256i *)(const void *)(b + 2)), (void)0) \
    FBP_SMALL_BLOCK_ROWS(q4_0, isa, TARGET, 18, _mm256_sub_epi8(nibbles_in_order(b + 2), _mm256_set1_epi8(8)), (void)0) \
    FBP_SMALL_BLOCK_ROWS(q4_1, isa, TARGET, 20, nibbles_in_order(b + 4), offsets += half_x86(b + 2) * x.sum[k])   \
    FBP_SMALL_BLOCK_ROWS(q5_0, isa, TARGET, 22,                                                                    \
                         _mm256_sub_epi8(_mm256_or_si256(nibbles_in_order(b + 6), fifth_bits(load32(b + 2))), _mm256_set1_epi8(16)), (void)0) \
    FBP_SMALL_BLOCK_ROWS(q5_1, isa, TARGET, 24, _mm256_or_si256(nibbles_in_order(b + 8), fifth_bits(load32(b + 4))), \
                         offsets += half_x86(b + 2) * x.sum[k])                                                   \
    FBP_Q4_K_ROWS(isa, TARGET)                                                                                     \
    FBP_Q6_K_ROWS(isa, TARGET)

FBP_ALL_ROWS(avx2, FBP_AVX2)
FBP_ALL_ROWS(avx512, FBP_AVX512)

/// 2 when the CPU has AVX-512 (F, BW) with AVX2, FMA and F16C; 1 with only the latter three; else 0.
static int x86_level(void) {
    static int cached = -1;  // threads that race here all store the same answer
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level < 0) {
        __builtin_cpu_init();
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
        level = avx2 ? (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") ? 2 : 1) : 0;
        __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    }
    return level;
}
#endif

typedef void (*rows_kernel)(const uint8_t *, size_t, int, int, const prepared_input *, int, float *, size_t);

/// The fastest kernel this CPU runs for `type` within `limit`; NULL for the portable loop.
static rows_kernel kernel_for(int type, int limit) {
#ifdef FBP_X86
    int level = x86_level();
    if (limit == FBP_AT_MOST_AVX2 && level > 1) level = 1;
    if (limit == FBP_PORTABLE) level = 0;
    switch (level * 100 + type) {
    case 100 + FBP_Q8_0: return rows_q8_0_avx2;
    case 100 + FBP_Q4_0: return rows_q4_0_avx2;
    case 100 + FBP_Q4_1: return rows_q4_1_avx2;
    case 100 + FBP_Q5_0: return rows_q5_0_avx2;
    case 100 + FBP_Q5_1: return rows_q5_1_avx2;
    case 100 + FBP_Q4_K: return rows_q4_K_avx2;
    case 100 + FBP_Q6_K: return rows_q6_K_avx2;
    case 200 + FBP_Q8_0: return rows_q8_0_avx512;
    case 200 + FBP_Q4_0: return rows_q4_0_avx512;
    case 200 + FBP_Q4_1: return rows_q4_1_avx512;
    case 200 + FBP_Q5_0: return rows_q5_0_avx512;
    case 200 + FBP_Q5_1: return rows_q5_1_avx512;
    case 200 + FBP_Q4_K: return rows_q4_K_avx512;
    case 200 + FBP_Q6_K: return rows_q6_K_avx512;
    default: return 0;
    }
#else
    (void)type;
    (void)limit;
    return 0;
#endif
}

int fbp_multiply(int type, const void *packed, size_t rowBytes, int firstRow, int rowCount, int blocks,
                 const float *x, int n, float *out, size_t outStride, int limit) {
    if (!fbp_supports(type)) return -1;
    if (n <= 0 || rowCount <= 0 || blocks <= 0) return 0;
    size_t values = (size_t)n * (size_t)blocks * 32;
    char *scratch = malloc(values * 2 * sizeof(int16_t) + values / 32 * 4 * sizeof(float) + (size_t)n * sizeof(prepared_input));
    if (!scratch) return -2;
    int16_t *high = (int16_t *)(void *)scratch, *low = high + values;
    float *step = (float *)(void *)(scratch + values * 4), *sum = step + values / 32, *half = sum + values / 32;
    prepared_input *inputs = (prepared_input *)(void *)(half + values / 16);
    for (int i = 0; i < n; i++) {
        size_t at = (size_t)i * blocks;
        inputs[i] = (prepared_input){high + at * 32, low + at * 32, step + at, sum + at, half + 2 * at};
        prepare(x + at * 32, blocks, inputs[i]);
    }
    const uint8_t *first = (const uint8_t *)packed + (size_t)firstRow * rowBytes;
    rows_kernel kernel = kernel_for(type, limit);
    if (kernel) {
        kernel(first, rowBytes, rowCount, blocks, inputs, n, out, outStride);
    } else {
        for (int r = 0; r < rowCount; r++)
            for (int i = 0; i < n; i++) out[(size_t)i * outStride + r] = dot_portable(type, first + (size_t)r * rowBytes, blocks, inputs[i]);
    }
    free(scratch);
    return 0;
}
