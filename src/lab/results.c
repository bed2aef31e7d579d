/* lab/results.c: the results model's life and its JSON report (see
 * results.h). */
#include "lab/expect.h"
#include "node/shm.h"

#include <math.h>
#include <string.h>

/* ---- results ------------------------------------------------------------------------- */

static void
traffic_figures_free (gpointer data)
{
  PorticoTrafficFigures *f = data;

  g_free (f->name);
  g_array_unref (f->status);
  g_hash_table_unref (f->headers_seen);
  g_array_unref (f->seconds);
  g_free (f);
}

static PorticoTrafficFigures *
traffic_figures_new (const char *name)
{
  PorticoTrafficFigures *f = g_new0 (PorticoTrafficFigures, 1);

  f->name = g_strdup (name);
  f->status = g_array_new (FALSE, FALSE, sizeof (PorticoStatusCount));
  f->headers_seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  f->seconds = g_array_new (FALSE, TRUE, sizeof (PorticoResultSecond));
  f->rps = f->p50_ms = f->p90_ms = f->p99_ms = f->p999_ms = f->max_ms = NAN;
  return f;
}

static void
node_figures_free (gpointer data)
{
  PorticoNodeFigures *n = data;

  g_free (n->node);
  g_clear_pointer (&n->timers_by_owner_max, g_hash_table_unref);
  g_free (n);
}

static void
span_free (gpointer data)
{
  PorticoTraceSpan *span = data;

  g_free (span->name);
  g_free (span->category);
  g_free (span->node);
  g_free (span->phase);
  g_free (span->result);
  g_free (span);
}

static void
event_record_free (gpointer data)
{
  PorticoEventRecord *record = data;

  g_free (record->what);
  g_free (record->detail);
  g_free (record);
}

static void
narration_record_free (gpointer data)
{
  PorticoNarrationRecord *record = data;

  g_free (record->say);
  g_free (record);
}

static void
variant_results_free (gpointer data)
{
  PorticoVariantResults *v = data;

  g_free (v->variant);
  traffic_figures_free (v->overall);
  g_ptr_array_unref (v->traffic);
  g_ptr_array_unref (v->nodes);
  g_strfreev (v->phases);
  g_ptr_array_unref (v->spans);
  g_free (v->trace_id);
  g_clear_pointer (&v->upstream_received, g_hash_table_unref);
  g_clear_pointer (&v->service_requests, g_hash_table_unref);
  g_ptr_array_unref (v->events);
  g_ptr_array_unref (v->narration);
  g_free (v);
}

PorticoResults *
portico_results_new (const char *scenario)
{
  PorticoResults *results = g_new0 (PorticoResults, 1);

  results->scenario = g_strdup (scenario);
  results->variants = g_ptr_array_new_with_free_func (variant_results_free);
  return results;
}

void
portico_results_free (PorticoResults *results)
{
  if (!results)
    return;
  g_free (results->scenario);
  g_ptr_array_unref (results->variants);
  g_free (results);
}

PorticoVariantResults *
portico_results_add_variant (PorticoResults *results, const char *variant)
{
  PorticoVariantResults *v = g_new0 (PorticoVariantResults, 1);

  v->variant = g_strdup (variant);
  v->overall = traffic_figures_new ("overall");
  v->traffic = g_ptr_array_new_with_free_func (traffic_figures_free);
  v->nodes = g_ptr_array_new_with_free_func (node_figures_free);
  v->spans = g_ptr_array_new_with_free_func (span_free);
  v->trace_at_s = NAN;
  v->events = g_ptr_array_new_with_free_func (event_record_free);
  v->narration = g_ptr_array_new_with_free_func (narration_record_free);
  g_ptr_array_add (results->variants, v);
  return v;
}

PorticoVariantResults *
portico_results_find_variant (const PorticoResults *results, const char *variant)
{
  for (guint i = 0; i < results->variants->len; i++) {
    PorticoVariantResults *v = g_ptr_array_index (results->variants, i);

    if (g_str_equal (v->variant, variant))
      return v;
  }
  return NULL;
}

PorticoTrafficFigures *
portico_variant_results_add_traffic (PorticoVariantResults *v, const char *name)
{
  PorticoTrafficFigures *f = traffic_figures_new (name);

  g_ptr_array_add (v->traffic, f);
  return f;
}

