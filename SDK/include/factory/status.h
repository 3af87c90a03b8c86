/*
 * factory/status.h — status codes, log levels and thread tags.
 *
 * Every fallible ABI function returns a factory_status_t: FACTORY_OK (0) on
 * success, a negative code on failure. Alongside it the callee fills the
 * caller's factory_error_t with a human-readable message (see host.h).
 * Nothing crossing the ABI ever traps, aborts, throws or unwinds.
 *
 * Thread and lifetime tags, used in the comment of every member of this SDK
 * (these five and no others):
 *   [load]        called by the host while loading or unloading plugins, never
 *                 concurrently with any other call into the same plugin.
 *   [thread-safe] may be called from any thread at any time after init, also
 *                 concurrently, also on one instance.
 *   [instance]    calls on one instance are never concurrent with each other;
 *                 different instances may be used from different threads.
 *   [build]       an engine call (host.h, since 1.1): made from the thread that
 *                 called into the plugin, during that call (factory/tensor.h).
 *   [call]        a pointer or handle valid only for the duration of the call
 *                 that handed it over; copy what must outlive it.
 *
 * Ownership, when a comment does not say otherwise: memory passed into a call
 * stays the caller's; memory a plugin returns (info structs, descriptors) stays
 * the plugin's until the instance is destroyed or the plugin deinitialised.
 */
#ifndef FACTORY_STATUS_H
#define FACTORY_STATUS_H

#include <stdint.h>

/** Result of a fallible call: 0 is success, negative values are failures. */
typedef int32_t factory_status_t;

/** The status codes. New codes may be appended in later minor versions; treat unknown negative values as FACTORY_ERR_INTERNAL. */
enum factory_status_code {
    FACTORY_OK = 0,
    FACTORY_ERR_INVALID_ARGUMENT = -1, /* a caller-supplied value is wrong (bad JSON, NULL, unknown key, out of range) */
    FACTORY_ERR_UNSUPPORTED = -2,      /* valid request this plugin cannot serve */
    FACTORY_ERR_OUT_OF_MEMORY = -3,
    FACTORY_ERR_SHAPE_MISMATCH = -4,   /* tensor or buffer sizes that do not fit each other: every shape refusal */
    FACTORY_ERR_CANCELLED = -5,
    FACTORY_ERR_INTERNAL = -6,         /* a bug in the callee: report it */
    FACTORY_ERR_NOT_FOUND = -7,        /* a name or id that nobody provides */
    FACTORY_ERR_IO = -8                /* a stream or file failed */
};

/**
 * An error slot owned by the host. The host creates one for every fallible
 * call and hands it to the plugin (or a plugin's callback hands it back); it
 * is filled with host->error_set(err, status, message). Nobody but the host
 * allocates, frees or keeps it. Lifetime: [call].
 */
typedef struct factory_error factory_error_t;

/** Severity passed to factory_host_api_t.log. */
typedef int32_t factory_log_level_t;

/** Log levels. MISBEHAVING marks a plugin (or host) breaking the ABI contract. */
enum factory_log_level_code {
    FACTORY_LOG_DEBUG = 0,
    FACTORY_LOG_INFO = 1,
    FACTORY_LOG_WARNING = 2,
    FACTORY_LOG_ERROR = 3,
    FACTORY_LOG_PLUGIN_MISBEHAVING = 4,
    FACTORY_LOG_HOST_MISBEHAVING = 5
};

#endif /* FACTORY_STATUS_H */
