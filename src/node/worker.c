/* worker.c: accept connections and run the loop. */
#include "node/worker.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "net/loop.h"
#include "net/sock.h"
#include "core/histogram.h"
#include "node/signals.h"
#include "pdk/phases.h"

#define ACCEPT_PAUSE_MS 100
#define PUBLISH_MS 100
#define MAX_PENDING_TIMERS 100000

typedef struct {
  PorticoWatch watch; /* first: the callback casts back */
  PorticoWorker *worker;
  PorticoListener *listener;
  gboolean ready;
} PorticoAcceptor;

struct _PorticoWorker {
  guint64 phase_hist[PORTICO_SHM_N_PHASES][PORTICO_SHM_N_BUCKETS];
  guint slot;
  guint generation;
  PorticoShm *shm;
  PorticoTimers *timers;
  gint64 started_us;
  PorticoWorkerState state;
  const PorticoConfig *config;
  GMainLoop *main_loop;
  PorticoLoop *loop;
  PorticoProxy *proxy;
  GPtrArray *acceptors; /* PorticoAcceptor* */
  PorticoTimer accept_pause;
  PorticoTimer drain_check;
  gint64 drain_deadline;
  gboolean stopping;
};

void
portico_listeners_close (GPtrArray *listeners)
{
  if (listeners == NULL)
    return;
  for (guint i = 0; i < listeners->len; i++)
    {
      PorticoListener *l = g_ptr_array_index (listeners, i);
      close (l->fd);
      g_free (l);
    }
  g_ptr_array_free (listeners, TRUE);
}

static void
accept_all (PorticoAcceptor *a)
{
  PorticoWorker *w = a->worker;
  while (a->ready && !w->stopping)
    {
      struct sockaddr_storage peer;
      socklen_t len = sizeof peer;
      int fd = accept4 (a->listener->fd, (struct sockaddr *) &peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd >= 0)
        {
          portico_proxy_accept (w->proxy, fd, (struct sockaddr *) &peer, len, a->listener->listen);
          continue;
        }
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        {
          a->ready = FALSE;
          portico_watch_wait (w->loop, &a->watch, PORTICO_EV_READ);
          return;
        }
      /* EMFILE/ENFILE/ENOBUFS: out of something. Pause instead of spinning;
       * the connections we hold will free some. */
      g_warning ("accept on %s: %s (pausing %d ms)", a->listener->listen->address.text,
                 g_strerror (errno), ACCEPT_PAUSE_MS);
      portico_timer_arm (w->loop, &w->accept_pause, ACCEPT_PAUSE_MS);
      return;
    }
}

static void
acceptor_on_events (PorticoWatch *watch, guint events)
{
  PorticoAcceptor *a = (PorticoAcceptor *) watch;
  if (events & PORTICO_EV_READ)
    a->ready = TRUE;
  portico_watch_wait (a->worker->loop, watch, 0);
  accept_all (a);
}

static void
accept_resume (PorticoTimer *timer)
{
  PorticoWorker *w = (PorticoWorker *) ((char *) timer - G_STRUCT_OFFSET (PorticoWorker, accept_pause));
  for (guint i = 0; i < w->acceptors->len; i++)
    accept_all (g_ptr_array_index (w->acceptors, i));
}

/* A traced request, into the worker's ring for GET /traces. */
static void
put_trace (const PorticoTraceRecord *record, gpointer data)
{
  PorticoWorker *w = data;
  portico_shm_trace_put (w->shm, w->slot, record);
}