PorticoTrafficFigures *
portico_variant_results_find_traffic (const PorticoVariantResults *v, const char *name)
{
  if (g_str_equal (name, "overall"))
    return v->overall;
  for (guint i = 0; i < v->traffic->len; i++) {
    PorticoTrafficFigures *f = g_ptr_array_index (v->traffic, i);

    if (g_str_equal (f->name, name))
      return f;
  }
  return NULL;
}

PorticoNodeFigures *
portico_variant_results_add_node (PorticoVariantResults *v, const char *node)
{
  PorticoNodeFigures *n = g_new0 (PorticoNodeFigures, 1);

  n->node = g_strdup (node);
  n->workers_respawned = n->reloads = n->reload_failures = n->timers_pending_max = -1;
  n->upstream_connects = n->upstream_reuses = n->upstream_failures = n->requests = -1;
  n->loop_lag_max_ms = NAN;
  for (guint side = 0; side < PORTICO_NODE_TLS_SIDES; side++) {
    for (guint kind = 0; kind < PORTICO_TRAFFIC_TLS_KINDS; kind++)
      n->tls_handshakes[side][kind] = -1;
  }
  g_ptr_array_add (v->nodes, n);
  return n;
}

void
portico_variant_results_add_span (PorticoVariantResults *v, const char *name, const char *category,
                                  const char *node, const char *phase, const char *result,
                                  double start_ms, double duration_ms)
{
  PorticoTraceSpan *span = g_new0 (PorticoTraceSpan, 1);

  span->name = g_strdup (name);
  span->category = g_strdup (category);
  span->node = g_strdup (node);
  span->phase = g_strdup (phase);
  span->result = g_strdup (result);
  span->start_ms = start_ms;
  span->duration_ms = duration_ms;
  g_ptr_array_add (v->spans, span);
}

void
portico_variant_results_set_received (PorticoVariantResults *v, const char *traffic, JsonNode *echo)
{
  if (!v->upstream_received)
    v->upstream_received = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                  (GDestroyNotify) json_node_unref);
  g_hash_table_replace (v->upstream_received, g_strdup (traffic), echo);
}

void
portico_variant_results_set_service_requests (PorticoVariantResults *v, const char *service, guint instance,
                                              gint64 requests)
{
  if (!v->service_requests)
    v->service_requests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_replace (v->service_requests, g_strdup_printf ("%s#%u", service, instance),
                        g_memdup2 (&requests, sizeof requests));
}

gint64
portico_variant_results_service_requests (const PorticoVariantResults *v, const char *service, gint instance)
{
  GHashTableIter it;
  gpointer key, value;
  g_autofree char *prefix = g_strdup_printf ("%s#", service);
  gint64 total = -1;

  if (!v->service_requests)
    return -1;
  g_hash_table_iter_init (&it, v->service_requests);
  while (g_hash_table_iter_next (&it, &key, &value)) {
    const char *name = key;

    if (!g_str_has_prefix (name, prefix))
      continue;
    if (instance >= 0 && g_ascii_strtoll (name + strlen (prefix), NULL, 10) != instance)
      continue;
    total = MAX (total, 0) + *(gint64 *) value;
  }
  return total;
}

void
portico_variant_results_add_event (PorticoVariantResults *v, double at_s, const char *what,
                                   gboolean ok, const char *detail)
{
  PorticoEventRecord *record = g_new0 (PorticoEventRecord, 1);

  record->at_s = at_s;
  record->what = g_strdup (what);
  record->ok = ok;
  record->detail = g_strdup (detail);
  g_ptr_array_add (v->events, record);
}

void
portico_variant_results_add_narration (PorticoVariantResults *v, double at_s, const char *say)
{
  PorticoNarrationRecord *record = g_new0 (PorticoNarrationRecord, 1);

  record->at_s = at_s;
  record->say = g_strdup (say);
  g_ptr_array_add (v->narration, record);
}

void
portico_traffic_figures_add_status (PorticoTrafficFigures *f, guint code, guint64 count)
{
  guint i = 0;
  PorticoStatusCount entry = { code, count };

  while (i < f->status->len && g_array_index (f->status, PorticoStatusCount, i).code < code)
    i++;
  if (i < f->status->len && g_array_index (f->status, PorticoStatusCount, i).code == code)
    g_array_index (f->status, PorticoStatusCount, i).count += count;
  else
    g_array_insert_val (f->status, i, entry);
}

