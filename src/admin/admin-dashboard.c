/* admin-dashboard.c: the live view's data: samples of the zone, what
 * changed over the last second, the per-second history, the frames
 * (docs/dashboard.md) and the WebSockets they are pushed to. */
#include "admin/admin-dashboard.h"

#include <linux/sockios.h>
#include <string.h>
#include <sys/ioctl.h>

/* A worker card's grid: nginx's default worker_connections. Portico sets
 * no such limit, so a worker that holds more gets a bigger grid. */
#define GRID_MIN 1024

typedef struct {
  gint64 mono_us;
  PorticoAdminSnapshot *snap;
} Sample;

/* What the workers did between two samples. */
typedef struct {
  double rps;
  double p50_ms, p90_ms, p99_ms;
  guint64 status[4]; /* responses 2xx, 3xx, 4xx, 5xx */
} Window;

typedef struct {
  gint64 t; /* wall clock, seconds */
  Window w;
  guint32 lag_max_us;
} Point;

typedef struct {
  SoupWebsocketConnection *conn;
  GSocket *socket;
  guint64 points_sent; /* n_points when its last frame was built */
  gboolean closed;
} Watcher;

struct _PorticoAdminDashboard {
  PorticoShm *shm;
  const PorticoConfig *config;
  GQueue samples;       /* Sample*, oldest first: from the newest one a second old */
  Point history[PORTICO_DASHBOARD_HISTORY]; /* a ring */
  guint64 n_points;     /* points ever added: the newest is history[(n_points - 1) % N] */
  gint64 point_mono_us; /* when the newest was added */
  guint32 lag_max_us;   /* the worst loop lag sampled since */
  GPtrArray *watchers;  /* Watcher* */
  GSource *source;
};

static gboolean
is_live (const PorticoAdminWorker *w)
{
  return w->slot.state != PORTICO_WORKER_FREE && w->slot.state != PORTICO_WORKER_EXITED;
}

/* ------------------------------------------------------------------------ */
/* Differences between samples */

/* The slot @w had in @then, when the same process held it: a respawned
 * worker (another pid in the slot) counts from 0. */
static const PorticoShmSlot *
slot_then (const PorticoAdminSnapshot *then, const PorticoAdminWorker *w)
{
  for (guint i = 0; i < then->workers->len; i++)
    {
      const PorticoAdminWorker *o = &g_array_index (then->workers, PorticoAdminWorker, i);
      if (o->index == w->index)
        return o->slot.pid == w->slot.pid ? &o->slot : NULL;
    }
  return NULL;
}

static guint64
grown (guint64 now, guint64 then)
{
  return now >= then ? now - then : now;
}

static double
per_second (guint64 count, gint64 us)
{
  return us > 0 ? (double) count * G_USEC_PER_SEC / (double) us : 0.0;
}

/* The @q quantile of @hist in ms: the bucket it falls in (bucket i counts
 * durations up to 2^i * 100 us), interpolated linearly between the
 * bucket's bounds. Coarse: a bucket spans a factor of two. 0 when empty. */
static double
percentile (const guint64 hist[PORTICO_SHM_N_BUCKETS], guint64 total, double q)
{
  double rank = q * (double) total;
  guint64 below = 0;

  for (guint i = 0; i < PORTICO_SHM_N_BUCKETS && total > 0; i++)
    {
      if (hist[i] == 0)
        continue;
      if ((double) (below + hist[i]) >= rank || i == PORTICO_SHM_N_BUCKETS - 1)
        {
          double lower = i == 0 ? 0.0 : (double) portico_shm_bucket_bound (i - 1);
          /* The last bucket has no bound: take it as one more doubling. */
          double upper = i == PORTICO_SHM_N_BUCKETS - 1 ? 2 * lower : (double) portico_shm_bucket_bound (i);
          double within = MIN (1.0, (rank - (double) below) / (double) hist[i]);
          return (lower + (upper - lower) * within) / 1000.0;
        }
      below += hist[i];
    }
  return 0.0;
}

