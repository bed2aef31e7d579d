/* request-termination-logic.c: see request-termination-logic.h. */
#include "request-termination-logic.h"

#include <gio/gio.h>
#include <string.h>

static gboolean
is_set (const char *s)
{
  return s != NULL && *s != '\0';
}

gboolean
request_termination_check (const char *message, const char *body, const char *content_type, gboolean echo,
                           GError **error)
{
  const char *why = NULL;
  if (is_set (message) && (is_set (content_type) || is_set (body)))
    why = "message cannot be used with content_type or body";
  else if (is_set (content_type) && !is_set (body))
    why = "content_type requires a body";
  else if (echo && (is_set (content_type) || is_set (body)))
    why = "echo cannot be used with content_type and body";
  if (why != NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, why);
  return why == NULL;
}

const char *
request_termination_default_message (int status)
{
  switch (status)
    {
    case 401: return "Unauthorized";
    case 404: return "Not found";
    case 405: return "Method not allowed";
    case 500: return "An unexpected error occurred";
    case 502: return "Bad Gateway";
    case 503: return "Service unavailable";
    default: return NULL;
    }
}

/* Adds @value under @name: a second value turns the member into an array. */
static void
add_repeatable (JsonObject *obj, const char *name, JsonNode *value)
{
  JsonNode *have = json_object_get_member (obj, name);
  if (have == NULL)
    json_object_set_member (obj, name, value);
  else if (JSON_NODE_HOLDS_ARRAY (have))
    json_array_add_element (json_node_get_array (have), value);
  else
    {
      JsonArray *array = json_array_new ();
      json_array_add_element (array, json_node_copy (have));
      json_array_add_element (array, value);
      json_object_set_array_member (obj, name, array);
    }
}

static char *
form_decode (const char *s, gssize len)
{
  g_autofree char *plus = g_strndup (s, len);
  g_strdelimit (plus, "+", ' ');
  char *decoded = g_uri_unescape_string (plus, NULL);
  /* A malformed escape ("%zz") is kept as written rather than dropped. */
  return decoded != NULL ? decoded : g_steal_pointer (&plus);
}

JsonNode *
request_termination_query_json (const char *raw_query)
{
  JsonObject *obj = json_object_new ();
  const char *p = raw_query != NULL ? raw_query : "";

  while (*p)
    {
      gsize pair_len = strcspn (p, "&");
      const char *eq = memchr (p, '=', pair_len);
      gsize name_len = eq ? (gsize) (eq - p) : pair_len;
      if (name_len > 0)
        {
          g_autofree char *name = form_decode (p, name_len);
          JsonNode *value;
          if (eq == NULL)
            value = json_node_init_boolean (json_node_alloc (), TRUE);
          else
            {
              g_autofree char *text = form_decode (eq + 1, pair_len - name_len - 1);
              value = json_node_init_string (json_node_alloc (), text);
            }
          add_repeatable (obj, name, value);
        }
      p += pair_len;
      if (*p == '&')
        p++;
    }
  return json_node_init_object (json_node_alloc (), obj);
}

JsonNode *
request_termination_headers_json (const char *const *names, const char *const *values, guint n)
{
  JsonObject *obj = json_object_new ();
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_ascii_strdown (names[i], -1);
      add_repeatable (obj, name, json_node_init_string (json_node_alloc (), values[i]));
    }
  return json_node_init_object (json_node_alloc (), obj);
}

char *
request_termination_host (const char *host_header)
{
  const char *close = strchr (host_header, ']');
  const char *colon = strchr (close ? close : host_header, ':');
  gsize len = colon ? (gsize) (colon - host_header) : strlen (host_header);
  return g_ascii_strdown (host_header, (gssize) len);
}

/* {"name": NAME} (null when unnamed). */
static JsonNode *
named (const char *name)
{
  JsonObject *obj = json_object_new ();
  if (name != NULL)
    json_object_set_string_member (obj, "name", name);
  else
    json_object_set_null_member (obj, "name");
  return json_node_init_object (json_node_alloc (), obj);
}

char *
request_termination_echo_json (const RequestTerminationEcho *echo, gsize *length)
{
  g_autoptr (JsonObject) root = json_object_new ();
  if (echo->message != NULL)
    json_object_set_string_member (root, "message", echo->message);

  JsonObject *node = json_object_new ();
  json_object_set_int_member (node, "worker_pid", echo->worker_pid);
  json_object_set_string_member (node, "hostname", echo->hostname);
  json_object_set_object_member (root, "kong", node);

  JsonObject *req = json_object_new ();
  json_object_set_string_member (req, "scheme", "http");
  if (echo->host_header != NULL)
    {
      g_autofree char *host = request_termination_host (echo->host_header);
      json_object_set_string_member (req, "host", host);
    }
  json_object_set_int_member (req, "port", echo->port);
  json_object_set_member (req, "headers",
                          request_termination_headers_json (echo->header_names, echo->header_values,
                                                            echo->n_headers));
  json_object_set_member (req, "query", request_termination_query_json (echo->raw_query));
  json_object_set_string_member (req, "method", echo->method);
  json_object_set_string_member (req, "path", echo->path);
  json_object_set_object_member (root, "request", req);

  if (echo->routed)
    {
      json_object_set_member (root, "matched_route", named (echo->route_name));
      json_object_set_member (root, "matched_service", named (echo->service_name));
    }

  g_autoptr (JsonNode) doc = json_node_init_object (json_node_alloc (), root);
  char *text = json_to_string (doc, FALSE);
  if (length != NULL)
    *length = strlen (text);
  return text;
}
