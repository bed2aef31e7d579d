/* portico.h: the module API (the plugin development kit).
 *
 * A module is a shared object (a GModule) that exports one constant
 * descriptor named `portico_module`:
 *
 *   static PorticoResult
 *   hello_access (PorticoRequest *r, gpointer conf)
 *   {
 *     portico_request_set_header (r, "X-Hello", "world");
 *     return PORTICO_CONTINUE;
 *   }
 *
 *   G_MODULE_EXPORT const PorticoModule portico_module = {
 *     .abi_version = PORTICO_MODULE_ABI_VERSION,
 *     .name = "hello",
 *     .version = "1.0.0",
 *     .priority = 1000,
 *     .access = hello_access,
 *   };
 *
 * The master opens every module a configuration names before it forks, so
 * each worker starts with the module already in memory. The loader refuses
 * a module whose abi_version differs from the one this header declares,
 * with an error naming the file.
 *
 * Build a module against this header with `pkg-config --cflags portico-module`;
 * the functions below are resolved from the `portico` binary when the
 * module is loaded, so a module links nothing of Portico's.
 *
 * Strings the API returns are NUL-terminated and stay valid until the end
 * of the request (or of the call, where said). Calls that make no sense in
 * the current phase (setting a request header in `log`) do nothing, return
 * FALSE, log a warning naming the module and the phase, and leave that
 * message in portico_request_last_error().
 */
#pragma once

#include <glib.h>
#include <gmodule.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Bumped whenever PorticoModule, a type it uses or a function's meaning
 * changes incompatibly. */
#define PORTICO_MODULE_ABI_VERSION 2

/* The phases of a request's life, in order (Kong's names). */
typedef enum {
  PORTICO_PHASE_INIT_WORKER = 0, /* once per worker, after the fork */
  PORTICO_PHASE_CERTIFICATE,     /* TLS handshake: pick or refuse a certificate */
  PORTICO_PHASE_REWRITE,         /* before routing; global plugins only */
  PORTICO_PHASE_ACCESS,          /* after routing: authentication, limits */
  PORTICO_PHASE_BALANCER,        /* before each connection attempt to a target */
  PORTICO_PHASE_HEADER_FILTER,   /* the response head (upstream's or the gateway's) */
  PORTICO_PHASE_BODY_FILTER,     /* each chunk of the response body */
  PORTICO_PHASE_LOG,             /* after the response is sent */
  PORTICO_N_PHASES,
} PorticoPhase;

/* What a handler tells the phase runner. */
typedef enum {
  /* Go on with the next handler. */
  PORTICO_CONTINUE = 0,
  /* The module answered with portico_response_exit(): the rest of rewrite,
   * access and balancer is skipped; header_filter, body_filter and log run
   * on the module's response. Allowed in rewrite, access, balancer and
   * header_filter (which then replaces the upstream's response). In
   * certificate it refuses the TLS handshake (no portico_response_exit()
   * there: there is no HTTP to answer in). */
  PORTICO_RESPOND,
  /* Come back later: the module arranged a resume with
   * portico_request_yield_for() or will call portico_request_resume()
   * (from a timer or an I/O callback). The worker serves other connections
   * meanwhile; then the same handler is called again (keep your progress in
   * the per-request context). Allowed in rewrite and access; in
   * certificate, a handshake cannot wait: taken as PORTICO_CONTINUE, with
   * a warning (once). */
  PORTICO_YIELD,
  /* Something went wrong: logged, and the client gets a 500 (or, once the
   * response has started, its connection is closed; in certificate, the
   * handshake fails). */
  PORTICO_ERROR,
} PorticoResult;

/* ---- configuration schema -------------------------------------------------- */

/* The type of a configuration field. */
typedef enum {
  PORTICO_FIELD_STRING = 1,
  PORTICO_FIELD_INTEGER,
  PORTICO_FIELD_NUMBER,
  PORTICO_FIELD_BOOLEAN,
  PORTICO_FIELD_STRING_ARRAY,
  PORTICO_FIELD_RECORD, /* an object whose fields are described by .fields */
} PorticoFieldType;

typedef struct _PorticoSchemaField PorticoSchemaField;