static void
window_compute (const Sample *from, const Sample *to, Window *out)
{
  guint64 requests = 0, total = 0, hist[PORTICO_SHM_N_BUCKETS] = { 0 };

  memset (out, 0, sizeof *out);
  gint64 us = to->mono_us - from->mono_us;
  if (us <= 0)
    return;
  for (guint i = 0; i < to->snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (to->snap->workers, PorticoAdminWorker, i);
      const PorticoShmSlot *then = slot_then (from->snap, w);
      requests += grown (w->slot.requests, then ? then->requests : 0);
      for (guint c = 0; c < G_N_ELEMENTS (out->status); c++)
        out->status[c] += grown (w->slot.responses[c + 2], then ? then->responses[c + 2] : 0);
      for (guint b = 0; b < PORTICO_SHM_N_BUCKETS; b++)
        hist[b] += grown (w->slot.latency_hist[b], then ? then->latency_hist[b] : 0);
    }
  for (guint b = 0; b < PORTICO_SHM_N_BUCKETS; b++)
    total += hist[b];
  out->rps = per_second (requests, us);
  out->p50_ms = percentile (hist, total, 0.50);
  out->p90_ms = percentile (hist, total, 0.90);
  out->p99_ms = percentile (hist, total, 0.99);
}

/* ------------------------------------------------------------------------ */
/* Sampling */

static void
sample_free (Sample *s)
{
  portico_admin_snapshot_free (s->snap);
  g_free (s);
}

static void
add_point (PorticoAdminDashboard *dash, const Sample *from, const Sample *to)
{
  Point *p = &dash->history[dash->n_points % PORTICO_DASHBOARD_HISTORY];

  p->t = to->snap->now_us / G_USEC_PER_SEC;
  window_compute (from, to, &p->w);
  p->lag_max_us = dash->lag_max_us;
  dash->n_points++;
  dash->point_mono_us = to->mono_us;
  dash->lag_max_us = 0;
}

static void
take_sample (PorticoAdminDashboard *dash)
{
  Sample *s = g_new0 (Sample, 1);

  s->mono_us = g_get_monotonic_time ();
  s->snap = portico_admin_snapshot_take_slots (dash->shm, dash->config);
  g_queue_push_tail (&dash->samples, s);
  /* The head stays the newest sample at least a second old. */
  while (g_queue_get_length (&dash->samples) > 2)
    {
      const Sample *next = g_queue_peek_nth (&dash->samples, 1);
      if (s->mono_us - next->mono_us < G_USEC_PER_SEC)
        break;
      sample_free (g_queue_pop_head (&dash->samples));
    }
  for (guint i = 0; i < s->snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (s->snap->workers, PorticoAdminWorker, i);
      if (is_live (w))
        dash->lag_max_us = MAX (dash->lag_max_us, w->slot.loop_lag_us);
    }
  const Sample *head = g_queue_peek_head (&dash->samples);
  if (s->mono_us - head->mono_us >= G_USEC_PER_SEC && s->mono_us - dash->point_mono_us >= G_USEC_PER_SEC)
    add_point (dash, head, s);
}

/* ------------------------------------------------------------------------ */
/* Frames */

static guint
grid_size (const PorticoAdminSnapshot *snap)
{
  guint grid = GRID_MIN;

  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (snap->workers, PorticoAdminWorker, i);
      guint64 held = 0;
      for (guint c = 0; c < PORTICO_SHM_N_CONN_STATES; c++)
        held += w->slot.connections[c];
      while (is_live (w) && held > grid && grid < G_MAXUINT / 2)
        grid *= 2;
    }
  return grid;
}

static void
add_seconds (JsonBuilder *b, const char *member, gint64 from_us, gint64 to_us)
{
  json_builder_set_member_name (b, member);
  json_builder_add_double_value (b, from_us > 0 && to_us > from_us ? (double) (to_us - from_us) / G_USEC_PER_SEC
                                                                   : 0.0);
}

static void
add_double (JsonBuilder *b, const char *member, double value)
{
  json_builder_set_member_name (b, member);
  json_builder_add_double_value (b, value);
}

