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
 *
 * Then the modules' families: what portico_metric_add() keeps in the shared
 * dictionary, one key per series, "m|T|SERIES" with T 'c' (counter), 'g'
 * (gauge) or 'h' (histogram). A histogram's _bucket series each hold the
 * count of their own bucket only (one addition per observation on the hot
 * path); they are summed up here in le order, and _count is written as
 * that sum, so +Inf always equals _count even when a scrape falls between
 * a module's additions. Series that do not parse, families in Portico's
 * own portico_ namespace, and a family given two types are left out, so a
 * module cannot make the exposition invalid.
 */
#include "admin/admin-private.h"

#include <math.h>
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

  family (out, "portico_tls_handshakes_total", METRIC_COUNTER,
          "TLS handshakes, by side (downstream: clients; upstream: https services) and by how they "
          "ended (full, resumed, failed).");
  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (snap->workers, PorticoAdminWorker, i);
      for (guint side = 0; side < PORTICO_SHM_TLS_SIDES; side++)
        for (guint kind = 0; kind < PORTICO_SHM_TLS_KINDS; kind++)
          {
            g_autofree char *labels = g_strdup_printf ("worker=\"%u\",side=\"%s\",kind=\"%s\"", w->index,
                                                       portico_shm_tls_side_name (side),
                                                       portico_shm_tls_kind_name (kind));
            sample_u64 (out, "portico_tls_handshakes_total", labels, w->slot.tls_handshakes[side][kind]);
          }
    }

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

/* ------------------------------------------------------------------------ */
/* Module metrics */

#define MODULE_METRIC_PREFIX "m|"

typedef enum { SUFFIX_NONE = 0, SUFFIX_BUCKET, SUFFIX_SUM, SUFFIX_COUNT } SampleSuffix;

static const char *const suffix_names[] = { "", "_bucket", "_sum", "_count" };

typedef struct {
  MetricType type;
  char *family;
  SampleSuffix suffix;
  char *labels;      /* as written, without le: "" for none */
  double le;         /* _bucket only */
  char *le_text;
  gint64 value;
} ModuleSample;

static void
module_sample_free (gpointer data)
{
  ModuleSample *m = data;
  g_free (m->family);
  g_free (m->labels);
  g_free (m->le_text);
  g_free (m);
}

static gboolean
is_name_char (char c, gboolean first, gboolean colon)
{
  return g_ascii_isalpha (c) || c == '_' || (colon && c == ':') || (!first && g_ascii_isdigit (c));
}

/* Reads name="value" at *p (the value's escapes must be the format's);
 * sets the spans and moves *p past it. */
static gboolean
parse_label (const char **p, const char **name, gsize *name_len, const char **value, gsize *value_len)
{
  const char *s = *p;

  *name = s;
  while (is_name_char (*s, s == *name, FALSE))
    s++;
  *name_len = (gsize) (s - *name);
  if (*name_len == 0 || s[0] != '=' || s[1] != '"')
    return FALSE;
  s += 2;
  *value = s;
  for (; *s != '"'; s++)
    {
      if (*s == '\0' || *s == '\n')
        return FALSE;
      if (*s == '\\' && s[1] != '\\' && s[1] != '"' && s[1] != 'n')
        return FALSE;
      if (*s == '\\')
        s++;
    }
  *value_len = (gsize) (s - *value);
  *p = s + 1;
  return TRUE;
}

static SampleSuffix
histogram_suffix (const char *name, gsize len)
{
  for (guint i = SUFFIX_BUCKET; i <= SUFFIX_COUNT; i++)
    {
      gsize n = strlen (suffix_names[i]);
      if (len > n && memcmp (name + len - n, suffix_names[i], n) == 0)
        return i;
    }
  return SUFFIX_NONE;
}

