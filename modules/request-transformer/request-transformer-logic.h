/* request-transformer-logic.h: the request-transformer's configuration and
 * its query-string edits, without the gateway (unit-tested). */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "transform-ops.h"

G_BEGIN_DECLS

typedef struct {
  char *http_method; /* NULL: unchanged */
  char *uri;         /* replace.uri; NULL: unchanged */
  TransformSet headers;
  TransformSet query;
} RequestTransformerConf;

/* Builds the configuration from the plugin's "config" (schema-checked, but
 * missing records are taken as empty). Refuses non-empty "body" lists
 * (the gateway streams request bodies), Kong's $(...) templates, and
 * malformed entries, with an error naming the entry. */
RequestTransformerConf *request_transformer_conf_new (JsonObject *config, GError **error);
void request_transformer_conf_free (RequestTransformerConf *conf);

/* The query string @raw_query (without "?") after @set's edits, or NULL
 * when they change nothing. Arguments are matched by their decoded name;
 * the ones no edit touches are kept byte for byte, in order. */
char *request_transformer_query_apply (const TransformSet *set, const char *raw_query);

G_END_DECLS
