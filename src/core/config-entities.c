/* core/config-entities.c: the schema of a configuration's entities (Kong's):
 * services and their routes, upstreams and their targets, consumers and
 * their credentials, and plugins on any of them. config.c walks the document
 * and reads its "node" section; how the loader reports errors and builds
 * entities is said at the top of config.c.
 */
#include "core/config-private.h"

#include <string.h>

/* ---- names ------------------------------------------------------------------ */

/* "tags" are free-form labels for people: checked, then dropped. */
static void
skip_tags (PorticoConfigLoader *ld, JsonObject *object)
{
  g_auto(GStrv) tags = NULL;

  portico_json_reader_get_strings (ld->r, object, "tags", NULL, NULL, &tags);
}

static gboolean
valid_name (const char *name)
{
  for (const char *p = name; *p; p++) {
    if (!g_ascii_isalnum (*p) && !strchr ("._~-", *p))
      return FALSE;
  }
  return TRUE;
}

/* Reads the "name" of an entity and registers it in @names unless another
 * entity of the same @kind has it. Returns a copy even for a duplicate. */
static char *
load_name (PorticoConfigLoader *ld, JsonObject *object, const char *kind, GHashTable *names,
           gpointer entity, gboolean required)
{
  const char *name = NULL;
  char *copy;

  if (required)
    name = portico_json_reader_require_string (ld->r, object, "name");
  else
    portico_json_reader_get_nonempty_string (ld->r, object, "name", &name);
  if (!name)
    return NULL;
  if (!valid_name (name)) {
    portico_json_reader_error (ld->r, "name",
                               "may only contain letters, digits, \".\", \"_\", \"~\" and \"-\"");
    return NULL;
  }
  copy = g_strdup (name);
  if (g_hash_table_contains (names, name))
    portico_json_reader_error (ld->r, "name", "duplicate %s name \"%s\"", kind, name);
  else
    g_hash_table_insert (names, copy, entity);
  return copy;
}

/* ---- upstreams ------------------------------------------------------------------ */

static void
target_free (gpointer data)
{
  PorticoTarget *target = data;

  g_free (target->target);
  portico_address_clear (&target->address);
  g_free (target);
}

static void
upstream_free (gpointer data)
{
  PorticoUpstream *upstream = data;

  g_free (upstream->name);
  g_free (upstream->algorithm);
  g_free (upstream->hash_on_header);
  g_free (upstream->hash_fallback_header);
  g_free (upstream->hash_on_cookie);
  g_free (upstream->hash_on_cookie_path);
  portico_config_clear_healthchecks (&upstream->healthchecks);
  g_ptr_array_unref (upstream->targets);
  g_free (upstream);
}

static void
load_target (PorticoConfigLoader *ld, JsonNode *node, gpointer data)
{
  static const char *const keys[] = { "target", "weight", "tags", NULL };
  PorticoUpstream *upstream = data;
  PorticoTarget *target;
  JsonObject *object;
  const char *text;

  if (!(object = portico_json_reader_as_object (ld->r, node, keys)))
    return;
  target = g_new0 (PorticoTarget, 1);
  target->weight = 100;
  g_ptr_array_add (upstream->targets, target);
  portico_json_reader_get_uint (ld->r, object, "weight", 0, 1000, &target->weight);
  skip_tags (ld, object);
  if ((text = portico_json_reader_require_string (ld->r, object, "target"))) {
    target->target = g_strdup (text);
    portico_config_load_address (ld, "target", text, 8000, &target->address);
  }
}

static const char *const algorithm_names[] = {
  [PORTICO_LB_ROUND_ROBIN] = "round-robin",
  [PORTICO_LB_LEAST_CONNECTIONS] = "least-connections",
  [PORTICO_LB_CONSISTENT_HASHING] = "consistent-hashing",
  [PORTICO_LB_LATENCY] = "latency",
  NULL,
};

