/* admin-private.h: what the admin's files share (admin.c serves,
 * admin-views.c builds the JSON views, admin-metrics.c the Prometheus text).
 *
 * Every request reads the zone once into a snapshot, so one answer describes
 * one instant even while the workers keep writing. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <sys/types.h>

#include "admin/admin.h"

G_BEGIN_DECLS

typedef struct {
  guint index;          /* the slot's index in the zone */
  PorticoShmSlot slot;  /* a consistent copy */
} PorticoAdminWorker;

typedef struct {
  gint64 now_us;        /* wall clock when taken */
  pid_t master_pid;
  gint64 master_started_us;
  guint32 generation;
  guint64 reloads;
  guint64 reload_failures;
  guint64 respawns;
  char last_reload_error[PORTICO_SHM_ERROR_MAX]; /* "" when none */
  guint shdict_used;
  guint shdict_capacity;
  guint workers_configured; /* node.workers, 0 resolved to the CPU count */
  GArray *workers;      /* PorticoAdminWorker: every slot not FREE, by index */
  PorticoShm *shm; /* for what is read at render time (module metrics) */
} PorticoAdminSnapshot;

PorticoAdminSnapshot *portico_admin_snapshot_take (PorticoShm *shm, const PorticoConfig *config);
/* The same without the shared dictionary's use (shdict_used and
 * shdict_capacity 0): counting its entries scans the whole table under the
 * lock the workers take, which the dashboard's sampler, 4 times a second,
 * must not do. */
PorticoAdminSnapshot *portico_admin_snapshot_take_slots (PorticoShm *shm, const PorticoConfig *config);
void portico_admin_snapshot_free (PorticoAdminSnapshot *snap);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoAdminSnapshot, portico_admin_snapshot_free)

/* "starting", "serving", "draining", "exited" ("free" for an unused slot). */
const char *portico_admin_state_name (guint32 state);
/* The name of connection state @i: "reading", "active", "waiting", "writing",
 * "keepalive". */
const char *portico_admin_conn_state_name (guint i);
/* The name of phase @i: "init_worker" ... "log". */
const char *portico_admin_phase_name (guint i);

/* The JSON views; see admin.h for the endpoints. */
JsonNode *portico_admin_status_json (const PorticoAdminSnapshot *snap);
JsonNode *portico_admin_workers_json (const PorticoAdminSnapshot *snap);
JsonNode *portico_admin_timers_json (const PorticoAdminSnapshot *snap);

/* GET /traces: {"traces": [summary, ...]}, newest first. */
JsonNode *portico_admin_traces_json (PorticoShm *shm);
/* GET /traces/{id}: the summary, the phase order and every span; NULL
 * when no ring holds a trace of that id (or it is not "SLOT-N"). */
JsonNode *portico_admin_trace_json (PorticoShm *shm, const char *id);

/* Builders the views share: each sets @member, then its value. */
void portico_admin_add_int (JsonBuilder *b, const char *member, gint64 value);
/* A zone counter (unsigned 64-bit) as a JSON integer, capped at 2^63 - 1. */
void portico_admin_add_count (JsonBuilder *b, const char *member, guint64 value);
/* Microseconds as milliseconds (a double). */
void portico_admin_add_ms (JsonBuilder *b, const char *member, guint64 us);
/* RFC 3339 in UTC with milliseconds; null for a time never set. */
void portico_admin_add_time (JsonBuilder *b, const char *member, gint64 us);
/* {"downstream": {"full": n, "resumed": n, "failed": n}, "upstream": {...}} */
void portico_admin_add_tls (JsonBuilder *b, const char *member,
                            const guint64 counts[PORTICO_SHM_TLS_SIDES][PORTICO_SHM_TLS_KINDS]);
/* "slot", "pid", "generation", "state" of a worker. */
void portico_admin_add_worker_identity (JsonBuilder *b, const PorticoAdminWorker *w);
/* "owners": [{"name", "pending", "running", "fired", "run_ms", "max_late_ms"}, ...]
 * for every timer owner the slot names. */
void portico_admin_add_timer_owners (JsonBuilder *b, const PorticoShmSlot *s);
/* "timers": {"pending", "running", "fired"} of the slot, and its owners
 * (as above) when @owners. */
void portico_admin_add_timers (JsonBuilder *b, const PorticoShmSlot *s, gboolean owners);
/* An array of @upstream's targets: {"target", "weight", "health", "counts"}
 * each, as GET /upstreams/{name}/health lists them under "data". */
void portico_admin_add_upstream_targets (JsonBuilder *b, const PorticoUpstream *upstream);
/* An array of the summaries of the newest @limit traced requests (0: all),
 * newest first, as GET /traces lists them. */
void portico_admin_add_trace_summaries (JsonBuilder *b, PorticoShm *shm, guint limit);

/* /upstreams/...: @path is what follows "/upstreams/". Returns the status;
 * *@out the JSON body (200) or NULL, *@message the error's text. */
guint portico_admin_upstreams (const PorticoConfig *config, const char *method, const char *path, JsonNode **out,
                               const char **message);

/* The Prometheus text exposition (format 0.0.4). */
char *portico_admin_metrics_text (const PorticoAdminSnapshot *snap, gsize *length);

G_END_DECLS
