/* proxy-private.h: the structures shared by the files of the data path. */
#pragma once

#include "proxy/proxy.h"
#include "core/router.h"
#include "http/chunked.h"
#include "http/http-parser.h"
#include "net/conn.h"
#include "pdk/phases.h"

G_BEGIN_DECLS

typedef struct _PorticoClient PorticoClient;
typedef struct _PorticoExchange PorticoExchange;
typedef struct _PorticoUpConn PorticoUpConn;
typedef struct _PorticoUpPool PorticoUpPool;
typedef struct _PorticoTraceState PorticoTraceState;

/* A body in transit from one buffer to another, from one framing to
 * another: LENGTH -> LENGTH, CHUNKED -> CHUNKED or CLOSE, CLOSE -> CHUNKED
 * or CLOSE. Chunk extensions are dropped; trailers pass. */
typedef struct {
  PorticoBodyKind from;
  PorticoBodyKind to;
  guint64 remaining; /* from == LENGTH: bytes still to come */
  PorticoChunkedDecoder decoder;
  gboolean in_trailers; /* to == CHUNKED: last chunk written, trailers follow */
  gboolean done;        /* the whole body (and its end marker) is in the output */
  guint64 bytes;        /* body bytes moved */
  const char *error;    /* bad framing on the input */
} PorticoPipe;

typedef enum {
  PORTICO_PIPE_MOVED = 0, /* moved what it could; more input or output room is needed */
  PORTICO_PIPE_DONE,
  PORTICO_PIPE_ERROR,
} PorticoPipeResult;

void portico_pipe_init (PorticoPipe *pipe, PorticoBodyKind from, guint64 length, PorticoBodyKind to);
/* Moves body bytes from @in to @out while @out holds less than @high bytes. */
PorticoPipeResult portico_pipe_move (PorticoPipe *pipe, PorticoBuf *in, PorticoBuf *out, gsize high);
/* The input closed: ends a CLOSE body, is an error for the others. */
PorticoPipeResult portico_pipe_input_closed (PorticoPipe *pipe, PorticoBuf *out);
/* Writes body bytes framed as @to (a chunk, or as they are). */
void portico_body_write (PorticoBodyKind to, PorticoBuf *out, const char *data, gsize len);

struct _PorticoUpConn {
  PorticoConn conn;
  PorticoProxy *proxy;
  PorticoUpPool *pool;
  PorticoExchange *exchange; /* NULL while idle in the pool */
  GList idle_link;           /* in pool->idle while idle */
  guint requests;            /* sent on this connection */
  gboolean connected;
};

struct _PorticoUpPool {
  const PorticoAddress *address;
  GQueue idle; /* of PorticoUpConn, most recently used at the head */
};

typedef enum {
  PORTICO_CLIENT_HEAD = 0, /* waiting for or reading a request head */
  PORTICO_CLIENT_BUSY,     /* an exchange is running */
  PORTICO_CLIENT_LINGER,   /* answered and closing: discarding input until EOF */
} PorticoClientPhase;

struct _PorticoClient {
  PorticoConn conn;
  PorticoProxy *proxy;
  GList link; /* in proxy->clients */
  PorticoClientPhase phase;
  PorticoConnState state;
  PorticoExchange *exchange;
  guint requests; /* requests started on this connection */
  guint16 local_port;
  guint16 peer_port;
  char peer_ip[46];
  gboolean closing; /* close once the current response is out */
};

/* Where an exchange is before its upstream request starts. */
typedef enum {
  PORTICO_STAGE_REWRITE = 0,
  PORTICO_STAGE_ROUTE,
  PORTICO_STAGE_ACCESS,
  PORTICO_STAGE_UPSTREAM, /* past access: connecting, or answered */
} PorticoExchangeStage;

