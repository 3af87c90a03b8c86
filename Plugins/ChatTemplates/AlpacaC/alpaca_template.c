/*
 * alpaca_template.c — the Alpaca chat template, written in plain C so the C
 * path of the plugin ABI stays honest (docs/abi.md).
 *
 * Port of LLaMA-Factory's `alpaca` template (src/llamafactory/data/template.py):
 *   system     "{{content}}"  (default: "Below is an instruction that describes a task. "
 *                              "Write a response that appropriately completes the request.\n\n")
 *   user       "### Instruction:\n{{content}}\n\n### Response:\n"
 *   assistant  "{{content}}" eos_token "\n\n"          <- trainable
 * observation turns format like user turns, function calls like assistant turns.
 * The system text goes before the first user turn.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alpaca_template.h"

static const factory_host_api_t *host;
static int init_count;

static const char *const DEFAULT_SYSTEM =
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n";
static const char *const USER_PREFIX = "### Instruction:\n";
static const char *const USER_SUFFIX = "\n\n### Response:\n";

typedef struct alpaca {
    factory_chat_template_t table;
    factory_chat_template_info_t info;
    char *eos_stop[2];
} alpaca_t;

static factory_status_t fail(factory_error_t *err, factory_status_t status, const char *message) {
    if (host && host->error_set) host->error_set(err, status, message);
    return status;
}

static factory_status_t emit(const factory_segment_sink_t *sink, factory_role_t role, bool trainable, const char *text) {
    return sink->emit(sink, role, trainable, text, (uint64_t)strlen(text));
}

/* Emits prefix + content + suffix as one segment. */
static factory_status_t emit3(const factory_segment_sink_t *sink, factory_role_t role, bool trainable, const char *prefix,
                              const char *content, const char *suffix, factory_error_t *err) {
    size_t n = strlen(prefix) + strlen(content) + strlen(suffix) + 1;
    char *text = malloc(n);
    if (!text) return fail(err, FACTORY_ERR_OUT_OF_MEMORY, "alpaca: out of memory");
    snprintf(text, n, "%s%s%s", prefix, content, suffix);
    factory_status_t s = emit(sink, role, trainable, text);
    free(text);
    return s;
}

static const factory_chat_template_info_t *alpaca_info(const factory_chat_template_t *self) {
    return self ? &((const alpaca_t *)self)->info : NULL;
}

/* Reads one message's role and content; fills `message` on a defect. */
static bool read_message(json_object *item, size_t index, const char **role, const char **content, char *message, size_t cap) {
    json_object *r = NULL, *c = NULL;
    if (!json_object_is_type(item, json_type_object)) {
        snprintf(message, cap, "alpaca: message %zu must be an object", index);
        return false;
    }
    if (!json_object_object_get_ex(item, "role", &r) || !json_object_is_type(r, json_type_string)) {
        snprintf(message, cap, "alpaca: message %zu has no \"role\" string", index);
        return false;
    }
    *role = json_object_get_string(r);
    *content = "";
    if (json_object_object_get_ex(item, "content", &c) && c != NULL) {
        if (!json_object_is_type(c, json_type_string)) {
            snprintf(message, cap, "alpaca: message %zu \"content\" must be a string", index);
            return false;
        }
        *content = json_object_get_string(c);
    }
    return true;
}

