/* request-private.h: what a PorticoRequest is inside the core.
 *
 * The data path embeds one in each exchange and points it at the parsed
 * head; modules see it through portico.h. It knows nothing of sockets, so
 * a test can build one from bytes and run phases on it.
 */
#pragma once

#include "pdk/portico.h"
#include "core/config.h"
#include "http/http-parser.h"
#include "pdk/module-loader.h"

G_BEGIN_DECLS

/* Header fields as an array of (name, value) views. Until the first edit,
 * @v is the parser's array (not ours); an edit copies it into the
 * request's arena, and new strings live there too. */
typedef struct {
  PorticoHttpHeader *v;
  guint n;
  guint cap;     /* 0 while @v is borrowed */
} PorticoHeaderTable;

void portico_header_table_borrow (PorticoHeaderTable *t, PorticoHttpHeader *v, guint n);
/* The index of the first field named @name from @from, or -1. */
int portico_header_table_find (const PorticoHeaderTable *t, const char *name, gsize len, guint from);

typedef struct _PorticoArenaBlock PorticoArenaBlock;

/* Edits of the response head asked for before there is a response. */
typedef enum {
  PORTICO_EDIT_SET = 0,
  PORTICO_EDIT_ADD,
  PORTICO_EDIT_REMOVE,
} PorticoEditOp;

typedef struct {
  PorticoEditOp op;
  const char *name; /* in the arena */
  const char *value;
} PorticoHeaderEdit;

typedef struct {
  gpointer data;
  GDestroyNotify destroy;
} PorticoModuleCtx;

typedef struct _PorticoPlan PorticoPlan;

/* What the data path gives the runner: how to resume a yielded request
 * and where handler timings go. */
typedef struct {
  /* Calls the yielded handler again after @ms on the worker's loop (0:
   * next turn). */
  void (*schedule) (PorticoRequest *r, guint ms);
  void (*cancel) (PorticoRequest *r);
  void (*record_phase) (PorticoPhase phase, guint64 us);
} PorticoRequestHooks;

#define PORTICO_MAX_SPANS 64

struct _PorticoRequest {
  const PorticoPlan *plan;
  const PorticoRequestHooks *hooks;
  gpointer owner; /* the exchange */
  guint64 id;
  PorticoPhase phase;
  guint cursor;             /* the module the phase is at (resumed there) */
  const PorticoModuleInstance *current;
  guint current_module;
  gboolean yielded;
  gboolean resume_scheduled;

  /* The request as the client sent it, and what modules made of it. */
  PorticoHttpRequest *http;
  const char *path; /* normalized, NUL-terminated (arena) */
  gsize path_len;
  const char *method_override; /* NULL: unchanged */
  const char *upstream_path;   /* set_path in access: sent as is */
  const char *query;           /* NULL: unchanged (http->query); "" removed */
  gboolean query_changed;
  PorticoHeaderTable req_headers;
  gboolean host_set;           /* the upstream gets req_headers' Host */
  guint64 max_body;            /* 0: no limit */
  const char *client_ip;
  guint client_port;
  guint port;

  /* The certificate phase: a TLS handshake's request, with no HTTP
   * request (@http NULL). */
  const char *sni;               /* lower-cased; NULL: none sent */
  const GPtrArray *certificates; /* the config's, for portico_tls_set_certificate */
  int certificate;               /* the index a module picked in @certificates; -1: none */

  const PorticoRoute *route;
  const PorticoService *service;
  const PorticoConsumer *consumer;
  const char *credential;
  const char *target;
  guint tries;

  /* The response. */
  int status;
  PorticoHeaderTable resp_headers;
  gboolean have_response;  /* resp_headers describe the response */
  gboolean length_removed; /* a module removed Content-Length */
  GArray *resp_edits;      /* PorticoHeaderEdit, before there is a response */
  /* A response made by a module or by the gateway. */
  gboolean local;
  const char *local_body;
  gsize local_body_len;
  /* body_filter */
  const char *chunk;
  gsize chunk_len;
  gboolean chunk_last;

