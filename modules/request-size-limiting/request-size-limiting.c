/* request-size-limiting: Kong's request-size-limiting plugin. A declared
 * Content-Length over the limit is refused in access with 413 (417 when
 * the client waits for 100 Continue, so it never sends the body); a chunked
 * body is counted by the gateway as it streams and refused with 413 when
 * it crosses the limit; require_content_length refuses a request that
 * declares no length (411). */
#include "pdk/portico.h"
#include "request-size-limiting-logic.h"

#include <gio/gio.h>

typedef struct {
  guint64 allowed; /* bytes */
  gboolean require_content_length;
} RequestSizeConf;

static const char MSG_TOO_LARGE[] = "Request size limit exceeded";

static const PorticoSchemaField request_size_limiting_schema[] = {
  { "allowed_payload_size", PORTICO_FIELD_INTEGER, FALSE, "128", NULL,
    "the largest request body allowed, in size_unit", 0, G_MAXINT64 },
  { "size_unit", PORTICO_FIELD_STRING, FALSE, "\"megabytes\"", request_size_limiting_units,
    "the unit of allowed_payload_size (a kilobyte is 1024 bytes)" },
  { "require_content_length", PORTICO_FIELD_BOOLEAN, FALSE, "false", NULL,
    "refuse (411) a request that declares no Content-Length and is not chunked" },
  { NULL },
};

static gpointer
request_size_limiting_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  /* Defaults repeated here in case a member is absent or null. */
  gint64 size = 128;
  const char *unit = "megabytes";
  guint64 factor;
  JsonNode *node;

  if ((node = json_object_get_member (config, "allowed_payload_size")) != NULL && !JSON_NODE_HOLDS_NULL (node))
    size = json_node_get_int (node);
  if ((node = json_object_get_member (config, "size_unit")) != NULL && !JSON_NODE_HOLDS_NULL (node))
    unit = json_node_get_string (node);
  if (!request_size_limiting_unit_factor (unit, &factor))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "size_unit: expected one of: megabytes, kilobytes, bytes");
      return NULL;
    }
  if (size < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "allowed_payload_size: must be 0 or more");
      return NULL;
    }
  RequestSizeConf *conf = g_new0 (RequestSizeConf, 1);
  conf->allowed = request_size_limiting_allowed_bytes (size, factor);
  node = json_object_get_member (config, "require_content_length");
  conf->require_content_length = node != NULL && !JSON_NODE_HOLDS_NULL (node) && json_node_get_boolean (node);
  return conf;
}

static PorticoResult
request_size_limiting_access (PorticoRequest *r, gpointer data)
{
  const RequestSizeConf *conf = data;
  gint64 length = portico_request_get_body_length (r);
  /* A length of 0 is either "Content-Length: 0" or no field: only
   * require_content_length needs to tell them apart. */
  gboolean declared = length > 0
                      || (length == 0 && conf->require_content_length
                          && portico_request_get_header (r, "Content-Length") != NULL);

  switch (request_size_limiting_judge (conf->allowed, conf->require_content_length, declared, length))
    {
    case REQUEST_SIZE_TOO_LARGE:
      /* The gateway has not sent 100 Continue yet: 417 tells the client
       * not to send the body, as Kong does. */
      portico_response_exit_message (
        r, request_size_limiting_expects_continue (portico_request_get_header (r, "Expect")) ? 417 : 413,
        MSG_TOO_LARGE);
      return PORTICO_RESPOND;
    case REQUEST_SIZE_LENGTH_REQUIRED:
      portico_response_exit_message (r, 411, "A valid Content-Length header is required");
      return PORTICO_RESPOND;
    case REQUEST_SIZE_WATCH:
      /* The PDK reads a limit of 0 as "none": with nothing allowed, any
       * chunked body is refused up front (only an empty one would pass). */
      if (conf->allowed == 0)
        {
          portico_response_exit_message (r, 413, MSG_TOO_LARGE);
          return PORTICO_RESPOND;
        }
      portico_request_set_max_body (r, conf->allowed);
      return PORTICO_CONTINUE;
    case REQUEST_SIZE_OK:
    default:
      return PORTICO_CONTINUE;
    }
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "request-size-limiting",
  .version = "1.0.0",
  .priority = 951,
  .schema = request_size_limiting_schema,
  .configure = request_size_limiting_configure,
  .free_config = g_free,
  .access = request_size_limiting_access,
};
