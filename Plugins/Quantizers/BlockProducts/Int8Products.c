// 8-bit-input products of repacked GGUF block rows (see Int8Products.h).
//
// Repacked layout: rows in groups of 8 (the last group padded with zero rows), each group's blocks in
// order, one 32-value block of 8 rows as
//   q4_0, q4_1 (160 bytes): fp16 d[8], fp16 m[8], then 4 × 32 code bytes: bytes 0–15 of chunk p are row p's
//     16 nibble bytes as the file holds them (value j low, j + 16 high), bytes 16–31 row p + 4's;
//     value = d·code + m (q4_0: m = −8d).
//   q8_0 (288 bytes): fp16 d[8], 16 unused bytes, then 8 × 32 bytes: row r's codes + 128 (unsigned).
// One input block is int8 codes q with step s = max|x| / 127; a block of 8 rows gives the integer sums
// c_r = Σ_j code_rj·q_j (q8_0: Σ_j (code_rj − 128)·q_j), and each row's accumulator takes fma(c_r, d_r·s, acc),
// then (nibbles) fma(m_r, s·Σ_j q_j, acc). The offset meets the rounded input's sum, not the exact one, so a
// product is exactly the dequantized row times the rounded input: its error Σ_j w_j·(q_j·s − x_j) is the
// weights' own, where the exact sum would add −m·Σ_j (q_j·s − x_j) (measured on SmolLM2: twice the logit error).
#include "Int8Products.h"
#include "BlockProducts.h"
#include "HalfFloat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define I8_X86 1
#endif

struct fbp_int8_matrix {
    int type, rows, blocks, groups;
    size_t blockBytes;  // one block of 8 rows: 160 (nibbles) or 288 (q8_0)
    uint8_t *data;      // groups × blocks × blockBytes, 64-byte aligned
};

int fbp_int8_supports(int type) { return type == FBP_Q4_0 || type == FBP_Q4_1 || type == FBP_Q8_0; }

size_t fbp_int8_bytes(const fbp_int8_matrix *m) { return m ? (size_t)m->groups * m->blocks * m->blockBytes : 0; }

void fbp_int8_free(fbp_int8_matrix *m) {
    if (!m) return;
    free(m->data);
    free(m);
}

static uint8_t *block_at(const fbp_int8_matrix *m, int group, int k) {
    return m->data + ((size_t)group * m->blocks + k) * m->blockBytes;
}

fbp_int8_matrix *fbp_int8_repack(int type, const void *packed, size_t rowBytes, int rows, int blocks) {
    if (!fbp_int8_supports(type) || rows <= 0 || blocks <= 0 || !packed) return NULL;
    fbp_int8_matrix *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    *m = (fbp_int8_matrix){type, rows, blocks, (rows + 7) / 8, type == FBP_Q8_0 ? 288 : 160, NULL};
    size_t bytes = fbp_int8_bytes(m);
    m->data = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!m->data) { free(m); return NULL; }
    memset(m->data, 0, bytes);
    int sourceBlockBytes = type == FBP_Q8_0 ? 34 : type == FBP_Q4_1 ? 20 : 18;
    for (int r = 0; r < rows; r++) {
        const uint8_t *row = (const uint8_t *)packed + (size_t)r * rowBytes;
        int g = r / 8, lane = r % 8;
        for (int k = 0; k < blocks; k++) {
            const uint8_t *b = row + (size_t)sourceBlockBytes * k;
            uint8_t *o = block_at(m, g, k);
            memcpy(o + 2 * lane, b, 2);  // d, the file's fp16 as it is
            if (type == FBP_Q8_0) {
                for (int j = 0; j < 32; j++) o[32 + 32 * lane + j] = (uint8_t)(b[2 + j] ^ 0x80);  // int8 + 128
                continue;
            }
            if (type == FBP_Q4_1) {
                memcpy(o + 16 + 2 * lane, b + 2, 2);
            } else {
                uint16_t offset;
                if (!float_to_half_exact(-8.0f * half_to_float(b), &offset)) { fbp_int8_free(m); return NULL; }
                memcpy(o + 16 + 2 * lane, &offset, 2);
            }
            memcpy(o + 32 + 32 * (lane % 4) + 16 * (lane / 4), b + (type == FBP_Q4_1 ? 4 : 2), 16);
        }
    }
    return m;
}