static const char *const hash_names[] = {
  [PORTICO_HASH_NONE] = "none",
  [PORTICO_HASH_CONSUMER] = "consumer",
  [PORTICO_HASH_IP] = "ip",
  [PORTICO_HASH_HEADER] = "header",
  [PORTICO_HASH_COOKIE] = "cookie",
  [PORTICO_HASH_PATH] = "path",
  NULL,
};

/* @key's value, one of @names (NULL-terminated): its index, else @fallback
 * (an error when it is there but none of them). */
static guint
load_choice (PorticoConfigLoader *ld, JsonObject *object, const char *key, const char *const *names,
             guint fallback)
{
  const char *text = NULL;
  if (portico_json_reader_get_string (ld->r, object, key, &text) != PORTICO_JSON_FIELD_OK)
    return fallback;
  for (guint i = 0; names[i]; i++)
    if (g_str_equal (text, names[i]))
      return i;
  g_autofree char *list = g_strjoinv (", ", (char **) names);
  portico_json_reader_error (ld->r, key, "must be one of: %s", list);
  return fallback;
}

/* A header name for hash_on "header": @key must hold one. */
static char *
load_hash_header (PorticoConfigLoader *ld, JsonObject *object, const char *key, gboolean needed,
                  const char *needed_by)
{
  const char *text = NULL;
  PorticoJsonField got = portico_json_reader_get_nonempty_string (ld->r, object, key, &text);
  if (got == PORTICO_JSON_FIELD_ABSENT && needed)
    portico_json_reader_error (ld->r, key, "is required with %s \"header\"", needed_by);
  return got == PORTICO_JSON_FIELD_OK ? g_strdup (text) : NULL;
}

/* Kong's consistent-hashing keys: what to hash, what to hash when that
 * is missing, and the ring's size. */
static void
load_hashing (PorticoConfigLoader *ld, JsonObject *object, PorticoUpstream *upstream)
{
  const char *path = "/", *cookie = NULL;
  upstream->hash_on = load_choice (ld, object, "hash_on", hash_names, PORTICO_HASH_NONE);
  upstream->hash_fallback = load_choice (ld, object, "hash_fallback", hash_names, PORTICO_HASH_NONE);
  upstream->hash_on_header =
    load_hash_header (ld, object, "hash_on_header", upstream->hash_on == PORTICO_HASH_HEADER, "hash_on");
  upstream->hash_fallback_header = load_hash_header (ld, object, "hash_fallback_header",
                                                     upstream->hash_fallback == PORTICO_HASH_HEADER,
                                                     "hash_fallback");
  if (portico_json_reader_get_nonempty_string (ld->r, object, "hash_on_cookie", &cookie) ==
        PORTICO_JSON_FIELD_ABSENT &&
      upstream->hash_on == PORTICO_HASH_COOKIE)
    portico_json_reader_error (ld->r, "hash_on_cookie", "is required with hash_on \"cookie\"");
  upstream->hash_on_cookie = g_strdup (cookie);
  portico_json_reader_get_nonempty_string (ld->r, object, "hash_on_cookie_path", &path);
  if (path[0] != '/')
    portico_json_reader_error (ld->r, "hash_on_cookie_path", "must start with \"/\"");
  upstream->hash_on_cookie_path = g_strdup (path);
  upstream->slots = 10000;
  portico_json_reader_get_uint (ld->r, object, "slots", 10, 65536, &upstream->slots);

  gboolean hashing = upstream->lb == PORTICO_LB_CONSISTENT_HASHING;
  if (!hashing && upstream->hash_on != PORTICO_HASH_NONE)
    portico_json_reader_error (ld->r, "hash_on", "needs algorithm \"consistent-hashing\"");
  if (hashing && upstream->hash_on == PORTICO_HASH_NONE)
    portico_json_reader_error (ld->r, "hash_on", "is required with algorithm \"consistent-hashing\"");
  if (upstream->hash_fallback != PORTICO_HASH_NONE &&
      (upstream->hash_on == PORTICO_HASH_COOKIE || upstream->hash_fallback == PORTICO_HASH_COOKIE))
    portico_json_reader_error (ld->r, "hash_fallback", "cannot be used with a cookie (Kong's rule: the "
                                                       "gateway sets the cookie, so it is never missing)");
  else if (upstream->hash_fallback != PORTICO_HASH_NONE && upstream->hash_fallback == upstream->hash_on &&
           upstream->hash_on != PORTICO_HASH_HEADER)
    portico_json_reader_error (ld->r, "hash_fallback", "must differ from hash_on");
}

