/* config.h: the declarative gateway configuration (Kong-like JSON).
 *
 * Loading validates everything and reports every error it finds, each as
 * "JSON.path: what was expected", e.g.
 *   services[0].routes[0].paths[0]: must start with "/"
 * Unknown keys are errors. A loaded PorticoConfig is immutable: workers
 * read it, a reload builds a new one.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "core/address.h"

G_BEGIN_DECLS

typedef enum {
  PORTICO_EVENT_BACKEND_EPOLL = 0, /* one epoll fd for all sockets (default) */
  PORTICO_EVENT_BACKEND_POLL,      /* one GLib source per socket, for comparison */
} PorticoEventBackend;

typedef struct {
  PorticoAddress address;
  gboolean ssl;       /* TLS: a client handshakes before its first request */
  gboolean reuseport; /* accepted; used by the node layer */
  /* TLS listeners only, from the node's ssl_* keys (the same on each): */
  guint ssl_handshake_timeout;  /* ms, default 60000 */
  gboolean ssl_session_tickets; /* default TRUE */
  /* The PorticoTlsServer (net/tls.h) the master builds for this listener's
   * generation before it forks; NULL in a configuration just loaded. */
  gpointer tls;
} PorticoListen;

/* A certificate entity (Kong's "certificates"): a chain, its key and the
 * server names it is for. The PEM parsed and the key matched its
 * certificate at load. */
typedef struct {
  char *id;           /* "id" as written; NULL when it has none */
  char *cert_pem;     /* the certificate, then its chain */
  char *key_pem;
  GPtrArray *snis;    /* char*, lower-cased: "example.com", "*.example.com", "example.*"
                       * (its own "snis" and those of the top-level "snis") */
  gboolean is_default; /* served to a client whose SNI matches no other: the one
                        * node.ssl_default_certificate names, else the first */
  char *json_path;    /* "certificates[0]" */
} PorticoCertificate;

typedef struct {
  GPtrArray *listen;  /* PorticoListen*; "listen": ["127.0.0.1:8000", ...] */
  char *admin_listen; /* "127.0.0.1:8001", NULL when "off" */
  guint workers;      /* 0 = one per CPU */
  GStrv module_path;
  PorticoEventBackend event_backend;

  /* Client side, milliseconds (nginx names without the prefix). */
  guint client_header_timeout; /* default 60000 */
  guint client_body_timeout;   /* default 60000 */
  guint send_timeout;          /* default 60000 */
  guint keepalive_timeout;     /* default 75000 (nginx), 0 disables keep-alive */
  guint keepalive_requests;    /* default 1000 */
  guint max_request_line;      /* bytes, default 8192 (414 past it) */
  guint max_header_size;       /* bytes, default 32768 (431 past it) */

  /* Upstream keep-alive pool, per target (Kong's names). */
  guint upstream_keepalive_pool_size;    /* default 512, 0 disables the pool */
  guint upstream_keepalive_max_requests; /* default 1000 */
  guint upstream_keepalive_idle_timeout; /* ms, default 60000 */

  guint drain_timeout; /* ms, default 10000: used by the node layer */
  char *admin_token;   /* NULL when unset */
  gboolean reuseport;

  /* Traced requests (core/trace.h): a request carrying
   * "X-Portico-Trace: <trace_token>" is traced (NULL: none is), and one
   * request in trace_sample (0: none). */
  char *trace_token;
  guint trace_sample;
} PorticoNodeConfig;

typedef struct _PorticoUpstream PorticoUpstream;
typedef struct _PorticoService PorticoService;

typedef struct {
  char *target; /* "host:port" as written */
  PorticoAddress address;
  guint weight; /* 0..1000, default 100; 0 = disabled */
} PorticoTarget;

