/* init-counter: a fixture module with one boolean field whose
 * init_worker succeeds; its configure refuses {"refuse": true}. */
#include <gio/gio.h>
#include "pdk/portico.h"

static const PorticoSchemaField init_counter_schema[] = {
  { .name = "refuse", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "configure refuses the instance" },
  { NULL },
};

static gpointer
init_counter_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  if (json_object_get_boolean_member (config, "refuse"))
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
  .schema = init_counter_schema,
  .configure = init_counter_configure,
  .free_config = g_free,
  .init_worker = init_counter_init_worker,
};