static void
load_upstream (PorticoConfigLoader *ld, JsonNode *node, gpointer data)
{
  static const char *const keys[] = { "name", "algorithm", "hash_on", "hash_fallback", "hash_on_header",
                                      "hash_fallback_header", "hash_on_cookie", "hash_on_cookie_path",
                                      "slots", "healthchecks", "targets", "tags", NULL };
  PorticoUpstream *upstream;
  JsonObject *object;

  if (!(object = portico_json_reader_as_object (ld->r, node, keys)))
    return;
  upstream = g_new0 (PorticoUpstream, 1);
  upstream->targets = g_ptr_array_new_with_free_func (target_free);
  g_ptr_array_add (ld->config->upstreams, upstream);
  upstream->name = load_name (ld, object, "upstream", ld->upstreams, upstream, TRUE);
  upstream->lb = load_choice (ld, object, "algorithm", algorithm_names, PORTICO_LB_ROUND_ROBIN);
  upstream->algorithm = g_strdup (algorithm_names[upstream->lb]);
  load_hashing (ld, object, upstream);
  portico_config_load_healthchecks (ld, object, &upstream->healthchecks);
  portico_config_each_element (ld, object, "targets", load_target, upstream);
  skip_tags (ld, object);
}

/* ---- plugins ------------------------------------------------------------------ */

typedef struct {
  PorticoService *service;
  PorticoRoute *route;
} PluginScope;

static void
plugin_free (gpointer data)
{
  PorticoPluginConf *plugin = data;

  g_free (plugin->name);
  g_clear_pointer (&plugin->config, json_node_unref);
  g_free (plugin->json_path);
  g_free (plugin);
}

/* Looks up the entity a top-level plugin names in @key. */
static gpointer
load_reference (PorticoConfigLoader *ld, JsonObject *object, const char *key, GHashTable *names,
                GHashTable *other_names, gboolean *valid)
{
  const char *name = NULL;
  gpointer entity;

  switch (portico_json_reader_get_string (ld->r, object, key, &name)) {
  case PORTICO_JSON_FIELD_ABSENT:
    return NULL;
  case PORTICO_JSON_FIELD_INVALID:
    *valid = FALSE;
    return NULL;
  case PORTICO_JSON_FIELD_OK:
    break;
  }
  entity = g_hash_table_lookup (names, name);
  if (!entity && other_names)
    entity = g_hash_table_lookup (other_names, name);
  if (!entity) {
    portico_json_reader_error (ld->r, key, "unknown %s \"%s\"", key, name);
    *valid = FALSE;
  }
  return entity;
}

/* @data is the PluginScope of a nested plugin, NULL at the top level, where
 * the scope is written in the plugin itself. */
