/* shm.h: the shared-memory zone of a node.
 *
 * The master maps one anonymous shared region (mmap MAP_SHARED|MAP_ANONYMOUS)
 * before it forks anything, so every worker and the admin process see the
 * same bytes at the same address. It holds:
 *   - the node header (master pid, generation, reloads, respawns, the last
 *     reload error);
 *   - one slot per worker, written only by that worker (a sequence counter
 *     lets readers take a consistent copy without a lock);
 *   - a shared dictionary: keyed counters with atomic increment and expiry,
 *     for state that must be the same in every worker (rate-limit counters,
 *     target health).
 * Processes cannot share memory by default; this is how they share some.
 */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/trace.h"

G_BEGIN_DECLS

#define PORTICO_SHM_MAX_WORKERS 256
#define PORTICO_SHM_ERROR_MAX 512
#define PORTICO_SHM_N_CONN_STATES 5 /* reading, active, waiting, writing, keepalive */
#define PORTICO_SHM_N_PHASES 8      /* init_worker .. log, see pdk */
#define PORTICO_SHM_N_BUCKETS 16    /* latency histogram: bucket i counts <= 2^i * 100 us; last: more */
#define PORTICO_SHM_N_OWNERS 16     /* timer owners accounted per worker */
#define PORTICO_SHM_OWNER_NAME 32
#define PORTICO_SHM_TLS_SIDES 2     /* downstream (clients), upstream */
#define PORTICO_SHM_TLS_KINDS 3     /* full, resumed, failed */

typedef enum {
  PORTICO_WORKER_FREE = 0, /* slot unused */
  PORTICO_WORKER_STARTING,
  PORTICO_WORKER_SERVING,
  PORTICO_WORKER_DRAINING,
  PORTICO_WORKER_EXITED,
} PorticoWorkerState;

typedef struct {
  char name[PORTICO_SHM_OWNER_NAME]; /* "core", or a module's name; "" = unused */
  guint32 pending;
  guint32 running;
  guint64 fired;
  guint64 run_us;     /* total time spent running this owner's timers */
  guint64 max_late_us; /* worst lateness seen */
} PorticoShmTimerOwner;

typedef struct {
  /* Written by the worker; readers use portico_shm_slot_read(). */
  volatile guint32 seq; /* odd while the worker writes */
  gint32 pid;
  guint32 generation;
  guint32 state;         /* PorticoWorkerState */
  gint64 started_us;     /* wall clock (g_get_real_time) */
  gint64 updated_us;
  guint32 connections[PORTICO_SHM_N_CONN_STATES];
  guint32 upstream_idle;
  guint32 upstream_busy;
  guint64 accepted;
  guint64 requests;
  guint64 responses[6];  /* [0] none, [1] 1xx ... [5] 5xx */
  guint64 bytes_in;
  guint64 bytes_out;
  guint64 upstream_connects;
  guint64 upstream_reuses;
  guint64 upstream_failures;
  guint64 upstream_timeouts;
  guint64 latency_hist[PORTICO_SHM_N_BUCKETS]; /* request latency */
  guint64 phase_hist[PORTICO_SHM_N_PHASES][PORTICO_SHM_N_BUCKETS];
  /* TLS handshakes: [downstream, upstream][full, resumed, failed] */
  guint64 tls_handshakes[PORTICO_SHM_TLS_SIDES][PORTICO_SHM_TLS_KINDS];
  guint32 loop_lag_us;     /* how late the last lag probe fired */
  guint32 loop_lag_max_us; /* worst since start */
  guint32 timers_pending;
  guint32 timers_running;
  guint64 timers_fired;
  PorticoShmTimerOwner owners[PORTICO_SHM_N_OWNERS];
} PorticoShmSlot;

/* The names of the indexes of tls_handshakes, for the admin's views. */
static inline const char *
portico_shm_tls_side_name (guint side)
{
  static const char *const names[PORTICO_SHM_TLS_SIDES] = { "downstream", "upstream" };
  return side < PORTICO_SHM_TLS_SIDES ? names[side] : "unknown";
}

static inline const char *
portico_shm_tls_kind_name (guint kind)
{
  static const char *const names[PORTICO_SHM_TLS_KINDS] = { "full", "resumed", "failed" };
  return kind < PORTICO_SHM_TLS_KINDS ? names[kind] : "unknown";
}

typedef struct _PorticoShm PorticoShm;

/* Creates the zone: @n_slots worker slots and a dictionary of @dict_capacity
 * entries. Call in the master before forking. */
