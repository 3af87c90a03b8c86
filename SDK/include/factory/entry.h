/*
 * factory/entry.h — the one symbol every plugin exports.
 *
 * A plugin shared library exports exactly one function:
 *
 *     const factory_entry_t *factory_plugin_entry(void);
 *
 * It returns a pointer to a static table and does nothing else (no
 * allocation, no I/O), so the host may call it just to read versions. The
 * first two members (abi_version, struct_size) are frozen forever: the host
 * reads them before anything else and refuses a different major version,
 * naming the file and both versions.
 *
 * Lifecycle: factory_plugin_entry() -> init() -> get_factory()... -> deinit().
 * init() is cheap and reference-counted: a second init() without deinit()
 * must succeed and do nothing but count; deinit() releases on the last
 * matching call. If init() fails the host calls nothing else but may retry.
 */
#ifndef FACTORY_ENTRY_H
#define FACTORY_ENTRY_H

#include <stdint.h>

#include "descriptor.h"
#include "host.h"
#include "status.h"
#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Kind ids: the string passed to get_factory(). A breaking change of a kind gets a new id (".../2"). */
#define FACTORY_KIND_MODEL_FAMILY "factory.model-family/1"
#define FACTORY_KIND_CHAT_TEMPLATE "factory.chat-template/1"
#define FACTORY_KIND_FINETUNING_METHOD "factory.finetuning-method/1"
#define FACTORY_KIND_QUANTIZER "factory.quantizer/1"
#define FACTORY_KIND_ATTENTION_KERNEL "factory.attention-kernel/1"
#define FACTORY_KIND_COMMUNICATOR "factory.communicator/1" /* since 1.10 */

/** The exported entry table. Static, owned by the plugin, valid while it is loaded. */
typedef struct factory_entry {
    factory_version_t abi_version; /* FACTORY_ABI_MAJOR/MINOR/PATCH the plugin was built with */
    uint32_t struct_size;          /* sizeof(factory_entry_t) as the plugin was built */

    /**
     * Free text about how the plugin was built, e.g. "c" or "swift-6.3.1".
     * Swift plugins share the host's Swift runtime, which is not ABI-stable on
     * Linux: the host warns when a Swift plugin names another toolchain.
     */
    const char *build_info;

    /**
     * Initialises the plugin. `host` stays valid until the matching deinit()
     * returns; `plugin_path` is the file the host opened ([call]: copy it).
     * Returns FACTORY_OK, or a failure with a message in `err`.
     * Thread: [load].
     */
    factory_status_t (*init)(const factory_host_api_t *host, const char *plugin_path, factory_error_t *err);

    /** Balances one successful init(). Thread: [load]. */
    void (*deinit)(void);

    /**
     * The factory for `kind_id` (one of FACTORY_KIND_*), or NULL when the
     * plugin provides no component of that kind. Valid between init() and
     * deinit(). Thread: [thread-safe].
     */
    const factory_factory_t *(*get_factory)(const char *kind_id);
} factory_entry_t;

/** Marks the entry function exported from a shared library built with hidden visibility. */
#if defined(_WIN32)
#define FACTORY_EXPORT __declspec(dllexport)
#else
#define FACTORY_EXPORT __attribute__((visibility("default")))
#endif

/** The symbol name the host looks up. */
#define FACTORY_ENTRY_SYMBOL "factory_plugin_entry"

/** The signature of the exported entry function. Thread: [load]. */
typedef const factory_entry_t *(*factory_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* FACTORY_ENTRY_H */
