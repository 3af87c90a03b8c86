/* The MPI communicator plugin exports only factory_plugin_entry (factory/entry.h). */
#include <factory/factory.h>
FACTORY_EXPORT const factory_entry_t *factory_plugin_entry(void);
