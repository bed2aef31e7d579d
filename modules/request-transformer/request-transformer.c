/* request-transformer.c: Kong's request-transformer. Edits the request on
 * its way upstream, in access: the method, the path, header fields and
 * query arguments (remove, rename, replace, add, append, in that order).
 * Body edits are refused at configuration time: the gateway streams
 * request bodies. */
#include "pdk/portico.h"
#include "request-transformer-logic.h"

#define LISTS(what)                                                                              \
  { "headers", PORTICO_FIELD_STRING_ARRAY, FALSE, "[]", NULL, "header fields: " what },          \
  { "querystring", PORTICO_FIELD_STRING_ARRAY, FALSE, "[]", NULL, "query arguments: " what },     \
  { "body", PORTICO_FIELD_STRING_ARRAY, FALSE, "[]", NULL,                                       \
    "not supported (request bodies stream to the upstream): must stay empty" }

static const PorticoSchemaField remove_fields[] = { LISTS ("names to remove"), { NULL } };
static const PorticoSchemaField rename_fields[] = { LISTS ("\"old:new\", when present"), { NULL } };
static const PorticoSchemaField replace_fields[] = {
  { "uri", PORTICO_FIELD_STRING, FALSE, NULL, NULL, "the upstream path, instead of the routed one" },
  LISTS ("\"name:value\", only when present"),
  { NULL },
};
static const PorticoSchemaField add_fields[] = { LISTS ("\"name:value\", only when absent"), { NULL } };
static const PorticoSchemaField append_fields[] = { LISTS ("\"name:value\", always one more"), { NULL } };

static const PorticoSchemaField request_transformer_schema[] = {
  { "http_method", PORTICO_FIELD_STRING, FALSE, NULL, NULL, "the upstream request's method (GET, POST, ...)" },
  { "remove", PORTICO_FIELD_RECORD, .fields = remove_fields },
  { "rename", PORTICO_FIELD_RECORD, .fields = rename_fields },
  { "replace", PORTICO_FIELD_RECORD, .fields = replace_fields },
  { "add", PORTICO_FIELD_RECORD, .fields = add_fields },
  { "append", PORTICO_FIELD_RECORD, .fields = append_fields },
  { NULL },
};

static const TransformHeaderOps request_headers = {
  .get = portico_request_get_header,
  .at = portico_request_header_at,
  .set = portico_request_set_header,
  .add = portico_request_add_header,
  .remove = portico_request_remove_header,
};

static gpointer
request_transformer_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  return request_transformer_conf_new (config, error);
}

static void
request_transformer_free_config (gpointer conf)
{
  request_transformer_conf_free (conf);
}

static PorticoResult
request_transformer_access (PorticoRequest *r, gpointer data)
{
  const RequestTransformerConf *conf = data;

  if (conf->http_method != NULL)
    portico_request_set_method (r, conf->http_method);
  transform_headers_apply (&conf->headers, &request_headers, r);
  g_autofree char *query = request_transformer_query_apply (&conf->query, portico_request_get_raw_query (r));
  if (query != NULL)
    portico_request_set_raw_query (r, query);
  if (conf->uri != NULL)
    portico_request_set_path (r, conf->uri);
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "request-transformer",
  .version = "1.0.0",
  .priority = 801,
  .schema = request_transformer_schema,
  .configure = request_transformer_configure,
  .free_config = request_transformer_free_config,
  .access = request_transformer_access,
};
