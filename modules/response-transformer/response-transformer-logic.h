/* response-transformer-logic.h: the response-transformer's configuration,
 * which responses get their JSON body edited, and the body buffer, without
 * the gateway (unit-tested). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "transform-ops.h"

G_BEGIN_DECLS

/* The most body bytes held back for a JSON edit. A longer body is sent on
 * unchanged (logged): a gateway must not hold unbounded bodies. */
#define RESPONSE_TRANSFORMER_MAX_BODY (8 * 1024 * 1024)

typedef struct {
  TransformSet headers;
  TransformSet json;
  gsize max_body; /* RESPONSE_TRANSFORMER_MAX_BODY; tests lower it */
} ResponseTransformerConf;

/* Builds the configuration from the plugin's "config" (schema-checked, but
 * missing records are taken as empty). Errors name the entry. */
ResponseTransformerConf *response_transformer_conf_new (JsonObject *config, GError **error);
void response_transformer_conf_free (ResponseTransformerConf *conf);

/* Whether a response with these header values (NULL: absent) gets its body
 * edited: JSON edits are configured, the Content-Type is application/json
 * or any type with a +json suffix, there is no Content-Encoding but
 * identity, and a Content-Length, if any, is within max_body. */
gboolean response_transformer_wants_body (const ResponseTransformerConf *conf, const char *content_type,
                                          const char *content_encoding, const char *content_length);

/* The body of one response while it is held back. */
typedef struct {
  GString *held;
  char *edited;
  gboolean passing; /* over max_body: the rest goes on unchanged */
} ResponseTransformerBody;

void response_transformer_body_free (ResponseTransformerBody *body);

/* What body_filter does with the chunk it was given. */
typedef enum {
  RESPONSE_TRANSFORMER_HOLD,     /* nothing goes on yet (an empty chunk) */
  RESPONSE_TRANSFORMER_PASS,     /* the chunk goes on as it is */
  RESPONSE_TRANSFORMER_EMIT,     /* *out goes on instead of the chunk */
  RESPONSE_TRANSFORMER_OVERFLOW, /* *out (all that was held, unchanged) goes on; log it */
} ResponseTransformerStep;

/* Feeds one body_filter chunk. *out stays valid until the next call or
 * response_transformer_body_free(). */
ResponseTransformerStep response_transformer_body_feed (ResponseTransformerBody *body,
                                                        const ResponseTransformerConf *conf,
                                                        const char *chunk, gsize len, gboolean last,
                                                        const char **out, gsize *out_len);

G_END_DECLS
