/* admin-views.c: the zone read into a snapshot, and the JSON views of it
 * (GET /status, /workers, /timers). */
#include "admin/admin-private.h"
#include "pdk/module-loader.h"

#include <string.h>

static const char *const conn_state_names[PORTICO_SHM_N_CONN_STATES] = {
  "reading", "active", "waiting", "writing", "keepalive",
};


const char *
portico_admin_state_name (guint32 state)
{
  switch ((PorticoWorkerState) state)
    {
    case PORTICO_WORKER_FREE:
      return "free";
    case PORTICO_WORKER_STARTING:
      return "starting";
    case PORTICO_WORKER_SERVING:
      return "serving";
    case PORTICO_WORKER_DRAINING:
      return "draining";
    case PORTICO_WORKER_EXITED:
      return "exited";
    }
  return "unknown";
}

const char *
portico_admin_conn_state_name (guint i)
{
  g_return_val_if_fail (i < PORTICO_SHM_N_CONN_STATES, "unknown");
  return conn_state_names[i];
}

const char *
portico_admin_phase_name (guint i)
{
  G_STATIC_ASSERT (PORTICO_SHM_N_PHASES == PORTICO_N_PHASES);
  return portico_phase_name ((PorticoPhase) i);
}

PorticoAdminSnapshot *
portico_admin_snapshot_take (PorticoShm *shm, const PorticoConfig *config)
{
  PorticoAdminSnapshot *snap = portico_admin_snapshot_take_slots (shm, config);

  portico_shdict_usage (shm, &snap->shdict_used, &snap->shdict_capacity);
  return snap;
}

PorticoAdminSnapshot *
portico_admin_snapshot_take_slots (PorticoShm *shm, const PorticoConfig *config)
{
  PorticoAdminSnapshot *snap = g_new0 (PorticoAdminSnapshot, 1);

  snap->now_us = g_get_real_time ();
  snap->shm = shm;
  snap->master_pid = portico_shm_master_pid (shm);
  snap->master_started_us = portico_shm_master_started (shm);
  snap->generation = portico_shm_generation (shm);
  snap->reloads = portico_shm_reloads (shm);
  snap->reload_failures = portico_shm_reload_failures (shm);
  snap->respawns = portico_shm_respawns (shm);
  portico_shm_last_reload_error (shm, snap->last_reload_error, sizeof snap->last_reload_error);
  snap->workers_configured = config->node.workers != 0 ? config->node.workers : g_get_num_processors ();

  guint n = portico_shm_n_slots (shm);
  snap->workers = g_array_sized_new (FALSE, FALSE, sizeof (PorticoAdminWorker), MIN (n, 16));
  for (guint i = 0; i < n; i++)
    {
      PorticoAdminWorker w = { .index = i };
      portico_shm_slot_read (shm, i, &w.slot);
      if (w.slot.state != PORTICO_WORKER_FREE)
        g_array_append_val (snap->workers, w);
    }
  return snap;
}

void
portico_admin_snapshot_free (PorticoAdminSnapshot *snap)
{
  if (snap == NULL)
    return;
  g_array_unref (snap->workers);
  g_free (snap);
}

/* ------------------------------------------------------------------------ */
/* Builders */

void
portico_admin_add_int (JsonBuilder *b, const char *member, gint64 value)
{
  json_builder_set_member_name (b, member);
  json_builder_add_int_value (b, value);
}

/* Counters are unsigned 64-bit in the zone; JSON readers take them as
 * signed, which holds until 2^63. */
void
portico_admin_add_count (JsonBuilder *b, const char *member, guint64 value)
{
  portico_admin_add_int (b, member, (gint64) MIN (value, (guint64) G_MAXINT64));
}

void
portico_admin_add_ms (JsonBuilder *b, const char *member, guint64 us)
{
  json_builder_set_member_name (b, member);
  json_builder_add_double_value (b, (double) us / 1000.0);
}

void
portico_admin_add_time (JsonBuilder *b, const char *member, gint64 us)
{
  json_builder_set_member_name (b, member);
  if (us <= 0)
    {
      json_builder_add_null_value (b);
      return;
    }
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (us / G_USEC_PER_SEC);
  if (dt == NULL)
    {
      json_builder_add_null_value (b);
      return;
    }
  g_autofree char *base = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S");
  g_autofree char *text = g_strdup_printf ("%s.%03dZ", base, (int) (us % G_USEC_PER_SEC / 1000));
  json_builder_add_string_value (b, text);
}