guint64
portico_traffic_figures_status (const PorticoTrafficFigures *f, guint code)
{
  guint64 total = 0;

  for (guint i = 0; i < f->status->len; i++) {
    PorticoStatusCount *entry = &g_array_index (f->status, PorticoStatusCount, i);

    if (entry->code == code || (code < 10 && entry->code / 100 == code))
      total += entry->count;
  }
  return total;
}

void
portico_traffic_figures_add_header (PorticoTrafficFigures *f, const char *name, guint64 count)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);
  guint64 *seen = g_hash_table_lookup (f->headers_seen, lower);

  if (!seen) {
    seen = g_new0 (guint64, 1);
    g_hash_table_insert (f->headers_seen, g_steal_pointer (&lower), seen);
  }
  *seen += count;
}

guint64
portico_traffic_figures_errors (const PorticoTrafficFigures *f)
{
  guint64 total = 0;

  for (guint k = 0; k < PORTICO_TRAFFIC_N_ERRORS; k++)
    total += f->errors[k];
  return total;
}

G_STATIC_ASSERT (PORTICO_NODE_TLS_SIDES == PORTICO_SHM_TLS_SIDES);

const char *
portico_node_tls_side_name (PorticoNodeTlsSide side)
{
  return portico_shm_tls_side_name (side);
}

void
portico_node_figures_set_owner_max (PorticoNodeFigures *n, const char *owner, gint64 max)
{
  if (!n->timers_by_owner_max)
    n->timers_by_owner_max = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_insert (n->timers_by_owner_max, g_strdup (owner), g_memdup2 (&max, sizeof max));
}

/* ---- JSON ------------------------------------------------------------------------------ */

/* Unknown figures (NAN, -1) are null. */
static void
add_double (JsonBuilder *b, const char *key, double value)
{
  json_builder_set_member_name (b, key);
  if (isnan (value))
    json_builder_add_null_value (b);
  else
    json_builder_add_double_value (b, value);
}

static void
add_count (JsonBuilder *b, const char *key, gint64 value)
{
  json_builder_set_member_name (b, key);
  if (value < 0)
    json_builder_add_null_value (b);
  else
    json_builder_add_int_value (b, value);
}

static int
compare_keys (gconstpointer a, gconstpointer b, gpointer data)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* A string -> guint64* (or gint64*) table, keys sorted so reports diff well. */
static void
add_table (JsonBuilder *b, const char *key, GHashTable *table)
{
  g_autofree const char **keys = NULL;

  json_builder_set_member_name (b, key);
  if (!table) {
    json_builder_add_null_value (b);
    return;
  }
  keys = (const char **) g_hash_table_get_keys_as_array (table, NULL);
  g_qsort_with_data (keys, g_hash_table_size (table), sizeof *keys, compare_keys, NULL);
  json_builder_begin_object (b);
  for (guint i = 0; keys[i]; i++)
    add_count (b, keys[i], *(gint64 *) g_hash_table_lookup (table, keys[i]));
  json_builder_end_object (b);
}

static void
add_status_classes (JsonBuilder *b, const guint64 status[6])
{
  static const char *const names[6] = { "other", NULL, "2xx", "3xx", "4xx", "5xx" };

  json_builder_set_member_name (b, "status");
  json_builder_begin_object (b);
  for (guint i = 0; i < 6; i++) {
    if (names[i])
      add_count (b, names[i], (gint64) status[i]);
  }
  json_builder_end_object (b);
}

/* "key": {"full": N, "resumed": N, "failed": N}, from @counts (the
 * client's) or @known (a node's, -1 unknown). */
static void
add_tls_kinds (JsonBuilder *b, const char *key, const guint64 *counts, const gint64 *known)
{
  json_builder_set_member_name (b, key);
  json_builder_begin_object (b);
  for (guint kind = 0; kind < PORTICO_TRAFFIC_TLS_KINDS; kind++)
    add_count (b, portico_traffic_tls_kind_name (kind), counts ? (gint64) counts[kind] : known[kind]);
  json_builder_end_object (b);
}

