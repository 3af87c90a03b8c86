/*
 * communicator_mpi.c — the `mpi` communicator (kind factory.communicator/1, ABI 1.10): data-parallel
 * collectives on Open MPI (Debian's libopenmpi-dev), so that `mpirun -np N factory run ...` trains on N
 * processes, on one machine or many, over whatever transport Open MPI picks (shared memory, TCP, ...).
 *
 * MPI is initialised when the first instance is created (never when the plugin is merely loaded, so
 * `factory plugins list` starts no MPI) and finalised when the plugin is unloaded or the process exits
 * (Open MPI's mpirun treats a rank that exits without MPI_Finalize as failed). Errors return to the
 * caller (MPI_ERRORS_RETURN) as FACTORY_ERR_IO with MPI's message. Counts above INT_MAX go in chunks.
 * Thread: an instance is used by one thread at a time ([instance]); MPI is asked for
 * MPI_THREAD_SERIALIZED.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "communicator_mpi.h"

static const factory_host_api_t *host;
static int init_count;
static int started_mpi; /* this plugin called MPI_Init_thread and owes MPI_Finalize */

typedef struct mpi_communicator {
    factory_communicator_t table;
    factory_communicator_info_t info;
    char transport[160];
} mpi_communicator_t;

/* One reduction in flight: the requests of its chunks, and what wait() still has to do. */
struct factory_reduction {
    float *buffer;
    int64_t count;
    factory_reduce_op_t op;
    int requests;
    MPI_Request request[];
};

static const int64_t CHUNK = 1 << 30; /* elements per MPI call: counts are int */

static factory_status_t fail(factory_error_t *err, factory_status_t status, const char *message) {
    if (host && host->error_set) host->error_set(err, status, message);
    return status;
}

/* FACTORY_OK, or FACTORY_ERR_IO with "mpi: <what>: <MPI's message>". */
static factory_status_t check(int code, const char *what, factory_error_t *err) {
    if (code == MPI_SUCCESS) return FACTORY_OK;
    char text[MPI_MAX_ERROR_STRING] = "";
    int length = 0;
    MPI_Error_string(code, text, &length);
    char message[MPI_MAX_ERROR_STRING + 128];
    snprintf(message, sizeof message, "mpi: %s failed: %s (a rank may have exited; mpirun names it)", what, text);
    return fail(err, FACTORY_ERR_IO, message);
}

static void finalize_mpi(void) {
    int finalized = 0;
    if (started_mpi && MPI_Finalized(&finalized) == MPI_SUCCESS && !finalized) MPI_Finalize();
    started_mpi = 0;
}

/* MPI_Init_thread once per process. libmpi's own components (loaded by it with dlopen) need its symbols
 * global, which a plugin opened with RTLD_LOCAL does not give them: promote libmpi first. */
static factory_status_t start_mpi(factory_error_t *err) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (finalized) return fail(err, FACTORY_ERR_UNSUPPORTED, "mpi: MPI was finalized in this process and cannot start again");
    if (initialized) return FACTORY_OK;
    Dl_info where;
    if (dladdr((void *)MPI_Init_thread, &where) && where.dli_fname) dlopen(where.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
    int provided = 0;
    int code = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
    if (code != MPI_SUCCESS) return check(code, "MPI_Init_thread", err);
    started_mpi = 1;
    atexit(finalize_mpi);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (provided < MPI_THREAD_SERIALIZED) {
        return fail(err, FACTORY_ERR_UNSUPPORTED, "mpi: this MPI library gives no MPI_THREAD_SERIALIZED (calls from more than one thread)");
    }
    return FACTORY_OK;
}

static const factory_communicator_info_t *mpi_info(const factory_communicator_t *self) {
    return self ? &((const mpi_communicator_t *)self)->info : NULL;
}

static factory_status_t need(int ok, factory_error_t *err, const char *message) {
    return ok ? FACTORY_OK : fail(err, FACTORY_ERR_INVALID_ARGUMENT, message);
}

/* buffer /= world_size, element by element (the same on every rank: the same sum, the same division). */
static void divide(float *buffer, int64_t count, int world) {
    for (int64_t i = 0; i < count; i++) buffer[i] /= (float)world;
}