/* Copies the worker's figures into its shared-memory slot. */
static void
publish (PorticoWorker *w)
{
  if (w->shm == NULL)
    return;
  const PorticoProxyStats *st = portico_proxy_stats (w->proxy);
  PorticoShmSlot *slot = portico_shm_slot (w->shm, w->slot);
  portico_shm_slot_write_begin (slot);
  slot->pid = (gint32) getpid ();
  slot->generation = w->generation;
  slot->state = w->state;
  slot->started_us = w->started_us;
  slot->updated_us = g_get_real_time ();
  for (guint i = 0; i < PORTICO_SHM_N_CONN_STATES; i++)
    slot->connections[i] = st->states[i];
  slot->upstream_idle = st->upstream_idle;
  slot->upstream_busy = st->upstream_busy;
  slot->accepted = st->accepted;
  slot->requests = st->requests;
  memcpy (slot->responses, st->responses, sizeof slot->responses);
  slot->bytes_in = st->bytes_in;
  slot->bytes_out = st->bytes_out;
  slot->upstream_connects = st->upstream_connects;
  slot->upstream_reuses = st->upstream_reuses;
  slot->upstream_failures = st->upstream_failures;
  slot->upstream_timeouts = st->upstream_timeouts;
  G_STATIC_ASSERT (sizeof slot->latency_hist == sizeof st->latency_hist);
  memcpy (slot->latency_hist, st->latency_hist, sizeof slot->latency_hist);
  memcpy (slot->phase_hist, w->phase_hist, sizeof slot->phase_hist);
  G_STATIC_ASSERT (sizeof slot->tls_handshakes == sizeof st->tls_handshakes);
  memcpy (slot->tls_handshakes, st->tls_handshakes, sizeof slot->tls_handshakes);
  portico_timers_publish (w->timers, slot);
  portico_shm_slot_write_end (slot);
}

typedef struct {
  PorticoWorker *worker;
  const PorticoUpstream *upstream;
} HealthTick;

static gboolean
health_tick (gpointer data)
{
  HealthTick *h = data;
  portico_health_probe (h->worker->proxy, h->upstream);
  return G_SOURCE_CONTINUE;
}

static gboolean
publish_tick (gpointer data)
{
  publish (data);
  return TRUE;
}

PorticoWorker *
portico_worker_new (const PorticoConfig *config, GPtrArray *listeners, PorticoShm *shm, guint slot,
                    guint generation)
{
  PorticoWorker *w = g_new0 (PorticoWorker, 1);
  w->slot = slot;
  w->generation = generation;
  w->shm = shm;
  w->started_us = g_get_real_time ();
  w->state = PORTICO_WORKER_STARTING;
  w->config = config;
  w->main_loop = g_main_loop_new (g_main_context_get_thread_default (), FALSE);
  w->loop = portico_loop_new (NULL, config->node.event_backend);
  w->timers = portico_timers_new (w->loop, MAX_PENDING_TIMERS);
  w->proxy = portico_proxy_new (w->loop, config);
  w->accept_pause.func = accept_resume;
  w->acceptors = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < listeners->len; i++)
    {
      PorticoAcceptor *a = g_new0 (PorticoAcceptor, 1);
      a->worker = w;
      a->listener = g_ptr_array_index (listeners, i);
      a->watch.fd = -1;
      if (!portico_watch_add (w->loop, &a->watch, a->listener->fd, acceptor_on_events))
        g_error ("cannot watch the listener %s: %s", a->listener->listen->address.text,
                 g_strerror (errno));
      g_ptr_array_add (w->acceptors, a);
    }
  if (shm != NULL)
    {
      PorticoTracer tracer = { .slot = slot, .last_id = portico_shm_trace_last_id (shm, slot),
                               .put = put_trace, .data = w };
      portico_proxy_set_tracer (w->proxy, &tracer);
    }
  if (shm != NULL)
    portico_timers_add (w->timers, "core", "publish-stats", PUBLISH_MS, PUBLISH_MS, publish_tick, w, NULL,
                        NULL);
  /* Active health checks: one timer per upstream that has them, in every
   * worker; each tick, one worker of the node runs the round (health-probe.c). */
  for (guint i = 0; shm != NULL && i < config->upstreams->len; i++)
    {
      const PorticoUpstream *upstream = g_ptr_array_index (config->upstreams, i);
      guint tick = portico_health_probe_interval (upstream);
      if (tick == 0)
        continue;
      HealthTick *h = g_new (HealthTick, 1);
      *h = (HealthTick) { w, upstream };
      portico_timers_add (w->timers, "health", upstream->name, tick, tick, health_tick, h, g_free, NULL);
    }
  return w;
}

