// How fast this machine streams memory: 256 MiB read once with AVX-512 loads, by one thread and by two (each
// half the buffer), the best of 3. Decoding reads every weight once per token, so this bounds tokens/s:
// bytes read per token / bandwidth. Run: bench/memory_bandwidth.sh
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BYTES (256u << 20)
static char *buffer;
static volatile long long sink;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *read_half(void *part) {
    const char *p = buffer + (size_t)part * (BYTES / 2);
    __m512i acc = _mm512_setzero_si512();
    for (size_t i = 0; i < BYTES / 2; i += 64) acc = _mm512_xor_si512(acc, _mm512_load_si512(p + i));
    sink = _mm512_reduce_add_epi64(acc);
    return NULL;
}

int main(void) {
    buffer = aligned_alloc(64, BYTES);
    memset(buffer, 1, BYTES);
    double one = 1e9, two = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        read_half((void *)0);
        read_half((void *)1);
        double t1 = now();
        pthread_t helper;
        pthread_create(&helper, NULL, read_half, (void *)1);
        read_half((void *)0);
        pthread_join(helper, NULL);
        double t2 = now();
        if (t1 - t0 < one) one = t1 - t0;
        if (t2 - t1 < two) two = t2 - t1;
    }
    printf("memory read bandwidth: 1 thread %.1f GB/s, 2 threads %.1f GB/s\n", BYTES / one / 1e9, BYTES / two / 1e9);
    return 0;
}
