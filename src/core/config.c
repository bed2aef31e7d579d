/* core/config.c: loads and validates the declarative configuration.
 *
 * The loader walks the document once, building the PorticoConfig as it goes
 * and recording every problem with the JSON path where it was found; it
 * never stops at the first one, so a single `portico check` lists them all.
 * Entities are built even when some of their fields are wrong (the whole
 * config is dropped at the end if anything was), and registered by name as
 * soon as their name is valid, so that one mistake does not turn every
 * reference to the entity into a second, misleading error. The typed reads,
 * the paths and the error list are core/json-reader's; this file is the
 * schema of the document and of its "node" section, config-entities.c that
 * of the services, consumers and plugins, config-routes.c of the routes,
 * config-upstreams.c of the upstreams and their targets, config-health.c of
 * their health checks, config-tls.c of certificates and every TLS key.
 */
#include "core/config-private.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

G_DEFINE_QUARK (portico-config-error-quark, portico_config_error)

/* ---- walking ------------------------------------------------------------------ */

/* The reader calls back with its own context; the loader's functions need
 * theirs too, plus the parent entity. */
typedef struct {
  PorticoConfigLoader *ld;
  PorticoConfigElementFunc func;
  gpointer data;
} Element;

static void
element_call (PorticoJsonReader *r, JsonNode *node, gpointer user_data)
{
  Element *element = user_data;

  element->func (element->ld, node, element->data);
}

void
portico_config_each_element (PorticoConfigLoader *ld, JsonObject *object, const char *key,
                             PorticoConfigElementFunc func, gpointer data)
{
  Element element = { ld, func, data };

  portico_json_reader_foreach (ld->r, object, key, element_call, &element);
}

/* ---- addresses --------------------------------------------------------------- */

gboolean
portico_config_load_address (PorticoConfigLoader *ld, const char *key, const char *text,
                             guint16 default_port, PorticoAddress *out)
{
  g_autoptr(GError) error = NULL;

  if (portico_address_parse (text, default_port, out, &error))
    return TRUE;
  portico_json_reader_error (ld->r, key, "%s", error->message);
  return FALSE;
}

/* Port 0 asks the kernel for a free port, so it never clashes. */
static gboolean
same_address (const PorticoAddress *a, const PorticoAddress *b)
{
  return a->port != 0 && a->addr_len == b->addr_len &&
         memcmp (&a->addr, &b->addr, a->addr_len) == 0;
}

/* ---- node --------------------------------------------------------------------- */

static const char *const node_keys[] = {
  "listen", "admin_listen", "workers", "module_path", "event_backend",
  "client_header_timeout", "client_body_timeout", "send_timeout", "keepalive_timeout",
  "keepalive_requests", "max_request_line", "max_header_size", "upstream_keepalive_pool_size",
  "upstream_keepalive_max_requests", "upstream_keepalive_idle_timeout", "drain_timeout",
  "admin_token", "reuseport", "trace_token", "trace_sample", "ssl_default_certificate",
  "ssl_handshake_timeout", "ssl_session_tickets", NULL,
};

