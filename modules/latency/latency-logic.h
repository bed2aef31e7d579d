/* latency-logic.h: what the latency module decides, without a request:
 * its configuration and the wait each call of its handler starts or ends. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include "pdk/portico.h"

G_BEGIN_DECLS

typedef struct {
  guint ms;           /* the wait every request gets */
  guint jitter_ms;    /* plus up to this much more, uniformly */
  PorticoPhase phase; /* rewrite (global plugins only) or access */
} LatencyConf;

/* From a config the core already checked against the schema and filled
 * with defaults. */
LatencyConf *latency_conf_new (JsonObject *config);

/* One request's wait, kept in the per-request context between the call
 * that starts it and the call that ends it. */
typedef struct {
  gboolean waiting;
  gint64 started_us;
  guint planned_ms;
} LatencyWait;

/* One call of the handler at @now_us (monotonic), @random: any 32 random
 * bits. Returns TRUE when the handler must yield for *ms milliseconds,
 * FALSE when the request goes on, *ms then being how long it waited.
 * Idle, it plans conf->ms + (random % (jitter_ms + 1)) and yields for all
 * of it (a plan of 0 goes on at once). Waiting, it goes on once the plan
 * has really elapsed, else yields again for the rest: the worker's loop
 * keeps a millisecond clock read once per turn, so a resume may come a
 * little early, and the module promises at least the plan. Going on, it
 * leaves @wait idle, so another instance of the module in a later phase
 * starts its own wait. */
gboolean latency_step (LatencyWait *wait, const LatencyConf *conf, gint64 now_us, guint32 random, guint *ms);

G_END_DECLS
