/* runner-collect.c: what a run gathers once its traffic has ended (see
 * runner-private.h): the traffic's and the nodes' figures, what each mock
 * received, then the runner's own probes: one traced request and its
 * /traces/ID, and the mocks' echoes of one request per traffic entry.
 */
#include "lab/runner-private.h"
#include "core/json-reader.h"

#include <math.h>
#include <string.h>

#include "core/trace.h"

/* ---- figures ---- */

static PorticoResultSecond
result_second (const PorticoTrafficSecond *s)
{
  PorticoResultSecond out = { .started = s->started, .completed = s->completed,
                              .errors = portico_traffic_errors_total (s->errors),
                              .p50_ms = portico_traffic_second_percentile_ms (s, 50),
                              .p99_ms = portico_traffic_second_percentile_ms (s, 99) };
  memcpy (out.status, s->status, sizeof out.status);
  return out;
}

/* Adds @s into @sum: counts and latency histograms add up. */
static void
add_second (PorticoTrafficSecond *sum, const PorticoTrafficSecond *s)
{
  sum->started += s->started;
  sum->not_started += s->not_started;
  sum->completed += s->completed;
  for (guint i = 0; i < G_N_ELEMENTS (s->status); i++)
    sum->status[i] += s->status[i];
  for (guint i = 0; i < PORTICO_TRAFFIC_N_ERRORS; i++)
    sum->errors[i] += s->errors[i];
  for (guint i = 0; i < PORTICO_TRAFFIC_LATENCY_BUCKETS; i++)
    sum->latency_hist[i] += s->latency_hist[i];
}

static void
copy_traffic_figures (PorticoTrafficFigures *f, const PorticoTrafficResult *r)
{
  f->requests = r->started;
  f->completed = r->completed;
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, r->status);
  while (g_hash_table_iter_next (&it, &key, &value))
    portico_traffic_figures_add_status (f, GPOINTER_TO_UINT (key), *(guint64 *) value);
  for (int e = 0; e < PORTICO_TRAFFIC_N_ERRORS; e++)
    f->errors[e] = r->errors[e];
  f->connections_opened = r->connections_opened;
  memcpy (f->tls_handshakes, r->tls_handshakes, sizeof f->tls_handshakes);
  f->duration_s = r->duration_s;
  f->rps = r->duration_s > 0 ? (double) r->completed / r->duration_s : NAN;
  gboolean any = r->completed > 0;
  f->p50_ms = any ? r->p50_ms : NAN;
  f->p90_ms = any ? r->p90_ms : NAN;
  f->p99_ms = any ? r->p99_ms : NAN;
  f->p999_ms = any ? r->p999_ms : NAN;
  f->max_ms = any ? r->max_ms : NAN;
  if (r->headers_seen != NULL)
    {
      g_hash_table_iter_init (&it, r->headers_seen);
      while (g_hash_table_iter_next (&it, &key, &value))
        portico_traffic_figures_add_header (f, key, *(guint64 *) value);
    }
  for (guint i = 0; i < r->seconds->len; i++)
    {
      PorticoResultSecond out = result_second (&g_array_index (r->seconds, PorticoTrafficSecond, i));
      g_array_append_val (f->seconds, out);
    }
}

/* The overall figures: counts add up; a percentile of all the entries
 * together cannot be made from theirs, so the worst entry's is taken (it
 * is exact with one entry). */
static void
add_overall (PorticoTrafficFigures *all, const PorticoTrafficFigures *f)
{
  all->requests += f->requests;
  all->completed += f->completed;
  for (guint i = 0; i < f->status->len; i++)
    {
      const PorticoStatusCount *c = &g_array_index (f->status, PorticoStatusCount, i);
      portico_traffic_figures_add_status (all, c->code, c->count);
    }
  for (int e = 0; e < PORTICO_TRAFFIC_N_ERRORS; e++)
    all->errors[e] += f->errors[e];
  all->connections_opened += f->connections_opened;
  for (int k = 0; k < PORTICO_TRAFFIC_TLS_KINDS; k++)
    all->tls_handshakes[k] += f->tls_handshakes[k];
  all->duration_s = MAX (all->duration_s, f->duration_s);
  all->rps = all->duration_s > 0 ? (double) all->completed / all->duration_s : NAN;
#define WORST(field) all->field = isnan (all->field) || f->field > all->field ? f->field : all->field
  WORST (p50_ms);
  WORST (p90_ms);
  WORST (p99_ms);
  WORST (p999_ms);
  WORST (max_ms);
#undef WORST
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, f->headers_seen);
  while (g_hash_table_iter_next (&it, &key, &value))
    portico_traffic_figures_add_header (all, key, *(guint64 *) value);
}

