/*
 * factory/version.h — the ABI version and its compatibility rule.
 *
 * Rule: a host accepts a plugin when the MAJOR numbers are equal. A MINOR
 * version only appends fields at the end of structs; whoever reads a struct
 * written by the other side checks its `struct_size` before touching a field
 * that a later minor version added. PATCH never changes the layout.
 */
#ifndef FACTORY_VERSION_H
#define FACTORY_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Major version of this header's ABI. A plugin built with another major is refused. */
#define FACTORY_ABI_MAJOR 1
/**
 * Minor version: layouts grow only at their ends between minors. 1.1 appended the engine to the
 * host table; 1.2 appended training (param_get, linear_with, linear_base; a fine-tuning method's linear);
 * 1.3 appended parallel_for to the host table and forward/backward to attention kernels;
 * 1.4 appended matmul_rows to quantizers; 1.5 added a fine-tuning method's plan keys "untie" and
 * "also_saved_as" (no layout change: a 1.4 host would ignore them, so such a plugin declares 1.5);
 * 1.6 appended jinja_template to the chat template info; 1.7 appended ollama_template there and added the
 * model-family describe keys "gguf_architecture" and "gguf_metadata" (a 1.6 host refuses them);
 * 1.8 appended forward_rows to model families (each batch row at its own positions, for continuous
 * batching), output_format to the chat template info (how answers' tool calls and reasoning read
 * back), and lets the host's rope take one position per row;
 * 1.9 appended prepare_rows_int8, matmul_rows_int8 and release_rows_int8 to quantizers (products with
 * 8-bit inputs from a layout the plugin prepares);
 * 1.10 added a sixth kind, communicators (kinds/communicator.h: the collectives of data-parallel
 * training); no existing layout changed, so plugins built for 1.0–1.9 load as before;
 * 1.11 appended linears to the host table (several linears of one input in one call, which the host
 * may run as one product).
 */
#define FACTORY_ABI_MINOR 11
/** Patch version: documentation and fixes, never a layout change. */
#define FACTORY_ABI_PATCH 0

/**
 * A version triple. Appears first in every top-level table (entry, host API)
 * so that its position never moves, whatever later versions append.
 */
typedef struct factory_version {
    uint32_t major;
    uint32_t minor;
    uint32_t patch;
} factory_version_t;

/** This header's version, for a plugin's entry table: `.abi_version = FACTORY_VERSION_INIT`. */
#define FACTORY_VERSION_INIT {FACTORY_ABI_MAJOR, FACTORY_ABI_MINOR, FACTORY_ABI_PATCH}

/**
 * The compatibility rule above as code: true when a host speaking `host` accepts a plugin built with
 * `plugin` (equal majors; the minors may differ either way, and each side checks struct_size before
 * reading a member a later minor appended). Thread: [thread-safe].
 */
static inline bool factory_version_is_compatible(factory_version_t host, factory_version_t plugin) {
    return host.major == plugin.major;
}

/**
 * True when a table whose first member is `struct_size` (the host table, an info struct, the entry)
 * is large enough to hold `member`: check it before reading a member a later minor appended.
 * Expands to an expression (C callers; Swift plugins use the kit's `Host.has(_:)`).
 */
#define FACTORY_TABLE_HAS(table, member) \
    ((size_t)(table)->struct_size >= offsetof(__typeof__(*(table)), member) + sizeof((table)->member))

/** The same for a kind's instance table, whose struct_size sits in its `base` (factory_instance_t). */
#define FACTORY_INSTANCE_HAS(instance, member) \
    ((size_t)(instance)->base.struct_size >= offsetof(__typeof__(*(instance)), member) + sizeof((instance)->member))

#endif /* FACTORY_VERSION_H */