static void
add_traffic_figures (JsonBuilder *b, const PorticoTrafficFigures *f)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, f->name);
  add_count (b, "requests", (gint64) f->requests);
  add_count (b, "completed", (gint64) f->completed);
  json_builder_set_member_name (b, "status");
  json_builder_begin_object (b);
  for (guint i = 0; i < f->status->len; i++) {
    PorticoStatusCount *entry = &g_array_index (f->status, PorticoStatusCount, i);
    g_autofree char *code = g_strdup_printf ("%u", entry->code);

    add_count (b, code, (gint64) entry->count);
  }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "errors");
  json_builder_begin_object (b);
  for (guint k = 0; k < PORTICO_TRAFFIC_N_ERRORS; k++)
    add_count (b, portico_traffic_error_name (k), (gint64) f->errors[k]);
  json_builder_end_object (b);
  add_count (b, "connections_opened", (gint64) f->connections_opened);
  add_tls_kinds (b, "tls_handshakes", f->tls_handshakes, NULL);
  add_double (b, "duration_s", f->duration_s);
  add_double (b, "rps", f->rps);
  json_builder_set_member_name (b, "latency_ms");
  json_builder_begin_object (b);
  add_double (b, "p50", f->p50_ms);
  add_double (b, "p90", f->p90_ms);
  add_double (b, "p99", f->p99_ms);
  add_double (b, "p999", f->p999_ms);
  add_double (b, "max", f->max_ms);
  json_builder_end_object (b);
  add_table (b, "headers_seen", f->headers_seen);
  json_builder_set_member_name (b, "seconds");
  json_builder_begin_array (b);
  for (guint i = 0; i < f->seconds->len; i++) {
    PorticoResultSecond *s = &g_array_index (f->seconds, PorticoResultSecond, i);

    json_builder_begin_object (b);
    add_count (b, "started", (gint64) s->started);
    add_count (b, "completed", (gint64) s->completed);
    add_count (b, "errors", (gint64) s->errors);
    add_status_classes (b, s->status);
    add_double (b, "p50_ms", s->p50_ms);
    add_double (b, "p99_ms", s->p99_ms);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static void
add_node_figures (JsonBuilder *b, const PorticoNodeFigures *n)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "node");
  json_builder_add_string_value (b, n->node);
  add_count (b, "workers_respawned", n->workers_respawned);
  add_count (b, "reloads", n->reloads);
  add_count (b, "reload_failures", n->reload_failures);
  add_count (b, "timers_pending_max", n->timers_pending_max);
  add_table (b, "timers_by_owner_max", n->timers_by_owner_max);
  add_double (b, "loop_lag_max_ms", n->loop_lag_max_ms);
  add_count (b, "upstream_connects", n->upstream_connects);
  add_count (b, "upstream_reuses", n->upstream_reuses);
  add_count (b, "upstream_failures", n->upstream_failures);
  add_count (b, "requests", n->requests);
  json_builder_set_member_name (b, "tls_handshakes");
  json_builder_begin_object (b);
  for (guint side = 0; side < PORTICO_NODE_TLS_SIDES; side++)
    add_tls_kinds (b, portico_node_tls_side_name (side), NULL, n->tls_handshakes[side]);
  json_builder_end_object (b);
  json_builder_end_object (b);
}