/* One field of a module's configuration schema. The loader checks every
 * plugin instance's "config" against it when the gateway configuration is
 * loaded (errors name the JSON path: plugins[0].config.minute: expected an
 * integer), refuses unknown keys, and fills in the defaults before the
 * configure hook sees the object. */
struct _PorticoSchemaField {
  const char *name;
  PorticoFieldType type;
  gboolean required;
  const char *default_json;   /* the default, as JSON text ("10", "\"x\"", "true", "[]"); NULL: none */
  const char *const *allowed; /* strings, string arrays: the values allowed, NULL-terminated; NULL: any */
  const char *description;
  gint64 min, max;            /* integers and numbers: bounds, checked when min < max */
  const PorticoSchemaField *fields; /* records: their fields, terminated by a NULL name */
};

/* ---- the gateway, as configure sees it -------------------------------------- */

typedef struct _PorticoGateway PorticoGateway;
typedef struct _PorticoConsumer PorticoConsumer;

/* The configuration's consumers (auth modules index their credentials). */
guint portico_gateway_n_consumers (const PorticoGateway *gw);
const PorticoConsumer *portico_gateway_consumer (const PorticoGateway *gw, guint index);
const PorticoConsumer *portico_gateway_find_consumer (const PorticoGateway *gw, const char *username_or_custom_id);

/* A consumer's username and custom_id (either may be NULL), its id (the
 * username, else the custom_id), and its whole JSON entry, where the
 * credentials are: "keyauth_credentials", "basicauth_credentials",
 * "jwt_secrets", "acls". */
const char *portico_consumer_get_username (const PorticoConsumer *consumer);
const char *portico_consumer_get_custom_id (const PorticoConsumer *consumer);
const char *portico_consumer_get_id (const PorticoConsumer *consumer);
JsonObject *portico_consumer_get_entry (const PorticoConsumer *consumer);

/* ---- the request ------------------------------------------------------------- */

typedef struct _PorticoRequest PorticoRequest;

PorticoPhase portico_request_get_phase (PorticoRequest *r);
/* The message of the last call that failed in this request ("" if none):
 * "portico_request_set_header: not allowed in the log phase (module x)". */
const char *portico_request_last_error (PorticoRequest *r);
/* A number unique within the worker, for logs. */
guint64 portico_request_get_id (PorticoRequest *r);

/* The request line. The path is the normalized path ("/a/../b" is "/b"),
 * before strip_path. */
const char *portico_request_get_method (PorticoRequest *r);
const char *portico_request_get_path (PorticoRequest *r);
/* The query string without "?", "" when none. */
const char *portico_request_get_raw_query (PorticoRequest *r);
/* The first value of query argument @name, percent-decoded; "" for a bare
 * "?name"; NULL when absent. */
const char *portico_request_get_query_arg (PorticoRequest *r, const char *name);
/* HTTP/1.0 or HTTP/1.1: 0 or 1 (-1 in certificate: no HTTP yet). */
int portico_request_get_http_minor (PorticoRequest *r);

/* Rewrite and access only. set_method changes the upstream request's
 * method. set_path in rewrite changes the path the router sees; in access
 * it sets the upstream path as given (strip_path and the service's path no
 * longer apply). set_raw_query replaces the query ("" removes it). */
gboolean portico_request_set_method (PorticoRequest *r, const char *method);
gboolean portico_request_set_path (PorticoRequest *r, const char *path);
gboolean portico_request_set_raw_query (PorticoRequest *r, const char *query);
/* Query arguments, percent-encoded for you. set replaces every @name
 * (or adds one); add appends one more; remove removes every @name. */
gboolean portico_request_set_query_arg (PorticoRequest *r, const char *name, const char *value);
gboolean portico_request_add_query_arg (PorticoRequest *r, const char *name, const char *value);
gboolean portico_request_remove_query_arg (PorticoRequest *r, const char *name);

/* Request headers, names case-insensitive. get returns the first value,
 * NULL when absent; header_at walks them all in order (FALSE past the end).
 * Framing fields (Content-Length, Transfer-Encoding, Connection) cannot be
 * set or removed. Host can: the upstream then gets that Host. */
const char *portico_request_get_header (PorticoRequest *r, const char *name);
gboolean portico_request_header_at (PorticoRequest *r, guint index, const char **name, const char **value);
/* Rewrite and access only. set replaces every field @name (or adds one);
 * add appends one more; remove removes every field @name. */
