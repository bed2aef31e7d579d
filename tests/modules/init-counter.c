/* init-counter: a fixture module with a schema-free config whose
 * init_worker succeeds; its configure refuses {"refuse": true}. */
#include <gio/gio.h>
#include "pdk/portico.h"

static gpointer
init_counter_configure (JsonObject *config, GError **error)
{
  if (json_object_has_member (config, "refuse") && json_object_get_boolean_member (config, "refuse"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "refuse is set");
      return NULL;
    }
  return g_new0 (int, 1);
}

static PorticoResult
init_counter_init_worker (gpointer conf)
{
  (*(int *) conf)++;
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "init-counter",
  .version = "1.0.0",
  .priority = 10,
  .configure = init_counter_configure,
  .free_config = g_free,
  .init_worker = init_counter_init_worker,
};
