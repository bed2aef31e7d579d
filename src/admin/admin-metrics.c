/* admin-metrics.c: GET /metrics, the snapshot in Prometheus text exposition
 * format 0.0.4.
 *
 * Every family has one HELP and one TYPE line before its samples. Per-worker
 * series carry worker="SLOT" (the slot index: stable across respawns, unlike
 * a pid); a respawned worker starts its counters again at zero, which
 * Prometheus reads as a counter reset. Slots that are FREE are left out;
 * EXITED ones stay until the slot is reused, so their last counts are not
 * lost to a scrape that comes late.
 *
 * The latency histograms come from the zone's fixed buckets (bucket i counts
 * durations <= portico_shm_bucket_bound (i) microseconds). The zone keeps no
 * sum of durations, so _sum is estimated: each bucket's count times the middle
 * of its range, and the lower bound for the last, open-ended bucket. It is
 * good enough for an average over time (rate of _sum / rate of _count), not
 * for exact totals.
 */
#include "admin/admin-private.h"

#include <string.h>

typedef enum {
  METRIC_COUNTER,
  METRIC_GAUGE,
  METRIC_HISTOGRAM,
} MetricType;

static const char *const type_names[] = { "counter", "gauge", "histogram" };

static void
family (GString *out, const char *name, MetricType type, const char *help)
{
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type_names[type]);
}

/* A label value: backslash, double quote and newline escaped, as the format
 * requires. */
static void
append_label_value (GString *out, const char *value)
{
  for (const char *p = value; *p != '\0'; p++)
    switch (*p)
      {
      case '\\':
        g_string_append (out, "\\\\");
        break;
      case '"':
        g_string_append (out, "\\\"");
        break;
      case '\n':
        g_string_append (out, "\\n");
        break;
      default:
        g_string_append_c (out, *p);
      }
}

/* name{labels} value; @labels is already formatted (may be "" for none). */
static void
sample_u64 (GString *out, const char *name, const char *labels, guint64 value)
{
  if (labels[0] != '\0')
    g_string_append_printf (out, "%s{%s} %" G_GUINT64_FORMAT "\n", name, labels, value);
  else
    g_string_append_printf (out, "%s %" G_GUINT64_FORMAT "\n", name, value);
}

/* Microseconds as seconds, exactly and without a float on the way: 1500 is
 * "0.0015", 2000000 is "2". (Also immune to a locale's decimal comma.) */
static void
format_seconds (char *buf, gsize size, guint64 us)
{
  guint64 whole = us / G_USEC_PER_SEC;
  guint frac = (guint) (us % G_USEC_PER_SEC);

  if (frac == 0)
    {
      g_snprintf (buf, size, "%" G_GUINT64_FORMAT, whole);
      return;
    }
  g_snprintf (buf, size, "%" G_GUINT64_FORMAT ".%06u", whole, frac);
  gsize len = strlen (buf);
  while (buf[len - 1] == '0')
    buf[--len] = '\0';
}

static void
sample_seconds (GString *out, const char *name, const char *labels, guint64 us)
{
  char buf[48];

  format_seconds (buf, sizeof buf, us);
  if (labels[0] != '\0')
    g_string_append_printf (out, "%s{%s} %s\n", name, labels, buf);
  else
    g_string_append_printf (out, "%s %s\n", name, buf);
}

static char *
worker_label (const PorticoAdminWorker *w)
{
  return g_strdup_printf ("worker=\"%u\"", w->index);
}

/* worker="N",KEY="VALUE" */
static char *
worker_label_with (const PorticoAdminWorker *w, const char *key, const char *value)
{
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "worker=\"%u\",%s=\"", w->index, key);
  append_label_value (s, value);
  g_string_append_c (s, '"');
  return g_string_free (s, FALSE);
}

static void
histogram (GString *out, const char *name, const char *labels, const guint64 buckets[PORTICO_SHM_N_BUCKETS])
{
  g_autofree char *bucket_name = g_strconcat (name, "_bucket", NULL);
  g_autofree char *sum_name = g_strconcat (name, "_sum", NULL);
  g_autofree char *count_name = g_strconcat (name, "_count", NULL);
  guint64 cumulative = 0, lower = 0, sum_us = 0;

  for (guint i = 0; i < PORTICO_SHM_N_BUCKETS; i++)
    {
      guint64 upper = portico_shm_bucket_bound (i);
      gboolean last = i == PORTICO_SHM_N_BUCKETS - 1 || upper == G_MAXUINT64;
      char le[48];

      cumulative += buckets[i];
      if (last)
        {
          /* Anything counted past an open bound belongs to +Inf too. */
          for (guint j = i + 1; j < PORTICO_SHM_N_BUCKETS; j++)
            cumulative += buckets[j];
          sum_us += buckets[i] * lower;
          g_strlcpy (le, "+Inf", sizeof le);
        }
      else
        {
          sum_us += buckets[i] * ((lower + upper) / 2);
          format_seconds (le, sizeof le, upper);
        }
      g_autofree char *l = g_strdup_printf ("%s,le=\"%s\"", labels, le);
      sample_u64 (out, bucket_name, l, cumulative);
      if (last)
        break;
      lower = upper;
    }
  sample_seconds (out, sum_name, labels, sum_us);
  sample_u64 (out, count_name, labels, cumulative);
}