static const struct {
  const char *key;
  gsize offset;
  guint min, max, fallback;
} node_numbers[] = {
#define NODE_NUMBER(field, min, max, fallback) \
  { #field, G_STRUCT_OFFSET (PorticoNodeConfig, field), min, max, fallback }
  NODE_NUMBER (workers, 0, 256, 0),
  NODE_NUMBER (client_header_timeout, 1, PORTICO_CONFIG_MAX_MS, 60000),
  NODE_NUMBER (client_body_timeout, 1, PORTICO_CONFIG_MAX_MS, 60000),
  NODE_NUMBER (send_timeout, 1, PORTICO_CONFIG_MAX_MS, 60000),
  NODE_NUMBER (keepalive_timeout, 0, PORTICO_CONFIG_MAX_MS, 75000),
  NODE_NUMBER (keepalive_requests, 1, PORTICO_CONFIG_MAX_MS, 1000),
  NODE_NUMBER (max_request_line, 256, 1048576, 8192),
  NODE_NUMBER (max_header_size, 1024, 1048576, 32768),
  NODE_NUMBER (upstream_keepalive_pool_size, 0, PORTICO_CONFIG_MAX_MS, 512),
  NODE_NUMBER (upstream_keepalive_max_requests, 1, PORTICO_CONFIG_MAX_MS, 1000),
  NODE_NUMBER (upstream_keepalive_idle_timeout, 1, PORTICO_CONFIG_MAX_MS, 60000),
  NODE_NUMBER (drain_timeout, 0, PORTICO_CONFIG_MAX_MS, 10000),
  NODE_NUMBER (trace_sample, 0, 1000000000, 0),
#undef NODE_NUMBER
};

static void
listen_free (gpointer data)
{
  PorticoListen *listen = data;

  portico_address_clear (&listen->address);
  g_free (listen);
}

/* Reports at "path.key", or at the path itself when @key is NULL. */
static void
add_listener (PorticoConfigLoader *ld, const char *key, const char *text, PorticoListen *listen)
{
  PorticoNodeConfig *nc = &ld->config->node;

  if (!portico_config_load_address (ld, key, text, 0, &listen->address))
    return;
  for (guint i = 0; i < nc->listen->len; i++) {
    PorticoListen *other = g_ptr_array_index (nc->listen, i);

    if (same_address (&listen->address, &other->address)) {
      portico_json_reader_error (ld->r, key, "\"%s\" is already listened on", text);
      portico_address_clear (&listen->address);
      return;
    }
  }
  g_ptr_array_add (nc->listen, g_memdup2 (listen, sizeof *listen));
}

static void
load_listen (PorticoConfigLoader *ld, JsonNode *node, gpointer data)
{
  static const char *const keys[] = { "address", "ssl", "reuseport", NULL };
  PorticoListen listen = { .reuseport = ld->config->node.reuseport };
  JsonObject *object;
  const char *text;

  if ((text = portico_json_string (node))) {
    add_listener (ld, NULL, text, &listen);
    return;
  }
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    portico_json_reader_error (ld->r, NULL, "must be a string (\"host:port\") or an object");
    return;
  }
  object = json_node_get_object (node);
  portico_json_reader_check_keys (ld->r, object, keys);
  portico_json_reader_get_bool (ld->r, object, "ssl", &listen.ssl);
  if (listen.ssl)
    portico_config_check_ssl_listen (ld, &listen);
  portico_json_reader_get_bool (ld->r, object, "reuseport", &listen.reuseport);
  if ((text = portico_json_reader_require_string (ld->r, object, "address")))
    add_listener (ld, "address", text, &listen);
}

static gboolean
address_is_loopback (const PorticoAddress *a)
{
  if (a->addr.ss_family == AF_INET)
    return (ntohl (((const struct sockaddr_in *) &a->addr)->sin_addr.s_addr) >> 24) == 127;
  if (a->addr.ss_family == AF_INET6)
    {
      const struct in6_addr *in6 = &((const struct sockaddr_in6 *) &a->addr)->sin6_addr;
      if (IN6_IS_ADDR_V4MAPPED (in6))
        return in6->s6_addr[12] == 127;
      return IN6_IS_ADDR_LOOPBACK (in6);
    }
  return FALSE;
}

