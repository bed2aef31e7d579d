/* core/config-routes.c: the schema of a service's "routes" (Kong's): what a
 * route matches (paths, hosts, methods, headers), its protocols and the
 * redirect that sends plain HTTP to https.
 */
#include "core/config-private.h"

#include <string.h>

static void
route_header_free (gpointer data)
{
  PorticoRouteHeader *header = data;

  g_free (header->name);
  g_strfreev (header->values);
  g_free (header);
}

void
portico_config_route_free (gpointer data)
{
  PorticoRoute *route = data;

  g_free (route->name);
  g_strfreev (route->paths);
  g_strfreev (route->hosts);
  g_strfreev (route->methods);
  g_ptr_array_unref (route->headers);
  g_free (route);
}

static char *
check_route_path (PorticoJsonReader *r, const char *value, gpointer user_data)
{
  if (value[0] == '~') {
    g_autoptr(GError) error = NULL;
    g_autoptr(GRegex) regex = NULL;

    if (!value[1]) {
      portico_json_reader_error (r, NULL, "must have a regex after \"~\"");
      return NULL;
    }
    if (!(regex = g_regex_new (value + 1, G_REGEX_OPTIMIZE | G_REGEX_RAW, 0, &error))) {
      portico_json_reader_error (r, NULL, "invalid regex: %s", error->message);
      return NULL;
    }
  } else if (value[0] != '/') {
    portico_json_reader_error (r, NULL, "must start with \"/\"");
    return NULL;
  }
  return g_strdup (value);
}

static char *
check_route_host (PorticoJsonReader *r, const char *value, gpointer user_data)
{
  g_autofree char *host = g_ascii_strdown (value, -1);
  size_t len = strlen (host);
  const char *star = strchr (host, '*');

  if (len == 0) {
    portico_json_reader_error (r, NULL, "must not be empty");
    return NULL;
  }
  if (host[0] == '[') {
    /* An IPv6 literal: only the brackets and what may sit between them. */
    const char *end = strchr (host, ']');

    if (end && end[1] == ':') {
      portico_json_reader_error (r, NULL, "a port in hosts is not supported yet");
      return NULL;
    }
    if (!end || end[1] || strspn (host + 1, "0123456789abcdef:.") != (size_t) (end - host - 1)) {
      portico_json_reader_error (r, NULL, "is not a valid host name");
      return NULL;
    }
    return g_steal_pointer (&host);
  }
  if (strchr (host, ':')) {
    portico_json_reader_error (r, NULL, "a port in hosts is not supported yet");
    return NULL;
  }
  if (star) {
    gboolean leftmost = star == host && host[1] == '.' && host[2] && !strchr (host + 1, '*');
    gboolean rightmost = star == host + len - 1 && len > 2 && host[len - 2] == '.';

    if (!leftmost && !rightmost) {
      portico_json_reader_error (r, NULL,
                                 "a wildcard must be the whole leftmost or rightmost label "
                                 "(\"*.example.com\" or \"example.*\")");
      return NULL;
    }
  }
  if (strspn (host, "abcdefghijklmnopqrstuvwxyz0123456789-._*") != len || host[0] == '.' ||
      host[len - 1] == '.' || strstr (host, "..")) {
    portico_json_reader_error (r, NULL, "is not a valid host name");
    return NULL;
  }
  return g_steal_pointer (&host);
}