/* What each mock instance received, from its control API ("requests":
 * not counting the /__mock/ paths, so health probes aimed there do not
 * count). Read before the runner's own probes. */
void
portico_runner_collect_service_requests (Run *run)
{
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, run->mocks);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      RunMock *m = value;
      const char *hash = strrchr (key, '#');
      if (hash == NULL || m->control == NULL)
        continue;
      g_autofree char *service = g_strndup (key, (gsize) (hash - (const char *) key));
      g_autofree char *uri = g_strdup_printf ("http://%s/state", m->control);
      g_autoptr (SoupMessage) msg = soup_message_new ("GET", uri);
      g_autoptr (GBytes) body = soup_session_send_and_read (run->session, msg, NULL, NULL);
      g_autoptr (JsonNode) state = body && soup_message_get_status (msg) == SOUP_STATUS_OK
                                     ? portico_json_from_bytes (body, NULL)
                                     : NULL;
      if (state == NULL || !JSON_NODE_HOLDS_OBJECT (state) ||
          !json_object_has_member (json_node_get_object (state), "requests"))
        continue;
      portico_variant_results_set_service_requests (
        run->out, service, (guint) g_ascii_strtoull (hash + 1, NULL, 10),
        json_object_get_int_member (json_node_get_object (state), "requests"));
    }
}

void
portico_runner_collect (Run *run)
{
  PorticoVariantResults *v = run->out;
  v->overall->p50_ms = v->overall->p90_ms = v->overall->p99_ms = v->overall->p999_ms = v->overall->max_ms = NAN;
  /* Every entry's seconds on the run's clock (an entry counts from its
   * own start, to the whole second), added up, histograms too. */
  g_autoptr (GArray) all = g_array_new (FALSE, TRUE, sizeof (PorticoTrafficSecond));
  for (guint i = 0; i < run->traffic->len; i++)
    {
      RunTraffic *rt = g_ptr_array_index (run->traffic, i);
      const PorticoTrafficResult *r = portico_traffic_result (rt->traffic);
      PorticoTrafficFigures *f = portico_variant_results_add_traffic (v, rt->spec->name);
      copy_traffic_figures (f, r);
      add_overall (v->overall, f);
      guint offset = (guint) rt->spec->start_s;
      if (all->len < offset + r->seconds->len)
        g_array_set_size (all, offset + r->seconds->len);
      for (guint s = 0; s < r->seconds->len; s++)
        add_second (&g_array_index (all, PorticoTrafficSecond, offset + s),
                    &g_array_index (r->seconds, PorticoTrafficSecond, s));
    }
  for (guint s = 0; s < all->len; s++)
    {
      PorticoResultSecond out = result_second (&g_array_index (all, PorticoTrafficSecond, s));
      g_array_append_val (v->overall->seconds, out);
    }
  for (guint i = 0; i < run->nodes->len; i++)
    {
      RunNode *n = g_ptr_array_index (run->nodes, i);
      PorticoNodeFigures *f = portico_variant_results_add_node (v, n->node->name);
      if (n->sampler == NULL)
        continue;
      portico_node_sampler_flush (n->sampler, 2000);
      const PorticoNodeSample *s = portico_node_sampler_figures (n->sampler);
      if (s->samples == 0)
        continue;
      f->workers_respawned = (gint64) s->respawns;
      f->reloads = (gint64) s->reloads;
      f->reload_failures = (gint64) s->reload_failures;
      f->timers_pending_max = s->timers_pending_max;
      f->loop_lag_max_ms = s->loop_lag_max_ms;
      f->upstream_connects = (gint64) s->upstream_connects;
      f->upstream_reuses = (gint64) s->upstream_reuses;
      f->upstream_failures = (gint64) s->upstream_failures;
      f->requests = (gint64) s->requests;
      for (guint side = 0; side < PORTICO_NODE_TLS_SIDES; side++)
        for (guint kind = 0; kind < PORTICO_TRAFFIC_TLS_KINDS; kind++)
          f->tls_handshakes[side][kind] = (gint64) s->tls_handshakes[side][kind];
      GHashTableIter it;
      gpointer key, value;
      g_hash_table_iter_init (&it, s->timers_by_owner_max);
      while (g_hash_table_iter_next (&it, &key, &value))
        portico_node_figures_set_owner_max (f, key, GPOINTER_TO_UINT (value));
    }
}

