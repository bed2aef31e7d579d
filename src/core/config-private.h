/* config-private.h: what the files of the config loader share: config.c
 * (the document, the "node" section), config-entities.c, config-routes.c,
 * config-upstreams.c, config-health.c and config-tls.c. */
#pragma once

#include "core/config.h"
#include "core/json-reader.h"

G_BEGIN_DECLS

/* The largest millisecond value a config may hold. */
#define PORTICO_CONFIG_MAX_MS ((gint64) G_MAXINT32)

typedef struct {
  PorticoJsonReader *r;      /* where the walk is, and every error found */
  PorticoConfig *config;
  GHashTable *services;      /* name -> PorticoService * (keys owned by the entities) */
  GHashTable *routes;        /* name -> PorticoRoute * */
  GHashTable *upstreams;     /* name -> PorticoUpstream * */
  GHashTable *usernames;     /* username -> PorticoConsumer * */
  GHashTable *custom_ids;    /* custom_id -> PorticoConsumer * */
  GHashTable *certificates;  /* id -> PorticoCertificate * */
  /* The node's ssl_* keys, read before its listeners take them. */
  guint ssl_handshake_timeout;
  gboolean ssl_session_tickets;
} PorticoConfigLoader;

/* Loads one element of an array; the reader's path is the element's. */
typedef void (*PorticoConfigElementFunc) (PorticoConfigLoader *ld, JsonNode *node, gpointer data);

/* config.c */

/* Calls @func on each element of the array @key of @object. */
void portico_config_each_element (PorticoConfigLoader *ld, JsonObject *object, const char *key,
                                  PorticoConfigElementFunc func, gpointer data);

/* Parses an address into @out; reports at "path.key", or at the path itself
 * when @key is NULL. */
gboolean portico_config_load_address (PorticoConfigLoader *ld, const char *key, const char *text,
                                      guint16 default_port, PorticoAddress *out);

/* config-health.c: an upstream's "healthchecks" (defaults when absent). */
void portico_config_load_healthchecks (PorticoConfigLoader *ld, JsonObject *upstream, PorticoHealthchecks *hc);
void portico_config_clear_healthchecks (PorticoHealthchecks *hc);

/* config-entities.c */

/* Gives @config its empty entity arrays. */
void portico_config_entities_init (PorticoConfig *config);

/* Loads "upstreams", "services", "consumers" and "plugins" of @root. */
void portico_config_load_entities (PorticoConfigLoader *ld, JsonObject *root);

/* "tags" are free-form labels for people: checked, then dropped. */
void portico_config_skip_tags (PorticoConfigLoader *ld, JsonObject *object);

/* Reads an entity's "name", registered in @names unless taken; a copy even then. */
char *portico_config_load_name (PorticoConfigLoader *ld, JsonObject *object, const char *kind,
                                GHashTable *names, gpointer entity, gboolean required);

/* Loads the "plugins" nested in a service or route (@object), scoped to it. */
void portico_config_load_plugins (PorticoConfigLoader *ld, JsonObject *object, PorticoService *service,
                                  PorticoRoute *route);

/* config-routes.c */

/* Frees a route of config->routes. */
void portico_config_route_free (gpointer data);

/* Loads one of the "routes" of the service @data. */
void portico_config_load_route (PorticoConfigLoader *ld, JsonNode *node, gpointer data);

/* config-upstreams.c */

/* Frees an upstream of config->upstreams, and its targets. */
void portico_config_upstream_free (gpointer data);

/* Loads one of the "upstreams", with its targets and healthchecks. */
void portico_config_load_upstream (PorticoConfigLoader *ld, JsonNode *node, gpointer data);

/* config-tls.c */

/* Gives @config its empty certificate array. */
void portico_config_tls_init (PorticoConfig *config);

/* Loads "certificates" and "snis" of @root: before "node" and the
 * services, which refer to certificates. */
void portico_config_load_certificates (PorticoConfigLoader *ld, JsonObject *root);

/* Reads the ssl_* keys of "node" (@object, NULL when there is none) into
 * the loader, before the listeners are read. */
void portico_config_load_node_tls (PorticoConfigLoader *ld, JsonObject *object);

/* Checks an "ssl": true listener (the reader's path is the listener's). */
void portico_config_check_ssl_listen (PorticoConfigLoader *ld, PorticoListen *listen);

/* Reads the TLS keys of every service ("tls_verify", "ca_certificates",
 * "client_certificate"), once the services are loaded. */
void portico_config_load_services_tls (PorticoConfigLoader *ld, JsonObject *root);

G_END_DECLS
