/*
 * mlp_plugin.c — a C plugin that uses the engine through the ABI alone
 * (host table, ABI 1.1): a 2-layer MLP (4 -> 16 -> 3, SiLU) on a fixed
 * 32-point classification task. fixture_mlp_train() first checks the
 * engine's gradients against central finite differences, then trains with
 * the host's AdamW and reports the loss of every step.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <factory/factory.h>

static const factory_host_api_t *H;
static uint64_t state = 0x2545F4914F6CDD1DULL;

static float uniform(void) { /* [-1, 1) */
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((state >> 40) & 0xFFFFFF) / 8388608.0f - 1.0f;
}

enum { N = 32, IN = 4, HID = 16, OUT = 3 };
static factory_tensor_t *X, *W1, *B1, *W2, *B2;
static int64_t labels[N];

/* The loss of the current parameters, as a scope handle (NULL on failure). */
static factory_tensor_t *forward(void) {
    factory_tensor_t *z1 = H->linear("mlp.w1", X, NULL);        /* [N, HID] through the hookable linear */
    if (!z1) return NULL;
    factory_tensor_t *a1 = H->silu(H->add(z1, B1, NULL), NULL);
    if (!a1) return NULL;
    factory_tensor_t *w2t = H->transpose(W2, 0, 1, NULL);         /* a view: matmul passes it by flag */
    factory_tensor_t *z2 = H->add(H->matmul(a1, w2t, NULL), B2, NULL);
    if (!z2) return NULL;
    return H->cross_entropy(z2, labels, N, NULL);
}

static float scalar(factory_tensor_t *t) {
    float v = NAN;
    if (t) H->tensor_read(t, &v, 1, NULL);
    return v;
}

static factory_tensor_t *parameter(int64_t rows, int64_t cols, float spread) {
    int64_t shape[2] = {rows, cols};
    float data[HID * HID];
    for (int64_t i = 0; i < rows * cols; i++) data[i] = spread * uniform();
    factory_tensor_t *t = H->tensor_retain(H->tensor_new(shape, cols > 0 ? 2 : 1, data, NULL));
    if (t) H->mark_trainable(t, NULL, NULL);
    return t;
}

/* Max relative error between backward's gradient of `p` and central differences, over `k` elements. */
static double gradient_error(factory_tensor_t *p, int count) {
    float values[HID * HID], grads[HID * HID];
    H->scope_push();
    H->zero_grad(p);
    factory_tensor_t *loss = forward();
    if (!loss || H->backward(loss, NULL) != FACTORY_OK) { H->scope_pop(); return 1e9; }
    H->tensor_read(H->tensor_grad(p), grads, (uint64_t)count, NULL);
    H->tensor_read(p, values, (uint64_t)count, NULL);
    bool was = H->grad_enabled(false);
    double worst = 0, scale = 1e-3;
    const float h = 1e-2f;
    for (int i = 0; i < count; i++) {
        float saved = values[i];
        values[i] = saved + h; H->tensor_write(p, values, (uint64_t)count, NULL);
        double up = scalar(forward());
        values[i] = saved - h; H->tensor_write(p, values, (uint64_t)count, NULL);
        double down = scalar(forward());
        values[i] = saved; H->tensor_write(p, values, (uint64_t)count, NULL);
        double numeric = (up - down) / (2 * h);
        worst = fmax(worst, fabs(numeric - grads[i]));
        scale = fmax(scale, fabs(numeric));
    }
    H->grad_enabled(was);
    H->zero_grad(p);
    H->scope_pop();
    return worst / scale;
}

/*
 * Trains `steps` steps; losses[i] is the loss before step i. grad_error gets
 * the worst relative gradient error over W1, B1, W2, B2. Returns 0 on success.
 */
