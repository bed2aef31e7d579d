/* probe-auth: a fixture module that authenticates a request as the
 * consumer named in X-Probe-User (no secret: it is for scoping tests). It
 * runs before probe (higher priority), so probe gets the instance scoped
 * to that consumer. */
#include "pdk/portico.h"

static PorticoResult
probe_auth_access (PorticoRequest *r, gpointer conf)
{
  const char *user = portico_request_get_header (r, "X-Probe-User");
  if (user == NULL)
    return PORTICO_CONTINUE;
  const PorticoConsumer *c = portico_gateway_find_consumer (portico_request_get_gateway (r), user);
  if (c == NULL)
    {
      portico_response_exit_message (r, 401, "Invalid authentication credentials");
      return PORTICO_RESPOND;
    }
  portico_request_authenticate (r, c, "probe-credential", FALSE);
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "probe-auth",
  .version = "1.0.0",
  .priority = 1000,
  .access = probe_auth_access,
};