/* @object is "node", or NULL when there is none. */
static void
load_admin_listen (PorticoConfigLoader *ld, JsonObject *object, PorticoNodeConfig *nc)
{
  PorticoAddress address;
  const char *text = "127.0.0.1:8001";

  if (portico_json_reader_get_string (ld->r, object, "admin_listen", &text) ==
      PORTICO_JSON_FIELD_INVALID)
    return;
  if (g_str_equal (text, "off"))
    return;
  if (!portico_config_load_address (ld, "admin_listen", text, 0, &address))
    return;
  for (guint i = 0; i < nc->listen->len; i++) {
    PorticoListen *listen = g_ptr_array_index (nc->listen, i);

    if (same_address (&address, &listen->address))
      portico_json_reader_error (ld->r, "admin_listen", "\"%s\" is also a proxy listener", text);
  }
  /* The admin API reconfigures the node: off the loopback it needs a token. */
  if (nc->admin_token == NULL && !address_is_loopback (&address))
    portico_json_reader_error (ld->r, "admin_listen",
                               "\"%s\" is not a loopback address: set node.admin_token to expose the admin API",
                               text);
  portico_address_clear (&address);
  nc->admin_listen = g_strdup (text);
}

/* Reads "node" with every default, also when it is left out. */
static void
load_node (PorticoConfigLoader *ld, JsonObject *root)
{
  PorticoNodeConfig *nc = &ld->config->node;
  const char *backend = "epoll", *token = NULL;
  JsonObject *object = NULL; /* stays NULL, and reads as empty, without a valid "node" */
  JsonNode *listen;

  portico_json_reader_get_object (ld->r, root, "node", node_keys, &object);
  portico_json_reader_push_key (ld->r, "node");
  for (guint i = 0; i < G_N_ELEMENTS (node_numbers); i++) {
    guint *value = &G_STRUCT_MEMBER (guint, nc, node_numbers[i].offset);

    *value = node_numbers[i].fallback;
    portico_json_reader_get_uint (ld->r, object, node_numbers[i].key, node_numbers[i].min,
                                  node_numbers[i].max, value);
  }
  portico_json_reader_get_bool (ld->r, object, "reuseport", &nc->reuseport);
  portico_json_reader_get_strings (ld->r, object, "module_path", portico_json_reader_check_nonempty,
                                   NULL, &nc->module_path);
  if (!nc->module_path)
    nc->module_path = g_new0 (char *, 1);
  portico_json_reader_get_string (ld->r, object, "event_backend", &backend);
  if (g_str_equal (backend, "poll"))
    nc->event_backend = PORTICO_EVENT_BACKEND_POLL;
  else if (!g_str_equal (backend, "epoll"))
    portico_json_reader_error (ld->r, "event_backend", "must be \"epoll\" or \"poll\"");
  portico_json_reader_get_nonempty_string (ld->r, object, "admin_token", &token);
  nc->admin_token = g_strdup (token);
  token = NULL;
  portico_json_reader_get_nonempty_string (ld->r, object, "trace_token", &token);
  for (const char *c = token; c != NULL && *c; c++)
    if (*c < 0x21 || *c > 0x7e) {
      portico_json_reader_error (ld->r, "trace_token", "must be printable ASCII without spaces (it is a header value)");
      token = NULL;
      break;
    }
  nc->trace_token = g_strdup (token);
  portico_config_load_node_tls (ld, object);

  if ((listen = portico_json_member (object, "listen"))) {
    portico_config_each_element (ld, object, "listen", load_listen, NULL);
    if (JSON_NODE_HOLDS_ARRAY (listen) && json_array_get_length (json_node_get_array (listen)) == 0)
      portico_json_reader_error (ld->r, "listen", "must have at least one address");
  } else {
    PorticoListen fallback = { .reuseport = nc->reuseport };

    add_listener (ld, "listen", "127.0.0.1:8000", &fallback);
  }
  load_admin_listen (ld, object, nc);
  portico_json_reader_pop (ld->r);
}

/* ---- the document ------------------------------------------------------------------ */

