/* node-sampler.h: what a scenario learns about a gateway node from its
 * admin API while it runs.
 *
 * A sampler asks the node's /status and /timers every interval (libsoup,
 * asynchronously: the runner's loop keeps driving traffic meanwhile) and
 * keeps what expectations need: the last figures, and the worst seen
 * (pending timers, per timer owner too, and loop lag). The node is one the
 * caller has just started: counts (respawns, reloads, requests, upstream
 * connects, TLS handshakes) are since it started, and a worker that was respawned counts
 * again from zero, so nothing is counted twice. Workers publish ten times
 * a second: what a worker served in its last 100 ms before being killed
 * is not seen.
 */
#pragma once

#include <glib.h>

#include "lab/results.h"

G_BEGIN_DECLS

typedef struct _PorticoNodeSampler PorticoNodeSampler;

typedef struct {
  guint samples;              /* answers received */
  guint64 respawns;           /* during the run */
  guint64 reloads;
  guint64 reload_failures;
  guint generation;           /* the last one seen */
  guint64 requests;           /* all workers, during the run */
  guint64 upstream_connects;
  guint64 upstream_reuses;
  guint64 upstream_failures;  /* tries that failed: refused, broken, timed out */
  guint64 tls_handshakes[PORTICO_NODE_TLS_SIDES][PORTICO_TRAFFIC_TLS_KINDS]; /* all workers,
                                                   * during the run: /status "tls_handshakes" */
  guint timers_pending_max;   /* the most pending timers seen at once, all workers together */
  GHashTable *timers_by_owner_max; /* owner name -> GUINT_TO_POINTER (the most pending at once) */
  double loop_lag_max_ms;     /* the worst lag a worker reported */
  GArray *worker_pids;        /* GPid of the serving workers, by slot, in the last sample */
} PorticoNodeSample;

/* Starts sampling the admin API at @admin_addr ("127.0.0.1:PORT") every
 * @interval_ms; the first sample is taken at once. */
PorticoNodeSampler *portico_node_sampler_new (const char *admin_addr, guint interval_ms);
/* Takes one more sample and waits for it (runs the main context), so the
 * figures are current: at the end of a run. */
void portico_node_sampler_flush (PorticoNodeSampler *s, guint timeout_ms);
const PorticoNodeSample *portico_node_sampler_figures (PorticoNodeSampler *s);
/* The pid of the worker in @slot in the last sample, 0 if none. */
GPid portico_node_sampler_worker_pid (PorticoNodeSampler *s, guint slot);
void portico_node_sampler_free (PorticoNodeSampler *s);

G_END_DECLS