FACTORY_EXPORT int fixture_mlp_train(const factory_host_api_t *host, int steps, float *losses, double *grad_error,
                                     char *message, int cap) {
    H = host;
    if (!FACTORY_HOST_HAS(host, optimizer_free)) { snprintf(message, (size_t)cap, "host has no engine (ABI < 1.1)"); return 1; }
    float xs[N * IN];
    for (int i = 0; i < N * IN; i++) xs[i] = uniform();
    for (int i = 0; i < N; i++) { /* a fixed nonlinear teacher */
        float a = xs[i * IN] + 0.5f * xs[i * IN + 1], b = xs[i * IN + 2] * xs[i * IN + 3];
        labels[i] = a > 0.3f ? 0 : (b > 0 ? 1 : 2);
    }
    int64_t xshape[2] = {N, IN};
    X = H->tensor_retain(H->tensor_new(xshape, 2, xs, NULL));
    W1 = parameter(HID, IN, 0.5f);
    B1 = parameter(HID, 0, 0.1f);
    W2 = parameter(OUT, HID, 0.5f);
    B2 = parameter(OUT, 0, 0.1f);
    if (!X || !W1 || !B1 || !W2 || !B2) { snprintf(message, (size_t)cap, "tensor_new failed"); return 1; }
    if (H->param_register("mlp.w1", W1, NULL) != FACTORY_OK) { snprintf(message, (size_t)cap, "param_register failed"); return 1; }

    *grad_error = fmax(fmax(gradient_error(W1, HID * IN), gradient_error(B1, HID)),
                       fmax(gradient_error(W2, OUT * HID), gradient_error(B2, OUT)));

    factory_optimizer_t *opt = H->optimizer_new(0.05, 0.9, 0.999, 1e-8, NULL);
    factory_tensor_t *params[4] = {W1, B1, W2, B2};
    for (int i = 0; i < 4; i++) H->optimizer_add(opt, params[i], 0.0, 1.0, NULL);
    for (int step = 0; step < steps; step++) {
        H->scope_push();
        factory_tensor_t *loss = forward();
        if (!loss || H->backward(loss, NULL) != FACTORY_OK) { snprintf(message, (size_t)cap, "step %d failed", step); H->scope_pop(); return 1; }
        losses[step] = scalar(loss);
        H->optimizer_step(opt, 0.05, NULL);
        H->optimizer_zero_grad(opt);
        H->scope_pop();
    }
    H->optimizer_free(opt);
    for (int i = 0; i < 4; i++) H->tensor_release(params[i]);
    H->tensor_release(X);
    return 0;
}

/* Wrong calls must come back as errors with messages, not crashes. */
FACTORY_EXPORT int fixture_engine_misuse(const factory_host_api_t *host, factory_error_t *err) {
    H = host;
    int64_t a_shape[2] = {2, 3}, b_shape[2] = {4, 5};
    H->scope_push();
    factory_tensor_t *a = H->tensor_new(a_shape, 2, NULL, err), *b = H->tensor_new(b_shape, 2, NULL, err);
    factory_tensor_t *c = H->matmul(a, b, err); /* inner sizes differ */
    H->scope_pop();
    return c == NULL ? 0 : 1;
}

static factory_status_t init(const factory_host_api_t *h, const char *path, factory_error_t *err) { (void)h; (void)path; (void)err; return FACTORY_OK; }
static void deinit(void) {}
static const factory_factory_t *get_factory(const char *kind) { (void)kind; return NULL; }
static const factory_entry_t ENTRY = {{FACTORY_ABI_MAJOR, FACTORY_ABI_MINOR, FACTORY_ABI_PATCH}, sizeof(factory_entry_t), "c", init, deinit, get_factory};
FACTORY_EXPORT const factory_entry_t *factory_plugin_entry(void) { return &ENTRY; }

/* A custom op: y = x², with its backward dx = 2·x·dy. */
static factory_status_t square_forward(void *ud, factory_tensor_t *const *in, int32_t n, factory_tensor_t *out, factory_error_t *err) {
    (void)ud; (void)n; (void)err;
    const float *x = H->tensor_data(in[0]);
    float *y = H->tensor_data(out);
    if (!x || !y) return FACTORY_ERR_INVALID_ARGUMENT;
    for (int64_t i = 0; i < H->tensor_count(out); i++) y[i] = x[i] * x[i];
    return FACTORY_OK;
}

static factory_status_t square_backward(void *ud, factory_tensor_t *const *in, int32_t n, factory_tensor_t *out,
                                        factory_tensor_t *gy, factory_tensor_t *const *gx, factory_error_t *err) {
    (void)ud; (void)n; (void)out; (void)err;
    if (!gx[0]) return FACTORY_OK;
    const float *x = H->tensor_data(in[0]), *g = H->tensor_data(gy);
    float *d = H->tensor_data(gx[0]);
    for (int64_t i = 0; i < H->tensor_count(in[0]); i++) d[i] = 2 * x[i] * g[i];
    return FACTORY_OK;
}

/* sum(3 · square(x)) for x = [1, -2, 0.5]: returns the loss, writes x's gradient (expect 6x). */
FACTORY_EXPORT float fixture_custom_square(const factory_host_api_t *host, float *grad) {
    H = host;
    int64_t shape[1] = {3};
    float xs[3] = {1, -2, 0.5f};
    H->scope_push();
    factory_tensor_t *x = H->tensor_new(shape, 1, xs, NULL);
    H->mark_trainable(x, "x", NULL);
    factory_tensor_t *y = H->custom_op("square", &x, 1, shape, 1, square_forward, square_backward, NULL, NULL);
    factory_tensor_t *loss = H->sum(H->scale(y, 3, NULL), NULL);
    float value = scalar(loss);
    H->backward(loss, NULL);
    H->tensor_read(H->tensor_grad(x), grad, 3, NULL);
    H->scope_pop();
    return value;
}
