/*
 * factory/factory.h — the Factory plugin ABI, umbrella header.
 *
 * Include this one header from a plugin (C: `#include <factory/factory.h>`;
 * Swift: `import CFactoryABI`). docs/abi.md is the prose specification; every
 * function below documents ownership, lifetime and its thread tag.
 *
 * What may cross the boundary: fixed-width integers, bool, double, pointers,
 * NUL-terminated UTF-8, (pointer, length) buffers, JSON text, the tables
 * defined here. Never: Swift or C++ objects, closures, exceptions, unwinding.
 */
#ifndef FACTORY_FACTORY_H
#define FACTORY_FACTORY_H

#include "version.h"
#include "status.h"
#include "tensor.h"
#include "host.h"
#include "descriptor.h"
#include "entry.h"
#include "kinds/model_family.h"
#include "kinds/chat_template.h"
#include "kinds/finetuning_method.h"
#include "kinds/quantizer.h"
#include "kinds/attention_kernel.h"
#include "kinds/communicator.h"

#endif /* FACTORY_FACTORY_H */
