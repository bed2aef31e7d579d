/* core/config-entities.c: the schema of a configuration's entities (Kong's):
 * services, consumers and their credentials, and plugins on any entity;
 * config-routes.c reads a service's routes, config-upstreams.c the
 * upstreams and their targets. config.c walks the document and reads its
 * "node" section; how the loader reports errors and builds entities is said
 * at the top of config.c.
 */
#include "core/config-private.h"

#include <string.h>

/* ---- names ------------------------------------------------------------------ */

void
portico_config_skip_tags (PorticoConfigLoader *ld, JsonObject *object)
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

char *
portico_config_load_name (PorticoConfigLoader *ld, JsonObject *object, const char *kind,
                          GHashTable *names, gpointer entity, gboolean required)
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
  portico_config_skip_tags (ld, object);

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

void
portico_config_load_plugins (PorticoConfigLoader *ld, JsonObject *object, PorticoService *service,
                             PorticoRoute *route)
{
  PluginScope scope = { service, route };

  portico_config_each_element (ld, object, "plugins", load_plugin, &scope);
}

/* ---- services ------------------------------------------------------------------ */

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
  PorticoService *service;
  JsonObject *object;

  if (!(object = portico_json_reader_as_object (ld->r, node, keys)))
    return;
  service = g_new0 (PorticoService, 1);
  service->routes = g_ptr_array_new ();
  service->connect_timeout = service->write_timeout = service->read_timeout = 60000;
  service->retries = 5;
  g_ptr_array_add (ld->config->services, service);

  service->name = portico_config_load_name (ld, object, "service", ld->services, service, TRUE);
  load_service_target (ld, object, service);
  portico_json_reader_get_uint (ld->r, object, "connect_timeout", 1, PORTICO_CONFIG_MAX_MS,
                                &service->connect_timeout);
  portico_json_reader_get_uint (ld->r, object, "write_timeout", 1, PORTICO_CONFIG_MAX_MS,
                                &service->write_timeout);
  portico_json_reader_get_uint (ld->r, object, "read_timeout", 1, PORTICO_CONFIG_MAX_MS,
                                &service->read_timeout);
  portico_json_reader_get_uint (ld->r, object, "retries", 0, 32767, &service->retries);
  portico_config_skip_tags (ld, object);
  portico_config_each_element (ld, object, "routes", portico_config_load_route, service);
  portico_config_load_plugins (ld, object, service, NULL);
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
  portico_config_skip_tags (ld, object);
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
  portico_config_skip_tags (ld, object);
  for (guint i = 0; i < G_N_ELEMENTS (credential_kinds); i++)
    portico_config_each_element (ld, object, credential_kinds[i].key, load_credential,
                                 (gpointer) &credential_kinds[i]);
}

/* ---- the entities ------------------------------------------------------------------ */

void
portico_config_entities_init (PorticoConfig *config)
{
  config->services = g_ptr_array_new_with_free_func (service_free);
  config->routes = g_ptr_array_new_with_free_func (portico_config_route_free);
  config->upstreams = g_ptr_array_new_with_free_func (portico_config_upstream_free);
  config->consumers = g_ptr_array_new_with_free_func (consumer_free);
  config->plugins = g_ptr_array_new_with_free_func (plugin_free);
}

void
portico_config_load_entities (PorticoConfigLoader *ld, JsonObject *root)
{
  /* Services refer to upstreams and plugins to everything: load the
   * referred-to first, whatever the order in the file. */
  portico_config_each_element (ld, root, "upstreams", portico_config_load_upstream, NULL);
  portico_config_each_element (ld, root, "services", load_service, NULL);
  portico_config_each_element (ld, root, "consumers", load_consumer, NULL);
  portico_config_each_element (ld, root, "plugins", load_plugin, NULL);
}