// MARK: inputs

/// Inputs rounded to 8 bits: per row and 32-value block its codes, step, the rounded values' sum (step·Σq) and Σq.
typedef struct {
    int8_t *q;
    float *step, *sum;
    int32_t *qsum;
} rounded_inputs;

/// Rounds one input row (the same arithmetic on every CPU: rintf, integer sums).
static void round_row(const float *x, int blocks, int8_t *q, float *step, float *sum, int32_t *qsum) {
    for (int b = 0; b < blocks; b++) {
        const float *v = x + 32 * b;
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            float a = fabsf(v[j]);
            amax = a > amax ? a : amax;
            amax = a != a ? a : amax;  // keep a nan
        }
        qsum[b] = 0;
        if (!(amax > 0) || !isfinite(amax)) {  // zeros; inf or nan reach the output as nan
            step[b] = amax == 0 ? 0 : NAN;
            sum[b] = step[b];
            memset(q + 32 * b, 0, 32);
            continue;
        }
        float inverse = 127.0f / amax;
        step[b] = amax / 127.0f;
        int32_t s = 0;
        for (int j = 0; j < 32; j++) {
            float r = rintf(v[j] * inverse);
            int c = r > 127 ? 127 : r < -127 ? -127 : (int)r;
            q[32 * b + j] = (int8_t)c;
            s += c;
        }
        qsum[b] = s;
        sum[b] = step[b] * (float)s;
    }
}

// MARK: portable kernel

/// Weight code of value j in lane r of a repacked block (signed for q8_0, the nibble for q4_0/q4_1).
static int code_at(int type, const uint8_t *block, int r, int j) {
    if (type == FBP_Q8_0) return (int)block[32 + 32 * r + j] - 128;
    uint8_t byte = block[32 + 32 * (r % 4) + 16 * (r / 4) + (j % 16)];
    return j < 16 ? byte & 0xF : byte >> 4;
}

static void group_portable(const fbp_int8_matrix *m, int g, const rounded_inputs *in, int i, float result[8]) {
    float acc[8] = {0};
    for (int k = 0; k < m->blocks; k++) {
        const uint8_t *block = block_at(m, g, k);
        const int8_t *q = in->q + ((size_t)i * m->blocks + k) * 32;
        float step = in->step[(size_t)i * m->blocks + k], sum = in->sum[(size_t)i * m->blocks + k];
        for (int r = 0; r < 8; r++) {
            int32_t c = 0;
            for (int j = 0; j < 32; j++) c += code_at(m->type, block, r, j) * q[j];
            acc[r] = fmaf((float)c, half_to_float(block + 2 * r) * step, acc[r]);
            if (m->type != FBP_Q8_0) acc[r] = fmaf(half_to_float(block + 16 + 2 * r), sum, acc[r]);
        }
    }
    memcpy(result, acc, sizeof acc);
}

// MARK: x86 kernels: the same integer sums and fused multiply-adds, 8 rows at once

#ifdef I8_X86
#define I8_AVX2 __attribute__((target("avx2,fma,f16c")))
#define I8_VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

/// Lane r of the result: the sum of s_r's 8 lanes (rows 0–7 in order).
I8_AVX2 static inline __m256i sum_lanes8(const __m256i s[8]) {
    __m256i a = _mm256_hadd_epi32(s[0], s[1]), b = _mm256_hadd_epi32(s[2], s[3]);
    __m256i c = _mm256_hadd_epi32(s[4], s[5]), d = _mm256_hadd_epi32(s[6], s[7]);
    __m256i ab = _mm256_hadd_epi32(a, b), cd = _mm256_hadd_epi32(c, d);  // each 128-bit half: rows 0–3 / 4–7
    return _mm256_add_epi32(_mm256_permute2x128_si256(ab, cd, 0x20), _mm256_permute2x128_si256(ab, cd, 0x31));
}