/* How an upstream picks a target (Kong's algorithm names). */
typedef enum {
  PORTICO_LB_ROUND_ROBIN = 0,   /* smooth weighted round-robin */
  PORTICO_LB_LEAST_CONNECTIONS, /* fewest tries in flight, relative to weight */
  PORTICO_LB_CONSISTENT_HASHING, /* a hash of the request picks, on a ring of slots */
  PORTICO_LB_LATENCY,           /* lowest EWMA of the time to the response head */
} PorticoLbAlgorithm;

/* What consistent hashing hashes. */
typedef enum {
  PORTICO_HASH_NONE = 0, /* nothing: round-robin */
  PORTICO_HASH_CONSUMER, /* the authenticated consumer's id (else the client address) */
  PORTICO_HASH_IP,       /* the client address */
  PORTICO_HASH_HEADER,   /* a request header's value */
  PORTICO_HASH_COOKIE,   /* a cookie's value; the gateway sets it when absent */
  PORTICO_HASH_PATH,     /* the normalized request path */
} PorticoHashOn;

/* What counts towards a target's health, one side (healthy or unhealthy)
 * of active probes or passive observation (Kong's healthchecks). A count
 * of 0 turns that counting off. */
typedef struct {
  guint interval_ms;    /* active only: probe this often in this state; 0 = not probed */
  GArray *http_statuses; /* guint: statuses that count for this side */
  guint successes;      /* healthy: this many in a row make it healthy */
  guint http_failures;  /* unhealthy: this many statuses of the list in a row */
  guint tcp_failures;   /* unhealthy: connect failures or resets */
  guint timeouts;       /* unhealthy: timeouts */
} PorticoHealthSide;

typedef enum {
  PORTICO_PROBE_HTTP = 0,
  PORTICO_PROBE_TCP,
  PORTICO_PROBE_HTTPS, /* a TLS handshake, then the http probe */
} PorticoProbeType;

typedef struct {
  PorticoProbeType active_type; /* "http", "https" or "tcp" */
  char *http_path;              /* active http(s) probes: default "/" */
  guint timeout_ms;             /* active probes, the handshake included: default 1000 */
  guint concurrency;            /* active probes at once: default 10 */
  /* https probes (Kong's keys): */
  gboolean https_verify_certificate; /* default TRUE: the target's chain and name are checked */
  char *https_sni;      /* the SNI, and the name checked; NULL: the target's host when it is a name */
  PorticoHealthSide active_healthy, active_unhealthy;
  PorticoHealthSide passive_healthy, passive_unhealthy;
} PorticoHealthchecks;

struct _PorticoUpstream {
  char *name;
  char *algorithm;    /* as written */
  PorticoLbAlgorithm lb;
  PorticoHashOn hash_on;        /* default NONE */
  PorticoHashOn hash_fallback;  /* when hash_on has no value for a request; default NONE */
  char *hash_on_header;         /* HEADER */
  char *hash_fallback_header;
  char *hash_on_cookie;         /* COOKIE */
  char *hash_on_cookie_path;    /* default "/" */
  guint slots;                  /* ring size, 10..65536, default 10000 */
  PorticoHealthchecks healthchecks;
  GPtrArray *targets; /* PorticoTarget* */
  /* The PorticoTlsClient (net/tls.h) of its https probes, built by the
   * master before it forks; NULL in a configuration just loaded, and
   * without https probes. */
  gpointer probe_tls_client;
};

typedef struct {
  char *name;
  GStrv values; /* lower-cased match values */
} PorticoRouteHeader;

/* The scheme a request came with, as a route's "protocols" name it. */
typedef enum {
  PORTICO_PROTOCOL_HTTP = 1 << 0,
  PORTICO_PROTOCOL_HTTPS = 1 << 1, /* over a TLS listener */
} PorticoProtocol;