static void
add_string_or_null (JsonBuilder *b, const char *key, const char *value)
{
  json_builder_set_member_name (b, key);
  if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
add_trace (JsonBuilder *b, const PorticoVariantResults *v)
{
  json_builder_set_member_name (b, "trace");
  json_builder_begin_object (b);
  add_string_or_null (b, "id", v->trace_id);
  add_double (b, "at_s", v->trace_at_s);
  json_builder_set_member_name (b, "status");
  json_builder_add_int_value (b, v->trace_status);
  json_builder_set_member_name (b, "phases");
  if (v->phases) {
    json_builder_begin_array (b);
    for (guint i = 0; v->phases[i]; i++)
      json_builder_add_string_value (b, v->phases[i]);
    json_builder_end_array (b);
  } else {
    json_builder_add_null_value (b);
  }
  json_builder_set_member_name (b, "spans");
  json_builder_begin_array (b);
  for (guint i = 0; i < v->spans->len; i++) {
    PorticoTraceSpan *span = g_ptr_array_index (v->spans, i);

    json_builder_begin_object (b);
    add_string_or_null (b, "name", span->name);
    add_string_or_null (b, "category", span->category);
    add_string_or_null (b, "node", span->node);
    add_string_or_null (b, "phase", span->phase);
    add_string_or_null (b, "result", span->result);
    add_double (b, "start_ms", span->start_ms);
    add_double (b, "duration_ms", span->duration_ms);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

static void
add_variant (JsonBuilder *b, const PorticoVariantResults *v)
{
  json_builder_begin_object (b);
  add_string_or_null (b, "name", v->variant);
  add_double (b, "duration_s", v->duration_s);
  json_builder_set_member_name (b, "overall");
  add_traffic_figures (b, v->overall);
  json_builder_set_member_name (b, "traffic");
  json_builder_begin_array (b);
  for (guint i = 0; i < v->traffic->len; i++)
    add_traffic_figures (b, g_ptr_array_index (v->traffic, i));
  json_builder_end_array (b);
  json_builder_set_member_name (b, "nodes");
  json_builder_begin_array (b);
  for (guint i = 0; i < v->nodes->len; i++)
    add_node_figures (b, g_ptr_array_index (v->nodes, i));
  json_builder_end_array (b);
  add_trace (b, v);
  json_builder_set_member_name (b, "upstream_received");
  json_builder_begin_object (b);
  if (v->upstream_received) {
    GHashTableIter it;
    gpointer key, value;

    g_hash_table_iter_init (&it, v->upstream_received);
    while (g_hash_table_iter_next (&it, &key, &value)) {
      json_builder_set_member_name (b, key);
      json_builder_add_value (b, json_node_copy (value));
    }
  }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "service_requests");
  json_builder_begin_object (b);
  if (v->service_requests) {
    GHashTableIter it;
    gpointer key, value;

    g_hash_table_iter_init (&it, v->service_requests);
    while (g_hash_table_iter_next (&it, &key, &value)) {
      json_builder_set_member_name (b, key);
      json_builder_add_int_value (b, *(gint64 *) value);
    }
  }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "events");
  json_builder_begin_array (b);
  for (guint i = 0; i < v->events->len; i++) {
    PorticoEventRecord *record = g_ptr_array_index (v->events, i);

    json_builder_begin_object (b);
    add_double (b, "at_s", record->at_s);
    add_string_or_null (b, "what", record->what);
    json_builder_set_member_name (b, "ok");
    json_builder_add_boolean_value (b, record->ok);
    add_string_or_null (b, "detail", record->detail);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "narration");
  json_builder_begin_array (b);
  for (guint i = 0; i < v->narration->len; i++) {
    PorticoNarrationRecord *record = g_ptr_array_index (v->narration, i);

    json_builder_begin_object (b);
    add_double (b, "at_s", record->at_s);
    add_string_or_null (b, "say", record->say);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);
}

JsonNode *
portico_results_to_json (const PorticoResults *results, GPtrArray *outcomes)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  gboolean ok = TRUE;

  g_return_val_if_fail (results != NULL, NULL);

  json_builder_begin_object (b);
  add_string_or_null (b, "scenario", results->scenario);
  json_builder_set_member_name (b, "variants");
  json_builder_begin_array (b);
  for (guint i = 0; i < results->variants->len; i++)
    add_variant (b, g_ptr_array_index (results->variants, i));
  json_builder_end_array (b);
  if (outcomes) {
    json_builder_set_member_name (b, "expectations");
    json_builder_begin_array (b);
    for (guint i = 0; i < outcomes->len; i++) {
      PorticoExpectOutcome *outcome = g_ptr_array_index (outcomes, i);

      json_builder_begin_object (b);
      add_string_or_null (b, "path", outcome->expect->json_path);
      add_string_or_null (b, "kind", outcome->expect->kind);
      json_builder_set_member_name (b, "ok");
      json_builder_add_boolean_value (b, outcome->ok);
      add_string_or_null (b, "text", outcome->text);
      json_builder_end_object (b);
      ok = ok && outcome->ok;
    }
    json_builder_end_array (b);
    json_builder_set_member_name (b, "ok");
    json_builder_add_boolean_value (b, ok);
  }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}