/* "m|T|name{labels}" into a sample; NULL when it is not one. */
static ModuleSample *
module_sample_parse (const char *key, gint64 value)
{
  MetricType type;
  switch (key[2])
    {
    case 'c':
      type = METRIC_COUNTER;
      break;
    case 'g':
      type = METRIC_GAUGE;
      break;
    case 'h':
      type = METRIC_HISTOGRAM;
      break;
    default:
      return NULL;
    }
  if (key[3] != '|')
    return NULL;

  const char *name = key + 4, *p = name;
  while (is_name_char (*p, p == name, TRUE))
    p++;
  gsize name_len = (gsize) (p - name);
  if (name_len == 0 || (*p != '{' && *p != '\0'))
    return NULL;
  SampleSuffix suffix = type == METRIC_HISTOGRAM ? histogram_suffix (name, name_len) : SUFFIX_NONE;
  if (type == METRIC_HISTOGRAM && suffix == SUFFIX_NONE)
    return NULL;
  gsize family_len = name_len - strlen (suffix_names[suffix]);
  if (family_len >= 8 && memcmp (name, "portico_", 8) == 0)
    return NULL;

  g_autoptr (GString) labels = g_string_new (NULL);
  g_autofree char *le_text = NULL;
  if (*p == '{')
    {
      p++;
      while (*p != '}')
        {
          const char *lname, *lvalue;
          gsize lname_len, lvalue_len;
          if (!parse_label (&p, &lname, &lname_len, &lvalue, &lvalue_len))
            return NULL;
          if (suffix == SUFFIX_BUCKET && lname_len == 2 && memcmp (lname, "le", 2) == 0)
            le_text = g_strndup (lvalue, lvalue_len);
          else
            {
              if (labels->len > 0)
                g_string_append_c (labels, ',');
              g_string_append_len (labels, lname, (gssize) (p - lname));
            }
          if (*p == ',')
            p++;
          else if (*p != '}')
            return NULL;
        }
      if (p[1] != '\0')
        return NULL;
    }

  double le = 0;
  if (suffix == SUFFIX_BUCKET)
    {
      char *end = NULL;
      if (le_text == NULL)
        return NULL;
      le = strcmp (le_text, "+Inf") == 0 ? INFINITY : g_ascii_strtod (le_text, &end);
      if (!isinf (le) && (end == le_text || *end != '\0' || isnan (le)))
        return NULL;
    }

  ModuleSample *m = g_new0 (ModuleSample, 1);
  m->type = type;
  m->family = g_strndup (name, family_len);
  m->suffix = suffix;
  m->labels = g_string_free (g_steal_pointer (&labels), FALSE);
  m->le = le;
  m->le_text = g_steal_pointer (&le_text);
  m->value = value;
  return m;
}

static void
collect_module_sample (const char *key, gint64 value, gint64 ttl_left_ms, gpointer data)
{
  ModuleSample *m = module_sample_parse (key, value);
  if (m != NULL)
    g_ptr_array_add (data, m);
}

/* By family, then type, then label set, then _bucket (by le), _sum, _count. */
static int
module_sample_compare (gconstpointer a, gconstpointer b)
{
  const ModuleSample *x = *(ModuleSample *const *) a, *y = *(ModuleSample *const *) b;
  int c = strcmp (x->family, y->family);
  if (c == 0)
    c = (int) x->type - (int) y->type;
  if (c == 0)
    c = strcmp (x->labels, y->labels);
  if (c == 0)
    c = (int) x->suffix - (int) y->suffix;
  if (c == 0)
    c = x->le < y->le ? -1 : x->le > y->le;
  return c;
}

static void
module_sample_line (GString *out, const char *family, SampleSuffix suffix, const char *labels,
                    const char *le, gint64 value)
{
  g_string_append (out, family);
  g_string_append (out, suffix_names[suffix]);
  if (labels[0] != '\0' || le != NULL)
    {
      g_string_append_c (out, '{');
      g_string_append (out, labels);
      if (le != NULL)
        g_string_append_printf (out, "%sle=\"%s\"", labels[0] != '\0' ? "," : "", le);
      g_string_append_c (out, '}');
    }
  g_string_append_printf (out, " %" G_GINT64_FORMAT "\n", value);
}