typedef struct {
  char *name;        /* may be NULL */
  guint index;       /* declaration order over the whole config */
  GStrv paths;       /* "/prefix" or "~regex"; NULL when none */
  GStrv hosts;       /* lower-cased, "*.example.com" or "example.*"; NULL when none */
  GStrv methods;     /* upper-case; NULL when none */
  GPtrArray *headers; /* PorticoRouteHeader*; empty when none */
  gboolean strip_path;    /* default TRUE (Kong) */
  gboolean preserve_host; /* default FALSE */
  int regex_priority;     /* default 0 */
  guint protocols;        /* PorticoProtocol bits; default both (Kong's ["http", "https"]) */
  /* What an https-only route answers a plain http request: 426 (default),
   * or 301, 302, 307, 308 with a Location to the https URL (Kong). */
  int https_redirect_status_code;
  PorticoService *service;
} PorticoRoute;

struct _PorticoService {
  char *name;
  char *protocol; /* "http" or "https" */
  char *host;     /* a host name, an address, or the name of an upstream */
  guint16 port;   /* default 80 for http, 443 for https */
  char *path;     /* prefix added to the upstream path; NULL when none */
  guint connect_timeout; /* ms, default 60000 */
  guint write_timeout;   /* ms, default 60000 */
  guint read_timeout;    /* ms, default 60000 */
  guint retries;         /* default 5 */
  PorticoUpstream *upstream; /* when host names an upstream, else NULL */
  PorticoAddress address;    /* when upstream is NULL: host:port resolved at load */
  GPtrArray *routes;         /* PorticoRoute* */
  /* TLS (protocol "https"; Kong's key names) */
  gboolean tls_verify;       /* default TRUE: the upstream's chain and name are checked */
  char *ca_certificates_pem; /* "ca_certificates" (PEM files) read at load; NULL: the system bundle */
  const PorticoCertificate *client_certificate; /* NULL: none */
  /* The PorticoTlsClient (net/tls.h) the master builds for this service's
   * generation before it forks; NULL in a configuration just loaded. */
  gpointer tls_client;
};

typedef struct _PorticoConsumer {
  char *username;
  char *custom_id;
  JsonNode *node; /* the whole entry, for the plugin layer */
} PorticoConsumer;

/* A plugin instance as written; its config is checked against the module's
 * schema by the plugin layer. */
typedef struct {
  char *name;
  gboolean enabled;  /* default TRUE */
  JsonNode *config;  /* an object, never NULL */
  PorticoService *service; /* scope; NULL for any */
  PorticoRoute *route;
  PorticoConsumer *consumer;
  char *json_path;   /* "services[0].plugins[1]" for later errors */
} PorticoPluginConf;

typedef struct {
  char *source;      /* file name or "<embedded>" */
  PorticoNodeConfig node;
  GPtrArray *services;  /* PorticoService* */
  GPtrArray *routes;    /* PorticoRoute*, every route of every service, in order */
  GPtrArray *upstreams; /* PorticoUpstream* */
  GPtrArray *consumers; /* PorticoConsumer* */
  GPtrArray *plugins;   /* PorticoPluginConf*, every scope */
  GPtrArray *certificates; /* PorticoCertificate*, in order */
  JsonNode *root;       /* the document, kept for GET /config */
} PorticoConfig;

#define PORTICO_CONFIG_ERROR (portico_config_error_quark ())
GQuark portico_config_error_quark (void);

typedef enum {
  PORTICO_CONFIG_ERROR_INVALID, /* the document or an address is wrong */
} PorticoConfigError;

/* Parses and validates. On failure returns NULL; each error found is
 * appended to @errors (strings "path: message", or "line:col: message" for
 * JSON syntax; newly allocated: give @errors g_free as its free function)
 * and @error summarizes ("FILE: 3 errors"). @errors may be NULL. */
PorticoConfig *portico_config_load_file (const char *path, GPtrArray *errors, GError **error);
PorticoConfig *portico_config_load_data (const char *data, gssize len, const char *source,
                                         GPtrArray *errors, GError **error);
void portico_config_free (PorticoConfig *config);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoConfig, portico_config_free)

G_END_DECLS
