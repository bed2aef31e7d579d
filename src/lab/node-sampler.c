/* node-sampler.c: a node's figures from its admin API (see node-sampler.h). */
#include "lab/node-sampler.h"
#include "core/json-reader.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

/* Counters of one worker process as last seen, to add only what grew:
 * a respawned worker starts again from zero. */
typedef struct {
  GPid pid;
  guint64 requests;
  guint64 connects;
  guint64 reuses;
  guint64 failures;
  guint64 tls[PORTICO_NODE_TLS_SIDES][PORTICO_TRAFFIC_TLS_KINDS];
} WorkerSeen;

struct _PorticoNodeSampler {
  SoupSession *session;
  char *base;           /* "http://127.0.0.1:PORT" */
  guint interval_ms;
  guint timer;
  guint in_flight;
  GCancellable *cancel;
  GArray *workers;      /* WorkerSeen, by slot */
  PorticoNodeSample figures;
};

static guint64
member_uint (JsonObject *o, const char *name)
{
  if (o == NULL || !json_object_has_member (o, name))
    return 0;
  JsonNode *n = json_object_get_member (o, name);
  return JSON_NODE_HOLDS_VALUE (n) ? (guint64) json_node_get_int (n) : 0;
}

static JsonObject *
member_object (JsonObject *o, const char *name)
{
  if (o == NULL || !json_object_has_member (o, name))
    return NULL;
  JsonNode *n = json_object_get_member (o, name);
  return JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

/* Adds to @total what @now grew since @seen, and remembers it. */
static void
add_growth (guint64 *total, guint64 now, guint64 *seen)
{
  *total += now - MIN (now, *seen);
  *seen = now;
}

/* A worker's "tls_handshakes": {"downstream": {"full": N, ...}, "upstream": {...}}. */
static void
take_tls (PorticoNodeSample *f, JsonObject *w, WorkerSeen *seen)
{
  JsonObject *tls = member_object (w, "tls_handshakes");
  for (guint side = 0; side < PORTICO_NODE_TLS_SIDES; side++)
    {
      JsonObject *counts = member_object (tls, portico_node_tls_side_name (side));
      for (guint kind = 0; kind < PORTICO_TRAFFIC_TLS_KINDS; kind++)
        add_growth (&f->tls_handshakes[side][kind], member_uint (counts, portico_traffic_tls_kind_name (kind)),
                    &seen->tls[side][kind]);
    }
}

static void
take_status (PorticoNodeSampler *s, JsonObject *root)
{
  PorticoNodeSample *f = &s->figures;
  JsonObject *node = member_object (root, "node");
  f->respawns = member_uint (node, "respawns");
  f->reloads = member_uint (node, "reloads");
  f->reload_failures = member_uint (node, "reload_failures");
  f->generation = (guint) member_uint (node, "generation");

  g_array_set_size (f->worker_pids, 0);
  JsonArray *workers = json_object_has_member (root, "workers") ? json_object_get_array_member (root, "workers")
                                                                 : NULL;
  for (guint i = 0; workers != NULL && i < json_array_get_length (workers); i++)
    {
      JsonObject *w = json_array_get_object_element (workers, i);
      guint slot = (guint) member_uint (w, "slot");
      GPid pid = (GPid) member_uint (w, "pid");
      if (slot >= s->workers->len)
        g_array_set_size (s->workers, slot + 1);
      WorkerSeen *seen = &g_array_index (s->workers, WorkerSeen, slot);
      if (seen->pid != pid)
        *seen = (WorkerSeen) { .pid = pid };
      JsonObject *up = member_object (w, "upstream");
      guint64 requests = member_uint (w, "requests"), connects = member_uint (up, "connects"),
              reuses = member_uint (up, "reuses"),
              failures = member_uint (up, "failures") + member_uint (up, "timeouts");
      add_growth (&f->requests, requests, &seen->requests);
      add_growth (&f->upstream_connects, connects, &seen->connects);
      add_growth (&f->upstream_reuses, reuses, &seen->reuses);
      add_growth (&f->upstream_failures, failures, &seen->failures);
      take_tls (f, w, seen);
      if (json_object_has_member (w, "loop_lag_max_ms"))
        f->loop_lag_max_ms = MAX (f->loop_lag_max_ms, json_object_get_double_member (w, "loop_lag_max_ms"));
      const char *state = json_object_has_member (w, "state") ? json_object_get_string_member (w, "state") : "";
      if (g_strcmp0 (state, "serving") == 0)
        {
          if (slot >= f->worker_pids->len)
            g_array_set_size (f->worker_pids, slot + 1);
          g_array_index (f->worker_pids, GPid, slot) = pid;
        }
    }
}

static void
take_timers (PorticoNodeSampler *s, JsonArray *workers)
{
  PorticoNodeSample *f = &s->figures;
  guint pending = 0;
  g_autoptr (GHashTable) by_owner = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < json_array_get_length (workers); i++)
    {
      JsonObject *w = json_array_get_object_element (workers, i);
      pending += (guint) member_uint (w, "pending");
      JsonArray *owners = json_object_has_member (w, "owners") ? json_object_get_array_member (w, "owners") : NULL;
      for (guint j = 0; owners != NULL && j < json_array_get_length (owners); j++)
        {
          JsonObject *o = json_array_get_object_element (owners, j);
          const char *name = json_object_get_string_member (o, "name");
          guint n = GPOINTER_TO_UINT (g_hash_table_lookup (by_owner, name)) + (guint) member_uint (o, "pending");
          g_hash_table_insert (by_owner, (gpointer) name, GUINT_TO_POINTER (n));
        }
    }
  f->timers_pending_max = MAX (f->timers_pending_max, pending);
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, by_owner);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      guint before = GPOINTER_TO_UINT (g_hash_table_lookup (f->timers_by_owner_max, key));
      if (GPOINTER_TO_UINT (value) >= before)
        g_hash_table_insert (f->timers_by_owner_max, g_strdup (key), value);
    }
}

