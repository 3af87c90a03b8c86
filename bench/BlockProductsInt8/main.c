// A measurement for issue 22, not part of Factory: is llama.cpp's way of multiplying a Q4_1 row — the input
// quantized to 8 bits per 32-value block (its q8_1), the 4-bit codes meeting it in VNNI dot products
// (vpdpbusd) — much faster per row × input pair than Factory's exact product (BlockProducts.c: each input
// value split into two 16-bit parts, two vpmaddwd per block)? Both on a random 1536 × 576 Q4_1 weight,
// the same inputs, one thread, the best of 30; the int8 times include quantizing the inputs. A third column
// multiplies 8 rows at once from a repacked layout (per block the 8 rows' scales as one vector, codes unpacked),
// so that the per-block scale work is vector work: the layout a faster kernel would repack weights into at load.
// Run: bench/block_products_int8.sh
#include "BlockProducts.h"
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

typedef struct { int8_t *q; float *d, *s; } q8_input;  // per block: 32 codes, scale, scale·Σcodes

static void quantize_input(const float *x, int blocks, q8_input in) {
    for (int b = 0; b < blocks; b++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * b + j]));
        float d = amax / 127, inv = d > 0 ? 1 / d : 0;
        int sum = 0;
        for (int j = 0; j < 32; j++) { int q = (int)rintf(x[32 * b + j] * inv); in.q[32 * b + j] = (int8_t)q; sum += q; }
        in.d[b] = d;
        in.s[b] = d * (float)sum;
    }
}

__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
static void rows_q4_1_vnni(const uint8_t *packed, size_t rowBytes, int rowCount, int blocks, const q8_input *in, int n, float *out, size_t outStride) {
    const __m256i mask = _mm256_set1_epi8(0x0F);
    for (int r = 0; r < rowCount; r++) {
        const uint8_t *row = packed + (size_t)r * rowBytes;
        for (int i = 0; i < n; i++) {
            __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
            float offsets = 0;
            for (int k = 0; k < blocks; k++) {
                const uint8_t *b = row + 20 * k;
                __m128i v = _mm_loadu_si128((const __m128i *)(b + 4));
                __m256i codes = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), _mm256_castsi256_si128(mask)), _mm_and_si128(v, _mm256_castsi256_si128(mask)));
                __m256i q = _mm256_loadu_si256((const __m256i *)(in[i].q + 32 * k));
                __m256i dot = _mm256_dpbusd_epi32(_mm256_setzero_si256(), codes, q);
                uint16_t hd, hm; memcpy(&hd, b, 2); memcpy(&hm, b + 2, 2);
                __m256 scale = _mm256_set1_ps(_cvtsh_ss(hd) * in[i].d[k]);
                if (k & 1) acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc1); else acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc0);
                offsets += _cvtsh_ss(hm) * in[i].s[k];
            }
            __m256 a = _mm256_add_ps(acc0, acc1);
            __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
            s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4)); s4 = _mm_add_ss(s4, _mm_movehdup_ps(s4));
            out[(size_t)i * outStride + r] = _mm_cvtss_f32(s4) + offsets;
        }
    }
}