static void
load_plugin (PorticoConfigLoader *ld, JsonNode *node, gpointer data)
{
  static const char *const nested_keys[] = { "name", "enabled", "config", "tags", NULL };
  static const char *const global_keys[] = { "name", "enabled", "config", "service", "route",
                                             "consumer", "tags", NULL };
  const PluginScope *scope = data;
  PorticoPluginConf *plugin;
  JsonObject *object, *config = NULL;
  gboolean valid = TRUE;
  const char *name;

  object = portico_json_reader_as_object (ld->r, node, scope ? nested_keys : global_keys);
  if (!object)
    return;
  plugin = g_new0 (PorticoPluginConf, 1);
  plugin->enabled = TRUE;
  plugin->json_path = g_strdup (portico_json_reader_get_path (ld->r));
  g_ptr_array_add (ld->config->plugins, plugin);

  if ((name = portico_json_reader_require_string (ld->r, object, "name")))
    plugin->name = g_strdup (name);
  portico_json_reader_get_bool (ld->r, object, "enabled", &plugin->enabled);
  portico_json_reader_get_object (ld->r, object, "config", NULL, &config);
  if (config) {
    plugin->config = json_node_ref (portico_json_member (object, "config"));
  } else {
    g_autoptr(JsonObject) empty = json_object_new ();

    plugin->config = json_node_init_object (json_node_alloc (), empty);
  }
  skip_tags (ld, object);

  if (scope) {
    plugin->service = scope->service;
    plugin->route = scope->route;
  } else {
    plugin->service = load_reference (ld, object, "service", ld->services, NULL, &valid);
    plugin->route = load_reference (ld, object, "route", ld->routes, NULL, &valid);
    plugin->consumer = load_reference (ld, object, "consumer", ld->usernames, ld->custom_ids,
                                       &valid);
    if (plugin->service && plugin->route && plugin->route->service != plugin->service) {
      portico_json_reader_error (ld->r, "route", "route \"%s\" is not a route of service \"%s\"",
                                 plugin->route->name, plugin->service->name);
      valid = FALSE;
    }
  }

  /* Two instances of one plugin on the same scope: which one should run? */
  if (name && valid) {
    g_autofree char *scope_key = g_strdup_printf ("plugin\n%s\n%p\n%p\n%p", name, plugin->service,
                                                  plugin->route, plugin->consumer);
    const char *first_at = portico_json_reader_claim (ld->r, scope_key, "");

    if (first_at)
      portico_json_reader_error (ld->r, NULL, "duplicate plugin \"%s\" on the same scope as %s",
                                 name, first_at);
  }
}

/* ---- services and routes ------------------------------------------------------------ */

static void
route_header_free (gpointer data)
{
  PorticoRouteHeader *header = data;

  g_free (header->name);
  g_strfreev (header->values);
  g_free (header);
}

static void
route_free (gpointer data)
{
  PorticoRoute *route = data;

  g_free (route->name);
  g_strfreev (route->paths);
  g_strfreev (route->hosts);
  g_strfreev (route->methods);
  g_ptr_array_unref (route->headers);
  g_free (route);
}

static void
service_free (gpointer data)
{
  PorticoService *service = data;

  g_free (service->name);
  g_free (service->protocol);
  g_free (service->host);
  g_free (service->path);
  g_free (service->ca_certificates_pem);
  portico_address_clear (&service->address);
  g_ptr_array_unref (service->routes);
  g_free (service);
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

static void
load_route (PorticoConfigLoader *ld, JsonNode *node, gpointer data)
{
  static const char *const keys[] = { "name", "paths", "hosts", "methods", "headers", "strip_path",
                                      "preserve_host", "regex_priority", "protocols",
                                      "https_redirect_status_code", "plugins", "tags", NULL };
  PorticoService *service = data;
  PluginScope scope = { 0 };
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

  route->name = load_name (ld, object, "route", ld->routes, route, FALSE);
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
  skip_tags (ld, object);

  scope.route = route;
  portico_config_each_element (ld, object, "plugins", load_plugin, &scope);
}

/* Fills protocol, host, port and path from "url". */
static gboolean
load_service_url (PorticoConfigLoader *ld, const char *url, PorticoService *service)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
  const char *scheme = uri ? g_uri_get_scheme (uri) : NULL;
  const char *problem = NULL;
  gboolean https = scheme && g_ascii_strcasecmp (scheme, "https") == 0;

  if (!uri || !g_uri_get_host (uri) || !*g_uri_get_host (uri))
    problem = "must be a URL such as \"http://host:port/path\"";
  else if (!https && g_ascii_strcasecmp (scheme, "http") != 0)
    problem = "must start with \"http://\" or \"https://\"";
  else if (g_uri_get_userinfo (uri) || g_uri_get_query (uri) || g_uri_get_fragment (uri))
    problem = "must not have a user, a query or a fragment";
  else if (g_uri_get_port (uri) == 0)
    problem = "must not have port 0";
  if (problem) {
    portico_json_reader_error (ld->r, "url", "%s", problem);
    return FALSE;
  }
  service->protocol = g_strdup (https ? "https" : "http");
  service->host = g_strdup (g_uri_get_host (uri));
  service->port = g_uri_get_port (uri) > 0 ? (guint16) g_uri_get_port (uri) : https ? 443 : 80;
  if (*g_uri_get_path (uri))
    service->path = g_strdup (g_uri_get_path (uri));
  return TRUE;
}

