/* cors: Cross-Origin Resource Sharing (Kong's cors, priority 2000).
 *
 * access answers a preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) itself with 200 and the
 * Access-Control-Allow-* headers, unless preflight_continue hands it to the
 * upstream; header_filter adds Access-Control-Allow-Origin (and Vary,
 * -Credentials, -Expose-Headers) to every other response, the upstream's
 * or the gateway's own. cors-logic.h tells how origins match.
 *
 * Everything that does not depend on the request (joined lists, the
 * compiled origins) is made in configure; a request allocates nothing here
 * (the normalized origin is built on the stack; the PDK copies header
 * values).
 */
#include "pdk/portico.h"

#include "cors-logic.h"

/* The longest Origin matched; a longer one is not allowed. */
#define CORS_ORIGIN_MAX 1024

typedef struct {
  CorsOrigins *origins;
  char *methods;         /* joined with "," */
  char *headers;         /* NULL: reflect Access-Control-Request-Headers */
  char *exposed_headers; /* NULL: none */
  char *max_age;         /* NULL: none */
  gboolean credentials;
  gboolean private_network;
  gboolean preflight_continue;
  gboolean allow_origin_absent;
} CorsConf;

static const char *const cors_methods[] = {
  "GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT", NULL,
};

static const PorticoSchemaField cors_schema[] = {
  { .name = "origins", .type = PORTICO_FIELD_STRING_ARRAY,
    .description = "Allowed origins: \"*\", origins (\"https://example.com\"), or regular expressions "
                   "matched against the whole origin (or its host when the entry has no \":\"). "
                   "None: every origin (\"*\")." },
  { .name = "methods", .type = PORTICO_FIELD_STRING_ARRAY,
    .default_json = "[\"GET\",\"HEAD\",\"PUT\",\"PATCH\",\"POST\",\"DELETE\",\"OPTIONS\",\"TRACE\",\"CONNECT\"]",
    .allowed = cors_methods, .description = "Access-Control-Allow-Methods of a preflight." },
  { .name = "headers", .type = PORTICO_FIELD_STRING_ARRAY,
    .description = "Access-Control-Allow-Headers of a preflight; none: the request's "
                   "Access-Control-Request-Headers." },
  { .name = "exposed_headers", .type = PORTICO_FIELD_STRING_ARRAY,
    .description = "Access-Control-Expose-Headers of actual responses." },
  { .name = "max_age", .type = PORTICO_FIELD_INTEGER, .min = 0, .max = G_MAXINT32,
    .description = "Access-Control-Max-Age of a preflight, in seconds; none: not sent." },
  { .name = "credentials", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "Send Access-Control-Allow-Credentials: true (with \"*\" origins, the request's "
                   "Origin is answered instead of \"*\")." },
  { .name = "private_network", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "Answer Access-Control-Request-Private-Network: true with "
                   "Access-Control-Allow-Private-Network: true." },
  { .name = "preflight_continue", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "Proxy preflights to the upstream instead of answering them." },
  { .name = "allow_origin_absent", .type = PORTICO_FIELD_BOOLEAN, .default_json = "true",
    .description = "Add the CORS headers to responses to requests without an Origin." },
  { NULL },
};

static void
cors_free_config (gpointer data)
{
  CorsConf *conf = data;
  cors_origins_free (conf->origins);
  g_free (conf->methods);
  g_free (conf->headers);
  g_free (conf->exposed_headers);
  g_free (conf->max_age);
  g_free (conf);
}

/* The strings of array member @name, NULL-terminated (absent, null: none). */
static char **
cors_read_strv (JsonObject *config, const char *name)
{
  JsonNode *node = json_object_get_member (config, name);
  JsonArray *array = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  guint n = array != NULL ? json_array_get_length (array) : 0;
  char **strv = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    strv[i] = g_strdup (json_array_get_string_element (array, i));
  return strv;
}

/* Array member @name joined with ","; NULL when empty. */
static char *
cors_read_joined (JsonObject *config, const char *name)
{
  g_auto (GStrv) strv = cors_read_strv (config, name);
  return strv[0] != NULL ? g_strjoinv (",", strv) : NULL;
}

static gpointer
cors_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  g_auto (GStrv) origins = cors_read_strv (config, "origins");
  CorsOrigins *compiled = cors_origins_new ((const char *const *) origins, g_strv_length (origins), error);
  if (compiled == NULL)
    return NULL;

  CorsConf *conf = g_new0 (CorsConf, 1);
  conf->origins = compiled;
  conf->methods = cors_read_joined (config, "methods");
  if (conf->methods == NULL)
    conf->methods = g_strdup ("");
  conf->headers = cors_read_joined (config, "headers");
  conf->exposed_headers = cors_read_joined (config, "exposed_headers");
  JsonNode *max_age = json_object_get_member (config, "max_age");
  if (max_age != NULL && !JSON_NODE_HOLDS_NULL (max_age))
    conf->max_age = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (max_age));
  conf->credentials = json_object_get_boolean_member (config, "credentials");
  conf->private_network = json_object_get_boolean_member (config, "private_network");
  conf->preflight_continue = json_object_get_boolean_member (config, "preflight_continue");
  conf->allow_origin_absent = json_object_get_boolean_member (config, "allow_origin_absent");
  return conf;
}

