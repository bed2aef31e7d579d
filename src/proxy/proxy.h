/* proxy.h: the reverse-proxy data path of one worker.
 *
 * A PorticoProxy owns the client connections a worker accepted, the
 * upstream keep-alive pools and the balancer state. The node layer creates
 * it with a loaded config, hands it accepted sockets, and reads its stats.
 */
#pragma once

#include <glib.h>
#include <sys/socket.h>
#include "core/config.h"
#include "core/histogram.h"
#include "core/trace.h"
#include "net/loop.h"
#include "pdk/module-loader.h"

G_BEGIN_DECLS

typedef struct _PorticoProxy PorticoProxy;

/* Connection states, as the node layer counts and shows them. */
typedef enum {
  PORTICO_CONN_READING = 0, /* reading a request head or body */
  PORTICO_CONN_ACTIVE,      /* in the gateway's own processing */
  PORTICO_CONN_WAITING,     /* blocked on the upstream (or a timer) */
  PORTICO_CONN_WRITING,     /* writing the response */
  PORTICO_CONN_KEEPALIVE,   /* idle between requests, reserved for its client */
  PORTICO_CONN_N_STATES,
} PorticoConnState;

const char *portico_conn_state_name (PorticoConnState state);

/* TLS handshakes are counted by side and by how they ended. */
typedef enum {
  PORTICO_TLS_DOWNSTREAM = 0, /* with clients, on TLS listeners */
  PORTICO_TLS_UPSTREAM,       /* with https services */
  PORTICO_TLS_N_SIDES,
} PorticoTlsSide;

typedef enum {
  PORTICO_TLS_HANDSHAKE_FULL = 0, /* a new session: the whole key exchange */
  PORTICO_TLS_HANDSHAKE_RESUMED,  /* an earlier session taken up again (a ticket or the cache) */
  PORTICO_TLS_HANDSHAKE_FAILED,   /* refused, broken, plain HTTP on a TLS port, or past its deadline */
  PORTICO_TLS_N_KINDS,
} PorticoTlsKind;

typedef struct {
  guint64 accepted;
  guint64 requests;
  guint64 responses[6]; /* by class: [1] = 1xx ... [5] = 5xx, [0] = none sent */
  guint64 bytes_in;     /* from clients */
  guint64 bytes_out;    /* to clients */
  guint64 upstream_connects;     /* new upstream connections opened */
  guint64 upstream_reuses;       /* requests sent on a pooled connection */
  guint64 upstream_failures;     /* connect refused, reset, bad response */
  guint64 upstream_timeouts;
  guint connections;             /* open client connections */
  guint states[PORTICO_CONN_N_STATES];
  guint upstream_idle;           /* pooled idle upstream connections */
  guint upstream_busy;
  /* Request latency, head received to response sent: bucket i counts
   * requests that took at most 2^i * 100 us (the last: longer). */
  guint64 latency_hist[PORTICO_HISTOGRAM_N_BUCKETS];
  guint64 tls_handshakes[PORTICO_TLS_N_SIDES][PORTICO_TLS_N_KINDS];
} PorticoProxyStats;

PorticoProxy *portico_proxy_new (PorticoLoop *loop, const PorticoConfig *config);
void portico_proxy_free (PorticoProxy *proxy);

/* Takes an accepted, non-blocking client socket from @listen's socket
 * (with its TLS server when it is an "ssl" listener). */
void portico_proxy_accept (PorticoProxy *proxy, int fd, const struct sockaddr *peer,
                           socklen_t peer_len, const PorticoListen *listen);

/* The modules whose handlers run in each request (by priority, with
 * Kong's scoping). NULL: none. Call before the first connection. */
void portico_proxy_set_modules (PorticoProxy *proxy, const PorticoModuleSet *modules);
/* Where every handler call's duration goes (the worker's per-phase
 * histograms). One per process. */
void portico_proxy_set_phase_recorder (void (*func) (PorticoPhase phase, guint64 us));

/* Where traced requests go (core/trace.h): the worker's ring in the
 * node's zone. Without one, no request is traced. */
typedef struct {
  guint slot;       /* the worker's slot: the first part of a trace id */
  guint64 last_id;  /* ids go on from here */
  void (*put) (const PorticoTraceRecord *record, gpointer data);
  gpointer data;
} PorticoTracer;

void portico_proxy_set_tracer (PorticoProxy *proxy, const PorticoTracer *tracer);

/* Active health checks (health-probe.c): how often @upstream's targets
 * want probing (0: no active checks), and one round of probes, which the
 * node runs from one timer per upstream in one worker. */
guint portico_health_probe_interval (const PorticoUpstream *upstream);
void portico_health_probe (PorticoProxy *proxy, const PorticoUpstream *upstream);
/* A target's state, straight from the shared dictionary (for the admin
 * API): TRUE when healthy; @counts: ok, http, tcp, timeout since the last
 * change. */
gboolean portico_health_read (const PorticoUpstream *upstream, guint target, gint64 counts[4]);
/* Whether @upstream has active or passive checks that can change a state. */
gboolean portico_health_checked (const PorticoUpstream *upstream);
/* Sets the state (the admin API); FALSE when the key does not fit. */
gboolean portico_health_set (const PorticoUpstream *upstream, guint target, gboolean healthy, const char *why);

const PorticoProxyStats *portico_proxy_stats (PorticoProxy *proxy);

/* Graceful stop: stop keeping connections alive; idle ones close now, busy
 * ones after their current response. */
void portico_proxy_drain (PorticoProxy *proxy);
guint portico_proxy_n_connections (PorticoProxy *proxy);

G_END_DECLS
