/*
 * fixture_plugin.c — one small chat-template plugin whose misbehaviour is
 * chosen at compile time, so the loader's refusals can be tested:
 *   -DFIXTURE_NAME='"dup"'        the registered name (default "fixture")
 *   -DFIXTURE_ABI_MAJOR=2         claim another ABI major version
 *   -DFIXTURE_INIT_FAILS          init() fails with a message
 *   -DFIXTURE_NO_ENTRY            export the entry under another name
 *   -DFIXTURE_CREATE_ABORTS       create() calls abort() (a trap, for the checker)
 *   -DFIXTURE_SMALL_ENTRY         declare an entry table smaller than ABI 1.0's
 * Built by the tests with `cc -shared -fPIC -I SDK/include`.
 */
#include <stdlib.h>
#include <string.h>

#include <factory/factory.h>

#ifndef FIXTURE_NAME
#define FIXTURE_NAME "fixture"
#endif
#ifndef FIXTURE_ABI_MAJOR
#define FIXTURE_ABI_MAJOR FACTORY_ABI_MAJOR
#endif

static const factory_host_api_t *host;
static int init_count;

typedef struct fixture {
    factory_chat_template_t table;
    factory_chat_template_info_t info;
    const char *stops[1];
} fixture_t;

static const factory_chat_template_info_t *fixture_info(const factory_chat_template_t *self) {
    return &((const fixture_t *)self)->info;
}

static factory_status_t fixture_render(const factory_chat_template_t *self, const char *messages, uint64_t messages_len,
                                       const char *options, uint64_t options_len, const factory_segment_sink_t *sink,
                                       factory_error_t *err) {
    (void)self; (void)options; (void)options_len;
    if (!messages || !sink) return FACTORY_ERR_INVALID_ARGUMENT;
    host->error_set(err, FACTORY_ERR_UNSUPPORTED, "fixture: render is not implemented");
    (void)messages_len;
    return FACTORY_ERR_UNSUPPORTED;
}

static void fixture_destroy(const factory_instance_t *self) { free((void *)self); }

static const factory_descriptor_t DESCRIPTOR = {
    .struct_size = sizeof(factory_descriptor_t),
    .id = "org.factory.test." FIXTURE_NAME,
    .name = FIXTURE_NAME,
    .version = "0.0.1",
    .vendor = "tests",
    .description = "loader test fixture",
    .features = NULL,
};

static uint32_t count(void) { return 1; }
static const factory_descriptor_t *descriptor(uint32_t i) { return i == 0 ? &DESCRIPTOR : NULL; }

static const factory_instance_t *create(const char *name, const char *config, uint64_t len, factory_error_t *err) {
    (void)config; (void)len;
#ifdef FIXTURE_CREATE_ABORTS
    abort();
#endif
    if (!name || strcmp(name, FIXTURE_NAME) != 0) {
        host->error_set(err, FACTORY_ERR_NOT_FOUND, "fixture: unknown name");
        return NULL;
    }
    if (config && len > 0 && !(len == 2 && memcmp(config, "{}", 2) == 0)) {
        host->error_set(err, FACTORY_ERR_INVALID_ARGUMENT, "fixture: takes no config");
        return NULL;
    }
    fixture_t *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->table.base.struct_size = sizeof(factory_chat_template_t);
    f->table.base.plugin_data = f;
    f->table.base.destroy = fixture_destroy;
    f->table.info = fixture_info;
    f->table.render = fixture_render;
    f->info.struct_size = sizeof f->info;
    f->info.default_system = "";
    f->info.stop_words = f->stops;
    return &f->table.base;
}

static const factory_factory_t FACTORY = {sizeof(factory_factory_t), count, descriptor, create};

static factory_status_t init(const factory_host_api_t *h, const char *path, factory_error_t *err) {
    (void)path;
#ifdef FIXTURE_INIT_FAILS
    h->error_set(err, FACTORY_ERR_UNSUPPORTED, "fixture: no licence key found in FIXTURE_LICENCE");
    return FACTORY_ERR_UNSUPPORTED;
#endif
    (void)err;
    if (init_count++ == 0) host = h;
    return FACTORY_OK;
}

static void deinit(void) { if (init_count > 0) init_count--; }

static const factory_factory_t *get_factory(const char *kind) {
    return strcmp(kind, FACTORY_KIND_CHAT_TEMPLATE) == 0 ? &FACTORY : NULL;
}

static const factory_entry_t ENTRY = {
    .abi_version = {FIXTURE_ABI_MAJOR, 0, 0},
#ifdef FIXTURE_SMALL_ENTRY
    .struct_size = 16,
#else
    .struct_size = sizeof(factory_entry_t),
#endif
    .build_info = "c",
    .init = init,
    .deinit = deinit,
    .get_factory = get_factory,
};

#ifdef FIXTURE_NO_ENTRY
FACTORY_EXPORT const factory_entry_t *some_other_symbol(void) { return &ENTRY; }
#else
FACTORY_EXPORT const factory_entry_t *factory_plugin_entry(void) { return &ENTRY; }
#endif