gboolean portico_request_set_header (PorticoRequest *r, const char *name, const char *value);
gboolean portico_request_add_header (PorticoRequest *r, const char *name, const char *value);
gboolean portico_request_remove_header (PorticoRequest *r, const char *name);

/* The request body's declared length: -1 when chunked, 0 when none (or
 * in certificate). */
gint64 portico_request_get_body_length (PorticoRequest *r);
/* Rewrite and access: the body may not exceed @bytes (0 removes the
 * limit; to refuse any body, check portico_request_get_body_length). Over it, the client
 * gets 413 (a declared Content-Length is refused before the upstream is
 * contacted; a chunked body when it crosses the limit, and the upstream
 * connection is closed). */
gboolean portico_request_set_max_body (PorticoRequest *r, guint64 bytes);

/* The client's address, as the gateway saw it. */
const char *portico_request_get_client_ip (PorticoRequest *r);
guint portico_request_get_client_port (PorticoRequest *r);
/* The gateway port the request arrived on. */
guint portico_request_get_port (PorticoRequest *r);

/* Where the request goes: NULL before routing (rewrite) and when no route
 * matched. Names may be NULL for unnamed routes. */
const char *portico_request_get_route_name (PorticoRequest *r);
const char *portico_request_get_service_name (PorticoRequest *r);
/* In balancer: the target about to be tried ("127.0.0.1:9001") and the
 * attempt (1 for the first). Later phases: the last one tried. */
const char *portico_request_get_target (PorticoRequest *r);
guint portico_request_get_try (PorticoRequest *r);

/* Authentication (access): who the request is from. Sets the consumer and
 * the credential's identifier (what rate-limiting's limit_by "credential"
 * uses; NULL for an anonymous consumer), and the upstream request's
 * X-Consumer-ID, X-Consumer-Username, X-Consumer-Custom-ID,
 * X-Credential-Identifier and X-Anonymous-Consumer headers, like Kong.
 * Plugins of lower priority then get the configuration scoped to that
 * consumer, when one exists. */
gboolean portico_request_authenticate (PorticoRequest *r, const PorticoConsumer *consumer,
                                       const char *credential, gboolean anonymous);
const PorticoConsumer *portico_request_get_consumer (PorticoRequest *r);
const char *portico_request_get_credential (PorticoRequest *r);
/* The gateway's consumers (what configure got as PorticoGateway). */
const PorticoGateway *portico_request_get_gateway (PorticoRequest *r);

/* A per-request context of the running module: each module sees its own.
 * @destroy runs at the end of the request (after log). */
gpointer portico_request_get_ctx (PorticoRequest *r);
void portico_request_set_ctx (PorticoRequest *r, gpointer data, GDestroyNotify destroy);
/* Memory freed at the end of the request. */
gpointer portico_request_alloc (PorticoRequest *r, gsize size);
char *portico_request_strdup (PorticoRequest *r, const char *s);

/* ---- the TLS handshake (the certificate phase) ---------------------------------- */

/* The certificate phase runs during a TLS handshake on an "ssl" listener,
 * once the ClientHello is in, for a new session only: a resumed session
 * needs no certificate, so the phase does not run for it. Only global
 * plugin instances take part (no request, so no route, service or
 * consumer, is known yet), as in Kong. Its modules run before the server's
 * own pick, which then goes by SNI (exact name, wildcard), then the
 * default certificate.
 *
 * The handler gets a PorticoRequest with no HTTP request in it: calls that
 * read one return NULL (the method, the path, the query), headers read as
 * absent, and calls that change the request or the response fail as
 * misuse. The client's address and port, portico_request_get_port(), the
 * per-request context (freed when the phase ends), the module's conf,
 * timers, the shared dictionary and portico_log() work.
 *
 * To refuse the handshake, return PORTICO_RESPOND (or PORTICO_ERROR, which
 * is logged as an error too): the client gets a handshake_failure alert
 * and the node counts a failed handshake. A handshake cannot wait:
 * PORTICO_YIELD is taken as PORTICO_CONTINUE. */

/* The server name the client asked for (SNI), lower-cased; NULL when it
 * sent none (or outside the certificate phase). */
