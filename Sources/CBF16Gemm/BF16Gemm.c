// See include/BF16Gemm.h. One oneDNN matmul per call: bf16 × bf16 → fp32, with alpha as oneDNN's output
// scale, operands described by strides so transposed views are never copied
// beyond the bf16 rounding itself. oneDNN keeps compiled kernels in its primitive cache, so a shape seen
// before costs a descriptor lookup, not a JIT compilation.
#include "BF16Gemm.h"

#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

extern void omp_set_num_threads(int);  // libgomp, which Debian's libdnnl runs its threads on

static dnnl_engine_t shared_engine;
static dnnl_status_t engine_status = dnnl_runtime_error;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

static void create_engine(void) { engine_status = dnnl_engine_create(&shared_engine, dnnl_cpu, 0); }

int fbg_native_bf16(void) {
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    return ((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) == (unsigned)dnnl_cpu_isa_avx512_core_bf16;
}

void fbg_to_bf16(const float *src, long rows, long cols, long ld, uint16_t *dst) {
    for (long r = 0; r < rows; r++) {
        const float *s = src + r * ld;
        uint16_t *d = dst + r * cols;
        for (long c = 0; c < cols; c++) {
            uint32_t bits;
            memcpy(&bits, s + c, 4);
            uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
            uint32_t nan = (bits >> 16) | 0x40u;
            d[c] = (uint16_t)((bits & 0x7FFFFFFFu) > 0x7F800000u ? nan : rounded);
        }
    }
}

/// An operand in bf16: `given` when the caller has it, else a rounded copy in `owned` (freed by the caller).
static const uint16_t *rounded(const float *src, long rows, long cols, long ld, const uint16_t *given, uint16_t **owned) {
    if (given) return given;
    *owned = malloc((size_t)(rows * cols > 0 ? rows * cols : 1) * sizeof(uint16_t));
    if (*owned) fbg_to_bf16(src, rows, cols, ld, *owned);
    return *owned;
}

#define TRY(call)                                                  \
    do {                                                           \
        dnnl_status_t s_ = (call);                                 \
        if (s_ != dnnl_success) { status = -(100 + (int)s_); goto done; } \
    } while (0)

int fbg_gemm(int transA, int transB, long M, long N, long K, float alpha, const float *A, long lda,
             const uint16_t *Abf16, const float *B, long ldb, const uint16_t *Bbf16, float *C, long ldc,
             int threads) {
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    pthread_once(&engine_once, create_engine);
    if (engine_status != dnnl_success) return -(100 + (int)engine_status);
    int status = 0;
    uint16_t *ownA = NULL, *ownB = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t matmul = NULL;
    dnnl_memory_t am = NULL, bm = NULL, cm = NULL;
    dnnl_stream_t stream = NULL;
    // Stored layouts: A is M × K (or K × M when transposed), B is K × N (or N × K); both contiguous once rounded.
    const uint16_t *a = rounded(A, transA ? K : M, transA ? M : K, lda, Abf16, &ownA);
    const uint16_t *b = rounded(B, transB ? N : K, transB ? K : N, ldb, Bbf16, &ownB);
    if (!a || !b) { status = -1; goto done; }
    dnnl_memory_desc_t amd, bmd, cmd;
    dnnl_dims_t ad = {M, K}, bd = {K, N}, cd = {M, N};
    dnnl_dims_t as = {transA ? 1 : K, transA ? M : 1}, bs = {transB ? 1 : N, transB ? K : 1}, cs = {ldc, 1};
    TRY(dnnl_memory_desc_init_by_strides(&amd, 2, ad, dnnl_bf16, as));
    TRY(dnnl_memory_desc_init_by_strides(&bmd, 2, bd, dnnl_bf16, bs));
    TRY(dnnl_memory_desc_init_by_strides(&cmd, 2, cd, dnnl_f32, cs));
    dnnl_matmul_desc_t desc;
    TRY(dnnl_matmul_desc_init(&desc, &amd, &bmd, NULL, &cmd));
    if (alpha != 1) {
        TRY(dnnl_primitive_attr_create(&attr));
        TRY(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha));
    }
    TRY(dnnl_primitive_desc_create(&pd, &desc, attr, shared_engine, NULL));
    TRY(dnnl_primitive_create(&matmul, pd));
    TRY(dnnl_memory_create(&am, &amd, shared_engine, (void *)a));
    TRY(dnnl_memory_create(&bm, &bmd, shared_engine, (void *)b));
    TRY(dnnl_memory_create(&cm, &cmd, shared_engine, C));
    TRY(dnnl_stream_create(&stream, shared_engine, dnnl_stream_default_flags));
    omp_set_num_threads(threads > 0 ? threads : 1);
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
    if (dnnl_primitive_execute(matmul, stream, 3, args) != dnnl_success || dnnl_stream_wait(stream) != dnnl_success) status = -2;
done:
    if (stream) dnnl_stream_destroy(stream);
    if (am) dnnl_memory_destroy(am);
    if (bm) dnnl_memory_destroy(bm);
    if (cm) dnnl_memory_destroy(cm);
    if (matmul) dnnl_primitive_destroy(matmul);
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    free(ownA);
    free(ownB);
    return status;
}
