/* response-transformer-logic.c: configuration, the JSON test on the head,
 * and holding the body back until it can be edited. */
#include "response-transformer-logic.h"

#include <string.h>

#include "response-transformer-json.h"

ResponseTransformerConf *
response_transformer_conf_new (JsonObject *config, GError **error)
{
  g_return_val_if_fail (config != NULL, NULL);

  ResponseTransformerConf *conf = g_new0 (ResponseTransformerConf, 1);
  conf->max_body = RESPONSE_TRANSFORMER_MAX_BODY;
  if (!transform_set_init (&conf->headers, config, "headers", TRANSFORM_TARGET_RESPONSE_HEADERS, error) ||
      !transform_set_init (&conf->json, config, "json", TRANSFORM_TARGET_JSON, error))
    {
      response_transformer_conf_free (conf);
      return NULL;
    }
  return conf;
}

void
response_transformer_conf_free (ResponseTransformerConf *conf)
{
  if (conf == NULL)
    return;
  transform_set_clear (&conf->headers);
  transform_set_clear (&conf->json);
  g_free (conf);
}

/* application/json, or TYPE/SUBTYPE+json, parameters ignored. */
static gboolean
is_json_type (const char *content_type)
{
  const char *end = strchrnul (content_type, ';');
  while (content_type < end && g_ascii_isspace (*content_type))
    content_type++;
  while (end > content_type && g_ascii_isspace (end[-1]))
    end--;
  gsize len = end - content_type;
  const char *slash = memchr (content_type, '/', len);
  if (slash == NULL || slash == content_type || slash + 1 == end)
    return FALSE;
  if (len == strlen ("application/json") && g_ascii_strncasecmp (content_type, "application/json", len) == 0)
    return TRUE;
  return end - slash > 5 && g_ascii_strncasecmp (end - 5, "+json", 5) == 0;
}

gboolean
response_transformer_wants_body (const ResponseTransformerConf *conf, const char *content_type,
                                  const char *content_encoding, const char *content_length)
{
  if (transform_set_is_empty (&conf->json) || content_type == NULL || !is_json_type (content_type))
    return FALSE;
  /* A compressed body cannot be read as JSON; leave it alone. */
  if (content_encoding != NULL && g_ascii_strcasecmp (content_encoding, "identity") != 0)
    return FALSE;
  /* Known to be too long: do not hold any of it. */
  if (content_length != NULL && g_ascii_strtoull (content_length, NULL, 10) > conf->max_body)
    return FALSE;
  return TRUE;
}

void
response_transformer_body_free (ResponseTransformerBody *body)
{
  if (body == NULL)
    return;
  if (body->held != NULL)
    g_string_free (body->held, TRUE);
  g_free (body->edited);
  g_free (body);
}

/* The whole body is here: its edited text, or the body as it came. */
static ResponseTransformerStep
body_finish (ResponseTransformerBody *body, const ResponseTransformerConf *conf, const char *text,
             gsize len, const char **out, gsize *out_len)
{
  body->edited = response_transformer_json_apply (&conf->json, text, len, out_len);
  if (body->edited != NULL)
    {
      *out = body->edited;
      return RESPONSE_TRANSFORMER_EMIT;
    }
  *out = text;
  *out_len = len;
  return RESPONSE_TRANSFORMER_EMIT;
}

ResponseTransformerStep
response_transformer_body_feed (ResponseTransformerBody *body, const ResponseTransformerConf *conf,
                                const char *chunk, gsize len, gboolean last, const char **out,
                                gsize *out_len)
{
  if (body->passing)
    return RESPONSE_TRANSFORMER_PASS;

  /* The whole body in one chunk (the usual case): no copy. */
  if (body->held == NULL && last)
    {
      if (len > conf->max_body)
        return RESPONSE_TRANSFORMER_PASS;
      ResponseTransformerStep step = body_finish (body, conf, chunk, len, out, out_len);
      return body->edited != NULL ? step : RESPONSE_TRANSFORMER_PASS;
    }

  gsize held = body->held != NULL ? body->held->len : 0;
  if (body->held == NULL)
    body->held = g_string_sized_new (MAX (len, 4096));
  g_string_append_len (body->held, chunk, len);
  if (held + len > conf->max_body)
    {
      body->passing = TRUE;
      *out = body->held->str;
      *out_len = body->held->len;
      return RESPONSE_TRANSFORMER_OVERFLOW;
    }
  if (!last)
    return RESPONSE_TRANSFORMER_HOLD;
  return body_finish (body, conf, body->held->str, body->held->len, out, out_len);
}
