/*
 * factory/kinds/chat_template.h — kind "factory.chat-template/1".
 *
 * A chat template renders a conversation into segments (text, role,
 * trainable). The host tokenizes the segments (special-token strings parsed)
 * and builds labels: tokens of trainable segments are learned, the rest are
 * masked with -100. The descriptor's `name` is what `template:` selects.
 */
#ifndef FACTORY_KINDS_CHAT_TEMPLATE_H
#define FACTORY_KINDS_CHAT_TEMPLATE_H

#include <stdbool.h>
#include <stdint.h>

#include "../descriptor.h"
#include "../host.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Which message a segment belongs to. */
typedef int32_t factory_role_t;

enum factory_role_code {
    FACTORY_ROLE_NONE = 0,        /* text outside any message (a leading BOS, say) */
    FACTORY_ROLE_SYSTEM = 1,
    FACTORY_ROLE_USER = 2,
    FACTORY_ROLE_ASSISTANT = 3,
    FACTORY_ROLE_FUNCTION_CALL = 4, /* an assistant turn that calls tools */
    FACTORY_ROLE_OBSERVATION = 5    /* a tool's result */
};

/**
 * Receives rendered segments in order. `text` is UTF-8, `len` bytes, [call].
 * Returns FACTORY_OK or a failure that the template must pass on.
 */
typedef struct factory_segment_sink {
    void *ctx;
    factory_status_t (*emit)(const struct factory_segment_sink *sink, factory_role_t role, bool trainable,
                             const char *text, uint64_t len); /* [call] */
} factory_segment_sink_t;

/** What a template declares. Owned by the instance, valid until destroy(). */
typedef struct factory_chat_template_info {
    uint32_t struct_size;
    const char *default_system;     /* inserted when a conversation has no system message; may be "" */
    const char *const *stop_words;  /* NULL-terminated strings that end a generated reply */
    /* Since 1.6 (check struct_size): the template as a Hugging Face chat template (Jinja, the
     * tokenizer_config.json "chat_template" that `factory export` writes), rendering what render()
     * renders for conversations without tools, given the variables messages, add_generation_prompt,
     * bos_token and eos_token; NULL when the template has no such form. */
    const char *jinja_template;
    /* Since 1.7 (check struct_size): the template as an Ollama template (Go's text/template over
     * .Messages with .Role and .Content, the TEMPLATE of the Modelfile `factory export` writes), rendering
     * what render() renders with a generation prompt after a last user or tool message (a last assistant
     * message may be left open: Ollama continues it), the opening BOS left out (Ollama's runner adds it); the texts "{bos}" and "{eos}" in it stand for the tokenizer's BOS
     * and EOS, which the host writes in. NULL when the template has no such form. */
    const char *ollama_template;
    /* Since 1.8 (check struct_size): how to read the model's answer back, for `factory api`'s tool calls and
     * reasoning_content — a JSON object, or NULL when the template declares nothing (then the API refuses
     * `tools`, and the answer is all content):
     *   "tool_calls"  optional: {"style": "tagged" | "json" | "action", "name": KEY, "arguments": KEY, ...}
     *                 "tagged": each call is `open` + a JSON object + `close` ("open" and "close" required),
     *                 after any content (Qwen's <tool_call> blocks);
     *                 "json": the whole answer, after an optional `prefix` and whitespace, is one JSON object
     *                 or a list of them (Llama 3.1, Mistral's "[TOOL_CALLS]");
     *                 "action": LLaMA-Factory's default format, "Action: NAME" then "Action Input: JSON";
     *                 "name" / "arguments": the keys of a call object (e.g. "name" and "parameters").
     *   "reasoning"   optional: {"open": "<think>", "close": "</think>"}: an answer that starts with `open`
     *                 reasons until `close`; that text is the reasoning, the rest the answer.
     * Any other key is refused when the API starts. */
    const char *output_format;
} factory_chat_template_info_t;

/** A chat template instance. Thread: [instance]. */
typedef struct factory_chat_template {
    factory_instance_t base;

    /** The instance's declaration. Never NULL; valid until destroy(). Thread: [instance]. */
    const factory_chat_template_info_t *(*info)(const struct factory_chat_template *self);

    /**
     * Renders `messages_json`: an OpenAI-style JSON array of objects with
     * "role" ("system", "user", "assistant", "function_call"/"tool_calls",
     * "observation"/"tool") and "content" (string), `messages_len` bytes.
     * `options_json` is a JSON object ("{}" for defaults) with optional keys
     * "add_generation_prompt" (bool), "tools" (string), "enable_thinking" (bool),
     * "bos_token" and "eos_token" (strings: the tokenizer's special tokens, for
     * templates whose format contains them; "" when the host has no tokenizer).
     * Unknown roles or keys are FACTORY_ERR_INVALID_ARGUMENT naming them.
     * "tools" is a JSON list (LLaMA-Factory's tools column) and a function_call's content is JSON
     * {"name", "arguments"} or a list of them: a template writes both in its family's own format,
     * or fails with FACTORY_ERR_UNSUPPORTED — it never drops them (the host would train the row
     * without its tools).
     * Segments go to `sink` in order; all pointers are [call].
     */
    factory_status_t (*render)(const struct factory_chat_template *self, const char *messages_json,
                               uint64_t messages_len, const char *options_json, uint64_t options_len,
                               const factory_segment_sink_t *sink, factory_error_t *err);
} factory_chat_template_t;

#ifdef __cplusplus
}
#endif

#endif /* FACTORY_KINDS_CHAT_TEMPLATE_H */
