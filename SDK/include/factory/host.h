/*
 * factory/host.h — what the host offers every plugin: the host-services table,
 * error reporting and byte streams.
 *
 * The host passes one `const factory_host_api_t *` to the plugin's init(). It
 * stays valid until the matching deinit() returns; a plugin stores it in one
 * global (like SQLite's SQLITE_EXTENSION_INIT2). The table is APPEND-ONLY:
 * before calling a member added after 1.0, check FACTORY_HOST_HAS.
 */
#ifndef FACTORY_HOST_H
#define FACTORY_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * An error slot owned by the host. The host creates one for every fallible
 * call and hands it to the plugin; the plugin fills it with
 * host->error_set(err, status, message). The plugin never allocates, frees or
 * keeps it. Lifetime: [call].
 */
typedef struct factory_error factory_error_t;

/**
 * A byte sink (after CLAP's clap_ostream_t): the owner of `ctx` receives bytes
 * through write(). Used where a plugin returns variable-size data (JSON text),
 * so memory never changes owner.
 * write() returns the number of bytes accepted (all of them, or -1 on error).
 * Lifetime: [call]. Thread: the thread of the call that received it.
 */
typedef struct factory_ostream {
    void *ctx;
    int64_t (*write)(const struct factory_ostream *stream, const void *buffer, uint64_t size);
} factory_ostream_t;

/**
 * The host-services table. Version and struct_size come first and never move.
 * Everything after `struct_size` is grouped by the ABI minor that added it.
 */
typedef struct factory_host_api {
    factory_version_t abi_version; /* the host's ABI version */
    uint32_t struct_size;          /* sizeof(factory_host_api_t) as the host was built */

    /* ---- since 1.0 ---- */

    /** Host program name and version, e.g. "factory", "0.1.0". Static strings. */
    const char *host_name;
    const char *host_version;

    /**
     * Writes one log line. `plugin_id` is the descriptor id or the plugin file's
     * name; `message` is UTF-8 without a trailing newline. Both are copied.
     * Thread: [thread-safe].
     */
    void (*log)(factory_log_level_t level, const char *plugin_id, const char *message);

    /**
     * Reports a failure: stores `status` and a copy of `message` (UTF-8, may be
     * NULL) in `err`. The host owns the copy; the plugin's buffer may be freed
     * right after the call. Calling it again on the same slot replaces the
     * message. `err` may be NULL, then nothing happens.
     * Thread: the thread of the call that received `err`.
     */
    void (*error_set)(factory_error_t *err, factory_status_t status, const char *message);

    /**
     * Allocates `size` bytes aligned to `alignment` (a power of two, at most
     * 4096; 0 means 16). Returns NULL on failure. Use it for buffers that change
     * owner; release with free() of this same table. Thread: [thread-safe].
     */
    void *(*alloc)(uint64_t size, uint64_t alignment);

    /** Releases memory from alloc(). NULL is ignored. Thread: [thread-safe]. */
    void (*free)(void *pointer);

    /**
     * True once the user asked to stop (Ctrl-C). Long-running plugin calls poll
     * it and return FACTORY_ERR_CANCELLED. Thread: [thread-safe].
     */
    bool (*is_cancelled)(void);

    /* ---- later minors append here (engine: tensors, graph ops, hooks) ---- */
} factory_host_api_t;

/**
 * True when the host table `api` is large enough to hold `member`. Expands to
 * an expression, so it is for C callers only; Swift plugins use the kit's
 * `Host.has(_:)`.
 */
#define FACTORY_HOST_HAS(api, member) \
    ((api)->struct_size >= offsetof(factory_host_api_t, member) + sizeof((api)->member))

#ifdef __cplusplus
}
#endif

#endif /* FACTORY_HOST_H */