/* Vary: Origin. On the upstream's response it is added to what the
 * upstream said; on the preflight answer it is the only one (as in Kong). */
static void
cors_vary (PorticoRequest *r, gboolean header_filter)
{
  if (header_filter)
    portico_response_add_header (r, "Vary", "Origin");
  else
    portico_response_set_header (r, "Vary", "Origin");
}

/* Access-Control-Allow-Origin (removed when the origin is not allowed),
 * Vary and Access-Control-Allow-Credentials, for request Origin @origin
 * (may be NULL). */
static void
cors_allow_origin (PorticoRequest *r, const CorsConf *conf, const char *origin, gboolean header_filter)
{
  char normalized[CORS_ORIGIN_MAX];
  const char *allow = NULL;
  CorsAllowKind kind = cors_origins_kind (conf->origins);

  if (kind == CORS_ALLOW_ALL)
    allow = "*";
  else
    {
      /* Always, even without a match: caches key on it. */
      cors_vary (r, header_filter);
      if (kind == CORS_ALLOW_SINGLE)
        allow = cors_origins_single (conf->origins);
      else if (origin != NULL && cors_origins_match (conf->origins, origin, normalized, sizeof normalized))
        allow = normalized;
    }

  if (conf->credentials)
    {
      if (kind != CORS_ALLOW_ALL)
        portico_response_set_header (r, "Access-Control-Allow-Credentials", "true");
      else if (origin != NULL)
        {
          /* Browsers refuse credentials with "*": answer the origin itself. */
          cors_vary (r, header_filter);
          allow = origin;
          portico_response_set_header (r, "Access-Control-Allow-Credentials", "true");
        }
    }

  if (allow != NULL)
    portico_response_set_header (r, "Access-Control-Allow-Origin", allow);
  else
    portico_response_remove_header (r, "Access-Control-Allow-Origin");
}

static PorticoResult
cors_access (PorticoRequest *r, gpointer data)
{
  const CorsConf *conf = data;
  const char *origin = portico_request_get_header (r, "Origin");

  if (!cors_is_preflight (portico_request_get_method (r), origin,
                          portico_request_get_header (r, "Access-Control-Request-Method")))
    return PORTICO_CONTINUE;

  /* header_filter leaves the preflight alone: answered here with all its
   * headers, or left whole to the upstream. */
  portico_request_set_ctx (r, GINT_TO_POINTER (TRUE), NULL);
  if (conf->preflight_continue)
    return PORTICO_CONTINUE;

  cors_allow_origin (r, conf, origin, FALSE);
  const char *allow_headers = conf->headers != NULL
                                ? conf->headers
                                : portico_request_get_header (r, "Access-Control-Request-Headers");
  if (allow_headers != NULL)
    portico_response_set_header (r, "Access-Control-Allow-Headers", allow_headers);
  else
    portico_response_remove_header (r, "Access-Control-Allow-Headers");
  portico_response_set_header (r, "Access-Control-Allow-Methods", conf->methods);
  if (conf->max_age != NULL)
    portico_response_set_header (r, "Access-Control-Max-Age", conf->max_age);
  if (conf->private_network
      && g_strcmp0 (portico_request_get_header (r, "Access-Control-Request-Private-Network"), "true") == 0)
    portico_response_set_header (r, "Access-Control-Allow-Private-Network", "true");

  portico_response_exit (r, 200, NULL, NULL, 0);
  return PORTICO_RESPOND;
}

static PorticoResult
cors_header_filter (PorticoRequest *r, gpointer data)
{
  const CorsConf *conf = data;
  if (portico_request_get_ctx (r) != NULL)
    return PORTICO_CONTINUE;

  const char *origin = portico_request_get_header (r, "Origin");
  if (origin == NULL && !conf->allow_origin_absent)
    return PORTICO_CONTINUE;
  cors_allow_origin (r, conf, origin, TRUE);
  if (conf->exposed_headers != NULL)
    portico_response_set_header (r, "Access-Control-Expose-Headers", conf->exposed_headers);
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "cors",
  .version = "1.0.0",
  .priority = 2000,
  .schema = cors_schema,
  .configure = cors_configure,
  .free_config = cors_free_config,
  .access = cors_access,
  .header_filter = cors_header_filter,
};