/* {"reading": n, ..., "keepalive": n, "total": n} */
static void
add_connections (JsonBuilder *b, const char *member, const guint64 counts[PORTICO_SHM_N_CONN_STATES])
{
  guint64 total = 0;

  json_builder_set_member_name (b, member);
  json_builder_begin_object (b);
  for (guint i = 0; i < PORTICO_SHM_N_CONN_STATES; i++)
    {
      portico_admin_add_count (b, conn_state_names[i], counts[i]);
      total += counts[i];
    }
  portico_admin_add_count (b, "total", total);
  json_builder_end_object (b);
}

/* {"1xx": n, ..., "5xx": n}; responses[0] (none sent) is left out. */
static void
add_responses (JsonBuilder *b, const guint64 responses[6])
{
  json_builder_set_member_name (b, "responses");
  json_builder_begin_object (b);
  for (guint c = 1; c <= 5; c++)
    {
      char name[4] = { (char) ('0' + c), 'x', 'x', '\0' };
      portico_admin_add_count (b, name, responses[c]);
    }
  json_builder_end_object (b);
}

void
portico_admin_add_tls (JsonBuilder *b, const char *member,
                       const guint64 counts[PORTICO_SHM_TLS_SIDES][PORTICO_SHM_TLS_KINDS])
{
  json_builder_set_member_name (b, member);
  json_builder_begin_object (b);
  for (guint side = 0; side < PORTICO_SHM_TLS_SIDES; side++)
    {
      json_builder_set_member_name (b, portico_shm_tls_side_name (side));
      json_builder_begin_object (b);
      for (guint kind = 0; kind < PORTICO_SHM_TLS_KINDS; kind++)
        portico_admin_add_count (b, portico_shm_tls_kind_name (kind), counts[side][kind]);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
}

void
portico_admin_add_timer_owners (JsonBuilder *b, const PorticoShmSlot *s)
{
  json_builder_set_member_name (b, "owners");
  json_builder_begin_array (b);
  for (guint o = 0; o < PORTICO_SHM_N_OWNERS; o++)
    {
      const PorticoShmTimerOwner *owner = &s->owners[o];
      /* A name that fills the field has no NUL. */
      gsize len = strnlen (owner->name, sizeof owner->name);
      if (len == 0)
        continue;
      g_autofree char *name = g_strndup (owner->name, len);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, g_utf8_validate (name, -1, NULL) ? name : "?");
      portico_admin_add_count (b, "pending", owner->pending);
      portico_admin_add_count (b, "running", owner->running);
      portico_admin_add_count (b, "fired", owner->fired);
      portico_admin_add_ms (b, "run_ms", owner->run_us);
      portico_admin_add_ms (b, "max_late_ms", owner->max_late_us);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

void
portico_admin_add_timers (JsonBuilder *b, const PorticoShmSlot *s, gboolean owners)
{
  json_builder_set_member_name (b, "timers");
  json_builder_begin_object (b);
  portico_admin_add_count (b, "pending", s->timers_pending);
  portico_admin_add_count (b, "running", s->timers_running);
  portico_admin_add_count (b, "fired", s->timers_fired);
  if (owners)
    portico_admin_add_timer_owners (b, s);
  json_builder_end_object (b);
}

void
portico_admin_add_worker_identity (JsonBuilder *b, const PorticoAdminWorker *w)
{
  portico_admin_add_int (b, "slot", w->index);
  portico_admin_add_int (b, "pid", w->slot.pid);
  portico_admin_add_int (b, "generation", w->slot.generation);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, portico_admin_state_name (w->slot.state));
}

static void
add_worker (JsonBuilder *b, const PorticoAdminWorker *w)
{
  const PorticoShmSlot *s = &w->slot;
  guint64 conns[PORTICO_SHM_N_CONN_STATES];

  json_builder_begin_object (b);
  portico_admin_add_worker_identity (b, w);
  portico_admin_add_time (b, "started", s->started_us);
  portico_admin_add_time (b, "updated", s->updated_us);
  for (guint i = 0; i < PORTICO_SHM_N_CONN_STATES; i++)
    conns[i] = s->connections[i];
  add_connections (b, "connections", conns);
  portico_admin_add_count (b, "accepted", s->accepted);
  portico_admin_add_count (b, "requests", s->requests);
  add_responses (b, s->responses);
  portico_admin_add_count (b, "bytes_in", s->bytes_in);
  portico_admin_add_count (b, "bytes_out", s->bytes_out);

  json_builder_set_member_name (b, "upstream");
  json_builder_begin_object (b);
  portico_admin_add_count (b, "connects", s->upstream_connects);
  portico_admin_add_count (b, "reuses", s->upstream_reuses);
  portico_admin_add_count (b, "failures", s->upstream_failures);
  portico_admin_add_count (b, "timeouts", s->upstream_timeouts);
  portico_admin_add_count (b, "idle", s->upstream_idle);
  portico_admin_add_count (b, "busy", s->upstream_busy);
  json_builder_end_object (b);
  portico_admin_add_tls (b, "tls_handshakes", s->tls_handshakes);

  portico_admin_add_ms (b, "loop_lag_ms", s->loop_lag_us);
  portico_admin_add_ms (b, "loop_lag_max_ms", s->loop_lag_max_us);

  portico_admin_add_timers (b, s, FALSE);
  json_builder_end_object (b);
}

static void
add_workers (JsonBuilder *b, const PorticoAdminSnapshot *snap)
{
  json_builder_begin_array (b);
  for (guint i = 0; i < snap->workers->len; i++)
    add_worker (b, &g_array_index (snap->workers, PorticoAdminWorker, i));
  json_builder_end_array (b);
}

/* ------------------------------------------------------------------------ */
/* The views */

JsonNode *
portico_admin_workers_json (const PorticoAdminSnapshot *snap)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  add_workers (b, snap);
  return json_builder_get_root (b);
}

