/* request-transformer-logic.c: configuration and query-string edits. */
#include "request-transformer-logic.h"

#include <string.h>

#include "transform-pieces.h"

static const char *
config_string (JsonObject *obj, const char *name)
{
  JsonNode *node = obj ? json_object_get_member (obj, name) : NULL;
  return node != NULL && json_node_get_value_type (node) == G_TYPE_STRING ? json_node_get_string (node) : NULL;
}

static JsonObject *
config_record (JsonObject *config, const char *name)
{
  JsonNode *node = json_object_get_member (config, name);
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* Portico streams a request body to the upstream as it arrives, so there
 * is no whole body to edit: say so instead of ignoring the entries. */
static gboolean
check_no_body (JsonObject *config, GError **error)
{
  for (TransformOp op = 0; op < TRANSFORM_N_OPS; op++)
    {
      JsonObject *rec = config_record (config, transform_op_name (op));
      JsonNode *body = rec ? json_object_get_member (rec, "body") : NULL;
      if (body != NULL && JSON_NODE_HOLDS_ARRAY (body) && json_array_get_length (json_node_get_array (body)) > 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "%s.body: body edits are not supported: Portico streams request bodies to the "
                       "upstream without buffering them, so there is no body to edit; leave it empty",
                       transform_op_name (op));
          return FALSE;
        }
    }
  return TRUE;
}

/* Kong expands $(headers.x), $(query_params.y), ... in values; Portico
 * does not, and a value sent literally would surprise whoever wrote it. */
static gboolean
check_no_template (const char *what, const char *value, GError **error)
{
  if (value == NULL || strstr (value, "$(") == NULL)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
               "%s: \"%s\": templates ($(...)) are not supported", what, value);
  return FALSE;
}

static gboolean
check_set_templates (const TransformSet *set, const char *key, GError **error)
{
  for (TransformOp op = TRANSFORM_REPLACE; op < TRANSFORM_N_OPS; op++)
    for (guint i = 0; i < set->ops[op].len; i++)
      {
        g_autofree char *what = g_strdup_printf ("%s.%s[%u]", transform_op_name (op), key, i);
        if (!check_no_template (what, set->ops[op].items[i].value, error))
          return FALSE;
      }
  return TRUE;
}

static gboolean
check_method (const char *method, GError **error)
{
  gboolean ok = *method != '\0';
  for (const char *p = method; *p; p++)
    ok = ok && g_ascii_isupper (*p);
  if (!ok)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 "http_method: \"%s\" is not a method: upper-case letters only (GET, POST, ...)", method);
  return ok;
}

static gboolean
check_uri (const char *uri, GError **error)
{
  const char *why = NULL;
  if (uri[0] != '/')
    why = "must start with \"/\"";
  for (const guchar *p = (const guchar *) uri; why == NULL && *p; p++)
    if (*p <= 0x20 || *p == 0x7f)
      why = "holds a space or a control character";
    else if (*p == '?' || *p == '#')
      why = "holds \"?\" or \"#\": edit the query with the querystring lists";
  if (why != NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "replace.uri: \"%s\" %s", uri, why);
  return why == NULL && check_no_template ("replace.uri", uri, error);
}

RequestTransformerConf *
request_transformer_conf_new (JsonObject *config, GError **error)
{
  g_return_val_if_fail (config != NULL, NULL);

  RequestTransformerConf *conf = g_new0 (RequestTransformerConf, 1);
  const char *method = config_string (config, "http_method");
  const char *uri = config_string (config_record (config, "replace"), "uri");

  if (!check_no_body (config, error) || (method != NULL && !check_method (method, error)) ||
      (uri != NULL && !check_uri (uri, error)) ||
      !transform_set_init (&conf->headers, config, "headers", TRANSFORM_TARGET_REQUEST_HEADERS, error) ||
      !transform_set_init (&conf->query, config, "querystring", TRANSFORM_TARGET_QUERY, error) ||
      !check_set_templates (&conf->headers, "headers", error) ||
      !check_set_templates (&conf->query, "querystring", error))
    {
      request_transformer_conf_free (conf);
      return NULL;
    }
  conf->http_method = g_strdup (method);
  conf->uri = g_strdup (uri);
  return conf;
}

void
request_transformer_conf_free (RequestTransformerConf *conf)
{
  if (conf == NULL)
    return;
  g_free (conf->http_method);
  g_free (conf->uri);
  transform_set_clear (&conf->headers);
  transform_set_clear (&conf->query);
  g_free (conf);
}

/* ---- the query string ------------------------------------------------------ */

static int
hex_value (char c)
{
  return g_ascii_isxdigit (c) ? g_ascii_xdigit_value (c) : -1;
}

/* Whether the percent-encoded @raw (with "+" for space) decodes to @name,
 * decoding as it compares. A "%" not followed by two hex digits is itself. */
static gboolean
query_name_is (const char *raw, gsize len, const char *name)
{
  const char *end = raw + len;
  const guchar *n = (const guchar *) name;
  while (raw < end)
    {
      int c = (guchar) *raw++;
      if (c == '+')
        c = ' ';
      else if (c == '%' && end - raw >= 2 && hex_value (raw[0]) >= 0 && hex_value (raw[1]) >= 0)
        {
          c = hex_value (raw[0]) * 16 + hex_value (raw[1]);
          raw += 2;
        }
      if (*n == '\0' || *n++ != c)
        return FALSE;
    }
  return *n == '\0';
}

static const TransformSyntax query_syntax = { "", "=", query_name_is };

static gboolean
query_append (gpointer pieces, const TransformPair *pair)
{
  transform_pieces_append (pieces, pair->out_name, pair->out_value);
  return TRUE;
}

static const TransformEditor query_editor = {
  { transform_pieces_remove, transform_pieces_rename, transform_pieces_replace, transform_pieces_add,
    query_append },
};

char *
request_transformer_query_apply (const TransformSet *set, const char *raw_query)
{
  if (transform_set_is_empty (set))
    return NULL;

  TransformPieces args;
  transform_pieces_init (&args, &query_syntax);
  for (const char *p = raw_query; *p != '\0';)
    {
      const char *amp = strchrnul (p, '&');
      const char *eq = memchr (p, '=', amp - p);
      TransformPiece arg = { .text = p, .len = amp - p, .name = p, .name_len = (eq ? eq : amp) - p };
      if (eq != NULL)
        {
          arg.value = eq + 1;
          arg.value_len = amp - eq - 1;
        }
      transform_pieces_add_original (&args, &arg);
      p = *amp ? amp + 1 : amp;
    }

  char *out = NULL;
  if (transform_set_apply (set, &query_editor, &args))
    {
      GString *s = g_string_sized_new (strlen (raw_query) + 64);
      transform_pieces_join (&args, s, '&');
      out = g_string_free (s, FALSE);
    }
  transform_pieces_clear (&args);
  return out;
}