/* One family with one sample per worker, read from the slot by @get. */
typedef guint64 (*SlotField) (const PorticoShmSlot *s);

static void
per_worker (GString *out, const PorticoAdminSnapshot *snap, const char *name, MetricType type,
            const char *help, SlotField get)
{
  family (out, name, type, help);
  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (snap->workers, PorticoAdminWorker, i);
      g_autofree char *labels = worker_label (w);
      sample_u64 (out, name, labels, get (&w->slot));
    }
}

static guint64 get_requests (const PorticoShmSlot *s) { return s->requests; }
static guint64 get_accepted (const PorticoShmSlot *s) { return s->accepted; }
static guint64 get_bytes_in (const PorticoShmSlot *s) { return s->bytes_in; }
static guint64 get_bytes_out (const PorticoShmSlot *s) { return s->bytes_out; }
static guint64 get_up_connects (const PorticoShmSlot *s) { return s->upstream_connects; }
static guint64 get_up_reuses (const PorticoShmSlot *s) { return s->upstream_reuses; }
static guint64 get_up_failures (const PorticoShmSlot *s) { return s->upstream_failures; }
static guint64 get_up_timeouts (const PorticoShmSlot *s) { return s->upstream_timeouts; }
static guint64 get_timers_fired (const PorticoShmSlot *s) { return s->timers_fired; }

static void
node_metrics (GString *out, const PorticoAdminSnapshot *snap)
{
  family (out, "portico_generation", METRIC_GAUGE, "The configuration generation the node serves.");
  sample_u64 (out, "portico_generation", "", snap->generation);

  family (out, "portico_start_time_seconds", METRIC_GAUGE,
          "When the master process started, in seconds since the Unix epoch.");
  sample_seconds (out, "portico_start_time_seconds", "", (guint64) MAX (snap->master_started_us, 0));

  family (out, "portico_worker_respawns_total", METRIC_COUNTER,
          "Workers the master started again after they died.");
  sample_u64 (out, "portico_worker_respawns_total", "", snap->respawns);

  family (out, "portico_reloads_total", METRIC_COUNTER,
          "Configuration reloads, by result (failed: the old generation kept serving).");
  guint64 failed = MIN (snap->reload_failures, snap->reloads);
  sample_u64 (out, "portico_reloads_total", "result=\"ok\"", snap->reloads - failed);
  sample_u64 (out, "portico_reloads_total", "result=\"failed\"", failed);

  family (out, "portico_workers", METRIC_GAUGE, "Worker slots in use, by state.");
  for (guint32 state = PORTICO_WORKER_STARTING; state <= PORTICO_WORKER_EXITED; state++)
    {
      guint64 n = 0;
      for (guint i = 0; i < snap->workers->len; i++)
        n += g_array_index (snap->workers, PorticoAdminWorker, i).slot.state == state;
      g_autofree char *labels = g_strdup_printf ("state=\"%s\"", portico_admin_state_name (state));
      sample_u64 (out, "portico_workers", labels, n);
    }

  family (out, "portico_shdict_entries", METRIC_GAUGE, "Live entries in the shared dictionary.");
  sample_u64 (out, "portico_shdict_entries", "", snap->shdict_used);
  family (out, "portico_shdict_capacity", METRIC_GAUGE, "Entries the shared dictionary can hold.");
  sample_u64 (out, "portico_shdict_capacity", "", snap->shdict_capacity);
}

static void
traffic_metrics (GString *out, const PorticoAdminSnapshot *snap)
{
  per_worker (out, snap, "portico_requests_total", METRIC_COUNTER, "Requests read from clients.",
              get_requests);

  family (out, "portico_responses_total", METRIC_COUNTER, "Responses sent to clients, by status class.");
  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (snap->workers, PorticoAdminWorker, i);
      for (guint c = 1; c <= 5; c++)
        {
          char class[4] = { (char) ('0' + c), 'x', 'x', '\0' };
          g_autofree char *labels = worker_label_with (w, "class", class);
          sample_u64 (out, "portico_responses_total", labels, w->slot.responses[c]);
        }
    }

  family (out, "portico_connections", METRIC_GAUGE, "Open client connections, by state.");
  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (snap->workers, PorticoAdminWorker, i);
      for (guint c = 0; c < PORTICO_SHM_N_CONN_STATES; c++)
        {
          g_autofree char *labels = worker_label_with (w, "state", portico_admin_conn_state_name (c));
          sample_u64 (out, "portico_connections", labels, w->slot.connections[c]);
        }
    }

  per_worker (out, snap, "portico_connections_accepted_total", METRIC_COUNTER,
              "Client connections accepted.", get_accepted);
  per_worker (out, snap, "portico_received_bytes_total", METRIC_COUNTER, "Bytes read from clients.",
              get_bytes_in);
  per_worker (out, snap, "portico_sent_bytes_total", METRIC_COUNTER, "Bytes written to clients.",
              get_bytes_out);

  family (out, "portico_request_duration_seconds", METRIC_HISTOGRAM,
          "Request latency, from the request's first byte to its last response byte "
          "(_sum is estimated from the bucket midpoints).");
  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (snap->workers, PorticoAdminWorker, i);
      g_autofree char *labels = worker_label (w);
      histogram (out, "portico_request_duration_seconds", labels, w->slot.latency_hist);
    }

  family (out, "portico_phase_duration_seconds", METRIC_HISTOGRAM,
          "Time spent in each request phase's handlers "
          "(_sum is estimated from the bucket midpoints).");
  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (snap->workers, PorticoAdminWorker, i);
      for (guint p = 0; p < PORTICO_SHM_N_PHASES; p++)
        {
          g_autofree char *labels = worker_label_with (w, "phase", portico_admin_phase_name (p));
          histogram (out, "portico_phase_duration_seconds", labels, w->slot.phase_hist[p]);
        }
    }
}