static void
load_document (PorticoConfigLoader *ld, JsonNode *root)
{
  static const char *const keys[] = { "_format_version", "node", "services", "upstreams",
                                      "consumers", "plugins", "certificates", "snis", NULL };
  JsonObject *object;
  JsonNode *version;
  const char *text;

  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    portico_json_reader_error (ld->r, NULL, "must be a JSON object");
    return;
  }
  object = json_node_get_object (root);
  portico_json_reader_check_keys (ld->r, object, keys);
  if (!(version = portico_json_member (object, "_format_version")))
    portico_json_reader_error (ld->r, "_format_version", "is required (use \"1\")");
  else if (!(text = portico_json_string (version)) || !g_str_equal (text, "1"))
    portico_json_reader_error (ld->r, "_format_version", "must be \"1\"");

  /* The node's TLS listeners and the services refer to certificates. */
  portico_config_load_certificates (ld, object);
  load_node (ld, object);
  portico_config_load_entities (ld, object);
  portico_config_load_services_tls (ld, object);
}

void
portico_config_free (PorticoConfig *config)
{
  if (!config)
    return;
  g_free (config->source);
  g_ptr_array_unref (config->node.listen);
  g_free (config->node.admin_listen);
  g_strfreev (config->node.module_path);
  g_free (config->node.admin_token);
  g_free (config->node.trace_token);
  g_ptr_array_unref (config->plugins);
  g_ptr_array_unref (config->services);
  g_ptr_array_unref (config->routes);
  g_ptr_array_unref (config->upstreams);
  g_ptr_array_unref (config->consumers);
  g_ptr_array_unref (config->certificates);
  g_clear_pointer (&config->root, json_node_unref);
  g_free (config);
}

static PorticoConfig *
config_new (const char *source)
{
  PorticoConfig *config = g_new0 (PorticoConfig, 1);

  config->source = g_strdup (source);
  config->node.listen = g_ptr_array_new_with_free_func (listen_free);
  portico_config_entities_init (config);
  portico_config_tls_init (config);
  return config;
}

PorticoConfig *
portico_config_load_data (const char *data, gssize len, const char *source, GPtrArray *errors,
                          GError **error)
{
  g_autoptr(PorticoJsonReader) reader = NULL;
  g_autoptr(PorticoConfig) config = NULL;
  GPtrArray *found;
  PorticoConfigLoader ld = { 0 };
  JsonNode *root;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  source = source ? source : "<embedded>";
  reader = portico_json_reader_new ();
  if ((root = portico_json_reader_parse (reader, data, len))) {
    config = config_new (source);
    config->root = root;
    ld.r = reader;
    ld.config = config;
    ld.services = g_hash_table_new (g_str_hash, g_str_equal);
    ld.routes = g_hash_table_new (g_str_hash, g_str_equal);
    ld.upstreams = g_hash_table_new (g_str_hash, g_str_equal);
    ld.usernames = g_hash_table_new (g_str_hash, g_str_equal);
    ld.custom_ids = g_hash_table_new (g_str_hash, g_str_equal);
    ld.certificates = g_hash_table_new (g_str_hash, g_str_equal);
    load_document (&ld, root);
    g_hash_table_unref (ld.services);
    g_hash_table_unref (ld.routes);
    g_hash_table_unref (ld.upstreams);
    g_hash_table_unref (ld.usernames);
    g_hash_table_unref (ld.custom_ids);
    g_hash_table_unref (ld.certificates);
  }

  found = portico_json_reader_get_errors (reader);
  if (found->len > 0) {
    g_set_error (error, PORTICO_CONFIG_ERROR, PORTICO_CONFIG_ERROR_INVALID, "%s: %u error%s",
                 source, found->len, found->len == 1 ? "" : "s");
    for (guint i = 0; errors && i < found->len; i++)
      g_ptr_array_add (errors, g_strdup (g_ptr_array_index (found, i)));
    return NULL;
  }
  return g_steal_pointer (&config);
}

PorticoConfig *
portico_config_load_file (const char *path, GPtrArray *errors, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_get_contents (path, &data, &len, error))
    return NULL;
  return portico_config_load_data (data, (gssize) len, path, errors, error);
}