/* Fills protocol, host, port and path from the keys of those names. */
static gboolean
load_service_parts (PorticoConfigLoader *ld, JsonObject *object, PorticoService *service)
{
  const char *protocol = "http", *host, *path;
  gboolean valid = TRUE;
  guint port = 80;

  portico_json_reader_get_string (ld->r, object, "protocol", &protocol);
  if (g_str_equal (protocol, "https")) {
    port = 443;
  } else if (!g_str_equal (protocol, "http")) {
    portico_json_reader_error (ld->r, "protocol", "must be \"http\" or \"https\"");
    valid = FALSE;
  }
  service->protocol = g_strdup (protocol);
  if (portico_json_member (object, "host")) {
    if ((host = portico_json_reader_require_string (ld->r, object, "host")))
      service->host = g_strdup (host);
    else
      valid = FALSE;
  } else {
    portico_json_reader_error (ld->r, NULL, "must have a url or a host");
    valid = FALSE;
  }
  portico_json_reader_get_uint (ld->r, object, "port", 1, 65535, &port);
  service->port = (guint16) port;
  if (portico_json_reader_get_string (ld->r, object, "path", &path) == PORTICO_JSON_FIELD_OK) {
    if (path[0] == '/')
      service->path = g_strdup (path);
    else
      portico_json_reader_error (ld->r, "path", "must start with \"/\"");
  }
  return valid;
}

/* The service's host is an upstream of this config, or something to
 * resolve now: a worker must never wait for DNS. */
static void
load_service_target (PorticoConfigLoader *ld, JsonObject *object, PorticoService *service)
{
  static const char *const parts[] = { "protocol", "host", "port", "path", NULL };
  g_autoptr(GError) error = NULL;
  const char *url, *key = "url";

  switch (portico_json_reader_get_string (ld->r, object, "url", &url)) {
  case PORTICO_JSON_FIELD_INVALID:
    return;
  case PORTICO_JSON_FIELD_OK:
    for (guint i = 0; parts[i]; i++) {
      if (portico_json_member (object, parts[i]))
        portico_json_reader_error (ld->r, parts[i], "cannot be used together with url");
    }
    if (!load_service_url (ld, url, service))
      return;
    break;
  case PORTICO_JSON_FIELD_ABSENT:
    key = "host";
    if (!load_service_parts (ld, object, service))
      return;
    break;
  }
  if ((service->upstream = g_hash_table_lookup (ld->upstreams, service->host)))
    return;
  if (!portico_address_resolve (service->host, service->port, &service->address, &error))
    portico_json_reader_error (ld->r, key, "%s", error->message);
}

static void
load_service (PorticoConfigLoader *ld, JsonNode *node, gpointer data)
{
  static const char *const keys[] = { "name", "url", "protocol", "host", "port", "path",
                                      "connect_timeout", "write_timeout", "read_timeout",
                                      "retries", "routes", "plugins", "tags",
                                      /* read by config-tls.c */
                                      "tls_verify", "ca_certificates", "client_certificate", NULL };
  PluginScope scope = { 0 };
  PorticoService *service;
  JsonObject *object;

  if (!(object = portico_json_reader_as_object (ld->r, node, keys)))
    return;
  service = g_new0 (PorticoService, 1);
  service->routes = g_ptr_array_new ();
  service->connect_timeout = service->write_timeout = service->read_timeout = 60000;
  service->retries = 5;
  g_ptr_array_add (ld->config->services, service);

  service->name = load_name (ld, object, "service", ld->services, service, TRUE);
  load_service_target (ld, object, service);
  portico_json_reader_get_uint (ld->r, object, "connect_timeout", 1, PORTICO_CONFIG_MAX_MS,
                                &service->connect_timeout);
  portico_json_reader_get_uint (ld->r, object, "write_timeout", 1, PORTICO_CONFIG_MAX_MS,
                                &service->write_timeout);
  portico_json_reader_get_uint (ld->r, object, "read_timeout", 1, PORTICO_CONFIG_MAX_MS,
                                &service->read_timeout);
  portico_json_reader_get_uint (ld->r, object, "retries", 0, 32767, &service->retries);
  skip_tags (ld, object);
  portico_config_each_element (ld, object, "routes", load_route, service);
  scope.service = service;
  portico_config_each_element (ld, object, "plugins", load_plugin, &scope);
}

