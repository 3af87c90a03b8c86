// AVX-512 row kernels (see RowKernels.h). Every loop runs over whole 16-lane vectors with a lane mask for
// the row's tail, so no element is read or written past n.
#include "RowKernels.h"

#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define WIDE __attribute__((target("avx512f,avx512dq,avx2,fma")))

int frk_wide_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}

/// The lanes of a vector that starts `left` elements before the row's end.
static inline __mmask16 lanes(long left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1); }

/// e^x in 16 lanes: Cephes' range reduction and polynomial (as the engine's exp8), the exponent applied by
/// vscalefps. Below −87.34 gives 0, above 88.38 gives +inf, NaN stays NaN.
WIDE static inline __m512 exp16(__m512 x) {
    const __m512 hi = _mm512_set1_ps(88.3762626647949f), lo = _mm512_set1_ps(-87.3365447505531f);
    __m512 v = _mm512_min_ps(_mm512_max_ps(x, lo), hi);  // a NaN lane becomes lo here, and x again below
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), v);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1)));
    __m512 result = _mm512_scalef_ps(p, n);
    result = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), result, _mm512_setzero_ps());
    result = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), result, _mm512_set1_ps(INFINITY));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), result, x);
}

/// 1 / (1 + e^−x).
WIDE static inline __m512 sigmoid16(__m512 x) {
    const __m512 one = _mm512_set1_ps(1);
    return _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

/// The row's max, NaNs skipped (as the engine's max8).
WIDE static float row_max(const float *x, long n) {
    const __m512 none = _mm512_set1_ps(-INFINITY);
    __m512 m = none;
    for (long i = 0; i < n; i += 16) m = _mm512_max_ps(_mm512_mask_loadu_ps(none, lanes(n - i), x + i), m);  // NaN → m
    return _mm512_reduce_max_ps(m);
}

WIDE void frk_softmax_row(const float *x, float *out, long n) {
    float m = row_max(x, n);
    if (m == -INFINITY) {
        for (long i = 0; i < n; i += 16) _mm512_mask_storeu_ps(out + i, lanes(n - i), _mm512_setzero_ps());
        return;
    }
    const __m512 mv = _mm512_set1_ps(m);
    __m512 sum = _mm512_setzero_ps();
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        __m512 e = _mm512_maskz_mov_ps(k, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), mv)));
        _mm512_mask_storeu_ps(out + i, k, e);
        sum = _mm512_add_ps(sum, e);
    }
    const __m512 inverse = _mm512_set1_ps(1 / _mm512_reduce_add_ps(sum));
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        _mm512_mask_storeu_ps(out + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, out + i), inverse));
    }
}

WIDE void frk_softmax_backward_row(const float *y, const float *g, float *dx, long n) {
    __m512 dot = _mm512_setzero_ps();
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        dot = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, y + i), _mm512_maskz_loadu_ps(k, g + i), dot);
    }
    const __m512 dv = _mm512_set1_ps(_mm512_reduce_add_ps(dot));
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        __m512 yv = _mm512_maskz_loadu_ps(k, y + i);
        _mm512_mask_storeu_ps(dx + i, k, _mm512_mul_ps(yv, _mm512_sub_ps(_mm512_maskz_loadu_ps(k, g + i), dv)));
    }
}

WIDE float frk_logsumexp_row(const float *x, long n) {
    float m = row_max(x, n);
    if (m == -INFINITY) return m;
    const __m512 mv = _mm512_set1_ps(m);
    __m512 sum = _mm512_setzero_ps();
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(k, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), mv))));
    }
    return m + logf(_mm512_reduce_add_ps(sum));
}

WIDE void frk_exp_shift_scale_row(const float *x, float shift, float scale, float *out, long n) {
    const __m512 sv = _mm512_set1_ps(shift), cv = _mm512_set1_ps(scale);
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), sv));
        _mm512_mask_storeu_ps(out + i, k, _mm512_mul_ps(e, cv));
    }
}

WIDE void frk_silu(const float *x, float *out, long n) {
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        _mm512_mask_storeu_ps(out + i, k, _mm512_mul_ps(v, sigmoid16(v)));
    }
}

/// σ(x) · (1 + x · (1 − σ(x))): SiLU's derivative.
WIDE static inline __m512 silu_slope(__m512 x) {
    const __m512 one = _mm512_set1_ps(1);
    __m512 s = sigmoid16(x);
    return _mm512_mul_ps(s, _mm512_fmadd_ps(x, _mm512_sub_ps(one, s), one));
}

WIDE void frk_silu_backward(const float *x, const float *g, float *dx, long n) {
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        _mm512_mask_storeu_ps(dx + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, g + i), silu_slope(v)));
    }
}

WIDE void frk_swiglu(const float *gate, const float *up, float *out, long n) {
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        __m512 v = _mm512_maskz_loadu_ps(k, gate + i);
        __m512 silu = _mm512_mul_ps(v, sigmoid16(v));
        _mm512_mask_storeu_ps(out + i, k, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(k, up + i)));
    }
}

