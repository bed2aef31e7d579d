/* response-transformer.c: Kong's response-transformer. Edits the response
 * head in header_filter (remove, rename, replace, add, append) and the
 * top-level members of a JSON body in body_filter, holding the body back
 * (up to RESPONSE_TRANSFORMER_MAX_BODY) until its last chunk. */
#include "pdk/portico.h"
#include "response-transformer-logic.h"

static const char *const json_type_names[] = { "boolean", "number", "string", NULL };

#define HEADERS(what) { "headers", PORTICO_FIELD_STRING_ARRAY, FALSE, "[]", NULL, "header fields: " what }
#define JSON(what) { "json", PORTICO_FIELD_STRING_ARRAY, FALSE, "[]", NULL, "top-level JSON members: " what }
#define JSON_TYPES                                                                                \
  { "json_types", PORTICO_FIELD_STRING_ARRAY, FALSE, "[]", json_type_names,                       \
    "the type of each json value, by position (default string)" }

static const PorticoSchemaField remove_fields[] = {
  HEADERS ("names to remove"), JSON ("names to remove"), { NULL },
};
static const PorticoSchemaField rename_fields[] = {
  HEADERS ("\"old:new\", when present"), JSON ("\"old:new\", when present"), { NULL },
};
static const PorticoSchemaField replace_fields[] = {
  HEADERS ("\"name:value\", only when present"), JSON ("\"name:value\", only when present"), JSON_TYPES,
  { NULL },
};
static const PorticoSchemaField add_fields[] = {
  HEADERS ("\"name:value\", only when absent"), JSON ("\"name:value\", only when absent"), JSON_TYPES,
  { NULL },
};
static const PorticoSchemaField append_fields[] = {
  HEADERS ("\"name:value\", always one more"), JSON ("\"name:value\", one more array element"), JSON_TYPES,
  { NULL },
};

static const PorticoSchemaField response_transformer_schema[] = {
  { "remove", PORTICO_FIELD_RECORD, .fields = remove_fields },
  { "rename", PORTICO_FIELD_RECORD, .fields = rename_fields },
  { "replace", PORTICO_FIELD_RECORD, .fields = replace_fields },
  { "add", PORTICO_FIELD_RECORD, .fields = add_fields },
  { "append", PORTICO_FIELD_RECORD, .fields = append_fields },
  { NULL },
};

static const TransformHeaderOps response_headers = {
  .get = portico_response_get_header,
  .at = portico_response_header_at,
  .set = portico_response_set_header,
  .add = portico_response_add_header,
  .remove = portico_response_remove_header,
};

static gpointer
response_transformer_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  return response_transformer_conf_new (config, error);
}

static void
response_transformer_free_config (gpointer conf)
{
  response_transformer_conf_free (conf);
}

static PorticoResult
response_transformer_header_filter (PorticoRequest *r, gpointer data)
{
  const ResponseTransformerConf *conf = data;

  /* Decided on the upstream's head, before the edits, as Kong does: the
   * body is what the upstream made. */
  gboolean edit_body = !transform_set_is_empty (&conf->json) &&
                       response_transformer_wants_body (conf, portico_response_get_header (r, "Content-Type"),
                                                        portico_response_get_header (r, "Content-Encoding"),
                                                        portico_response_get_header (r, "Content-Length"));
  transform_headers_apply (&conf->headers, &response_headers, r);
  if (edit_body)
    {
      /* The length changes: the gateway re-frames the body. */
      portico_response_remove_header (r, "Content-Length");
      portico_request_set_ctx (r, g_new0 (ResponseTransformerBody, 1),
                               (GDestroyNotify) response_transformer_body_free);
    }
  return PORTICO_CONTINUE;
}

static PorticoResult
response_transformer_body_filter (PorticoRequest *r, gpointer data)
{
  const ResponseTransformerConf *conf = data;
  ResponseTransformerBody *body = portico_request_get_ctx (r);
  if (body == NULL)
    return PORTICO_CONTINUE;

  gsize len, out_len;
  gboolean last;
  const char *chunk = portico_response_get_chunk (r, &len, &last);
  const char *out;
  switch (response_transformer_body_feed (body, conf, chunk, len, last, &out, &out_len))
    {
    case RESPONSE_TRANSFORMER_HOLD:
      portico_response_set_chunk (r, "", 0);
      break;
    case RESPONSE_TRANSFORMER_PASS:
      break;
    case RESPONSE_TRANSFORMER_OVERFLOW:
      portico_log (r, G_LOG_LEVEL_WARNING, "JSON body over %" G_GSIZE_FORMAT " bytes: sent on unchanged",
                   conf->max_body);
      G_GNUC_FALLTHROUGH;
    case RESPONSE_TRANSFORMER_EMIT:
      portico_response_set_chunk (r, out, out_len);
      break;
    }
  return PORTICO_CONTINUE;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "response-transformer",
  .version = "1.0.0",
  .priority = 800,
  .schema = response_transformer_schema,
  .configure = response_transformer_configure,
  .free_config = response_transformer_free_config,
  .header_filter = response_transformer_header_filter,
  .body_filter = response_transformer_body_filter,
};