PorticoShm *portico_shm_new (guint n_slots, guint dict_capacity, GError **error);
void portico_shm_free (PorticoShm *shm);

guint portico_shm_n_slots (PorticoShm *shm);

/* The node header. */
void portico_shm_set_master (PorticoShm *shm, pid_t pid, gint64 started_us);
pid_t portico_shm_master_pid (PorticoShm *shm);
gint64 portico_shm_master_started (PorticoShm *shm);
void portico_shm_set_generation (PorticoShm *shm, guint32 generation);
guint32 portico_shm_generation (PorticoShm *shm);
void portico_shm_count_reload (PorticoShm *shm, gboolean ok, const char *error);
guint64 portico_shm_reloads (PorticoShm *shm);
guint64 portico_shm_reload_failures (PorticoShm *shm);
/* Copies the last reload error ("" when the last reload was good). */
void portico_shm_last_reload_error (PorticoShm *shm, char *buf, gsize size);
void portico_shm_count_respawn (PorticoShm *shm);
guint64 portico_shm_respawns (PorticoShm *shm);

/* A worker's own slot, for writing: begin, change fields, end. */
PorticoShmSlot *portico_shm_slot (PorticoShm *shm, guint index);
void portico_shm_slot_write_begin (PorticoShmSlot *slot);
void portico_shm_slot_write_end (PorticoShmSlot *slot);
/* A consistent copy of a slot (retries while the worker writes). */
void portico_shm_slot_read (PorticoShm *shm, guint index, PorticoShmSlot *copy);

/* Which histogram bucket a duration falls in. */
guint portico_shm_bucket (guint64 us);
/* The upper bound of bucket @i in microseconds (G_MAXUINT64 for the last). */
guint64 portico_shm_bucket_bound (guint i);

/* --- traced requests --- */

#define PORTICO_SHM_TRACES 8 /* the last traced requests kept per worker slot */

/* Keeps @record (its id > 0) in slot @slot's ring. Only that slot's worker
 * calls it. */
void portico_shm_trace_put (PorticoShm *shm, guint slot, const PorticoTraceRecord *record);
/* The highest id put in @slot's ring, 0 when none: a worker that takes
 * over the slot numbers its traces from there. */
guint64 portico_shm_trace_last_id (PorticoShm *shm, guint slot);
/* A consistent copy of entry @index (< PORTICO_SHM_TRACES) of @slot's
 * ring; FALSE when it holds no record. */
gboolean portico_shm_trace_read (PorticoShm *shm, guint slot, guint index, PorticoTraceRecord *out);

/* --- the shared dictionary --- */

#define PORTICO_SHDICT_KEY_MAX 224

typedef enum {
  PORTICO_SHDICT_OK = 0,
  PORTICO_SHDICT_FULL,    /* no room for a new key */
  PORTICO_SHDICT_TOO_LONG, /* key over PORTICO_SHDICT_KEY_MAX - 1 bytes */
} PorticoShdictResult;

/* Adds @delta to @key's counter and returns the new value in *value. A key
 * that is missing or expired starts at 0 and gets @ttl_ms to live (0: no
 * expiry); an existing key keeps its expiry. Safe from any process. */
PorticoShdictResult portico_shdict_incr (PorticoShm *shm, const char *key, gint64 delta, guint ttl_ms,
                                         gint64 *value);
/* Sets the counter (and its expiry: 0 = none). */
PorticoShdictResult portico_shdict_set (PorticoShm *shm, const char *key, gint64 value, guint ttl_ms);
/* The value, or FALSE when missing or expired. *ttl_left_ms: 0 when no expiry. */
gboolean portico_shdict_get (PorticoShm *shm, const char *key, gint64 *value, gint64 *ttl_left_ms);
gboolean portico_shdict_delete (PorticoShm *shm, const char *key);
/* Live entries and capacity. */
void portico_shdict_usage (PorticoShm *shm, guint *used, guint *capacity);

/* Called for each entry by portico_shdict_foreach(): @ttl_left_ms is 0
 * when the key never expires. */
typedef void (*PorticoShdictFunc) (const char *key, gint64 value, gint64 ttl_left_ms, gpointer data);
/* Calls @func for every live, unexpired key that starts with @prefix (""
 * for all), in no particular order, and returns how many. The matching
 * entries are copied under the lock, all at one instant, and @func runs
 * after the lock is released, so it may use the dictionary itself. Reads
 * the whole table: for the admin process, not for a request's path. */
guint portico_shdict_foreach (PorticoShm *shm, const char *prefix, PorticoShdictFunc func, gpointer data);

G_END_DECLS
