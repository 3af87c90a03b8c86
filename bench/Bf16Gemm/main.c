// A measurement for issue 22, not part of Factory: which library multiplies bf16 fastest on this CPU, against
// the fp32 GEMM Factory uses now (OpenBLAS)? C = A·Bᵀ-shaped products of the engine benchmark ([M×K]·[K×N],
// SmolLM2's MLP at 4 × 512 tokens): OpenBLAS sgemm, oneDNN's sgemm, oneDNN's matmul with bf16 inputs and
// fp32 output (what torch's bf16 autocast runs on CPU), best of 20 after a warm-up, GFLOP/s; and the
// bf16 result's error against fp32. Run: bench/bf16_gemm.sh
#include <cblas.h>
#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static uint16_t to_bf16(float f) {  // round to nearest even
    uint32_t u; memcpy(&u, &f, 4);
    u += 0x7FFF + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}
#define CHECK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { fprintf(stderr, "%s: status %d\n", #x, (int)s_); exit(1); } } while (0)

static void shape(int M, int K, int N) {
    float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * K * N), *c = malloc(sizeof(float) * M * N), *c2 = malloc(sizeof(float) * M * N);
    uint16_t *ah = malloc(2 * (size_t)M * K), *bh = malloc(2 * (size_t)K * N);
    srand(7);
    for (long i = 0; i < (long)M * K; i++) { a[i] = rand() / (float)RAND_MAX - 0.5f; ah[i] = to_bf16(a[i]); }
    for (long i = 0; i < (long)K * N; i++) { b[i] = rand() / (float)RAND_MAX - 0.5f; bh[i] = to_bf16(b[i]); }
    double flop = 2.0 * M * N * K, best;

    best = 1e9;
    for (int r = 0; r < 21; r++) { double t = now(); cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a, K, b, N, 0, c, N); t = now() - t; if (r && t < best) best = t; }
    double openblas = flop / best / 1e9;

    best = 1e9;
    for (int r = 0; r < 21; r++) { double t = now(); CHECK(dnnl_sgemm('N', 'N', M, N, K, 1, a, K, b, N, 0, c2, N)); t = now() - t; if (r && t < best) best = t; }
    double onednn32 = flop / best / 1e9;

    dnnl_engine_t engine; dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    dnnl_memory_desc_t amd, bmd, cmd;
    dnnl_dims_t ad = {M, K}, bd = {K, N}, cd = {M, N};
    CHECK(dnnl_memory_desc_init_by_tag(&amd, 2, ad, dnnl_bf16, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&bmd, 2, bd, dnnl_bf16, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&cmd, 2, cd, dnnl_f32, dnnl_ab));
    dnnl_matmul_desc_t desc;
    CHECK(dnnl_matmul_desc_init(&desc, &amd, &bmd, NULL, &cmd));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL));
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    dnnl_primitive_t matmul;
    CHECK(dnnl_primitive_create(&matmul, pd));
    dnnl_memory_t am, bm, cm;
    CHECK(dnnl_memory_create(&am, &amd, engine, ah));
    CHECK(dnnl_memory_create(&bm, &bmd, engine, bh));
    CHECK(dnnl_memory_create(&cm, &cmd, engine, c2));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
    best = 1e9;
    for (int r = 0; r < 21; r++) { double t = now(); CHECK(dnnl_primitive_execute(matmul, stream, 3, args)); CHECK(dnnl_stream_wait(stream)); t = now() - t; if (r && t < best) best = t; }
    double onednn16 = flop / best / 1e9;
    double num = 0, den = 0;
    for (long i = 0; i < (long)M * N; i++) { num += (c2[i] - c[i]) * (double)(c2[i] - c[i]); den += c[i] * (double)c[i]; }
    printf("| %d×%d · %d×%d | %.1f | %.1f | %.1f | %.2fx | %.1e | %s |\n", M, K, K, N, openblas, onednn32, onednn16, onednn16 / openblas, sqrt(num / den), impl ? impl : "?");
    dnnl_primitive_destroy(matmul); dnnl_primitive_desc_destroy(pd);
    dnnl_memory_destroy(am); dnnl_memory_destroy(bm); dnnl_memory_destroy(cm);
    dnnl_stream_destroy(stream); dnnl_engine_destroy(engine);
    free(a); free(b); free(c); free(c2); free(ah); free(bh);
}

int main(void) {
    printf("| shape | OpenBLAS fp32 GFLOP/s | oneDNN fp32 | oneDNN bf16→fp32 | bf16 / OpenBLAS | bf16 relative error | oneDNN kernel |\n|---|---|---|---|---|---|---|\n");
    shape(2048, 576, 1536);
    shape(2048, 1536, 576);
    shape(2048, 576, 576);
    return 0;
}
