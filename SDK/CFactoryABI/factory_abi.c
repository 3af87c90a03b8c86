/*
 * The ABI is header-only; SwiftPM needs one source file to make a C target of
 * it. This file also checks at compile time that the frozen prefixes of the
 * top-level tables stay where docs/abi.md says they are.
 */
#include <stddef.h>

#include "factory/factory.h"

_Static_assert(offsetof(factory_entry_t, abi_version) == 0, "entry: version must come first");
_Static_assert(offsetof(factory_entry_t, struct_size) == 12, "entry: struct_size follows the version");
_Static_assert(offsetof(factory_host_api_t, abi_version) == 0, "host api: version must come first");
_Static_assert(offsetof(factory_host_api_t, struct_size) == 12, "host api: struct_size follows the version");
_Static_assert(offsetof(factory_instance_t, struct_size) == 0, "instance: struct_size first");
