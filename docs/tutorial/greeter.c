/* greeter.c: the module the tutorial in docs/modules.md builds, out of the
 * Portico tree, against the installed header:
 *
 *   cc -shared -fPIC -O2 $(pkg-config --cflags portico-module) -o greeter.so greeter.c
 *
 * It tells the upstream who greets (a request header, in access), tells
 * the client which module answered and how long the gateway's handlers
 * took (response headers, in header_filter), and refuses an empty
 * greeting when the configuration is loaded. */
#include <portico/portico.h>

static const PorticoSchemaField greeter_schema[] = {
  { .name = "greeting", .type = PORTICO_FIELD_STRING, .default_json = "\"hello\"",
    .description = "what the upstream is told in X-Greeting" },
  { .name = "shout", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "upper-case the greeting" },
  { NULL },
};

typedef struct {
  char *greeting;
} Greeter;

static gpointer
greeter_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  const char *greeting = json_object_get_string_member (config, "greeting");
  if (greeting[0] == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "greeting: must not be empty");
      return NULL;
    }
  Greeter *g = g_new0 (Greeter, 1);
  g->greeting = json_object_get_boolean_member (config, "shout") ? g_ascii_strup (greeting, -1)
                                                                  : g_strdup (greeting);
  return g;
}

static void
greeter_free (gpointer conf)
{
  Greeter *g = conf;
  g_free (g->greeting);
  g_free (g);
}

static PorticoResult
greeter_access (PorticoRequest *r, gpointer conf)
{
  Greeter *g = conf;
  portico_request_set_header (r, "X-Greeting", g->greeting);
  return PORTICO_CONTINUE;
}

static PorticoResult
greeter_header_filter (PorticoRequest *r, gpointer conf)
{
  PorticoTimings t;
  portico_request_get_timings (r, &t);
  char took[32];
  g_snprintf (took, sizeof took, "%" G_GINT64_FORMAT, t.gateway_us);
  portico_response_set_header (r, "X-Greeted-By", "greeter");
  portico_response_set_header (r, "X-Handlers-Us", took);
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "greeter",
  .version = "1.0.0",
  .priority = 700,
  .schema = greeter_schema,
  .configure = greeter_configure,
  .free_config = greeter_free,
  .access = greeter_access,
  .header_filter = greeter_header_filter,
};
