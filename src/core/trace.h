/* trace.h: one request as the gateway traced it.
 *
 * A worker traces a request when the client asks with the node's trace
 * token (`X-Portico-Trace: TOKEN`) or when it falls on the sample
 * (`node.trace_sample`: one request in N). The record holds the core's
 * window of each phase, every module handler call, and the upstream
 * exchange, on the monotonic clock, which every process of the machine
 * shares: the lab lines it up with its own client-side spans. Records are
 * plain bytes of fixed size, so the shared-memory zone can keep the last
 * few of each worker for the admin API (GET /traces).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PORTICO_TRACE_SPANS 48
#define PORTICO_TRACE_NAME 32
#define PORTICO_TRACE_PATH 128
#define PORTICO_TRACE_HEADER "X-Portico-Trace"
#define PORTICO_TRACE_ID_HEADER "X-Portico-Trace-Id"

typedef enum {
  PORTICO_TRACE_PHASE = 0, /* the core's window of a phase, handlers included */
  PORTICO_TRACE_MODULE,    /* one handler call */
  PORTICO_TRACE_UPSTREAM,  /* one try: connection had to response head (or failure) */
} PorticoTraceKind;

typedef struct {
  char name[PORTICO_TRACE_NAME]; /* module: its name; upstream: the target; phase: "" */
  guint8 kind;       /* PorticoTraceKind */
  guint8 phase;      /* PorticoPhase of a phase or module span */
  gint8 result;      /* module: PorticoResult; upstream: 0 answered, 1 failed */
  guint8 reserved[5];
  gint64 start_us;   /* g_get_monotonic_time() */
  gint64 duration_us;
} PorticoTraceSpanRecord;

typedef struct {
  guint64 id;        /* per worker slot, from 1; 0: an empty record */
  guint32 slot;      /* the worker's slot in the node's zone */
  guint16 status;    /* sent to the client; 499 when the client went away */
  guint8 requested;  /* asked for with the token (else sampled) */
  guint8 n_spans;
  guint32 spans_dropped; /* past PORTICO_TRACE_SPANS */
  guint32 reserved;
  gint64 wall_us;    /* g_get_real_time() when the head was complete */
  gint64 start_us;   /* the same instant, on the monotonic clock */
  gint64 duration_us; /* to the end of the log phase */
  char method[16];
  char path[PORTICO_TRACE_PATH];   /* normalized, truncated */
  char route[PORTICO_TRACE_NAME];  /* "" when none matched */
  char service[PORTICO_TRACE_NAME];
  char consumer[PORTICO_TRACE_NAME];
  PorticoTraceSpanRecord spans[PORTICO_TRACE_SPANS];
} PorticoTraceRecord;

/* The text form of a trace id, "SLOT-ID" ("0-17"), in @buf (>= 32 bytes). */
static inline void
portico_trace_id_format (char *buf, gsize size, guint32 slot, guint64 id)
{
  g_snprintf (buf, size, "%u-%" G_GUINT64_FORMAT, slot, id);
}

G_END_DECLS