static void
add_node (JsonBuilder *b, const PorticoAdminDashboard *dash, const PorticoAdminSnapshot *snap, guint grid)
{
  json_builder_set_member_name (b, "node");
  json_builder_begin_object (b);
  portico_admin_add_int (b, "master_pid", snap->master_pid);
  portico_admin_add_int (b, "generation", snap->generation);
  add_seconds (b, "uptime_s", snap->master_started_us, snap->now_us);
  portico_admin_add_count (b, "reloads", snap->reloads);
  portico_admin_add_count (b, "reload_failures", snap->reload_failures);
  portico_admin_add_count (b, "respawns", snap->respawns);
  portico_admin_add_int (b, "workers_configured", snap->workers_configured);
  portico_admin_add_int (b, "worker_connections", grid);
  json_builder_set_member_name (b, "event_backend");
  json_builder_add_string_value (b, dash->config->node.event_backend == PORTICO_EVENT_BACKEND_POLL ? "poll"
                                                                                                 : "epoll");
  json_builder_set_member_name (b, "last_reload_error");
  if (snap->last_reload_error[0] != '\0')
    json_builder_add_string_value (b, snap->last_reload_error);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
}

static void
add_worker (JsonBuilder *b, const PorticoAdminWorker *w, const Sample *from, const Sample *to, guint grid)
{
  const PorticoShmSlot *s = &w->slot;
  const PorticoShmSlot *then = slot_then (from->snap, w);
  guint64 held = 0;

  json_builder_begin_object (b);
  portico_admin_add_worker_identity (b, w);
  add_seconds (b, "uptime_s", s->started_us, to->snap->now_us);
  json_builder_set_member_name (b, "connections");
  json_builder_begin_object (b);
  for (guint c = 0; c < PORTICO_SHM_N_CONN_STATES; c++)
    {
      portico_admin_add_count (b, portico_admin_conn_state_name (c), s->connections[c]);
      held += s->connections[c];
    }
  portico_admin_add_count (b, "free", held < grid ? grid - held : 0);
  json_builder_end_object (b);
  portico_admin_add_count (b, "requests", s->requests);
  add_double (b, "rps", per_second (grown (s->requests, then ? then->requests : 0), to->mono_us - from->mono_us));
  portico_admin_add_ms (b, "loop_lag_ms", s->loop_lag_us);
  portico_admin_add_ms (b, "loop_lag_max_ms", s->loop_lag_max_us);
  portico_admin_add_timers (b, s, TRUE);
  json_builder_set_member_name (b, "upstream");
  json_builder_begin_object (b);
  portico_admin_add_count (b, "idle", s->upstream_idle);
  portico_admin_add_count (b, "busy", s->upstream_busy);
  json_builder_end_object (b);
  json_builder_end_object (b);
}

static void
add_window (JsonBuilder *b, const Window *w)
{
  add_double (b, "rps", w->rps);
  add_double (b, "p50_ms", w->p50_ms);
  add_double (b, "p90_ms", w->p90_ms);
  add_double (b, "p99_ms", w->p99_ms);
}

static void
add_rates (JsonBuilder *b, const Sample *from, const Sample *to)
{
  static const char *const classes[] = { "2xx", "3xx", "4xx", "5xx" };
  Window w;

  window_compute (from, to, &w);
  json_builder_set_member_name (b, "rates");
  json_builder_begin_object (b);
  add_window (b, &w);
  json_builder_set_member_name (b, "status");
  json_builder_begin_object (b);
  for (guint c = 0; c < G_N_ELEMENTS (classes); c++)
    portico_admin_add_count (b, classes[c], w.status[c]);
  json_builder_end_object (b);
  json_builder_end_object (b);
}

static void
add_upstreams (JsonBuilder *b, const PorticoConfig *config)
{
  json_builder_set_member_name (b, "upstreams");
  json_builder_begin_array (b);
  for (guint i = 0; i < config->upstreams->len; i++)
    {
      const PorticoUpstream *u = g_ptr_array_index (config->upstreams, i);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, u->name);
      json_builder_set_member_name (b, "algorithm");
      json_builder_add_string_value (b, u->algorithm);
      json_builder_set_member_name (b, "targets");
      portico_admin_add_upstream_targets (b, u);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

/* Every worker of the sample, exited ones too, as /status totals them. */
static void
add_tls (JsonBuilder *b, const PorticoAdminSnapshot *snap)
{
  guint64 tls[PORTICO_SHM_TLS_SIDES][PORTICO_SHM_TLS_KINDS] = { { 0 } };

  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoShmSlot *s = &g_array_index (snap->workers, PorticoAdminWorker, i).slot;
      for (guint side = 0; side < PORTICO_SHM_TLS_SIDES; side++)
        for (guint kind = 0; kind < PORTICO_SHM_TLS_KINDS; kind++)
          tls[side][kind] += s->tls_handshakes[side][kind];
    }
  portico_admin_add_tls (b, "tls", (const guint64 (*)[PORTICO_SHM_TLS_KINDS]) tls);
}

