/* worker.c: accept connections and run the loop. */
#include "node/worker.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>
#include "net/loop.h"
#include "net/sock.h"

#define ACCEPT_PAUSE_MS 100

typedef struct {
  PorticoWatch watch; /* first: the callback casts back */
  PorticoWorker *worker;
  PorticoListener *listener;
  gboolean ready;
} PorticoAcceptor;

struct _PorticoWorker {
  guint id;
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

GPtrArray *
portico_listeners_open (PorticoConfig *config, GError **error)
{
  GPtrArray *listeners = g_ptr_array_new ();
  for (guint i = 0; i < config->node.listen->len; i++)
    {
      PorticoListen *listen = g_ptr_array_index (config->node.listen, i);
      int fd = portico_sock_listen (&listen->address, listen->reuseport || config->node.reuseport,
                                    4096, error);
      if (fd < 0)
        {
          portico_listeners_close (listeners);
          return NULL;
        }
      PorticoListener *l = g_new0 (PorticoListener, 1);
      l->fd = fd;
      l->listen = listen;
      g_ptr_array_add (listeners, l);
    }
  return listeners;
}

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
          portico_proxy_accept (w->proxy, fd, (struct sockaddr *) &peer, len,
                                a->listener->listen->address.port);
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

PorticoWorker *
portico_worker_new (const PorticoConfig *config, GPtrArray *listeners, guint id)
{
  PorticoWorker *w = g_new0 (PorticoWorker, 1);
  w->id = id;
  w->config = config;
  w->main_loop = g_main_loop_new (NULL, FALSE);
  w->loop = portico_loop_new (NULL, config->node.event_backend);
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
  portico_loop_free (w->loop);
  g_main_loop_unref (w->main_loop);
  g_free (w);
}

PorticoProxy *
portico_worker_proxy (PorticoWorker *w)
{
  return w->proxy;
}

void
portico_worker_run (PorticoWorker *w)
{
  g_main_loop_run (w->main_loop);
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
  portico_proxy_drain (w->proxy);
  w->drain_deadline = portico_loop_now (w->loop) + w->config->node.drain_timeout;
  w->drain_check.func = drain_check;
  portico_timer_arm (w->loop, &w->drain_check, 0);
}
