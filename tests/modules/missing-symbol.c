/* missing-symbol: a fixture module that calls a function the binary does
 * not have, as a module built against a newer portico.h would. Loading it
 * must fail with an error naming the file and the symbol. */
#include "pdk/portico.h"

void portico_request_teleport (PorticoRequest *r);

static PorticoResult
missing_symbol_access (PorticoRequest *r, gpointer conf)
{
  portico_request_teleport (r);
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "missing-symbol",
  .version = "1.0.0",
  .priority = 1,
  .access = missing_symbol_access,
};