/* The points added after the first @after, oldest first. */
static JsonNode *
history_json (const PorticoAdminDashboard *dash, guint64 after)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  guint64 kept = dash->n_points > PORTICO_DASHBOARD_HISTORY ? dash->n_points - PORTICO_DASHBOARD_HISTORY : 0;

  json_builder_begin_array (b);
  for (guint64 n = MAX (after, kept); n < dash->n_points; n++)
    {
      const Point *p = &dash->history[n % PORTICO_DASHBOARD_HISTORY];
      json_builder_begin_object (b);
      portico_admin_add_int (b, "t", p->t);
      add_window (b, &p->w);
      portico_admin_add_count (b, "errors", p->w.status[3]);
      portico_admin_add_ms (b, "lag_max_ms", p->lag_max_us);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  return json_builder_get_root (b);
}

/* A frame of the newest sample, its "history" null: whoever sends it
 * puts in the points the receiver needs. */
static JsonNode *
frame_build (PorticoAdminDashboard *dash)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  const Sample *from = g_queue_peek_head (&dash->samples);
  const Sample *to = g_queue_peek_tail (&dash->samples);
  const PorticoAdminSnapshot *snap = to->snap;
  guint grid = grid_size (snap);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "type");
  json_builder_add_string_value (b, "frame");
  portico_admin_add_int (b, "time_ms", snap->now_us / 1000);
  add_node (b, dash, snap, grid);
  json_builder_set_member_name (b, "workers");
  json_builder_begin_array (b);
  for (guint i = 0; i < snap->workers->len; i++)
    {
      const PorticoAdminWorker *w = &g_array_index (snap->workers, PorticoAdminWorker, i);
      if (is_live (w))
        add_worker (b, w, from, to, grid);
    }
  json_builder_end_array (b);
  add_rates (b, from, to);
  json_builder_set_member_name (b, "history");
  json_builder_add_null_value (b);
  add_upstreams (b, dash->config);
  add_tls (b, snap);
  json_builder_set_member_name (b, "traces");
  portico_admin_add_trace_summaries (b, dash->shm, PORTICO_DASHBOARD_TRACES);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

JsonNode *
portico_admin_dashboard_frame (PorticoAdminDashboard *dash)
{
  g_return_val_if_fail (dash != NULL, NULL);

  JsonNode *frame = frame_build (dash);
  json_object_set_member (json_node_get_object (frame), "history", history_json (dash, 0));
  return frame;
}

/* ------------------------------------------------------------------------ */
/* WebSockets */