/* ---- consumers ------------------------------------------------------------------ */

/* Credentials are read by the auth plugins from the consumer's JSON; here
 * only their shape is checked, and that two consumers never share one. */
typedef struct {
  const char *key;             /* "keyauth_credentials" */
  const char *const fields[6]; /* the allowed fields, "tags" last */
  const char *const required[3]; /* the fields every entry needs */
  const char *unique;          /* a field no two entries may share, or NULL */
  gboolean secret;             /* the unique field must not be printed */
} CredentialKind;

static const CredentialKind credential_kinds[] = {
  { "keyauth_credentials", { "key", "tags" }, { "key" }, "key", TRUE },
  { "basicauth_credentials", { "username", "password", "tags" }, { "username", "password" },
    "username", FALSE },
  { "jwt_secrets", { "key", "secret", "algorithm", "rsa_public_key", "tags" }, { "key" }, "key",
    FALSE },
  { "acls", { "group", "tags" }, { "group" }, NULL, FALSE },
};

static const char *const jwt_algorithms[] = {
  "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512",
  "PS256", "PS384", "PS512", "EdDSA", NULL,
};

static const char *
credential_field (const CredentialKind *kind, const char *const *values, const char *field)
{
  for (guint i = 0; kind->fields[i]; i++) {
    if (g_str_equal (kind->fields[i], field))
      return values[i];
  }
  return NULL;
}

/* The algorithm decides which of secret and rsa_public_key is needed. */
static void
check_jwt_algorithm (PorticoConfigLoader *ld, const CredentialKind *kind, const char *const *values)
{
  const char *algorithm = credential_field (kind, values, "algorithm");
  const char *needs;

  algorithm = algorithm ? algorithm : "HS256";
  if (!g_strv_contains (jwt_algorithms, algorithm)) {
    g_autofree char *list = g_strjoinv (", ", (GStrv) jwt_algorithms);

    portico_json_reader_error (ld->r, "algorithm", "must be one of: %s", list);
    return;
  }
  needs = algorithm[0] == 'H' ? "secret" : "rsa_public_key";
  if (!credential_field (kind, values, needs))
    portico_json_reader_error (ld->r, needs, "is required with algorithm %s", algorithm);
}

static void
load_credential (PorticoConfigLoader *ld, JsonNode *node, gpointer data)
{
  const CredentialKind *kind = data;
  const char *values[G_N_ELEMENTS (kind->fields)] = { NULL };
  const char *unique, *first_at;
  JsonObject *object;
  gboolean valid = TRUE;

  if (!(object = portico_json_reader_as_object (ld->r, node, kind->fields)))
    return;
  skip_tags (ld, object);
  for (guint i = 0; kind->fields[i]; i++) {
    const char *field = kind->fields[i];

    if (g_str_equal (field, "tags"))
      continue;
    if (g_strv_contains (kind->required, field))
      valid &= (values[i] = portico_json_reader_require_string (ld->r, object, field)) != NULL;
    else
      valid &= portico_json_reader_get_string (ld->r, object, field, &values[i]) !=
               PORTICO_JSON_FIELD_INVALID;
  }
  if (kind->unique && (unique = credential_field (kind, values, kind->unique))) {
    portico_json_reader_push_key (ld->r, kind->unique);
    if ((first_at = portico_json_reader_claim (ld->r, kind->key, unique)) && kind->secret)
      portico_json_reader_error (ld->r, NULL, "duplicate %s (also used at %s)", kind->unique,
                                 first_at);
    else if (first_at)
      portico_json_reader_error (ld->r, NULL, "duplicate %s \"%s\" (also used at %s)",
                                 kind->unique, unique, first_at);
    portico_json_reader_pop (ld->r);
  }
  if (valid && g_str_equal (kind->key, "jwt_secrets"))
    check_jwt_algorithm (ld, kind, values);
}