JsonNode *
portico_admin_status_json (const PorticoAdminSnapshot *snap)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "node");
  json_builder_begin_object (b);
  portico_admin_add_int (b, "master_pid", snap->master_pid);
  portico_admin_add_int (b, "generation", snap->generation);
  portico_admin_add_time (b, "started", snap->master_started_us);
  portico_admin_add_int (b, "uptime_s", snap->master_started_us > 0 && snap->now_us > snap->master_started_us
                            ? (snap->now_us - snap->master_started_us) / G_USEC_PER_SEC
                            : 0);
  portico_admin_add_count (b, "reloads", snap->reloads);
  portico_admin_add_count (b, "reload_failures", snap->reload_failures);
  json_builder_set_member_name (b, "last_reload_error");
  if (snap->last_reload_error[0] != '\0')
    json_builder_add_string_value (b, snap->last_reload_error);
  else
    json_builder_add_null_value (b);
  portico_admin_add_count (b, "respawns", snap->respawns);
  portico_admin_add_int (b, "workers_configured", snap->workers_configured);
  json_builder_set_member_name (b, "shdict");
  json_builder_begin_object (b);
  portico_admin_add_int (b, "entries", snap->shdict_used);
  portico_admin_add_int (b, "capacity", snap->shdict_capacity);
  json_builder_end_object (b);
  json_builder_end_object (b);

  json_builder_set_member_name (b, "workers");
  add_workers (b, snap);

  guint64 requests = 0, conns[PORTICO_SHM_N_CONN_STATES] = { 0 }, responses[6] = { 0 };
  guint64 tls[PORTICO_SHM_TLS_SIDES][PORTICO_SHM_TLS_KINDS] = { { 0 } };
  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoShmSlot *s = &g_array_index (snap->workers, PorticoAdminWorker, i).slot;
      requests += s->requests;
      for (guint side = 0; side < PORTICO_SHM_TLS_SIDES; side++)
        for (guint kind = 0; kind < PORTICO_SHM_TLS_KINDS; kind++)
          tls[side][kind] += s->tls_handshakes[side][kind];
      for (guint c = 0; c < PORTICO_SHM_N_CONN_STATES; c++)
        conns[c] += s->connections[c];
      for (guint c = 0; c < 6; c++)
        responses[c] += s->responses[c];
    }
  json_builder_set_member_name (b, "totals");
  json_builder_begin_object (b);
  portico_admin_add_count (b, "requests", requests);
  add_responses (b, responses);
  add_connections (b, "connections", conns);
  portico_admin_add_tls (b, "tls_handshakes", (const guint64 (*)[PORTICO_SHM_TLS_KINDS]) tls);
  json_builder_end_object (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

JsonNode *
portico_admin_timers_json (const PorticoAdminSnapshot *snap)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_array (b);
  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (snap->workers, PorticoAdminWorker, i);
      const PorticoShmSlot *s = &w->slot;

      json_builder_begin_object (b);
      portico_admin_add_worker_identity (b, w);
      portico_admin_add_count (b, "pending", s->timers_pending);
      portico_admin_add_count (b, "running", s->timers_running);
      portico_admin_add_count (b, "fired", s->timers_fired);
      portico_admin_add_timer_owners (b, s);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  return json_builder_get_root (b);
}