struct _PorticoExchange {
  PorticoClient *client;
  PorticoUpConn *up;
  char *head;               /* a copy of the request head */
  gsize head_cap;
  char *path;               /* normalized path */
  gsize path_len;
  gsize path_cap;
  PorticoRouteMatch match;
  const PorticoService *service;
  const PorticoAddress *target;
  guint tries;
  gint64 try_start_us;      /* when the current try began (balancer.c) */
  gint target_index;        /* x->target's index in its upstream; -1: none (balancer.c) */
  char hash_cookie[40];     /* consistent hashing made up this cookie: set it in the answer */
  gboolean balanced;        /* a try is in flight: balancer_end still to come */
  gboolean try_timed_out;   /* the try that failed did so by a timeout */
  PorticoPipe req_pipe;  /* client -> upstream */
  PorticoPipe resp_pipe; /* upstream -> client */
  gint64 start_us;
  guint64 client_bytes_at_head; /* client->conn.bytes_out when the response head was made */
  int status;
  gboolean sent_continue;  /* "100 Continue" written to the client */
  gboolean req_head_sent;  /* the request head is in up->conn.out */
  gboolean req_done;       /* the whole request body is in up->conn.out */
  gboolean resp_started;   /* the response head is in client->conn.out */
  gboolean resp_done;      /* the whole response is in client->conn.out */
  gboolean keep_client;    /* the client connection stays open afterwards */
  gboolean up_progress;     /* the upstream did I/O in this run */
  gboolean client_progress; /* the client did I/O in this run */
  PorticoExchangeStage stage;
  PorticoTimer resume_timer; /* a yielded handler's resumption */
  guint64 client_bytes_at_start;
  /* The response body through body_filter: decoded into filter_buf, then
   * framed as filter_to for the client. */
  gboolean filtering;
  gboolean filter_last_done;
  PorticoBodyKind filter_to;
  guint64 filter_out_bytes;
  PorticoBuf filter_buf;
  PorticoTraceState *trace; /* NULL unless this request is traced (trace.c) */
  /* Last, and not cleared between requests (6 KiB): the parser sets them. */
  PorticoHttpRequest req;   /* points into head */
  PorticoHttpResponse resp; /* points into up->conn.in until the head is sent */
  PorticoRequest pdk;       /* the module API's view; reset by portico_request_finish */
};

struct _PorticoProxy {
  PorticoLoop *loop;
  const PorticoConfig *config;
  PorticoRouter *router;
  PorticoHttpLimits limits;
  GQueue clients;          /* of PorticoClient */
  GHashTable *pools;       /* const PorticoAddress* -> PorticoUpPool* */
  GHashTable *balancers;   /* const PorticoUpstream* -> PorticoBalancer* */
  GHashTable *health;      /* const PorticoUpstream* -> its targets' states, cached (health.c) */
  GHashTable *probes;      /* const PorticoUpstream* -> its active probes (health-probe.c) */
  GPtrArray *free_exchanges;
  PorticoPlan *plan;       /* the modules' handlers, by priority */
  PorticoProxyStats stats;
  PorticoTracer tracer;
  guint64 trace_seen;      /* requests counted towards node.trace_sample */
  PorticoTraceState *spare_trace; /* the last one freed, for the next traced request */
  gboolean draining;
  gint64 date_second;
  char date[40];           /* "Sun, 06 Nov 1994 08:49:37 GMT" */
};

/* client.c */
void portico_client_set_state (PorticoClient *client, PorticoConnState state);
void portico_client_exchange_done (PorticoClient *client);
void portico_client_run (PorticoClient *client);
void portico_client_abort (PorticoClient *client);

/* exchange.c */
/* A blank exchange for @client; the client parses the head into x->req. */
PorticoExchange *portico_exchange_new (PorticoClient *client);
/* The head in client->conn.in parsed into x->req: take it over and go. */
void portico_exchange_begin (PorticoExchange *x);
void portico_exchange_run (PorticoExchange *x);
void portico_exchange_timeout (PorticoExchange *x, gboolean client_side);
void portico_exchange_free (PorticoProxy *proxy, PorticoExchange *x);
/* A handler call's duration, to the worker's recorder (also the
 * certificate phase's, which has no exchange). */
void portico_proxy_record_phase (PorticoPhase phase, guint64 us);

/* balancer.c: the target for the next try of @x (its service's address
 * when the service names no upstream); NULL when no target can take it.
 * @avoid: a target to skip when there is another. */
const PorticoAddress *portico_balancer_pick (PorticoProxy *proxy, PorticoExchange *x, const PorticoAddress *avoid);
/* The try of @x to x->target starts (it is in flight until end). */
void portico_balancer_begin (PorticoProxy *proxy, PorticoExchange *x);
/* Its response head came: a latency sample for the target. */
void portico_balancer_observe (PorticoProxy *proxy, PorticoExchange *x);
/* The try ended (its connection released); @failed: without an answer. */
void portico_balancer_end (PorticoProxy *proxy, PorticoExchange *x, gboolean failed);
void portico_balancers_free (PorticoProxy *proxy);