static void
consumer_free (gpointer data)
{
  PorticoConsumer *consumer = data;

  g_free (consumer->username);
  g_free (consumer->custom_id);
  g_clear_pointer (&consumer->node, json_node_unref);
  g_free (consumer);
}

/* Reads "username" or "custom_id" and registers it; FALSE if it was wrong. */
static gboolean
load_consumer_id (PorticoConfigLoader *ld, JsonObject *object, const char *key, GHashTable *ids,
                  PorticoConsumer *consumer, char **out)
{
  const char *id;

  switch (portico_json_reader_get_nonempty_string (ld->r, object, key, &id)) {
  case PORTICO_JSON_FIELD_ABSENT:
    return TRUE;
  case PORTICO_JSON_FIELD_INVALID:
    return FALSE;
  case PORTICO_JSON_FIELD_OK:
    break;
  }
  *out = g_strdup (id);
  if (g_hash_table_contains (ids, id))
    portico_json_reader_error (ld->r, key, "duplicate consumer %s \"%s\"", key, id);
  else
    g_hash_table_insert (ids, *out, consumer);
  return TRUE;
}

static void
load_consumer (PorticoConfigLoader *ld, JsonNode *node, gpointer data)
{
  static const char *const keys[] = { "username", "custom_id", "tags", "keyauth_credentials",
                                      "basicauth_credentials", "jwt_secrets", "acls", NULL };
  PorticoConsumer *consumer;
  JsonObject *object;
  gboolean valid = TRUE;

  if (!(object = portico_json_reader_as_object (ld->r, node, keys)))
    return;
  consumer = g_new0 (PorticoConsumer, 1);
  consumer->node = json_node_ref (node);
  g_ptr_array_add (ld->config->consumers, consumer);

  valid &= load_consumer_id (ld, object, "username", ld->usernames, consumer,
                             &consumer->username);
  valid &= load_consumer_id (ld, object, "custom_id", ld->custom_ids, consumer,
                             &consumer->custom_id);
  if (valid && !consumer->username && !consumer->custom_id)
    portico_json_reader_error (ld->r, NULL, "must have a username or a custom_id");
  skip_tags (ld, object);
  for (guint i = 0; i < G_N_ELEMENTS (credential_kinds); i++)
    portico_config_each_element (ld, object, credential_kinds[i].key, load_credential,
                                 (gpointer) &credential_kinds[i]);
}

/* ---- the entities ------------------------------------------------------------------ */

void
portico_config_entities_init (PorticoConfig *config)
{
  config->services = g_ptr_array_new_with_free_func (service_free);
  config->routes = g_ptr_array_new_with_free_func (route_free);
  config->upstreams = g_ptr_array_new_with_free_func (upstream_free);
  config->consumers = g_ptr_array_new_with_free_func (consumer_free);
  config->plugins = g_ptr_array_new_with_free_func (plugin_free);
}

void
portico_config_load_entities (PorticoConfigLoader *ld, JsonObject *root)
{
  /* Services refer to upstreams and plugins to everything: load the
   * referred-to first, whatever the order in the file. */
  portico_config_each_element (ld, root, "upstreams", load_upstream, NULL);
  portico_config_each_element (ld, root, "services", load_service, NULL);
  portico_config_each_element (ld, root, "consumers", load_consumer, NULL);
  portico_config_each_element (ld, root, "plugins", load_plugin, NULL);
}