// repacked: per group of 8 rows, per block: float d[8], float m[8], uint8 codes[8][32] (unpacked nibbles, value order)
typedef struct { float d[8], m[8]; uint8_t c[8][32]; } block8;
static block8 *repack(const uint8_t *w, int rows, int blocks, size_t rowBytes) {
    block8 *out = aligned_alloc(64, sizeof(block8) * (rows / 8) * blocks);
    for (int g = 0; g < rows / 8; g++) for (int k = 0; k < blocks; k++) {
        block8 *o = out + g * blocks + k;
        for (int r = 0; r < 8; r++) {
            const uint8_t *b = w + (size_t)(g * 8 + r) * rowBytes + 20 * k;
            uint16_t hd, hm; memcpy(&hd, b, 2); memcpy(&hm, b + 2, 2);
            o->d[r] = _cvtsh_ss(hd); o->m[r] = _cvtsh_ss(hm);
            for (int j = 0; j < 16; j++) { o->c[r][j] = b[4 + j] & 15; o->c[r][16 + j] = b[4 + j] >> 4; }
        }
    }
    return out;
}
__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
static void rows8(const block8 *p, int groups, int blocks, const q8_input *in, int n, float *out, size_t outStride) {
    for (int g = 0; g < groups; g++) {
        for (int i = 0; i < n; i++) {
            __m256 acc = _mm256_setzero_ps(), off = _mm256_setzero_ps();
            for (int k = 0; k < blocks; k++) {
                const block8 *b = p + g * blocks + k;
                __m256i q = _mm256_loadu_si256((const __m256i *)(in[i].q + 32 * k));
                __m256i s[8];
                for (int r = 0; r < 8; r++) s[r] = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_load_si256((const __m256i *)b->c[r]), q);
                // transpose-reduce: hadd within lanes
                __m256i a = _mm256_hadd_epi32(s[0], s[1]), bb = _mm256_hadd_epi32(s[2], s[3]), c = _mm256_hadd_epi32(s[4], s[5]), d = _mm256_hadd_epi32(s[6], s[7]);
                __m256i ab = _mm256_hadd_epi32(a, bb), cd = _mm256_hadd_epi32(c, d);
                // ab: lane0 = [r0lo r1lo r2lo r3lo], lane1 = [r0hi r1hi r2hi r3hi]; cd same for r4..7
                __m256i lo = _mm256_permute2x128_si256(ab, cd, 0x20), hi = _mm256_permute2x128_si256(ab, cd, 0x31);
                __m256i sums = _mm256_add_epi32(lo, hi);  // r0..r7
                __m256 scale = _mm256_mul_ps(_mm256_load_ps(b->d), _mm256_set1_ps(in[i].d[k]));
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), scale, acc);
                off = _mm256_fmadd_ps(_mm256_load_ps(b->m), _mm256_set1_ps(in[i].s[k]), off);
            }
            float res[8]; _mm256_storeu_ps(res, _mm256_add_ps(acc, off));
            for (int r = 0; r < 8; r++) out[(size_t)i * outStride + g * 8 + r] = res[r];
        }
    }
}
int main(void) {
    int rows = 1536, cols = 576, blocks = cols / 32;
    size_t rowBytes = (size_t)blocks * 20;
    uint8_t *w = malloc(rows * rowBytes);
    srand(1);
    for (size_t i = 0; i < rows * rowBytes; i++) w[i] = rand();
    for (int r = 0; r < rows; r++) for (int b = 0; b < blocks; b++) { uint8_t *p = w + r * rowBytes + b * 20; uint16_t d = _cvtss_sh(0.01f + 0.02f * rand() / RAND_MAX, 0), m = _cvtss_sh(-0.08f * rand() / RAND_MAX, 0); memcpy(p, &d, 2); memcpy(p + 2, &m, 2); }
    block8 *rp = repack(w, rows, blocks, rowBytes);
    int N = 16;
    float *x = malloc(sizeof(float) * N * cols), *exact = malloc(sizeof(float) * N * rows), *fast = malloc(sizeof(float) * N * rows), *fast8 = malloc(sizeof(float) * N * rows);
    for (int i = 0; i < N * cols; i++) x[i] = ((rand() / (float)RAND_MAX) - 0.5f) * (i % 97 == 0 ? 20 : 1);  // with outliers
    q8_input in[16];
    int8_t *qs = malloc(N * cols); float *ds = malloc(sizeof(float) * N * blocks), *ss = malloc(sizeof(float) * N * blocks);
    printf("| inputs | exact (ms) | int8, row by row (ms) | int8, 8 rows repacked (ms) | speed-ups | relative error (l2) |\n|---|---|---|---|---|---|\n");
    for (int n = 1; n <= 16; n *= 2) {
        double be = 1e9, bf = 1e9, b8 = 1e9;
        for (int rep = 0; rep < 30; rep++) {
            double t0 = now();
            fbp_multiply(FBP_Q4_1, w, rowBytes, 0, rows, blocks, x, n, exact, rows, FBP_BEST);
            double t1 = now();
            for (int i = 0; i < n; i++) { in[i] = (q8_input){qs + i * cols, ds + i * blocks, ss + i * blocks}; quantize_input(x + i * cols, blocks, in[i]); }
            rows_q4_1_vnni(w, rowBytes, rows, blocks, in, n, fast, rows);
            double t2 = now();
            for (int i = 0; i < n; i++) quantize_input(x + i * cols, blocks, in[i]);
            rows8(rp, rows / 8, blocks, in, n, fast8, rows);
            double t3 = now();
            if (t1 - t0 < be) be = t1 - t0;
            if (t2 - t1 < bf) bf = t2 - t1;
            if (t3 - t2 < b8) b8 = t3 - t2;
        }
        double num = 0, num8 = 0, den = 0;
        for (int i = 0; i < n * rows; i++) {
            num += (fast[i] - exact[i]) * (fast[i] - exact[i]); num8 += (fast8[i] - exact[i]) * (fast8[i] - exact[i]); den += exact[i] * exact[i];
        }
        printf("| %d | %.3f | %.3f | %.3f | %.2fx, %.2fx | %.2e, %.2e |\n", n, be * 1e3, bf * 1e3, b8 * 1e3, be / bf, be / b8, sqrt(num / den), sqrt(num8 / den));
    }
}
