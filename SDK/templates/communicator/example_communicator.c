/*
 * example_communicator.c — the skeleton of a communicator plugin (kind factory.communicator/1, ABI 1.10),
 * built against the Factory SDK only. It is a run of one process: rank 0 of 1, every collective leaves the
 * buffers as they are (a sum or a mean over one rank is the rank's own values). Put your transport's calls
 * where the comments say; keep the argument checks, which `factory plugins check` probes.
 */
#include <stdlib.h>
#include <string.h>

#include <factory/factory.h>

FACTORY_EXPORT const factory_entry_t *factory_plugin_entry(void);

static const factory_host_api_t *host;
static int init_count;

typedef struct example {
    factory_communicator_t table;
    factory_communicator_info_t info;
} example_t;

/* What allreduce_start returns: here nothing is in flight; a real transport keeps its request here. */
struct factory_reduction {
    int unused;
};

static factory_status_t fail(factory_error_t *err, factory_status_t status, const char *message) {
    if (host && host->error_set) host->error_set(err, status, message);
    return status;
}

static const factory_communicator_info_t *example_info(const factory_communicator_t *self) {
    return self ? &((const example_t *)self)->info : NULL;
}

static int valid_op(factory_reduce_op_t op) { return op == FACTORY_REDUCE_SUM || op == FACTORY_REDUCE_MEAN; }

static factory_status_t example_allreduce(factory_communicator_t *self, float *buffer, int64_t count, factory_reduce_op_t op,
                                          factory_error_t *err) {
    if (!self || count < 0 || (!buffer && count > 0) || !valid_op(op)) {
        return fail(err, FACTORY_ERR_INVALID_ARGUMENT, "example_local: allreduce needs a buffer, a count >= 0 and the op sum or mean");
    }
    /* A transport reduces buffer[0 ..< count] over the ranks here (one order, the same bits on every rank). */
    return FACTORY_OK;
}

static factory_status_t example_allreduce_start(factory_communicator_t *self, float *buffer, int64_t count, factory_reduce_op_t op,
                                                factory_reduction_t **reduction, factory_error_t *err) {
    if (!reduction) return fail(err, FACTORY_ERR_INVALID_ARGUMENT, "example_local: allreduce_start needs a place for the reduction");
    factory_status_t status = example_allreduce(self, buffer, count, op, err); /* a transport starts it instead */
    if (status != FACTORY_OK) return status;
    *reduction = calloc(1, sizeof **reduction);
    return *reduction ? FACTORY_OK : fail(err, FACTORY_ERR_OUT_OF_MEMORY, "example_local: out of memory");
}

static factory_status_t example_wait(factory_communicator_t *self, factory_reduction_t *reduction, factory_error_t *err) {
    if (!self || !reduction) return fail(err, FACTORY_ERR_INVALID_ARGUMENT, "example_local: wait needs a reduction from allreduce_start");
    /* A transport completes the reduction here (and divides by the world size for a mean). */
    free(reduction);
    return FACTORY_OK;
}

static factory_status_t example_broadcast(factory_communicator_t *self, void *bytes, int64_t size, int32_t root, factory_error_t *err) {
    if (!self || size < 0 || (!bytes && size > 0) || root < 0 || root >= ((example_t *)self)->info.world_size) {
        return fail(err, FACTORY_ERR_INVALID_ARGUMENT, "example_local: broadcast needs bytes, a size >= 0 and a root rank of the run");
    }
    return FACTORY_OK; /* one rank: the root's bytes are already here */
}

static factory_status_t example_barrier(factory_communicator_t *self, factory_error_t *err) {
    return self ? FACTORY_OK : fail(err, FACTORY_ERR_INVALID_ARGUMENT, "example_local: barrier needs the instance");
}

static factory_status_t example_allgather(factory_communicator_t *self, const void *bytes, int64_t size, void *out, factory_error_t *err) {
    if (!self || size < 0 || (size > 0 && (!bytes || !out))) {
        return fail(err, FACTORY_ERR_INVALID_ARGUMENT, "example_local: allgather needs bytes and an output of size × world_size bytes");
    }
    if (size > 0) memcpy(out, bytes, (size_t)size); /* rank 0's bytes at out + 0 */
    return FACTORY_OK;
}

static void example_destroy(const factory_instance_t *self) { free((void *)self); }

static const factory_descriptor_t DESCRIPTOR = {
    .struct_size = sizeof(factory_descriptor_t),
    .id = "org.example.communicator.local",
    .name = "example_local",
    .version = "1.0.0",
    .vendor = "Example",
    .description = "A communicator skeleton: one process, collectives that leave the buffers as they are",
    .features = NULL,
};

static uint32_t factory_count(void) { return init_count > 0 ? 1 : 0; }

static const factory_descriptor_t *factory_descriptor(uint32_t index) { return init_count > 0 && index == 0 ? &DESCRIPTOR : NULL; }

/* The config must be "{}" (whitespace allowed): this communicator takes no keys. */
static int empty_object(const char *json, uint64_t length) {
    char seen[3] = {0};
    int n = 0;
    for (uint64_t i = 0; i < length; i++) {
        if (json[i] == ' ' || json[i] == '\n' || json[i] == '\t' || json[i] == '\r') continue;
        if (n == 2) return 0;
        seen[n++] = json[i];
    }
    return n == 2 && seen[0] == '{' && seen[1] == '}';
}

static const factory_instance_t *factory_create(const char *name, const char *config_json, uint64_t config_len, factory_error_t *err) {
    if (!name || strcmp(name, DESCRIPTOR.name) != 0) {
        fail(err, FACTORY_ERR_NOT_FOUND, "example communicator plugin: no communicator of that name");
        return NULL;
    }
    if (config_json && config_len > 0 && !empty_object(config_json, config_len)) {
        fail(err, FACTORY_ERR_INVALID_ARGUMENT, "example_local: the config must be an empty JSON object (it takes no keys)");
        return NULL;
    }
    example_t *e = calloc(1, sizeof *e);
    if (!e) {
        fail(err, FACTORY_ERR_OUT_OF_MEMORY, "example_local: out of memory");
        return NULL;
    }
    /* A transport joins its run here and reads the rank, world size and local rank/size from it. */
    e->table.base.struct_size = sizeof(factory_communicator_t);
    e->table.base.plugin_data = e;
    e->table.base.destroy = example_destroy;
    e->table.info = example_info;
    e->table.allreduce = example_allreduce;
    e->table.allreduce_start = example_allreduce_start;
    e->table.wait = example_wait;
    e->table.broadcast = example_broadcast;
    e->table.barrier = example_barrier;
    e->table.allgather = example_allgather;
    e->info = (factory_communicator_info_t){sizeof(factory_communicator_info_t), 0, 1, 0, 1, "example (one process)"};
    return &e->table.base;
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
    if (init_count > 0 && --init_count == 0) host = NULL;
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