static void
watcher_free (Watcher *w)
{
  g_signal_handlers_disconnect_by_data (w->conn, w);
  if (soup_websocket_connection_get_state (w->conn) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (w->conn, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  g_object_unref (w->conn);
  g_object_unref (w->socket);
  g_free (w);
}

static void
on_closed (SoupWebsocketConnection *conn, gpointer data)
{
  Watcher *w = data;
  w->closed = TRUE; /* dropped at the next sample: this may run inside a send */
}

/* Whether the kernel took everything sent so far. libsoup keeps what the
 * socket does not take, in memory and without a bound, so a client that
 * reads slower than frames come (a stopped tab, a slow link) gets no new
 * frame until its socket has nothing left unsent: it skips frames, its
 * next one carries the history points it missed. */
static gboolean
watcher_ready (const Watcher *w)
{
  int unsent = 0;

  if (w->closed || soup_websocket_connection_get_state (w->conn) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;
  if ((g_socket_condition_check (w->socket, G_IO_OUT) & G_IO_OUT) == 0)
    return FALSE;
  return ioctl (g_socket_get_fd (w->socket), SIOCOUTQNSD, &unsent) == 0 && unsent == 0;
}

static void
send_frame (PorticoAdminDashboard *dash, Watcher *w, JsonNode *frame)
{
  json_object_set_member (json_node_get_object (frame), "history", history_json (dash, w->points_sent));
  w->points_sent = dash->n_points;
  g_autofree char *text = json_to_string (frame, FALSE);
  soup_websocket_connection_send_text (w->conn, text);
}

static void
push (PorticoAdminDashboard *dash)
{
  g_autoptr (JsonNode) frame = NULL;

  for (guint i = dash->watchers->len; i-- > 0;)
    {
      Watcher *w = g_ptr_array_index (dash->watchers, i);
      if (w->closed || soup_websocket_connection_get_state (w->conn) == SOUP_WEBSOCKET_STATE_CLOSED)
        g_ptr_array_remove_index (dash->watchers, i);
    }
  for (guint i = 0; i < dash->watchers->len; i++)
    {
      Watcher *w = g_ptr_array_index (dash->watchers, i);
      if (!watcher_ready (w))
        continue;
      if (frame == NULL)
        frame = frame_build (dash);
      send_frame (dash, w, frame);
    }
}

void
portico_admin_dashboard_watch (PorticoAdminDashboard *dash, SoupWebsocketConnection *conn, GSocket *socket)
{
  g_return_if_fail (dash != NULL && SOUP_IS_WEBSOCKET_CONNECTION (conn) && G_IS_SOCKET (socket));

  Watcher *w = g_new0 (Watcher, 1);
  w->conn = g_object_ref (conn);
  w->socket = g_object_ref (socket);
  g_signal_connect (conn, "closed", G_CALLBACK (on_closed), w);
  g_ptr_array_add (dash->watchers, w);
  g_autoptr (JsonNode) frame = frame_build (dash);
  send_frame (dash, w, frame);
}

/* ------------------------------------------------------------------------ */
/* The page */

GBytes *
portico_admin_dashboard_asset (const char *path, const char **content_type)
{
  static const struct {
    const char *suffix, *type;
  } types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
  };
  const char *name = NULL;

  if (strcmp (path, "/") == 0)
    name = "index.html";
  else if (g_str_has_prefix (path, "/dashboard/"))
    name = path + strlen ("/dashboard/");
  if (name == NULL || name[0] == '\0' || name[0] == '.' || strchr (name, '/') != NULL)
    return NULL;
  g_autofree char *resource = g_strconcat ("/org/portico/dashboard/", name, NULL);
  GBytes *bytes = g_resources_lookup_data (resource, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  if (bytes != NULL && content_type != NULL)
    {
      *content_type = "application/octet-stream";
      for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
        if (g_str_has_suffix (name, types[i].suffix))
          *content_type = types[i].type;
    }
  return bytes;
}

/* ------------------------------------------------------------------------ */
/* The dashboard */

static gboolean
on_tick (gpointer data)
{
  PorticoAdminDashboard *dash = data;

  take_sample (dash);
  push (dash);
  return G_SOURCE_CONTINUE;
}

PorticoAdminDashboard *
portico_admin_dashboard_new (PorticoShm *shm, const PorticoConfig *config)
{
  g_return_val_if_fail (shm != NULL && config != NULL, NULL);

  PorticoAdminDashboard *dash = g_new0 (PorticoAdminDashboard, 1);
  dash->shm = shm;
  dash->config = config;
  g_queue_init (&dash->samples);
  dash->watchers = g_ptr_array_new_with_free_func ((GDestroyNotify) watcher_free);
  take_sample (dash);
  GSource *source = g_timeout_source_new (PORTICO_DASHBOARD_INTERVAL_MS);
  g_source_set_callback (source, on_tick, dash, NULL);
  g_source_attach (source, g_main_context_get_thread_default ());
  dash->source = source;
  return dash;
}

void
portico_admin_dashboard_set_config (PorticoAdminDashboard *dash, const PorticoConfig *config)
{
  g_return_if_fail (dash != NULL && config != NULL);
  dash->config = config;
}

void
portico_admin_dashboard_free (PorticoAdminDashboard *dash)
{
  if (dash == NULL)
    return;
  g_source_destroy (dash->source);
  g_source_unref (dash->source);
  g_ptr_array_unref (dash->watchers);
  g_queue_clear_full (&dash->samples, (GDestroyNotify) sample_free);
  g_free (dash);
}
