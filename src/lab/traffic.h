/* traffic.h: the lab's load generator: Portico's own HTTP/1.1 client.
 *
 * A PorticoTraffic runs on a PorticoLoop (the same epoll source as the
 * data path, in the process of `portico run`) and sends requests built from
 * a template to one address, either closed-loop (N connections, each sends
 * its next request when the last answer is in) or open-loop (a fixed rate
 * of request starts, whatever the answers do: what a real crowd does). It
 * parses answers with the gateway's own strict parser and records, per
 * second of the run, how many requests started and finished, by status
 * class and error kind, and a latency histogram; the whole run's exact
 * percentiles come from every latency kept (bounded memory: a fixed-size
 * reservoir past a million samples).
 *
 * Over TLS (a client context in the spec) each new connection handshakes
 * before its request, and the handshakes are counted: full, resumed (the
 * context offers the last session the peer gave) and failed.
 *
 * It is fast enough that it is never the bottleneck of what it measures:
 * bench/traffic-vs-wrk checks it against wrk on the same target.
 */
#pragma once

#include <glib.h>
#include "net/loop.h"
#include "net/tls.h"

G_BEGIN_DECLS

/* One load generator: a spec, its connections and its figures. */
typedef struct _PorticoTraffic PorticoTraffic;

/* A request header of the template. */
typedef struct {
  char *name;  /* "Name" */
  char *value;
} PorticoTrafficHeader;

/* What to send, where, how and for how long. */

typedef struct {
  /* Where: "127.0.0.1:PORT" or "[::1]:PORT". */
  char *address;
  /* What: one request template, serialized once. The Host header is the
   * address text ("127.0.0.1:PORT") unless @headers has one. @headers may
   * not hold Content-Length or Transfer-Encoding (the body's framing is
   * ours); a Connection header given replaces the one keepalive implies. */
  char *method;   /* "GET" */
  char *path;     /* "/orders/1?x=y", sent as is */
  GPtrArray *headers; /* PorticoTrafficHeader* (name, value and struct
                       * g_malloc'ed, freed by portico_traffic_spec_clear), may be NULL */
  GBytes *body;   /* NULL: none; else sent with Content-Length */
  /* How. Exactly one of concurrency (closed loop) and rate (open loop,
   * requests started per second, on as many connections as needed) is
   * non-zero. */
  guint concurrency;
  double rate;
  /* For how long: stops starting requests after duration_ms, or after
   * count requests when count > 0 (whichever comes first; 0 = unbounded
   * for that one, but not both). */
  guint duration_ms;
  guint64 count;
  gboolean keepalive;      /* FALSE: "Connection: close", a new connection per request.
                            * TRUE: reuse a connection while the answers allow it */
  guint timeout_ms;        /* per request, connect to last byte (default 10000) */
  guint max_connections;   /* open loop: a cap on simultaneous connections (default 10000) */
  /* Response headers whose presence is counted in complete answers
   * (case-insensitive names, at most 64), for expectations like "every
   * answer had X-RateLimit-Remaining-Minute". */
  GStrv count_headers;
  /* TLS: NULL for plain HTTP. The client context is the caller's, not
   * copied (it must outlive the traffic): its CAs, whether it verifies,
   * and the last session each peer gave, which the next connection to that
   * peer offers again. */
  PorticoTlsClient *tls;
  char *tls_name;          /* sent as SNI (unless an address) and checked in the
                            * certificate; NULL: the address's host */
  gboolean tls_no_resume;  /* offer no session: every connection a full handshake */
} PorticoTrafficSpec;

/* What went wrong with a request that got no complete answer. A closed loop
 * whose connect or TLS handshake fails retries that slot 1 ms later (a
 * closed port or a certificate refused does not spin the loop); after other
 * errors it starts the next request at once. A
 * request on a reused keep-alive connection that the server had closed
 * (reset or EOF before any byte of the answer) is retried once on a new
 * connection and counted once. */
typedef enum {
  PORTICO_TRAFFIC_ERR_CONNECT = 0, /* refused, unreachable */
  PORTICO_TRAFFIC_ERR_RESET,       /* reset or closed before the whole answer */
  PORTICO_TRAFFIC_ERR_TIMEOUT,
  PORTICO_TRAFFIC_ERR_PROTOCOL,    /* an answer our parser refused */
  PORTICO_TRAFFIC_ERR_TLS,         /* the TLS handshake failed (a certificate refused, an
                                    * alert, the peer closed in the middle) */
  PORTICO_TRAFFIC_N_ERRORS,
} PorticoTrafficError;

const char *portico_traffic_error_name (PorticoTrafficError e); /* "connect", "reset", ... */

/* How a connection's TLS handshake ended: the kinds, in the order, of the
 * gateway's own counters (admin /status "tls_handshakes"). A failed one is
 * also the error PORTICO_TRAFFIC_ERR_TLS of its request. */
typedef enum {
  PORTICO_TRAFFIC_TLS_FULL = 0,
  PORTICO_TRAFFIC_TLS_RESUMED,
  PORTICO_TRAFFIC_TLS_FAILED,
  PORTICO_TRAFFIC_TLS_KINDS,
} PorticoTrafficTlsKind;