typedef struct {
  PorticoNodeSampler *s;
  gboolean timers; /* else status */
} Ask;

static void
on_answer (GObject *source, GAsyncResult *res, gpointer data)
{
  Ask *ask = data;
  PorticoNodeSampler *s = ask->s;
  gboolean timers = ask->timers;
  g_free (ask);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), res, &error);
  s->in_flight--;
  if (body == NULL)
    return; /* the node may be stopping: the next sample will tell */
  g_autoptr (JsonNode) root = portico_json_from_bytes (body, NULL);
  if (root == NULL)
    return;
  if (timers && JSON_NODE_HOLDS_ARRAY (root))
    take_timers (s, json_node_get_array (root));
  else if (!timers && JSON_NODE_HOLDS_OBJECT (root))
    {
      take_status (s, json_node_get_object (root));
      s->figures.samples++;
    }
}

static void
ask (PorticoNodeSampler *s, const char *path, gboolean timers)
{
  g_autofree char *uri = g_strconcat (s->base, path, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", uri);
  Ask *a = g_new (Ask, 1);
  *a = (Ask) { s, timers };
  s->in_flight++;
  soup_session_send_and_read_async (s->session, msg, G_PRIORITY_DEFAULT, s->cancel, on_answer, a);
}

static gboolean
tick (gpointer data)
{
  PorticoNodeSampler *s = data;
  if (s->in_flight == 0) /* a slow node is not asked twice at once */
    {
      ask (s, "/status", FALSE);
      ask (s, "/timers", TRUE);
    }
  return G_SOURCE_CONTINUE;
}

PorticoNodeSampler *
portico_node_sampler_new (const char *admin_addr, guint interval_ms)
{
  PorticoNodeSampler *s = g_new0 (PorticoNodeSampler, 1);
  s->session = soup_session_new_with_options ("timeout", 5, NULL);
  s->base = g_strconcat ("http://", admin_addr, NULL);
  s->interval_ms = interval_ms;
  s->cancel = g_cancellable_new ();
  s->workers = g_array_new (FALSE, TRUE, sizeof (WorkerSeen));
  s->figures.timers_by_owner_max = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s->figures.worker_pids = g_array_new (FALSE, TRUE, sizeof (GPid));
  tick (s);
  s->timer = g_timeout_add (interval_ms, tick, s);
  return s;
}

void
portico_node_sampler_flush (PorticoNodeSampler *s, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (s->in_flight > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  tick (s);
  while (s->in_flight > 0 && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
}

const PorticoNodeSample *
portico_node_sampler_figures (PorticoNodeSampler *s)
{
  return &s->figures;
}

GPid
portico_node_sampler_worker_pid (PorticoNodeSampler *s, guint slot)
{
  GArray *pids = s->figures.worker_pids;
  return slot < pids->len ? g_array_index (pids, GPid, slot) : 0;
}

void
portico_node_sampler_free (PorticoNodeSampler *s)
{
  if (s == NULL)
    return;
  g_source_remove (s->timer);
  g_cancellable_cancel (s->cancel);
  while (s->in_flight > 0)
    g_main_context_iteration (NULL, TRUE);
  g_object_unref (s->cancel);
  g_object_unref (s->session);
  g_hash_table_destroy (s->figures.timers_by_owner_max);
  g_array_free (s->figures.worker_pids, TRUE);
  g_array_free (s->workers, TRUE);
  g_free (s->base);
  g_free (s);
}