/// Nibble chunks p = 0…3 hold rows p (low 128 bits) and p + 4 (high): their sums, rows 0–7 in order.
I8_AVX2 static inline __m256i sum_nibble_chunks(const __m256i s[4]) {
    return _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]), _mm256_hadd_epi32(s[2], s[3]));
}

/// Asks for the cache lines `I8_AHEAD` bytes past a block of `bytes` (the matrix is one sequential stream:
/// groups follow each other). A prefetch never faults, so the end of the matrix needs no test.
#define I8_AHEAD 2048
static inline void prefetch_ahead(const uint8_t *block, size_t bytes) {
    for (size_t line = 0; line < bytes; line += 64) _mm_prefetch((const char *)(block + I8_AHEAD + line), _MM_HINT_T0);
}

#define I8_NIBBLE_KERNEL(isa, TARGET, CHUNK_SUM)                                                                      \
    TARGET static void nibbles_##isa(const fbp_int8_matrix *m, int g, const rounded_inputs *in, int first, int n,    \
                                     float *result) {                                                                 \
        const __m256i mask = _mm256_set1_epi8(0x0F);                                                                  \
        __m256 acc[8];                                                                                                \
        for (int i = 0; i < n; i++) acc[i] = _mm256_setzero_ps();                                                     \
        for (int k = 0; k < m->blocks; k++) {                                                                         \
            const uint8_t *block = block_at(m, g, k);                                                                 \
            prefetch_ahead(block, 160);                                                                               \
            __m256 d = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(const void *)block));                         \
            __m256 off = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(const void *)(block + 16)));                \
            __m256i lo[4], hi[4];                                                                                     \
            for (int p = 0; p < 4; p++) {                                                                             \
                __m256i v = _mm256_load_si256((const __m256i *)(const void *)(block + 32 + 32 * p));                  \
                lo[p] = _mm256_and_si256(v, mask);                                                                    \
                hi[p] = _mm256_and_si256(_mm256_srli_epi16(v, 4), mask);                                              \
            }                                                                                                         \
            for (int i = 0; i < n; i++) {                                                                             \
                size_t at = (size_t)(first + i) * m->blocks + k;                                                      \
                __m256i xl = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(in->q + 32 * at))); \
                __m256i xh = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(in->q + 32 * at + 16)));  \
                __m256i s[4];                                                                                         \
                for (int p = 0; p < 4; p++) s[p] = CHUNK_SUM(lo[p], xl, hi[p], xh);                                   \
                __m256i c = sum_nibble_chunks(s);                                                                     \
                acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(c), _mm256_mul_ps(d, _mm256_set1_ps(in->step[at])), acc[i]); \
                acc[i] = _mm256_fmadd_ps(off, _mm256_set1_ps(in->sum[at]), acc[i]);                                   \
            }                                                                                                         \
        }                                                                                                             \
        for (int i = 0; i < n; i++) _mm256_storeu_ps(result + 8 * i, acc[i]);                                        \
    }

#define I8_Q8_KERNEL(isa, TARGET, ROW_SUM, CORRECTION)                                                                \
    TARGET static void q8_##isa(const fbp_int8_matrix *m, int g, const rounded_inputs *in, int first, int n,         \
                                float *result) {                                                                      \
        __m256 acc[8];                                                                                                \
        for (int i = 0; i < n; i++) acc[i] = _mm256_setzero_ps();                                                     \
        for (int k = 0; k < m->blocks; k++) {                                                                         \
            const uint8_t *block = block_at(m, g, k);                                                                 \
            prefetch_ahead(block, 288);                                                                               \
            __m256 d = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(const void *)block));                         \
            __m256i u[8];                                                                                             \
            for (int r = 0; r < 8; r++) u[r] = _mm256_load_si256((const __m256i *)(const void *)(block + 32 + 32 * r)); \
            for (int i = 0; i < n; i++) {                                                                             \
                size_t at = (size_t)(first + i) * m->blocks + k;                                                      \
                __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(in->q + 32 * at));                     \
                __m256i s[8];                                                                                         \
                for (int r = 0; r < 8; r++) s[r] = ROW_SUM(u[r], x);                                                  \
                __m256i c = CORRECTION(sum_lanes8(s), in->qsum[at]);                                                  \
                acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(c), _mm256_mul_ps(d, _mm256_set1_ps(in->step[at])), acc[i]); \
            }                                                                                                         \
        }                                                                                                             \
        for (int i = 0; i < n; i++) _mm256_storeu_ps(result + 8 * i, acc[i]);                                        \
    }