/* One histogram label set: samples[*i] on, all of @family and @labels. */
static void
module_histogram (GString *out, GPtrArray *samples, guint *i)
{
  const ModuleSample *first = g_ptr_array_index (samples, *i);
  gint64 cumulative = 0, sum = 0, count = 0;
  gboolean buckets = FALSE, has_inf = FALSE;

  for (; *i < samples->len; (*i)++)
    {
      const ModuleSample *m = g_ptr_array_index (samples, *i);
      if (strcmp (m->family, first->family) != 0 || m->type != first->type
          || strcmp (m->labels, first->labels) != 0)
        break;
      if (m->suffix == SUFFIX_BUCKET)
        {
          cumulative += m->value;
          buckets = TRUE;
          /* Bounds spelt two ways ("1", "1.0") are one bucket. */
          const ModuleSample *next = *i + 1 < samples->len ? g_ptr_array_index (samples, *i + 1) : NULL;
          if (next != NULL && next->suffix == SUFFIX_BUCKET && next->le == m->le && next->type == m->type
              && strcmp (next->family, m->family) == 0 && strcmp (next->labels, m->labels) == 0)
            continue;
          has_inf = isinf (m->le);
          module_sample_line (out, m->family, SUFFIX_BUCKET, m->labels, has_inf ? "+Inf" : m->le_text, cumulative);
        }
      else if (m->suffix == SUFFIX_SUM)
        sum = m->value;
      else
        count = m->value;
    }
  if (buckets)
    count = cumulative;
  if (!has_inf)
    module_sample_line (out, first->family, SUFFIX_BUCKET, first->labels, "+Inf", count);
  module_sample_line (out, first->family, SUFFIX_SUM, first->labels, NULL, sum);
  module_sample_line (out, first->family, SUFFIX_COUNT, first->labels, NULL, count);
}

/* A counter or gauge named like a histogram family's own series
 * (FAMILY_bucket, _sum, _count) would read as part of it. */
static gboolean
shadows_histogram (GHashTable *histograms, const ModuleSample *m)
{
  gsize len = strlen (m->family);
  SampleSuffix suffix = histogram_suffix (m->family, len);
  if (m->type == METRIC_HISTOGRAM || suffix == SUFFIX_NONE)
    return FALSE;
  g_autofree char *base = g_strndup (m->family, len - strlen (suffix_names[suffix]));
  return g_hash_table_contains (histograms, base);
}

/* Not called yet: portico_admin_metrics_text() only has the snapshot, which
 * does not carry the zone. Wiring it: PorticoAdminSnapshot gets the zone
 * (admin-private.h, set in portico_admin_snapshot_take), and
 * portico_admin_metrics_text() calls module_metrics (out, snap->shm) last. */
static void
module_metrics (GString *out, PorticoShm *shm)
{
  g_autoptr (GPtrArray) samples = g_ptr_array_new_with_free_func (module_sample_free);
  g_autoptr (GHashTable) histograms = g_hash_table_new (g_str_hash, g_str_equal);

  portico_shdict_foreach (shm, MODULE_METRIC_PREFIX, collect_module_sample, samples);
  g_ptr_array_sort (samples, module_sample_compare);
  for (guint i = 0; i < samples->len; i++)
    {
      ModuleSample *m = g_ptr_array_index (samples, i);
      if (m->type == METRIC_HISTOGRAM)
        g_hash_table_add (histograms, m->family);
    }

  for (guint i = 0; i < samples->len;)
    {
      const ModuleSample *head = g_ptr_array_index (samples, i);
      gboolean skip = shadows_histogram (histograms, head);
      if (!skip)
        family (out, head->family, head->type, "Kept by a module (portico_metric_add).");
      while (i < samples->len)
        {
          const ModuleSample *m = g_ptr_array_index (samples, i);
          if (strcmp (m->family, head->family) != 0)
            break;
          /* A second type for the family: the first one stands. */
          if (skip || m->type != head->type)
            i++;
          else if (m->type == METRIC_HISTOGRAM)
            module_histogram (out, samples, &i);
          else
            {
              module_sample_line (out, m->family, SUFFIX_NONE, m->labels, NULL, m->value);
              i++;
            }
        }
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
  module_metrics (out, snap->shm);
  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}