/* health.c: targets' health, shared by the node's workers (see there). */
#define PORTICO_HEALTH_KEY_MAX 224 /* the shared dictionary's key limit */
typedef enum {
  PORTICO_HEALTH_ANSWERED = 0, /* a response head with a status */
  PORTICO_HEALTH_CONNECTED,    /* a tcp probe connected */
  PORTICO_HEALTH_TCP_FAILURE,  /* refused, reset, or broken before an answer */
  PORTICO_HEALTH_TIMEOUT,
} PorticoHealthOutcome;
/* Whether target @target of @upstream takes traffic (cached per worker). */
gboolean portico_health_target_up (PorticoProxy *proxy, const PorticoUpstream *upstream, guint target);
/* The same in two steps, for a pick that asks about every target: read the
 * states again if they changed (one dictionary read), then ask the cache. */
void portico_health_refresh (PorticoProxy *proxy, const PorticoUpstream *upstream);
gboolean portico_health_cached_up (PorticoProxy *proxy, const PorticoUpstream *upstream, guint target);
/* Counts an outcome seen by traffic (@active FALSE) or a probe; enough in a
 * row (the upstream's healthchecks) change the target's state. */
void portico_health_report (const PorticoUpstream *upstream, guint target, gboolean active,
                            PorticoHealthOutcome outcome, guint status);
/* "h|UPSTREAM|TARGET[|KIND]" into @buf; FALSE when it does not fit. */
gboolean portico_health_key (char *buf, gsize size, const PorticoUpstream *upstream, guint target, const char *kind);
void portico_health_free (PorticoProxy *proxy);
void portico_health_probes_free (PorticoProxy *proxy);

/* upstream.c */
/* A pooled connection to @address, or (when none is idle, or @fresh) a new
 * one whose connect may still be in progress. NULL with *error = errno. */
PorticoUpConn *portico_upstream_get (PorticoProxy *proxy, const PorticoAddress *address,
                                     PorticoExchange *x, gboolean fresh, int *error);
void portico_upstream_release (PorticoUpConn *up, gboolean reusable);
void portico_upstream_pools_free (PorticoProxy *proxy);

/* head.c */
void portico_head_upstream_request (PorticoExchange *x, PorticoBuf *out);
void portico_head_client_response (PorticoExchange *x, PorticoBuf *out);
/* An https-only route reached over plain http: Kong's answer (426, or a
 * redirect to the https URL) as x->pdk's local response. */
void portico_head_https_required (PorticoExchange *x);

/* trace.c: marks, each called only when x->trace is set (PORTICO_TRACE). */
#define PORTICO_TRACE(x, call) \
  do { if (G_UNLIKELY ((x)->trace != NULL)) call; } while (0)
/* Traces the exchange when it asks with the token or falls on the sample. */
void portico_trace_start (PorticoExchange *x);
/* The id to give the client ("0-17"): only when it asked for the trace. */
const char *portico_trace_requested_id (const PorticoExchange *x);
void portico_trace_enter (PorticoExchange *x, PorticoPhase phase);
void portico_trace_leave (PorticoExchange *x, PorticoPhase phase);
void portico_trace_upstream_begin (PorticoExchange *x);
void portico_trace_upstream_end (PorticoExchange *x, gboolean failed);
/* After log: closes what is open, adds the module calls, hands the record
 * to the tracer and forgets it. */
void portico_trace_finish (PorticoExchange *x);
/* Forgets the exchange's trace (kept as the proxy's spare). */
void portico_trace_discard (PorticoProxy *proxy, PorticoExchange *x);

/* respond.c */
const char *portico_http_reason (int status);
const char *portico_proxy_date (PorticoProxy *proxy);
/* Writes a complete gateway-made response, {"message": ...}, to the client. */
void portico_respond_json (PorticoClient *client, int status, const char *message, gboolean head_only,
                           gboolean keep_alive);
/* Writes a complete response with these fields (framing ones skipped) and body. */
void portico_respond_full (PorticoClient *client, int status, const PorticoHttpHeader *headers, gsize n_headers,
                           const char *body, gsize body_len, gboolean head_only, gboolean keep_alive);


G_END_DECLS