// VNNI: unsigned codes × signed inputs, four products per int32 lane (exact: no saturation).
#define I8_VNNI_CHUNK(lo, xl, hi, xh) _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), lo, xl), hi, xh)
#define I8_VNNI_ROW(u, x) _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, x)
#define I8_VNNI_CORRECTION(c, qsum) _mm256_sub_epi32(c, _mm256_set1_epi32(128 * (qsum)))  // Σ(w + 128)q − 128Σq
I8_NIBBLE_KERNEL(vnni, I8_VNNI, I8_VNNI_CHUNK)
I8_Q8_KERNEL(vnni, I8_VNNI, I8_VNNI_ROW, I8_VNNI_CORRECTION)

// AVX2: pairs of u8 × s8 products in int16 (nibbles: ≤ 2·15·127 twice, no saturation), then pairs of int16
// into int32; q8_0 as |w| × sign(q, w) (≤ 2·128·127), the signed codes recovered from the stored w + 128.
I8_AVX2 static inline __m256i chunk_avx2(__m256i lo, __m256i xl, __m256i hi, __m256i xh) {
    __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(lo, xl), _mm256_maddubs_epi16(hi, xh));
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}
I8_AVX2 static inline __m256i row_avx2(__m256i u, __m256i x) {
    __m256i w = _mm256_xor_si256(u, _mm256_set1_epi8((char)0x80));
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w)), _mm256_set1_epi16(1));
}
#define I8_NO_CORRECTION(c, qsum) (c)
I8_NIBBLE_KERNEL(avx2, I8_AVX2, chunk_avx2)
I8_Q8_KERNEL(avx2, I8_AVX2, row_avx2, I8_NO_CORRECTION)

/// round_row with AVX2, bit for bit: the same products by 127/amax, rounded to nearest even (what rintf does in
/// the default rounding mode), clamped and summed as integers. A block holding a nan, an infinity or only zeros
/// goes to round_row, which decides what such a block gives. (round_row's rintf is a libm call per value without
/// SSE4.1 in the baseline: it took a twentieth of a Q8_0 decode.)
I8_AVX2 static void round_row_avx2(const float *x, int blocks, int8_t *q, float *step, float *sum, int32_t *qsum) {
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    const __m256 top = _mm256_set1_ps(127.0f), bottom = _mm256_set1_ps(-127.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int b = 0; b < blocks; b++) {
        const float *v = x + 32 * b;
        __m256 a[4], unordered = _mm256_setzero_ps(), m = _mm256_setzero_ps();
        for (int p = 0; p < 4; p++) {
            a[p] = _mm256_loadu_ps(v + 8 * p);
            unordered = _mm256_or_ps(unordered, _mm256_cmp_ps(a[p], a[p], _CMP_UNORD_Q));
            m = _mm256_max_ps(m, _mm256_and_ps(a[p], magnitude));
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
        float amax = _mm_cvtss_f32(h);
        if (_mm256_movemask_ps(unordered) || !(amax > 0) || !isfinite(amax)) {
            round_row(v, 1, q + 32 * b, step + b, sum + b, qsum + b);
            continue;
        }
        __m256 inverse = _mm256_set1_ps(127.0f / amax);
        __m256i c[4];
        for (int p = 0; p < 4; p++) {
            __m256 r = _mm256_round_ps(_mm256_mul_ps(a[p], inverse), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            c[p] = _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(r, bottom), top));
        }
        __m256i total = _mm256_add_epi32(_mm256_add_epi32(c[0], c[1]), _mm256_add_epi32(c[2], c[3]));
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(total), _mm256_extracti128_si256(total, 1));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4E));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
        // packs work within 128-bit lanes: dwords come out as c0 c1 c2 c3 (low halves) then the high halves
        __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(c[0], c[1]), _mm256_packs_epi32(c[2], c[3]));
        _mm256_storeu_si256((__m256i *)(void *)(q + 32 * b), _mm256_permutevar8x32_epi32(bytes, order));
        step[b] = amax / 127.0f;
        qsum[b] = _mm_cvtsi128_si32(t);
        sum[b] = step[b] * (float)qsum[b];
    }
}