static factory_status_t mpi_allreduce(factory_communicator_t *self, float *buffer, int64_t count, factory_reduce_op_t op,
                                      factory_error_t *err) {
    factory_status_t s = need(self && count >= 0 && (buffer || count == 0) && (op == FACTORY_REDUCE_SUM || op == FACTORY_REDUCE_MEAN), err,
                              "mpi: allreduce needs a buffer, a count >= 0 and the op sum or mean");
    if (s != FACTORY_OK) return s;
    for (int64_t first = 0; first < count; first += CHUNK) {
        int n = (int)(count - first < CHUNK ? count - first : CHUNK);
        s = check(MPI_Allreduce(MPI_IN_PLACE, buffer + first, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce", err);
        if (s != FACTORY_OK) return s;
    }
    if (op == FACTORY_REDUCE_MEAN) divide(buffer, count, ((mpi_communicator_t *)self)->info.world_size);
    return FACTORY_OK;
}

static factory_status_t mpi_allreduce_start(factory_communicator_t *self, float *buffer, int64_t count, factory_reduce_op_t op,
                                            factory_reduction_t **reduction, factory_error_t *err) {
    factory_status_t s = need(self && reduction && count >= 0 && (buffer || count == 0) && (op == FACTORY_REDUCE_SUM || op == FACTORY_REDUCE_MEAN),
                              err, "mpi: allreduce_start needs a buffer, a count >= 0, the op sum or mean and a place for the reduction");
    if (s != FACTORY_OK) return s;
    int chunks = (int)((count + CHUNK - 1) / CHUNK);
    factory_reduction_t *r = calloc(1, sizeof *r + (size_t)(chunks > 0 ? chunks : 1) * sizeof(MPI_Request));
    if (!r) return fail(err, FACTORY_ERR_OUT_OF_MEMORY, "mpi: out of memory");
    r->buffer = buffer;
    r->count = count;
    r->op = op;
    for (int c = 0; c < chunks; c++) {
        int64_t first = (int64_t)c * CHUNK;
        int n = (int)(count - first < CHUNK ? count - first : CHUNK);
        s = check(MPI_Iallreduce(MPI_IN_PLACE, buffer + first, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &r->request[c]), "MPI_Iallreduce", err);
        if (s != FACTORY_OK) {
            MPI_Waitall(c, r->request, MPI_STATUSES_IGNORE);
            free(r);
            return s;
        }
        r->requests = c + 1;
    }
    *reduction = r;
    return FACTORY_OK;
}

static factory_status_t mpi_wait(factory_communicator_t *self, factory_reduction_t *reduction, factory_error_t *err) {
    factory_status_t s = need(self && reduction, err, "mpi: wait needs a reduction from allreduce_start");
    if (s != FACTORY_OK) return s;
    s = check(MPI_Waitall(reduction->requests, reduction->request, MPI_STATUSES_IGNORE), "MPI_Waitall", err);
    if (s == FACTORY_OK && reduction->op == FACTORY_REDUCE_MEAN) divide(reduction->buffer, reduction->count, ((mpi_communicator_t *)self)->info.world_size);
    free(reduction);
    return s;
}

static factory_status_t mpi_broadcast(factory_communicator_t *self, void *bytes, int64_t size, int32_t root, factory_error_t *err) {
    factory_status_t s = need(self && size >= 0 && (bytes || size == 0) && root >= 0 && root < ((mpi_communicator_t *)self)->info.world_size,
                              err, "mpi: broadcast needs bytes, a size >= 0 and a root rank of the run");
    if (s != FACTORY_OK) return s;
    for (int64_t first = 0; first < size; first += CHUNK) {
        int n = (int)(size - first < CHUNK ? size - first : CHUNK);
        s = check(MPI_Bcast((char *)bytes + first, n, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast", err);
        if (s != FACTORY_OK) return s;
    }
    return FACTORY_OK;
}

static factory_status_t mpi_barrier(factory_communicator_t *self, factory_error_t *err) {
    factory_status_t s = need(self != NULL, err, "mpi: barrier needs the instance");
    return s != FACTORY_OK ? s : check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier", err);
}

static factory_status_t mpi_allgather(factory_communicator_t *self, const void *bytes, int64_t size, void *out, factory_error_t *err) {
    factory_status_t s = need(self && size >= 0 && size <= INT_MAX && (size == 0 || (bytes && out)), err,
                              "mpi: allgather needs bytes, an output of size × world_size bytes and a size of at most INT_MAX");
    if (s != FACTORY_OK) return s;
    if (size == 0) return FACTORY_OK;
    return check(MPI_Allgather(bytes, (int)size, MPI_BYTE, out, (int)size, MPI_BYTE, MPI_COMM_WORLD), "MPI_Allgather", err);
}

static void mpi_destroy(const factory_instance_t *self) {
    free((void *)self);
}

static const char *const FEATURES[] = {"allreduce", "allreduce_async", "broadcast", "barrier", "allgather", NULL};

static const factory_descriptor_t DESCRIPTOR = {
    .struct_size = sizeof(factory_descriptor_t),
    .id = "org.factory.communicator.mpi",
    .name = "mpi",
    .version = "1.0.0",
    .vendor = "Factory",
    .description = "Data-parallel collectives on Open MPI (mpirun -np N factory run ...)",
    .features = FEATURES,
};

static uint32_t factory_count(void) { return init_count > 0 ? 1 : 0; }

static const factory_descriptor_t *factory_descriptor(uint32_t index) {
    return init_count > 0 && index == 0 ? &DESCRIPTOR : NULL;
}

/* 1 for an empty JSON object ("{}", whitespace allowed), 0 for an object with keys, -1 for anything else. */
static int config_kind(const char *json, uint64_t length) {
    uint64_t i = 0;
    while (i < length && (json[i] == ' ' || json[i] == '\n' || json[i] == '\t' || json[i] == '\r')) i++;
    if (i == length || json[i] != '{') return -1;
    i++;
    while (i < length && (json[i] == ' ' || json[i] == '\n' || json[i] == '\t' || json[i] == '\r')) i++;
    if (i < length && json[i] == '"') {
        for (uint64_t j = length; j > i; j--) if (json[j - 1] == '}') return 0;  /* keys, then a closing brace */
        return -1;
    }
    if (i == length || json[i] != '}') return -1;
    i++;
    while (i < length && (json[i] == ' ' || json[i] == '\n' || json[i] == '\t' || json[i] == '\r')) i++;
    return i == length ? 1 : -1;
}

static const factory_instance_t *factory_create(const char *name, const char *config_json, uint64_t config_len, factory_error_t *err) {
    if (!name || strcmp(name, "mpi") != 0) {
        fail(err, FACTORY_ERR_NOT_FOUND, "mpi plugin: no communicator of that name");
        return NULL;
    }
    int kind = config_json && config_len > 0 ? config_kind(config_json, config_len) : 1;
    if (kind < 0) {
        fail(err, FACTORY_ERR_INVALID_ARGUMENT, "mpi: the config is not a JSON object");
        return NULL;
    }
    if (kind == 0) {
        fail(err, FACTORY_ERR_INVALID_ARGUMENT, "mpi: the communicator takes no config keys (Open MPI reads its own OMPI_* environment and mpirun's options)");
        return NULL;
    }
    if (start_mpi(err) != FACTORY_OK) return NULL;
    mpi_communicator_t *c = calloc(1, sizeof *c);
    if (!c) {
        fail(err, FACTORY_ERR_OUT_OF_MEMORY, "mpi: out of memory");
        return NULL;
    }
    int rank = 0, world = 1, local_rank = 0, local_size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    MPI_Comm local;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &local) == MPI_SUCCESS) {
        MPI_Comm_rank(local, &local_rank);
        MPI_Comm_size(local, &local_size);
        MPI_Comm_free(&local);
    }
    char version[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int length = 0;
    MPI_Get_library_version(version, &length);
    size_t line = strcspn(version, ",\n");
    snprintf(c->transport, sizeof c->transport, "%.*s", (int)(line < sizeof c->transport - 1 ? line : sizeof c->transport - 1), version);
    c->table.base.struct_size = sizeof(factory_communicator_t);
    c->table.base.plugin_data = c;
    c->table.base.destroy = mpi_destroy;
    c->table.info = mpi_info;
    c->table.allreduce = mpi_allreduce;
    c->table.allreduce_start = mpi_allreduce_start;
    c->table.wait = mpi_wait;
    c->table.broadcast = mpi_broadcast;
    c->table.barrier = mpi_barrier;
    c->table.allgather = mpi_allgather;
    c->info = (factory_communicator_info_t){sizeof(factory_communicator_info_t), rank, world, local_rank, local_size, c->transport};
    return &c->table.base;
}

static const factory_factory_t FACTORY = {
    .struct_size = sizeof(factory_factory_t),
    .count = factory_count,
    .descriptor = factory_descriptor,
    .create = factory_create,
};

static factory_status_t entry_init(const factory_host_api_t *h, const char *path, factory_error_t *err) {
    (void)path;
    (void)err;
    if (!h) return FACTORY_ERR_INVALID_ARGUMENT;
    if (init_count++ == 0) host = h;
    return FACTORY_OK;
}

static void entry_deinit(void) {
    if (init_count > 0 && --init_count == 0) {
        finalize_mpi();
        host = NULL;
    }
}

static const factory_factory_t *entry_get_factory(const char *kind) {
    return init_count > 0 && kind && strcmp(kind, FACTORY_KIND_COMMUNICATOR) == 0 ? &FACTORY : NULL;
}

static const factory_entry_t ENTRY = {
    .abi_version = FACTORY_VERSION_INIT,
    .struct_size = sizeof(factory_entry_t),
    .build_info = "c",
    .init = entry_init,
    .deinit = entry_deinit,
    .get_factory = entry_get_factory,
};

FACTORY_EXPORT const factory_entry_t *factory_plugin_entry(void) { return &ENTRY; }