const char *portico_tls_sni (PorticoRequest *r);
/* Certificate only: present the configuration's certificate whose "id"
 * is @certificate_id, whatever the SNI would pick. A module of lower
 * priority may pick again (the last pick wins). FALSE when no certificate
 * has that id (the pick is then unchanged). */
gboolean portico_tls_set_certificate (PorticoRequest *r, const char *certificate_id);

/* ---- yielding ---------------------------------------------------------------- */

/* Resume the handler (call it again) after at least @ms, without
 * blocking the worker; then return PORTICO_YIELD. */
gboolean portico_request_yield_for (PorticoRequest *r, guint ms);
/* Resume a request whose handler returned PORTICO_YIELD (from a timer or
 * an I/O callback). Runs the handler again from the loop, never inside
 * this call. */
void portico_request_resume (PorticoRequest *r);

/* ---- the response -------------------------------------------------------------- */

/* Rewrite and access: the response is made here. The body is sent as
 * given (copied); @content_type NULL means none. Then return
 * PORTICO_RESPOND. In header_filter it replaces the upstream's response. */
gboolean portico_response_exit (PorticoRequest *r, int status, const char *content_type,
                                const char *body, gsize body_len);
/* Kong's shape: {"message":"..."}, application/json; charset=utf-8. */
gboolean portico_response_exit_message (PorticoRequest *r, int status, const char *message);

/* The status: the upstream's (or the gateway's own) in header_filter and
 * later, 0 before. set_status in header_filter. */
int portico_response_get_status (PorticoRequest *r);
gboolean portico_response_set_status (PorticoRequest *r, int status);

/* Response headers. In rewrite, access and header_filter set/add/remove
 * apply to the response the client will get, whoever makes it (Kong's
 * kong.response.set_header). get and header_at read the response head in
 * header_filter and later. Removing Content-Length in header_filter tells
 * the gateway the body filters change the body's length: the response is
 * then sent chunked (or, to an HTTP/1.0 client, delimited by close). */
const char *portico_response_get_header (PorticoRequest *r, const char *name);
gboolean portico_response_header_at (PorticoRequest *r, guint index, const char **name, const char **value);
gboolean portico_response_set_header (PorticoRequest *r, const char *name, const char *value);
gboolean portico_response_add_header (PorticoRequest *r, const char *name, const char *value);
gboolean portico_response_remove_header (PorticoRequest *r, const char *name);

/* body_filter: the chunk of body passing now (decoded from the upstream's
 * framing). @last is TRUE once, on the last call, whose chunk may be
 * empty. set_chunk replaces what goes on to the next filter and to the
 * client (copied; an empty chunk holds the bytes back, for a module that
 * buffers the whole body and emits it on @last). */
const char *portico_response_get_chunk (PorticoRequest *r, gsize *len, gboolean *last);
gboolean portico_response_set_chunk (PorticoRequest *r, const char *data, gsize len);

/* ---- timings (log, and anytime for what has happened) --------------------------- */

typedef struct {
  gint64 started_us;      /* monotonic time the request head was complete */
  gint64 request_us;      /* head complete to response sent (log phase: final) */
  gint64 gateway_us;      /* time spent in the phase handlers before log */
  gint64 upstream_us;     /* request sent to response head received; -1 when no upstream */
  guint64 bytes_received; /* the request: head and body bytes */
  guint64 bytes_sent;     /* bytes written to the client, head included */
} PorticoTimings;

void portico_request_get_timings (PorticoRequest *r, PorticoTimings *out);

/* One handler call, as the core timed it. */
typedef struct {
  const char *module;
  PorticoPhase phase;
  gint64 start_us; /* monotonic */
  gint64 duration_us;
  PorticoResult result;
} PorticoSpan;

/* The calls made so far for this request, in order (at most 64 kept). */
guint portico_request_n_spans (PorticoRequest *r);
gboolean portico_request_get_span (PorticoRequest *r, guint index, PorticoSpan *out);

/* ---- the worker: timers, shared dictionary, logs -------------------------------- */

/* This worker's slot (0..n-1) and the node's worker count. */
guint portico_worker_get_id (void);
guint portico_worker_get_count (void);

/* Timers on the worker's thread, owned by the calling module (shown in
 * /timers under its name). @interval_ms > 0: recurring while @callback
 * returns TRUE. @destroy frees @data when the timer ends. NULL when the
 * worker's cap on pending timers is reached (logged; @destroy has then
 * been called on @data). Call from a handler, init_worker or another timer. */