/* ---- after the traffic: one traced request, and what the services received ----
 *
 * Sent once the gateway's figures are collected, so that they never count
 * in them, through the same links as the traffic. The relays run on this
 * process's loop: the requests are asynchronous and the loop turns while
 * they wait (bounded by the session's timeout). */

typedef struct {
  GMainLoop *loop;
  GBytes *body;
  GError *error;
} Waiter;

static void
on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  Waiter *w = data;
  w->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &w->error);
  g_main_loop_quit (w->loop);
}

static GBytes *
send_and_wait (Run *run, SoupMessage *msg, GError **error)
{
  Waiter w = { .loop = g_main_loop_new (NULL, FALSE) };
  soup_session_send_and_read_async (run->session, msg, G_PRIORITY_DEFAULT, NULL, on_sent, &w);
  g_main_loop_run (w.loop);
  g_main_loop_unref (w.loop);
  if (w.error != NULL)
    g_propagate_error (error, w.error);
  return w.body;
}

/* One request shaped like @st's, sent where @st's requests go. */
static SoupMessage *
probe_message (Run *run, const PorticoScenarioTraffic *st, GError **error)
{
  const char *address = portico_runner_traffic_address (run, st, error);
  if (address == NULL)
    return NULL;
  g_autofree char *uri =
    g_strdup_printf ("%s://%s%s", portico_runner_find_node (run, st->to)->node->tls ? "https" : "http", address,
                     st->path);
  SoupMessage *msg = soup_message_new (st->method, uri);
  if (msg == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "cannot send %s %s", st->method, uri);
      return NULL;
    }
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  for (guint i = 0; i < st->headers->len; i++)
    {
      const PorticoScenarioHeader *h = g_ptr_array_index (st->headers, i);
      soup_message_headers_append (headers, h->name, h->value);
    }
  if (st->body != NULL)
    soup_message_set_request_body_from_bytes (msg, NULL, st->body);
  return msg;
}

static const char *
span_category (const char *kind)
{
  return g_strcmp0 (kind, "phase") == 0 || g_strcmp0 (kind, "module") == 0 ? kind : "upstream";
}

/* GET /traces/ID from @n's admin API; the worker files the trace after
 * the log phase, which may end a moment after the client has its answer. */
static JsonNode *
fetch_trace (Run *run, RunNode *n, const char *id, GError **error)
{
  g_autofree char *uri = g_strdup_printf ("http://%s/traces/%s", n->admin, id);
  for (guint attempt = 0;; attempt++)
    {
      g_autoptr (SoupMessage) msg = soup_message_new ("GET", uri);
      g_autoptr (GBytes) body = send_and_wait (run, msg, error);
      if (body == NULL)
        return NULL;
      guint status = soup_message_get_status (msg);
      if (status == SOUP_STATUS_OK)
        return portico_json_from_bytes (body, error);
      if (status != SOUP_STATUS_NOT_FOUND || attempt >= 50)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "GET /traces/%s answered %u", id, status);
          return NULL;
        }
      g_usleep (20000);
    }
}

static void
take_trace (Run *run, RunNode *n, JsonObject *trace, gint64 sent_us)
{
  PorticoVariantResults *v = run->out;
  JsonArray *phases = json_object_get_array_member (trace, "phases");
  JsonArray *spans = json_object_get_array_member (trace, "spans");
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  for (guint i = 0; phases != NULL && i < json_array_get_length (phases); i++)
    g_strv_builder_add (names, json_array_get_string_element (phases, i));
  g_strfreev (v->phases);
  v->phases = g_strv_builder_end (names);
  for (guint i = 0; spans != NULL && i < json_array_get_length (spans); i++)
    {
      JsonObject *s = json_array_get_object_element (spans, i);
      const char *kind = json_object_get_string_member_with_default (s, "kind", "");
      gboolean module = g_str_equal (kind, "module");
      const char *name = json_object_get_string_member_with_default (s, "name", "");
      g_autofree char *label = g_str_equal (kind, "upstream") ? g_strdup_printf ("upstream %s", name)
                                                               : g_strdup (name);
      gint64 start = json_object_get_int_member_with_default (s, "start_us", sent_us);
      gint64 duration = json_object_get_int_member_with_default (s, "duration_us", 0);
      portico_variant_results_add_span (
        v, label, span_category (kind), n->node->name,
        module ? json_object_get_string_member_with_default (s, "phase", NULL) : NULL,
        g_str_equal (kind, "phase") ? NULL : json_object_get_string_member_with_default (s, "result", NULL),
        (double) (start - sent_us) / 1000.0, (double) duration / 1000.0);
    }
}