/// 2 with AVX-512 VNNI (and VL, AVX2, FMA, F16C); 1 with AVX2, FMA and F16C; else 0.
static int int8_level(void) {
    static int cached = -1;  // threads that race here all store the same answer
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level < 0) {
        __builtin_cpu_init();
        int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
        int vnni = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512vnni");
        level = avx2 ? (vnni ? 2 : 1) : 0;
        __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    }
    return level;
}
#endif

typedef void (*group_kernel)(const fbp_int8_matrix *, int, const rounded_inputs *, int, int, float *);

static group_kernel kernel_for(int type, int limit) {
#ifdef I8_X86
    int level = int8_level();
    if (limit == FBP_AT_MOST_AVX2 && level > 1) level = 1;
    if (limit == FBP_PORTABLE) level = 0;
    int q8 = type == FBP_Q8_0;
    if (level == 2) return q8 ? q8_vnni : nibbles_vnni;
    if (level == 1) return q8 ? q8_avx2 : nibbles_avx2;
#else
    (void)type;
    (void)limit;
#endif
    return NULL;
}

int fbp_int8_multiply(const fbp_int8_matrix *m, int firstRow, int rowCount, const float *x, int n, float *out,
                      size_t outStride, int limit) {
    if (!m || firstRow < 0 || rowCount < 0 || firstRow > m->rows || rowCount > m->rows - firstRow) return -1;
    if (n <= 0 || rowCount == 0) return 0;
    size_t values = (size_t)n * m->blocks * 32, blocks = (size_t)n * m->blocks;
    char *scratch = malloc(values + blocks * (2 * sizeof(float) + sizeof(int32_t)) + 64 * sizeof(float));
    if (!scratch) return -2;
    rounded_inputs in = {(int8_t *)(void *)scratch, (float *)(void *)(scratch + values), NULL, NULL};
    in.sum = in.step + blocks;
    in.qsum = (int32_t *)(void *)(in.sum + blocks);
    float *result = (float *)(void *)(in.qsum + blocks);  // [8 inputs][8 rows]
    group_kernel kernel = kernel_for(m->type, limit);
    for (int i = 0; i < n; i++) {
        size_t at = (size_t)i * m->blocks;
#ifdef I8_X86
        if (kernel) {  // AVX2 at least: the same codes, vectorised
            round_row_avx2(x + at * 32, m->blocks, in.q + at * 32, in.step + at, in.sum + at, in.qsum + at);
            continue;
        }
#endif
        round_row(x + at * 32, m->blocks, in.q + at * 32, in.step + at, in.sum + at, in.qsum + at);
    }
    int end = firstRow + rowCount;
    for (int g = firstRow / 8; g < (end + 7) / 8; g++) {
        int lo = g * 8 > firstRow ? g * 8 : firstRow, hi = g * 8 + 8 < end ? g * 8 + 8 : end;
        for (int first = 0; first < n; first += 8) {
            int count = n - first < 8 ? n - first : 8;
            if (kernel) {
                kernel(m, g, &in, first, count, result);
            } else {
                for (int i = 0; i < count; i++) group_portable(m, g, &in, first + i, result + 8 * i);
            }
            for (int i = 0; i < count; i++)
                for (int r = lo; r < hi; r++) out[(size_t)(first + i) * outStride + (size_t)(r - firstRow)] = result[8 * i + r - g * 8];
        }
    }
    free(scratch);
    return 0;
}