void
portico_worker_free (PorticoWorker *w)
{
  if (w == NULL)
    return;
  for (guint i = 0; i < w->acceptors->len; i++)
    portico_watch_remove (w->loop, g_ptr_array_index (w->acceptors, i));
  g_ptr_array_free (w->acceptors, TRUE);
  portico_timer_disarm (w->loop, &w->accept_pause);
  portico_timer_disarm (w->loop, &w->drain_check);
  portico_proxy_free (w->proxy);
  portico_timers_free (w->timers);
  portico_loop_free (w->loop);
  g_main_loop_unref (w->main_loop);
  g_free (w);
}

void
portico_worker_record_phase (PorticoWorker *w, PorticoPhase phase, guint64 us)
{
  w->phase_hist[phase][portico_histogram_bucket (us)]++;
}

void
portico_worker_run (PorticoWorker *w)
{
  w->state = PORTICO_WORKER_SERVING;
  publish (w);
  g_main_loop_run (w->main_loop);
  w->state = PORTICO_WORKER_EXITED;
  publish (w);
}

static void
drain_check (PorticoTimer *timer)
{
  PorticoWorker *w = (PorticoWorker *) ((char *) timer - G_STRUCT_OFFSET (PorticoWorker, drain_check));
  if (portico_proxy_n_connections (w->proxy) == 0 || portico_loop_now (w->loop) >= w->drain_deadline)
    {
      g_main_loop_quit (w->main_loop);
      return;
    }
  portico_timer_arm (w->loop, timer, 50);
}

void
portico_worker_stop (PorticoWorker *w, gboolean graceful)
{
  if (!w->stopping)
    {
      w->stopping = TRUE;
      for (guint i = 0; i < w->acceptors->len; i++)
        portico_watch_remove (w->loop, g_ptr_array_index (w->acceptors, i));
    }
  if (!graceful)
    {
      g_main_loop_quit (w->main_loop);
      return;
    }
  w->state = PORTICO_WORKER_DRAINING;
  publish (w);
  portico_proxy_drain (w->proxy);
  w->drain_deadline = portico_loop_now (w->loop) + w->config->node.drain_timeout;
  w->drain_check.func = drain_check;
  portico_timer_arm (w->loop, &w->drain_check, 0);
}

/* The worker of this process, for the phase timings' recorder. */
static PorticoWorker *this_worker;

static void
record_handler (PorticoPhase phase, guint64 us)
{
  if (this_worker != NULL)
    portico_worker_record_phase (this_worker, phase, us);
}

static void
on_stop_signal (int signum, gpointer data)
{
  portico_worker_stop (data, signum == SIGQUIT);
}

int
portico_worker_main (const PorticoConfig *config, PorticoModuleSet *modules, GPtrArray *listeners,
                     PorticoShm *shm, guint slot, guint generation)
{
  /* A fresh context: the master's sources stay behind in the default one. */
  GMainContext *context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  portico_signals_reset ();
  PorticoWorker *w = portico_worker_new (config, listeners, shm, slot, generation);
  this_worker = w;
  portico_proxy_set_modules (w->proxy, modules);
  portico_proxy_set_phase_recorder (record_handler);
  portico_pdk_bind_worker (w->timers, shm, slot,
                           config->node.workers ? config->node.workers : (guint) g_get_num_processors ());
  portico_pdk_bind_gateway (config);
  portico_signal_add (SIGQUIT, on_stop_signal, w);
  portico_signal_add (SIGTERM, on_stop_signal, w);
  portico_signal_add (SIGINT, on_stop_signal, w);
  signal (SIGHUP, SIG_IGN);
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  gboolean ok = portico_modules_init_worker (modules, &error);
  portico_worker_record_phase (w, PORTICO_PHASE_INIT_WORKER, (guint64) (g_get_monotonic_time () - start));
  if (!ok)
    {
      g_warning ("worker in slot %u: %s", slot, error->message);
      return 1;
    }
  portico_worker_run (w);
  /* Modules flush what they hold (file-log's buffer) while timers and the
   * shared zone are still there. */
  portico_modules_exit_worker (modules);
  portico_signals_reset ();
  portico_worker_free (w);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return 0;
}
