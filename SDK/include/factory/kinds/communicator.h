/*
 * factory/kinds/communicator.h — kind "factory.communicator/1" (since ABI 1.10).
 *
 * A communicator joins the processes of a data-parallel run — ranks 0 ..< world_size, each its own
 * `factory` process — and runs the collective operations training needs: an allreduce (sum or mean)
 * of float32 buffers in place, blocking or started now and waited for later (so gradients reduce while
 * backward goes on), a broadcast of bytes from one rank, a barrier, and an allgather of small, equally
 * sized byte buffers. The host keeps no MPI or NCCL of its own: without a communicator plugin, or with
 * world size 1, a run is one process (the host's `local` communicator).
 *
 * Rules every communicator keeps (`factory plugins check` tests them under `mpirun -np 2`):
 *   - Every rank calls the same collectives, with the same counts, in the same order (MPI's rule); a
 *     rank may not start a second collective while an allreduce it started is not yet waited for,
 *     except further allreduce_start calls (several may be in flight; wait for each exactly once).
 *   - Results are identical on every rank, bit for bit (an allreduce's sum is formed in one order and
 *     sent to all), so ranks that apply the same optimizer step stay identical.
 *   - A lost peer is an error, not a hang: a call whose peers are gone returns FACTORY_ERR_IO with a
 *     message naming the lost rank when the transport can tell, within seconds.
 *   - Buffers belong to the caller; an allreduce_start buffer must stay valid and untouched until its
 *     wait() returns.
 * Thread: [instance] — one thread at a time per instance.
 */
#ifndef FACTORY_KINDS_COMMUNICATOR_H
#define FACTORY_KINDS_COMMUNICATOR_H

#include <stdbool.h>
#include <stdint.h>

#include "../descriptor.h"
#include "../host.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What an allreduce forms from the ranks' buffers. */
typedef enum factory_reduce_op {
    FACTORY_REDUCE_SUM = 0,  /* Σ over ranks */
    FACTORY_REDUCE_MEAN = 1, /* Σ over ranks / world_size */
} factory_reduce_op_t;

/** Where this process sits in the run. Owned by the instance, valid until destroy(). */
typedef struct factory_communicator_info {
    uint32_t struct_size;
    int32_t rank;           /* 0 ..< world_size; rank 0 logs and writes outputs */
    int32_t world_size;     /* >= 1 */
    int32_t local_rank;     /* rank among the processes on this machine */
    int32_t local_size;     /* processes on this machine: each takes cores / local_size threads */
    const char *transport;  /* one line for logs, e.g. "Open MPI 4.1.4"; never NULL */
} factory_communicator_info_t;

/** An allreduce in flight (allreduce_start → wait). Opaque, owned by the plugin until wait() returns. */
typedef struct factory_reduction factory_reduction_t;

/** A communicator instance. Thread: [instance]. */
typedef struct factory_communicator {
    factory_instance_t base;

    /** This process's place in the run. Never NULL; valid until destroy(). Thread: [instance]. */
    const factory_communicator_info_t *(*info)(const struct factory_communicator *self);

    /**
     * Replaces buffer[0 ..< count] on every rank by `op` over all ranks' buffers. count >= 0 and equal
     * on every rank. Blocks until done. Thread: [instance].
     */
    factory_status_t (*allreduce)(struct factory_communicator *self, float *buffer, int64_t count, factory_reduce_op_t op,
                                  factory_error_t *err);

    /**
     * Starts the same allreduce and returns at once with `*reduction` set; the result is in `buffer`
     * when wait() on it returns. Thread: [instance].
     */
    factory_status_t (*allreduce_start)(struct factory_communicator *self, float *buffer, int64_t count, factory_reduce_op_t op,
                                        factory_reduction_t **reduction, factory_error_t *err);

    /** Completes `reduction` and releases it (also when it failed). Thread: [instance]. */
    factory_status_t (*wait)(struct factory_communicator *self, factory_reduction_t *reduction, factory_error_t *err);

    /** Copies root's bytes[0 ..< size] into every other rank's `bytes`. Thread: [instance]. */
    factory_status_t (*broadcast)(struct factory_communicator *self, void *bytes, int64_t size, int32_t root, factory_error_t *err);

    /** Returns once every rank has called it. Thread: [instance]. */
    factory_status_t (*barrier)(struct factory_communicator *self, factory_error_t *err);

    /**
     * Every rank gives `size` bytes (the same size on every rank); `out` (size × world_size bytes) receives
     * rank r's at out + r·size on every rank. Thread: [instance].
     */
    factory_status_t (*allgather)(struct factory_communicator *self, const void *bytes, int64_t size, void *out,
                                  factory_error_t *err);
} factory_communicator_t;

#ifdef __cplusplus
}
#endif

#endif /* FACTORY_KINDS_COMMUNICATOR_H */