static factory_status_t alpaca_render(const factory_chat_template_t *self, const char *messages_json, uint64_t messages_len,
                                      const char *options_json, uint64_t options_len, const factory_segment_sink_t *sink,
                                      factory_error_t *err) {
    if (!self || !messages_json || !sink || !sink->emit) return fail(err, FACTORY_ERR_INVALID_ARGUMENT, "alpaca: NULL argument");
    char message[256];
    factory_status_t status = FACTORY_OK;
    bool add_generation_prompt = false;
    const char *eos = "";
    json_object *options = NULL, *messages = NULL;

    if (options_json && options_len > 0) {
        options = json_tokener_parse(options_json);
        if (!options || !json_object_is_type(options, json_type_object)) {
            status = fail(err, FACTORY_ERR_INVALID_ARGUMENT, "alpaca: options are not a JSON object");
            goto done;
        }
        json_object_object_foreach(options, key, value) {
            if (strcmp(key, "add_generation_prompt") == 0) add_generation_prompt = json_object_get_boolean(value);
            else if (strcmp(key, "eos_token") == 0) eos = json_object_get_string(value);
            else if (strcmp(key, "tools") == 0) {
                /* no tool format: tools are refused, never left out (the row would train without them) */
                const char *tools = json_object_get_string(value);
                bool empty = true;
                for (const char *c = tools ? tools : ""; *c; c++) {
                    if (*c != ' ' && *c != '\n' && *c != '\t' && *c != '\r' && *c != '[' && *c != ']') { empty = false; break; }
                }
                if (!empty) {
                    status = fail(err, FACTORY_ERR_UNSUPPORTED, "alpaca: this template has no tool format yet; tools are refused rather than left out");
                    goto done;
                }
            }
            else if (strcmp(key, "bos_token") != 0 && strcmp(key, "enable_thinking") != 0) {
                snprintf(message, sizeof message, "alpaca: unknown render option '%s'", key);
                status = fail(err, FACTORY_ERR_INVALID_ARGUMENT, message);
                goto done;
            }
        }
    }
    struct json_tokener *tok = json_tokener_new();
    if (!tok) { status = fail(err, FACTORY_ERR_OUT_OF_MEMORY, "alpaca: out of memory"); goto done; }
    messages = json_tokener_parse_ex(tok, messages_json, (int)messages_len);
    json_tokener_free(tok);
    if (!messages || !json_object_is_type(messages, json_type_array)) {
        status = fail(err, FACTORY_ERR_INVALID_ARGUMENT, "alpaca: messages are not a JSON list");
        goto done;
    }

    size_t count = json_object_array_length(messages);
    const char *system = DEFAULT_SYSTEM;
    size_t first = 0;
    if (count > 0) {
        const char *role, *content;
        if (!read_message(json_object_array_get_idx(messages, 0), 0, &role, &content, message, sizeof message)) {
            status = fail(err, FACTORY_ERR_INVALID_ARGUMENT, message);
            goto done;
        }
        /* LLaMA-Factory: `system or default_system`, so an empty system message means the default */
        if (strcmp(role, "system") == 0) { if (content[0] != '\0') system = content; first = 1; }
    }
    if (system[0] != '\0' && (status = emit(sink, FACTORY_ROLE_SYSTEM, false, system)) != FACTORY_OK) goto done;

    for (size_t i = first; i < count; i++) {
        const char *role, *content;
        if (!read_message(json_object_array_get_idx(messages, i), i, &role, &content, message, sizeof message)) {
            status = fail(err, FACTORY_ERR_INVALID_ARGUMENT, message);
            goto done;
        }
        if (strcmp(role, "user") == 0 || strcmp(role, "observation") == 0 || strcmp(role, "tool") == 0) {
            factory_role_t r = role[0] == 'u' ? FACTORY_ROLE_USER : FACTORY_ROLE_OBSERVATION;
            status = emit3(sink, r, false, USER_PREFIX, content, USER_SUFFIX, err);
        } else if (strcmp(role, "function_call") == 0 || strcmp(role, "tool_calls") == 0) {
            snprintf(message, sizeof message, "alpaca: message %zu is a function_call and this template has no tool format yet", i);
            status = fail(err, FACTORY_ERR_UNSUPPORTED, message);
            goto done;
        } else if (strcmp(role, "assistant") == 0) {
            factory_role_t r = FACTORY_ROLE_ASSISTANT;
            size_t n = strlen(eos) + 3;
            char *suffix = malloc(n);
            if (!suffix) { status = fail(err, FACTORY_ERR_OUT_OF_MEMORY, "alpaca: out of memory"); goto done; }
            snprintf(suffix, n, "%s\n\n", eos);
            status = emit3(sink, r, true, "", content, suffix, err);
            free(suffix);
        } else {
            snprintf(message, sizeof message, "alpaca: message %zu has role '%s' (system first, then user/assistant/observation/function_call)", i, role);
            status = fail(err, FACTORY_ERR_INVALID_ARGUMENT, message);
        }
        if (status != FACTORY_OK) goto done;
    }
    (void)add_generation_prompt; /* the user format already ends with "### Response:\n" */
done:
    if (options) json_object_put(options);
    if (messages) json_object_put(messages);
    return status;
}

static void alpaca_destroy(const factory_instance_t *self) {
    free((void *)self);
}

static const factory_descriptor_t DESCRIPTOR = {
    .struct_size = sizeof(factory_descriptor_t),
    .id = "org.factory.template.alpaca",
    .name = "alpaca",
    .version = "1.0.0",
    .vendor = "Factory",
    .description = "Alpaca instruction format (### Instruction / ### Response), as LLaMA-Factory's alpaca template",
    .features = NULL,
};

static uint32_t factory_count(void) { return init_count > 0 ? 1 : 0; }

static const factory_descriptor_t *factory_descriptor(uint32_t index) {
    return init_count > 0 && index == 0 ? &DESCRIPTOR : NULL;
}

static const factory_instance_t *factory_create(const char *name, const char *config_json, uint64_t config_len, factory_error_t *err) {
    if (!name || strcmp(name, "alpaca") != 0) {
        fail(err, FACTORY_ERR_NOT_FOUND, "alpaca plugin: no chat template of that name");
        return NULL;
    }
    json_object *config = NULL;
    if (config_json && config_len > 0) {
        struct json_tokener *tok = json_tokener_new();
        if (tok) { config = json_tokener_parse_ex(tok, config_json, (int)config_len); json_tokener_free(tok); }
        if (!config || !json_object_is_type(config, json_type_object)) {
            if (config) json_object_put(config);
            fail(err, FACTORY_ERR_INVALID_ARGUMENT, "alpaca: config is not a JSON object");
            return NULL;
        }
        if (json_object_object_length(config) > 0) {
            json_object_object_foreach(config, key, value) {
                char message[256];
                (void)value;
                snprintf(message, sizeof message, "alpaca: unknown config key '%s' (it takes no keys)", key);
                json_object_put(config);
                fail(err, FACTORY_ERR_INVALID_ARGUMENT, message);
                return NULL;
            }
        }
        json_object_put(config);
    }
    alpaca_t *a = calloc(1, sizeof *a);
    if (!a) { fail(err, FACTORY_ERR_OUT_OF_MEMORY, "alpaca: out of memory"); return NULL; }
    a->table.base.struct_size = sizeof(factory_chat_template_t);
    a->table.base.plugin_data = a;
    a->table.base.destroy = alpaca_destroy;
    a->table.info = alpaca_info;
    a->table.render = alpaca_render;
    a->info.struct_size = sizeof(factory_chat_template_info_t);
    a->info.default_system = DEFAULT_SYSTEM;
    a->info.stop_words = (const char *const *)a->eos_stop; /* the tokenizer's EOS ends a reply; no extra words */
    return &a->table.base;
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
    return init_count > 0 && kind && strcmp(kind, FACTORY_KIND_CHAT_TEMPLATE) == 0 ? &FACTORY : NULL;
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