WIDE void frk_swiglu_backward(const float *gate, const float *up, const float *g, float *dgate, float *dup, long n) {
    const __m512 one = _mm512_set1_ps(1);
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        __m512 x = _mm512_maskz_loadu_ps(k, gate + i), u = _mm512_maskz_loadu_ps(k, up + i);
        __m512 gv = _mm512_maskz_loadu_ps(k, g + i);
        __m512 s = sigmoid16(x);
        __m512 slope = _mm512_mul_ps(s, _mm512_fmadd_ps(x, _mm512_sub_ps(one, s), one));
        _mm512_mask_storeu_ps(dgate + i, k, _mm512_mul_ps(_mm512_mul_ps(gv, u), slope));
        _mm512_mask_storeu_ps(dup + i, k, _mm512_mul_ps(gv, _mm512_mul_ps(x, s)));
    }
}

WIDE float frk_rms_norm_row(const float *x, const float *w, float eps, float *out, long n) {
    __m512 squares = _mm512_setzero_ps();
    for (long i = 0; i < n; i += 16) {
        __m512 v = _mm512_maskz_loadu_ps(lanes(n - i), x + i);
        squares = _mm512_fmadd_ps(v, v, squares);
    }
    float r = 1 / sqrtf(_mm512_reduce_add_ps(squares) / (float)n + eps);
    const __m512 rv = _mm512_set1_ps(r);
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), rv);
        _mm512_mask_storeu_ps(out + i, k, _mm512_mul_ps(v, _mm512_maskz_loadu_ps(k, w + i)));
    }
    return r;
}

WIDE void frk_rms_norm_backward_row(const float *g, const float *w, const float *x, float r, float *dx, long n) {
    __m512 dot = _mm512_setzero_ps();
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        __m512 gw = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, g + i), _mm512_maskz_loadu_ps(k, w + i));
        dot = _mm512_fmadd_ps(gw, _mm512_maskz_loadu_ps(k, x + i), dot);
    }
    const __m512 c = _mm512_set1_ps(_mm512_reduce_add_ps(dot) * r * r / (float)n), rv = _mm512_set1_ps(r);
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        __m512 gw = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, g + i), _mm512_maskz_loadu_ps(k, w + i));
        __m512 d = _mm512_fnmadd_ps(_mm512_maskz_loadu_ps(k, x + i), c, gw);  // g·w − x·c
        _mm512_mask_storeu_ps(dx + i, k, _mm512_mul_ps(rv, d));
    }
}

WIDE void frk_rms_norm_weight_grad_row(const float *g, const float *x, float r, float *dw, long n) {
    const __m512 rv = _mm512_set1_ps(r);
    for (long i = 0; i < n; i += 16) {
        __mmask16 k = lanes(n - i);
        __m512 gx = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, g + i), _mm512_maskz_loadu_ps(k, x + i));
        _mm512_mask_storeu_ps(dw + i, k, _mm512_fmadd_ps(gx, rv, _mm512_maskz_loadu_ps(k, dw + i)));
    }
}

#else

// Not x86-64: frk_wide_available() says no, so the engine never calls the kernels; they exist to link.
int frk_wide_available(void) { return 0; }
void frk_softmax_row(const float *x, float *out, long n) { (void)x, (void)out, (void)n; }
void frk_softmax_backward_row(const float *y, const float *g, float *dx, long n) { (void)y, (void)g, (void)dx, (void)n; }
float frk_logsumexp_row(const float *x, long n) { (void)x, (void)n; return NAN; }
void frk_exp_shift_scale_row(const float *x, float shift, float scale, float *out, long n) { (void)x, (void)shift, (void)scale, (void)out, (void)n; }
void frk_silu(const float *x, float *out, long n) { (void)x, (void)out, (void)n; }
void frk_silu_backward(const float *x, const float *g, float *dx, long n) { (void)x, (void)g, (void)dx, (void)n; }
void frk_swiglu(const float *gate, const float *up, float *out, long n) { (void)gate, (void)up, (void)out, (void)n; }
void frk_swiglu_backward(const float *gate, const float *up, const float *g, float *dgate, float *dup, long n) {
    (void)gate, (void)up, (void)g, (void)dgate, (void)dup, (void)n;
}
float frk_rms_norm_row(const float *x, const float *w, float eps, float *out, long n) { (void)x, (void)w, (void)eps, (void)out, (void)n; return NAN; }
void frk_rms_norm_backward_row(const float *g, const float *w, const float *x, float r, float *dx, long n) {
    (void)g, (void)w, (void)x, (void)r, (void)dx, (void)n;
}
void frk_rms_norm_weight_grad_row(const float *g, const float *x, float r, float *dw, long n) { (void)g, (void)x, (void)r, (void)dw, (void)n; }

#endif