/* One request shaped like the first traffic entry's, traced by its node:
 * the phase order and the spans of the report, `--trace` and `--html`. */
void
portico_runner_trace_one_request (Run *run)
{
  PorticoVariantResults *v = run->out;
  if (run->sc->traffic->len == 0)
    return;
  const PorticoScenarioTraffic *st = g_ptr_array_index (run->sc->traffic, 0);
  RunNode *n = portico_runner_find_node (run, st->to);
  if (n == NULL || n->proc == NULL)
    {
      portico_runner_say (run, "no traced request: node %s is stopped", st->to);
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupMessage) msg = probe_message (run, st, &error);
  if (msg == NULL)
    {
      portico_runner_say (run, "no traced request: %s", error->message);
      return;
    }
  soup_message_headers_replace (soup_message_get_request_headers (msg), PORTICO_TRACE_HEADER, n->trace_token);
  gint64 sent_us = g_get_monotonic_time ();
  v->trace_at_s = portico_runner_elapsed (run);
  g_autoptr (GBytes) body = send_and_wait (run, msg, &error);
  gint64 done_us = g_get_monotonic_time ();
  if (body == NULL)
    {
      portico_runner_say (run, "the traced request got no answer: %s", error->message);
      return;
    }
  v->trace_status = soup_message_get_status (msg);
  portico_variant_results_add_span (v, "request", "client", NULL, NULL, NULL, 0,
                                    (double) (done_us - sent_us) / 1000.0);
  const char *id = soup_message_headers_get_one (soup_message_get_response_headers (msg), PORTICO_TRACE_ID_HEADER);
  if (id == NULL)
    {
      portico_runner_say (run, "the traced request's answer (%u) has no %s", v->trace_status, PORTICO_TRACE_ID_HEADER);
      return;
    }
  v->trace_id = g_strdup (id);
  g_autoptr (JsonNode) trace = fetch_trace (run, n, id, &error);
  if (trace == NULL || !JSON_NODE_HOLDS_OBJECT (trace))
    {
      portico_runner_say (run, "trace %s: %s", id, error ? error->message : "not an object");
      return;
    }
  take_trace (run, n, json_node_get_object (trace), sent_us);
}

/* The traffic entries an upstream_received expectation reads (the first
 * entry when it names none). */
static gboolean
echo_wanted (Run *run, const PorticoScenarioTraffic *st, guint index)
{
  for (guint i = 0; i < run->sc->expect->len; i++)
    {
      const PorticoExpect *e = g_ptr_array_index (run->sc->expect, i);
      if (g_strcmp0 (e->kind, "upstream_received") == 0 &&
          (e->traffic != NULL ? g_str_equal (e->traffic, st->name) : index == 0))
        return TRUE;
    }
  return FALSE;
}

/* What the service received for one request of each entry that an
 * expectation asks about: the mock's echo of it (docs/mock.md). */
void
portico_runner_probe_echoes (Run *run)
{
  for (guint i = 0; i < run->sc->traffic->len; i++)
    {
      const PorticoScenarioTraffic *st = g_ptr_array_index (run->sc->traffic, i);
      if (!echo_wanted (run, st, i))
        continue;
      g_autoptr (GError) error = NULL;
      g_autoptr (SoupMessage) msg = probe_message (run, st, &error);
      g_autoptr (GBytes) body = msg ? (soup_message_headers_replace (soup_message_get_request_headers (msg),
                                                                     "X-Mock-Echo", "1"),
                                       send_and_wait (run, msg, &error))
                                    : NULL;
      g_autoptr (JsonNode) echo = body ? portico_json_from_bytes (body, &error) : NULL;
      if (echo == NULL || !JSON_NODE_HOLDS_OBJECT (echo) ||
          !json_object_has_member (json_node_get_object (echo), "headers"))
        {
          portico_runner_say (run, "%s: no echo from the service (%s)", st->name,
                   error ? error->message : msg ? soup_message_get_reason_phrase (msg) : "?");
          continue;
        }
      portico_variant_results_set_received (run->out, st->name, g_steal_pointer (&echo));
    }
}

