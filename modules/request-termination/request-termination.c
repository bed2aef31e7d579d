/* request-termination: answer every request (or those carrying a trigger
 * header or query argument) with a fixed response, without proxying (Kong's
 * request-termination, priority 2: it runs after authentication and the
 * other access modules, so a blocked consumer still has to authenticate).
 *
 * echo answers with what the gateway received instead, as JSON: a way to
 * see, on a live route, the request as the modules before it left it.
 */
#include "pdk/portico.h"

#include <gio/gio.h>
#include <string.h>
#include <unistd.h>

#include "request-termination-logic.h"

typedef struct {
  int status;
  char *message;      /* configured, else Kong's default for the status; NULL: none */
  char *body;         /* NULL: the message */
  char *content_type;
  gboolean echo;
  char *trigger;      /* NULL: always */
} RequestTerminationConf;

static const PorticoSchemaField request_termination_schema[] = {
  { .name = "status_code", .type = PORTICO_FIELD_INTEGER, .default_json = "503", .min = 100, .max = 599,
    .description = "The response's status." },
  { .name = "message", .type = PORTICO_FIELD_STRING,
    .description = "Sent as {\"message\": ...}; unset: Kong's message for the status (503: "
                   "\"Service unavailable\"), if it has one." },
  { .name = "body", .type = PORTICO_FIELD_STRING, .description = "A raw body, instead of the message." },
  { .name = "content_type", .type = PORTICO_FIELD_STRING, .description = "The raw body's Content-Type." },
  { .name = "echo", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "Answer with the request as the gateway received it, as JSON." },
  { .name = "trigger", .type = PORTICO_FIELD_STRING,
    .description = "A header or query argument name: only requests that carry it are terminated." },
  { NULL },
};

static void
request_termination_free_config (gpointer data)
{
  RequestTerminationConf *conf = data;
  g_free (conf->message);
  g_free (conf->body);
  g_free (conf->content_type);
  g_free (conf->trigger);
  g_free (conf);
}

/* String member @name, NULL when absent or null. */
static const char *
request_termination_string (JsonObject *config, const char *name)
{
  JsonNode *node = json_object_get_member (config, name);
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) ? json_node_get_string (node) : NULL;
}

static gpointer
request_termination_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  const char *message = request_termination_string (config, "message");
  const char *body = request_termination_string (config, "body");
  const char *content_type = request_termination_string (config, "content_type");
  const char *trigger = request_termination_string (config, "trigger");
  gboolean echo = json_object_get_boolean_member (config, "echo");

  if (!request_termination_check (message, body, content_type, echo, error))
    return NULL;
  if (trigger != NULL && *trigger == '\0')
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "trigger: must not be empty");
      return NULL;
    }

  RequestTerminationConf *conf = g_new0 (RequestTerminationConf, 1);
  conf->status = (int) json_object_get_int_member (config, "status_code");
  conf->message = g_strdup (message != NULL ? message : request_termination_default_message (conf->status));
  conf->body = g_strdup (body);
  conf->content_type = g_strdup (content_type);
  conf->echo = echo;
  conf->trigger = g_strdup (trigger);
  return conf;
}

static PorticoResult
request_termination_echo (PorticoRequest *r, const RequestTerminationConf *conf)
{
  g_autoptr (GPtrArray) names = g_ptr_array_new ();
  g_autoptr (GPtrArray) values = g_ptr_array_new ();
  const char *name, *value;
  for (guint i = 0; portico_request_header_at (r, i, &name, &value); i++)
    {
      g_ptr_array_add (names, (gpointer) name);
      g_ptr_array_add (values, (gpointer) value);
    }

  const char *route = portico_request_get_route_name (r);
  const char *service = portico_request_get_service_name (r);
  RequestTerminationEcho echo = {
    .message = conf->message,
    .worker_pid = (guint) getpid (),
    .hostname = g_get_host_name (),
    .method = portico_request_get_method (r),
    .path = portico_request_get_path (r),
    .raw_query = portico_request_get_raw_query (r),
    .host_header = portico_request_get_header (r, "Host"),
    .port = portico_request_get_port (r),
    .header_names = (const char *const *) names->pdata,
    .header_values = (const char *const *) values->pdata,
    .n_headers = names->len,
    .routed = route != NULL || service != NULL,
    .route_name = route,
    .service_name = service,
  };
  gsize len;
  g_autofree char *json = request_termination_echo_json (&echo, &len);
  portico_response_exit (r, conf->status, "application/json; charset=utf-8", json, len);
  return PORTICO_RESPOND;
}

static PorticoResult
request_termination_access (PorticoRequest *r, gpointer data)
{
  const RequestTerminationConf *conf = data;

  if (conf->trigger != NULL && portico_request_get_header (r, conf->trigger) == NULL
      && portico_request_get_query_arg (r, conf->trigger) == NULL)
    return PORTICO_CONTINUE;

  if (conf->echo)
    return request_termination_echo (r, conf);
  if (conf->body != NULL)
    portico_response_exit (r, conf->status, conf->content_type, conf->body, strlen (conf->body));
  else if (conf->message != NULL)
    portico_response_exit_message (r, conf->status, conf->message);
  else
    portico_response_exit (r, conf->status, NULL, NULL, 0);
  return PORTICO_RESPOND;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "request-termination",
  .version = "1.0.0",
  .priority = 2,
  .schema = request_termination_schema,
  .configure = request_termination_configure,
  .free_config = request_termination_free_config,
  .access = request_termination_access,
};