const char *portico_traffic_tls_kind_name (PorticoTrafficTlsKind k); /* "full", "resumed", "failed" */
/* The sum of an errors[PORTICO_TRAFFIC_N_ERRORS] array. */
guint64 portico_traffic_errors_total (const guint64 *errors);

/* The latency histogram of a second: see portico_traffic_latency_bucket(). */
#define PORTICO_TRAFFIC_LATENCY_OCTAVES 24
#define PORTICO_TRAFFIC_LATENCY_BUCKETS (PORTICO_TRAFFIC_LATENCY_OCTAVES * 8)

/* One second of the run (second i covers [i s, i+1 s) from the start). */
typedef struct {
  guint64 started;
  guint64 not_started;        /* open loop: due but no connection could be had (max_connections) */
  guint64 completed;          /* answers received whole */
  guint64 status[6];          /* by class: [2] = 2xx ... [5] = 5xx, [0] = others */
  guint64 errors[PORTICO_TRAFFIC_N_ERRORS];
  guint64 latency_hist[PORTICO_TRAFFIC_LATENCY_BUCKETS]; /* completed requests, see below */
} PorticoTrafficSecond;

/* The latency histogram of a second is log-linear: octave 0 is [0, 50 us],
 * octave o > 0 is (50 us * 2^(o-1), 50 us * 2^o], each cut into 8 equal
 * buckets, so a bucket is at most 1/8 of its values wide; the last holds
 * everything longer. */
guint portico_traffic_latency_bucket (guint64 us);
/* Percentile @p (0 to 100) of @s's completed requests in ms, interpolated
 * within its bucket; NAN when none completed. */
double portico_traffic_second_percentile_ms (const PorticoTrafficSecond *s, double p);

typedef struct {
  guint64 started;
  guint64 not_started;        /* open loop: due while max_connections were all busy */
  guint64 completed;
  GHashTable *status;         /* exact status code (GINT_TO_POINTER) -> guint64* count */
  guint64 errors[PORTICO_TRAFFIC_N_ERRORS];
  guint64 connections_opened; /* connections established */
  guint64 tls_handshakes[PORTICO_TRAFFIC_TLS_KINDS]; /* by how they ended; all 0 without TLS */
  guint64 bytes_received;     /* heads and bodies */
  GHashTable *headers_seen;   /* count_headers name (lower-case) -> guint64* count */
  double duration_s;          /* first start to the last request's end (answer or error) */
  /* Latency of completed requests, milliseconds, from the request's start
   * (its connect and TLS handshake included when it needed a new
   * connection) to the answer's
   * last byte. Percentiles are exact (nearest rank) over the samples kept:
   * every one up to 1,000,000, then a uniform reservoir of that size. Max and
   * mean are over every completed request. */
  double p50_ms, p90_ms, p99_ms, p999_ms, max_ms, mean_ms;
  /* Open loop: how late requests started after they were due (a timer's
   * granularity is 1 ms; more means the loop was busy). Late requests are
   * started in a burst to catch up; their latency counts from when they
   * really started. */
  double start_lag_mean_ms, start_lag_max_ms;
  GArray *seconds;            /* PorticoTrafficSecond, one per second of the run */
} PorticoTrafficResult;

/* Validates @spec (copied: the caller keeps its own) and resolves the
 * address (blocking: call it at set-up); nothing is sent before start.
 * NULL with a PORTICO_CONFIG_ERROR_INVALID @error for a spec that cannot run. */
PorticoTraffic *portico_traffic_new (PorticoLoop *loop, const PorticoTrafficSpec *spec, GError **error);
/* Starts the run (once): the closed loop opens its connections, the open
 * loop starts its first request and its rate timer. Runs on the loop. */
void portico_traffic_start (PorticoTraffic *t);
/* Stops starting requests; those in flight finish (or time out). */
void portico_traffic_stop (PorticoTraffic *t);
gboolean portico_traffic_is_done (PorticoTraffic *t); /* stopped and nothing in flight */
/* Called once when the run is done (after the last request ends), from a
 * loop timer, never from inside portico_traffic_stop(). */
void portico_traffic_set_done_func (PorticoTraffic *t, void (*func) (PorticoTraffic *t, gpointer data),
                                    gpointer data);
/* Live figures for a progress line: requests completed and errors so far,
 * and completions in the last whole second. */
void portico_traffic_progress (PorticoTraffic *t, guint64 *completed, guint64 *errors, guint64 *last_second);
/* The figures (valid until the traffic is freed or this is called again):
 * final once done, a snapshot before. */
const PorticoTrafficResult *portico_traffic_result (PorticoTraffic *t);
/* Closes every connection (requests in flight are dropped uncounted) and
 * frees. Free the traffic before its loop. NULL is ignored. */
void portico_traffic_free (PorticoTraffic *t);

/* Frees what @spec holds (strings, headers, body; not the TLS context) and
 * zeroes it. */
void portico_traffic_spec_clear (PorticoTrafficSpec *spec);

/* `portico traffic [OPTIONS] URL`: runs one PorticoTraffic from the command
 * line (wrk-like: -c N closed loop or --rate R open loop, -d seconds) and
 * prints the figures, or JSON with --json. @argv[0] is "traffic". SIGINT
 * or SIGTERM stops it early (the figures are still printed). Returns the
 * exit status: 0 after a run, 2 for bad usage or a spec that cannot run. */
int portico_traffic_cli_main (int argc, char **argv);

G_END_DECLS
