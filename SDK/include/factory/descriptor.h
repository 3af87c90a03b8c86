/*
 * factory/descriptor.h — descriptors, factories and instances: the three
 * shapes every plugin kind shares.
 *
 * A plugin exposes one factory per kind it provides (entry->get_factory(kind)).
 * A factory lists descriptors (cheap, no allocation) and creates instances
 * (lazy, configured by JSON). An instance is a function table that starts with
 * factory_instance_t; the kind's header says which table create() returns.
 */
#ifndef FACTORY_DESCRIPTOR_H
#define FACTORY_DESCRIPTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "host.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * What one registered component is. Owned by the plugin, valid from init()
 * until deinit(). Strings are UTF-8 and NUL-terminated.
 */
typedef struct factory_descriptor {
    uint32_t struct_size;        /* sizeof(factory_descriptor_t) as the plugin was built */
    const char *id;              /* globally unique, reverse-DNS: "org.factory.template.alpaca" */
    const char *name;            /* the registry key users write in configs: "alpaca"; [a-z0-9_.-]+ */
    const char *version;         /* the component's own version, "1.0.0" */
    const char *vendor;          /* may be "" */
    const char *description;     /* one line, may be "" */
    const char *const *features; /* NULL-terminated list, may be NULL. Kind-specific meaning:
                                    model families list the HF model_type / GGUF architecture
                                    names they handle; others list aliases or capabilities. */
} factory_descriptor_t;

/**
 * The start of every instance table. `plugin_data` belongs to the plugin.
 * destroy() releases the instance; after it the pointer is invalid.
 * Thread: [instance].
 */
typedef struct factory_instance {
    uint32_t struct_size; /* sizeof of the kind's whole instance table as the plugin was built */
    void *plugin_data;
    void (*destroy)(const struct factory_instance *self); /* [instance] */
} factory_instance_t;

/**
 * A factory for one kind. Owned by the plugin, valid from init() until
 * deinit().
 */
typedef struct factory_factory {
    uint32_t struct_size; /* sizeof(factory_factory_t) as the plugin was built */

    /** Number of components of this kind. Thread: [thread-safe]. */
    uint32_t (*count)(void);

    /**
     * Descriptor `index` (0 <= index < count()), or NULL when out of range.
     * The pointer stays valid until deinit(). Thread: [thread-safe].
     */
    const factory_descriptor_t *(*descriptor)(uint32_t index);

    /**
     * Creates the component registered as `name` (a descriptor's name),
     * configured by `config_json` (a JSON object, `config_len` bytes, not
     * necessarily NUL-terminated; "{}" for defaults). The plugin rejects
     * unknown keys. Returns the kind's instance table (for example a
     * `const factory_quantizer_t *`, whose first member is a
     * factory_instance_t), owned by the caller until it calls destroy(); or
     * NULL after filling `err`. The plugin must not call back into the host
     * except error_set() and log() during create(). Thread: [thread-safe].
     */
    const factory_instance_t *(*create)(const char *name, const char *config_json,
                                        uint64_t config_len, factory_error_t *err);
} factory_factory_t;

#ifdef __cplusplus
}
#endif

#endif /* FACTORY_DESCRIPTOR_H */
