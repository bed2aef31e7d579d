/* bad-abi: a fixture module built for another module ABI. */
#include "pdk/portico.h"

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION + 1000,
  .name = "bad-abi",
  .version = "1.0.0",
};