  /* Timings. */
  gint64 started_us;
  gint64 upstream_sent_us;
  gint64 upstream_head_us;
  gint64 finished_us;
  gint64 gateway_us;
  guint64 bytes_received;
  guint64 bytes_sent;
  PorticoSpan *spans;      /* PORTICO_MAX_SPANS, in the arena */
  guint n_spans;

  PorticoModuleCtx *ctx;   /* one per module of the plan, in the arena */
  /* The instance of each module of the plan for the phases after access
   * (NULL: the module does not run); set when access ends. */
  const PorticoModuleInstance **resolved;
  GString *chunk_bufs[2];  /* set_chunk's copies, alternating */
  guint chunk_buf;
  PorticoArenaBlock *arena;
  char last_error[200];
};

/* ---- request.c ---- */

/* Readies @r for a new request whose head is @http (stays valid until
 * portico_request_finish). */
void portico_request_start (PorticoRequest *r, const PorticoPlan *plan, const PorticoRequestHooks *hooks,
                            gpointer owner, PorticoHttpRequest *http, const char *path, gsize path_len,
                            const char *client_ip, guint client_port, guint port);
/* Readies @r for the certificate phase of a TLS handshake: no HTTP
 * request (the calls that need one fail cleanly), @sni as the client sent
 * it (NULL: none; modules see it lower-cased), @certificates the config's
 * (what a module may pick from). End it with portico_request_clear. */
void portico_request_start_handshake (PorticoRequest *r, const PorticoPlan *plan, const PorticoRequestHooks *hooks,
                                      const GPtrArray *certificates, const char *sni, const char *client_ip,
                                      guint client_port, guint port);
/* The end of the request: contexts destroyed, memory released (the
 * struct stays usable for the next request). */
void portico_request_finish (PorticoRequest *r);
/* Once, when the struct itself goes. */
void portico_request_clear (PorticoRequest *r);

gpointer portico_request_arena_alloc (PorticoRequest *r, gsize size);
char *portico_request_arena_strndup (PorticoRequest *r, const char *s, gsize len);
/* Records a misuse: warns and keeps the message. Returns FALSE. */
gboolean portico_request_misuse (PorticoRequest *r, const char *function, const char *why);
/* The phase allows the call; else a misuse naming the phase. */
gboolean portico_request_check_phase (PorticoRequest *r, const char *function, guint allowed_mask);
#define PORTICO_PHASE_BIT(p) (1u << (p))

/* The upstream request's path and query as modules left them: @path is
 * NULL when the gateway should compute it (strip_path, service path). */
void portico_request_upstream_target (PorticoRequest *r, const char **path, const char **query,
                                      gsize *query_len);
const char *portico_request_upstream_method (PorticoRequest *r, gsize *len);

/* ---- response.c ---- */

/* The response head is known: @headers (borrowed until the head is
 * written; copied when modules may read it later). Applies the edits
 * asked for earlier. */
void portico_response_begin (PorticoRequest *r, int status, PorticoHttpHeader *headers, guint n, gboolean copy);
/* A response the gateway (or a module, through exit) makes. */
void portico_response_set_local (PorticoRequest *r, int status, const char *content_type, const char *body,
                                 gsize body_len);
gboolean portico_header_table_set (PorticoRequest *r, PorticoHeaderTable *t, PorticoEditOp op,
                                   const char *name, const char *value);
gboolean portico_header_is_framing (const char *name, gsize len);
/* Kong's {"message":"..."} for @message, escaped, into @out (truncated to
 * @size). Returns the length. */
gsize portico_message_json (char *out, gsize size, const char *message);
/* A field's first value / the field at @index, NUL-terminated (copied
 * into the arena when the parser's view is not). */
const char *portico_header_table_get (PorticoRequest *r, const PorticoHeaderTable *t, const char *name);
gboolean portico_header_table_at (PorticoRequest *r, const PorticoHeaderTable *t, guint index, const char **name,
                                  const char **value);

G_END_DECLS
