/* request-termination-logic.h: the configuration rules, Kong's default
 * messages and the echo document, without the PDK. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Kong's rules between the fields (NULL and "" both mean unset). */
gboolean request_termination_check (const char *message, const char *body, const char *content_type,
                                    gboolean echo, GError **error);

/* The message sent when none is configured (Kong's table), or NULL: then
 * the response has no body. */
const char *request_termination_default_message (int status);

/* A query string as Kong's kong.request.get_query() shows it: names to
 * values, percent-decoded ("+" is a space), a repeated name to an array of
 * its values, a bare "name" to true; empty names are skipped. */
JsonNode *request_termination_query_json (const char *raw_query);

/* Header fields as Kong's kong.request.get_headers() shows them: lowercase
 * names to values, a repeated name to an array. */
JsonNode *request_termination_headers_json (const char *const *names, const char *const *values, guint n);

/* The host part of a Host header value, lowercased, without the port
 * ("API.example.com:8000" is "api.example.com", "[::1]:80" is "[::1]"). */
char *request_termination_host (const char *host_header);

/* What an echo shows. */
typedef struct {
  const char *message;  /* NULL: none */
  guint worker_pid;
  const char *hostname;
  const char *method;
  const char *path;
  const char *raw_query;
  const char *host_header; /* NULL: none */
  guint port;              /* the gateway's */
  const char *const *header_names;
  const char *const *header_values;
  guint n_headers;
  gboolean routed;          /* a route matched */
  const char *route_name;   /* may be NULL when routed */
  const char *service_name;
} RequestTerminationEcho;

/* The echo body, Kong's shape: {"message", "kong": {"worker_pid",
 * "hostname"}, "request": {"scheme", "host", "port", "headers", "query",
 * "method", "path"}, "matched_route": {"name"}, "matched_service":
 * {"name"}}. */
char *request_termination_echo_json (const RequestTerminationEcho *echo, gsize *length);

G_END_DECLS
