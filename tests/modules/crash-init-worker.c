/* crash-init-worker: a fixture module whose init_worker kills the worker,
 * to show (and test) that the master does not respawn a crash-looping
 * worker in a tight loop. */
#include <stdlib.h>
#include "pdk/portico.h"

static PorticoResult
crash_init_worker (gpointer conf)
{
  abort ();
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "crash-init-worker",
  .version = "1.0.0",
  .priority = 0,
  .init_worker = crash_init_worker,
};