static char *
check_route_method (PorticoJsonReader *r, const char *value, gpointer user_data)
{
  size_t len = strlen (value);

  if (len == 0 || strspn (value, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != len) {
    portico_json_reader_error (r, NULL, "must be an upper-case method such as \"GET\"");
    return NULL;
  }
  return g_strdup (value);
}

/* Kong's route protocols that are not HTTP/1.1 over TCP or TLS. */
static const char *const other_protocols[] = { "grpc", "grpcs", "tcp", "tls", "tls_passthrough", "udp", "ws",
                                               "wss", NULL };

static char *
check_route_protocol (PorticoJsonReader *r, const char *value, gpointer user_data)
{
  if (g_str_equal (value, "http") || g_str_equal (value, "https"))
    return g_strdup (value);
  if (g_strv_contains (other_protocols, value))
    portico_json_reader_error (r, NULL, "\"%s\" is not supported: Portico proxies HTTP/1.1 only (\"http\" "
                               "or \"https\")", value);
  else
    portico_json_reader_error (r, NULL, "must be \"http\" or \"https\"");
  return NULL;
}

/* "protocols" and "https_redirect_status_code" (Kong's defaults: both
 * schemes, 426). */
static void
load_route_protocols (PorticoConfigLoader *ld, JsonObject *object, PorticoRoute *route)
{
  g_auto(GStrv) protocols = NULL;
  JsonNode *status;

  route->protocols = PORTICO_PROTOCOL_HTTP | PORTICO_PROTOCOL_HTTPS;
  route->https_redirect_status_code = 426;
  if (portico_json_reader_get_strings (ld->r, object, "protocols", check_route_protocol, NULL,
                                       &protocols) == PORTICO_JSON_FIELD_OK) {
    route->protocols = 0;
    for (guint i = 0; protocols[i]; i++)
      route->protocols |= g_str_equal (protocols[i], "https") ? PORTICO_PROTOCOL_HTTPS : PORTICO_PROTOCOL_HTTP;
    if (route->protocols == 0)
      portico_json_reader_error (ld->r, "protocols", "must list \"http\", \"https\" or both");
  }
  if ((status = portico_json_member (object, "https_redirect_status_code"))) {
    gint64 code = JSON_NODE_HOLDS_VALUE (status) && json_node_get_value_type (status) == G_TYPE_INT64
                    ? json_node_get_int (status) : 0;

    if (code != 301 && code != 302 && code != 307 && code != 308 && code != 426)
      portico_json_reader_error (ld->r, "https_redirect_status_code", "must be 301, 302, 307, 308 or 426");
    else
      route->https_redirect_status_code = (int) code;
  }
}

static char *
check_header_value (PorticoJsonReader *r, const char *value, gpointer user_data)
{
  return g_ascii_strdown (value, -1);
}

/* RFC 9110 token characters. */
static gboolean
valid_token (const char *text)
{
  size_t len = strlen (text);

  return len > 0 &&
         strspn (text, "!#$%&'*+-.^_`|~0123456789"
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") == len;
}

/* Returns FALSE when something in "headers" was wrong (already reported). */
static gboolean
load_route_headers (PorticoConfigLoader *ld, JsonObject *object, PorticoRoute *route)
{
  g_autoptr(GHashTable) seen = NULL; /* lower-cased names, owned by route->headers */
  JsonObject *headers;
  GList *names;
  gboolean valid = TRUE;

  switch (portico_json_reader_get_object (ld->r, object, "headers", NULL, &headers)) {
  case PORTICO_JSON_FIELD_ABSENT:
    return TRUE;
  case PORTICO_JSON_FIELD_INVALID:
    return FALSE;
  case PORTICO_JSON_FIELD_OK:
    break;
  }
  portico_json_reader_push_key (ld->r, "headers");
  seen = g_hash_table_new (g_str_hash, g_str_equal);
  names = json_object_get_members (headers);
  for (GList *l = names; l; l = l->next) {
    g_autofree char *name = g_ascii_strdown (l->data, -1);
    g_auto(GStrv) values = NULL;
    PorticoRouteHeader *header;

    if (!valid_token (name)) {
      portico_json_reader_error (ld->r, l->data, "is not a valid header name");
      valid = FALSE;
      continue;
    }
    if (g_str_equal (name, "host")) {
      portico_json_reader_error (ld->r, l->data, "use \"hosts\" to match the Host header");
      valid = FALSE;
      continue;
    }
    if (g_hash_table_contains (seen, name)) {
      portico_json_reader_error (ld->r, l->data, "duplicate header \"%s\"", name);
      valid = FALSE;
      continue;
    }
    switch (portico_json_reader_get_strings (ld->r, headers, l->data, check_header_value, NULL,
                                             &values)) {
    case PORTICO_JSON_FIELD_ABSENT:
      portico_json_reader_error (ld->r, l->data, "must be an array of strings");
      valid = FALSE;
      continue;
    case PORTICO_JSON_FIELD_INVALID:
      valid = FALSE;
      continue;
    case PORTICO_JSON_FIELD_OK:
      break;
    }
    if (!values[0]) {
      portico_json_reader_error (ld->r, l->data, "must list at least one value");
      valid = FALSE;
      continue;
    }
    header = g_new0 (PorticoRouteHeader, 1);
    header->name = g_steal_pointer (&name);
    header->values = g_steal_pointer (&values);
    g_ptr_array_add (route->headers, header);
    g_hash_table_add (seen, header->name);
  }
  g_list_free (names);
  portico_json_reader_pop (ld->r);
  return valid;
}

/* Reads an array of strings that may be left out; an empty one counts as
 * none. Returns FALSE when it was wrong (already reported). */
static gboolean
load_route_strings (PorticoConfigLoader *ld, JsonObject *object, const char *key,
                    PorticoJsonStringCheck check, GStrv *out)
{
  PorticoJsonField result = portico_json_reader_get_strings (ld->r, object, key, check, NULL, out);

  if (*out && !(*out)[0])
    g_clear_pointer (out, g_strfreev);
  return result != PORTICO_JSON_FIELD_INVALID;
}

void
portico_config_load_route (PorticoConfigLoader *ld, JsonNode *node, gpointer data)
{
  static const char *const keys[] = { "name", "paths", "hosts", "methods", "headers", "strip_path",
                                      "preserve_host", "regex_priority", "protocols",
                                      "https_redirect_status_code", "plugins", "tags", NULL };
  PorticoService *service = data;
  PorticoRoute *route;
  JsonObject *object;
  gboolean valid = TRUE;
  gint64 priority = 0;

  if (!(object = portico_json_reader_as_object (ld->r, node, keys)))
    return;
  route = g_new0 (PorticoRoute, 1);
  route->headers = g_ptr_array_new_with_free_func (route_header_free);
  route->strip_path = TRUE;
  route->service = service;
  route->index = ld->config->routes->len;
  g_ptr_array_add (ld->config->routes, route);
  g_ptr_array_add (service->routes, route);

  route->name = portico_config_load_name (ld, object, "route", ld->routes, route, FALSE);
  valid &= load_route_strings (ld, object, "paths", check_route_path, &route->paths);
  valid &= load_route_strings (ld, object, "hosts", check_route_host, &route->hosts);
  valid &= load_route_strings (ld, object, "methods", check_route_method, &route->methods);
  valid &= load_route_headers (ld, object, route);
  if (valid && !route->paths && !route->hosts && !route->methods && route->headers->len == 0)
    portico_json_reader_error (ld->r, NULL,
                               "must have at least one of paths, hosts, methods, headers");

  portico_json_reader_get_bool (ld->r, object, "strip_path", &route->strip_path);
  portico_json_reader_get_bool (ld->r, object, "preserve_host", &route->preserve_host);
  portico_json_reader_get_int (ld->r, object, "regex_priority", G_MININT, G_MAXINT, &priority);
  route->regex_priority = (int) priority;
  load_route_protocols (ld, object, route);
  portico_config_skip_tags (ld, object);

  portico_config_load_plugins (ld, object, NULL, route);
}