typedef gboolean (*PorticoTimerFunc) (gpointer data);
typedef struct _PorticoTimerEntry PorticoTimerEntry;
PorticoTimerEntry *portico_timer_add (const char *name, guint delay_ms, guint interval_ms,
                                      PorticoTimerFunc callback, gpointer data, GDestroyNotify destroy);
void portico_timer_cancel (PorticoTimerEntry *entry);

/* Watches @fd on the worker's loop (for a module's own non-blocking I/O):
 * @callback runs when @condition holds, until it returns FALSE or the
 * watch is removed. Returns an id for portico_fd_unwatch(), 0 on error. */
typedef gboolean (*PorticoFdFunc) (int fd, GIOCondition condition, gpointer data);
guint portico_fd_watch (int fd, GIOCondition condition, PorticoFdFunc callback, gpointer data,
                        GDestroyNotify destroy);
void portico_fd_unwatch (guint id);

/* The node's shared dictionary: counters every worker (and the admin
 * process) sees. Keys are at most 223 bytes. A missing or expired key
 * starts at 0 with @ttl_ms to live (0: none); an existing key keeps its
 * expiry. FALSE when the dictionary is full or the key too long. */
gboolean portico_shared_incr (const char *key, gint64 delta, guint ttl_ms, gint64 *value);
gboolean portico_shared_set (const char *key, gint64 value, guint ttl_ms);
/* FALSE when missing or expired. *ttl_left_ms (may be NULL): 0 when none. */
gboolean portico_shared_get (const char *key, gint64 *value, gint64 *ttl_left_ms);
gboolean portico_shared_delete (const char *key);

/* Metrics for the admin API's /metrics: a counter in the shared
 * dictionary under a Prometheus series, e.g.
 *   portico_metric_add ("counter", "kong_http_requests_total{service=\"a\",code=\"200\"}", 1);
 * @type is "counter", "gauge" or "histogram" (then the series are the
 * family's _bucket, _sum and _count lines). Series whose name before "{"
 * (less those suffixes) is the same form one family. A series is at most
 * 150 bytes. FALSE when the dictionary is full, the series too long, or
 * its name starts with "portico_" (the core's own families). */
gboolean portico_metric_add (const char *type, const char *series, gint64 delta);

/* Logs through GLib with the running module's name and, when @r is not
 * NULL, the request's id. */
void portico_log (PorticoRequest *r, GLogLevelFlags level, const char *format, ...) G_GNUC_PRINTF (3, 4);

/* ---- the descriptor ---------------------------------------------------------- */

typedef PorticoResult (*PorticoHandler) (PorticoRequest *r, gpointer conf);

typedef struct _PorticoModule PorticoModule;

struct _PorticoModule {
  guint32 abi_version;  /* PORTICO_MODULE_ABI_VERSION */
  const char *name;     /* as plugins name it in the configuration */
  const char *version;
  int priority;         /* higher runs first within a phase */
  const PorticoSchemaField *schema; /* terminated by a field with name NULL; NULL: no fields */

  /* Builds the module's view of one plugin instance's configuration
   * (already checked against the schema, defaults filled). Runs in the
   * master (and in `portico check`), before any fork. Returns NULL and
   * sets @error to refuse it. NULL hook: the instance has no state. */
  gpointer (*configure) (JsonObject *config, const PorticoGateway *gateway, GError **error);
  void (*free_config) (gpointer conf);

  /* Once in each worker after the fork, for each instance, by priority.
   * PORTICO_ERROR stops the worker (the master logs it and resurrects it,
   * backing off if it keeps failing). */
  PorticoResult (*init_worker) (gpointer conf);
  /* Once in each worker before it exits, also on a graceful stop (after
   * the last request) and on a fast one: flush what is buffered. */
  void (*exit_worker) (gpointer conf);

  /* The request phases; NULL for the ones the module takes no part in.
   * certificate runs in TLS handshakes, for global instances only (see
   * "the TLS handshake" above). */
  PorticoHandler certificate;
  PorticoHandler rewrite;
  PorticoHandler access;
  PorticoHandler balancer;
  PorticoHandler header_filter;
  PorticoHandler body_filter;
  PorticoHandler log;
};

G_END_DECLS
