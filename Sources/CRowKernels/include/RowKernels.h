// The engine's row operations in AVX-512 (16 float lanes), for CPUs that have it: softmax and its
// backward, log-sum-exp, the cross-entropy gradient's exp(x − shift)·scale, SiLU and SiLU·mul (SwiGLU)
// forward and backward, RMSNorm forward and backward. The release build targets Haswell (AVX2) so that
// one binary runs on every x86-64 machine CI may get; these functions carry their own target attribute
// and run only after frk_wide_available() said yes, so the engine chooses at run time (its Swift SIMD8
// loops stay the path everywhere else). exp is Cephes' polynomial (≤ 2 ulp on [−87, 88]), as the Swift
// path's; sums run in 16 lanes, so results differ from the 8-lane path by float rounding only.
//
// Thread rule: every function is pure over its arguments (the caller owns every buffer, nothing is kept);
// callers split rows across threads freely. n is a row's length (≥ 0); output buffers may alias an
// input of the same shape only where a comment says so.
#ifndef FACTORY_ROW_KERNELS_H
#define FACTORY_ROW_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this CPU runs the functions below (x86-64 with AVX-512 F and DQ), else 0. Calling any other
/// function of this header when it returned 0 is undefined (an illegal instruction).
int frk_wide_available(void);

/// out = exp(x − max) / Σ exp(x − max) over one row; a row that is all −inf gives zeros. out may be x.
void frk_softmax_row(const float *x, float *out, long n);

/// dx = y · (g − Σ y·g): softmax's input gradient from its output y and the output gradient g.
void frk_softmax_backward_row(const float *y, const float *g, float *dx, long n);

/// log Σ exp(x), stable (through the row's max); −inf for an all −inf row.
float frk_logsumexp_row(const float *x, long n);

/// out = exp(x − shift) · scale (cross-entropy's gradient before the label's −scale). out may be x.
void frk_exp_shift_scale_row(const float *x, float shift, float scale, float *out, long n);

/// out = x · σ(x).
void frk_silu(const float *x, float *out, long n);

/// dx = g · σ(x) · (1 + x · (1 − σ(x))).
void frk_silu_backward(const float *x, const float *g, float *dx, long n);

/// out = gate · σ(gate) · up.
void frk_swiglu(const float *gate, const float *up, float *out, long n);

/// dgate = g · up · σ(gate) · (1 + gate · (1 − σ(gate))), dup = g · gate · σ(gate).
void frk_swiglu_backward(const float *gate, const float *up, const float *g, float *dgate, float *dup, long n);

/// out = x · r · w with r = 1 / √(Σx²/n + eps), in that order (LLaMA's fp32 RMSNorm); returns r.
float frk_rms_norm_row(const float *x, const float *w, float eps, float *out, long n);

/// dx = r · (g·w − x · (Σ g·w·x) · r² / n): RMSNorm's input gradient for one row with its saved r.
void frk_rms_norm_backward_row(const float *g, const float *w, const float *x, float r, float *dx, long n);

/// dw += g · x · r: one row's share of RMSNorm's weight gradient.
void frk_rms_norm_weight_grad_row(const float *g, const float *x, float r, float *dw, long n);

#ifdef __cplusplus
}
#endif

#endif