static void
upstream_metrics (GString *out, const PorticoAdminSnapshot *snap)
{
  per_worker (out, snap, "portico_upstream_connects_total", METRIC_COUNTER,
              "New connections opened to upstream targets.", get_up_connects);
  per_worker (out, snap, "portico_upstream_reuses_total", METRIC_COUNTER,
              "Requests sent on a kept-alive upstream connection.", get_up_reuses);
  per_worker (out, snap, "portico_upstream_failures_total", METRIC_COUNTER,
              "Upstream connections or exchanges that failed.", get_up_failures);
  per_worker (out, snap, "portico_upstream_timeouts_total", METRIC_COUNTER,
              "Upstream connects, writes or reads that timed out.", get_up_timeouts);

  family (out, "portico_upstream_connections", METRIC_GAUGE,
          "Upstream connections held, idle in the keep-alive pool or busy with a request.");
  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (snap->workers, PorticoAdminWorker, i);
      g_autofree char *idle = worker_label_with (w, "state", "idle");
      g_autofree char *busy = worker_label_with (w, "state", "busy");
      sample_u64 (out, "portico_upstream_connections", idle, w->slot.upstream_idle);
      sample_u64 (out, "portico_upstream_connections", busy, w->slot.upstream_busy);
    }
}

/* One sample per worker and timer owner; @field picks the figure. */
typedef enum { OWNER_PENDING, OWNER_RUNNING, OWNER_FIRED } OwnerField;

static void
per_owner (GString *out, const PorticoAdminSnapshot *snap, const char *name, MetricType type,
           const char *help, OwnerField field)
{
  family (out, name, type, help);
  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (snap->workers, PorticoAdminWorker, i);
      for (guint o = 0; o < PORTICO_SHM_N_OWNERS; o++)
        {
          const PorticoShmTimerOwner *owner = &w->slot.owners[o];
          gsize len = strnlen (owner->name, sizeof owner->name);
          if (len == 0)
            continue;
          g_autofree char *owner_name = g_strndup (owner->name, len);
          if (!g_utf8_validate (owner_name, -1, NULL))
            continue;
          g_autofree char *labels = worker_label_with (w, "owner", owner_name);
          guint64 v = field == OWNER_PENDING ? owner->pending
                      : field == OWNER_RUNNING ? owner->running
                                               : owner->fired;
          sample_u64 (out, name, labels, v);
        }
    }
}

static void
loop_metrics (GString *out, const PorticoAdminSnapshot *snap)
{
  per_owner (out, snap, "portico_timers_pending", METRIC_GAUGE, "Timers waiting to fire, by owner.",
             OWNER_PENDING);
  per_owner (out, snap, "portico_timers_running", METRIC_GAUGE, "Timer callbacks running, by owner.",
             OWNER_RUNNING);
  per_owner (out, snap, "portico_timers_fired_total", METRIC_COUNTER, "Timers fired, by owner.",
             OWNER_FIRED);
  per_worker (out, snap, "portico_worker_timers_fired_total", METRIC_COUNTER,
              "Timers fired in the worker, all owners together.", get_timers_fired);

  family (out, "portico_loop_lag_seconds", METRIC_GAUGE,
          "How late the worker's last event-loop probe fired: time the loop was busy.");
  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (snap->workers, PorticoAdminWorker, i);
      g_autofree char *labels = worker_label (w);
      sample_seconds (out, "portico_loop_lag_seconds", labels, w->slot.loop_lag_us);
    }
  family (out, "portico_loop_lag_max_seconds", METRIC_GAUGE,
          "The worst event-loop lag seen since the worker started.");
  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (snap->workers, PorticoAdminWorker, i);
      g_autofree char *labels = worker_label (w);
      sample_seconds (out, "portico_loop_lag_max_seconds", labels, w->slot.loop_lag_max_us);
    }
}

char *
portico_admin_metrics_text (const PorticoAdminSnapshot *snap, gsize *length)
{
  GString *out = g_string_sized_new (8192 + snap->workers->len * 16384);

  node_metrics (out, snap);
  traffic_metrics (out, snap);
  upstream_metrics (out, snap);
  loop_metrics (out, snap);
  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}
