/* loop.c: one core GSource per worker: timers, deferred frees, and (epoll
 * backend) every socket through one epoll fd. */
#include "net/loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <glib-unix.h>

#define PORTICO_EPOLL_BATCH 512

typedef struct {
  GDestroyNotify destroy;
  gpointer data;
} PorticoDeferred;

typedef struct {
  GSource source;
  PorticoLoop *loop;
} PorticoCoreSource;

typedef struct {
  GSource source;
  PorticoLoop *loop;
  PorticoWatch *watch;
} PorticoFdSource;

struct _PorticoLoop {
  GMainContext *context;
  PorticoEventBackend backend;
  PorticoCoreSource *core;
  int epfd;
  gpointer epfd_tag;
  gint64 now;
  GPtrArray *heap;   /* PorticoTimer*, a binary min-heap on deadline */
  GArray *deferred;  /* PorticoDeferred */
  struct epoll_event events[PORTICO_EPOLL_BATCH];
};

/* --- time --- */

gint64
portico_loop_update_time (PorticoLoop *loop)
{
  loop->now = g_get_monotonic_time () / 1000;
  return loop->now;
}

gint64
portico_loop_now (PorticoLoop *loop)
{
  return loop->now;
}

/* --- timer heap --- */

static inline PorticoTimer *
heap_at (PorticoLoop *loop, guint i)
{
  return g_ptr_array_index (loop->heap, i);
}

static inline void
heap_set (PorticoLoop *loop, guint i, PorticoTimer *t)
{
  loop->heap->pdata[i] = t;
  t->heap_index = i + 1;
}

static void
heap_up (PorticoLoop *loop, guint i)
{
  PorticoTimer *t = heap_at (loop, i);
  while (i > 0)
    {
      guint parent = (i - 1) / 2;
      PorticoTimer *p = heap_at (loop, parent);
      if (p->deadline <= t->deadline)
        break;
      heap_set (loop, i, p);
      i = parent;
    }
  heap_set (loop, i, t);
}

static void
heap_down (PorticoLoop *loop, guint i)
{
  guint n = loop->heap->len;
  PorticoTimer *t = heap_at (loop, i);
  for (;;)
    {
      guint child = 2 * i + 1;
      if (child >= n)
        break;
      if (child + 1 < n && heap_at (loop, child + 1)->deadline < heap_at (loop, child)->deadline)
        child++;
      if (t->deadline <= heap_at (loop, child)->deadline)
        break;
      heap_set (loop, i, heap_at (loop, child));
      i = child;
    }
  heap_set (loop, i, t);
}

void
portico_timer_disarm (PorticoLoop *loop, PorticoTimer *timer)
{
  if (timer->heap_index == 0)
    return;
  guint i = timer->heap_index - 1;
  guint last = loop->heap->len - 1;
  timer->heap_index = 0;
  if (i != last)
    {
      PorticoTimer *moved = heap_at (loop, last);
      g_ptr_array_set_size (loop->heap, last);
      heap_set (loop, i, moved);
      if (i > 0 && heap_at (loop, (i - 1) / 2)->deadline > moved->deadline)
        heap_up (loop, i);
      else
        heap_down (loop, i);
    }
  else
    g_ptr_array_set_size (loop->heap, last);
}

void
portico_timer_arm (PorticoLoop *loop, PorticoTimer *timer, guint ms)
{
  gint64 deadline = loop->now + ms;
  if (timer->heap_index != 0)
    {
      if (timer->deadline == deadline)
        return;
      guint i = timer->heap_index - 1;
      gboolean earlier = deadline < timer->deadline;
      timer->deadline = deadline;
      if (earlier)
        heap_up (loop, i);
      else
        heap_down (loop, i);
      return;
    }
  timer->deadline = deadline;
  g_ptr_array_add (loop->heap, timer);
  heap_up (loop, loop->heap->len - 1);
}

guint
portico_loop_n_timers (PorticoLoop *loop)
{
  return loop->heap->len;
}

static void
run_timers (PorticoLoop *loop)
{
  while (loop->heap->len > 0)
    {
      PorticoTimer *t = heap_at (loop, 0);
      if (t->deadline > loop->now)
        break;
      portico_timer_disarm (loop, t);
      t->func (t);
    }
}

/* --- deferred frees --- */

void
portico_loop_defer (PorticoLoop *loop, GDestroyNotify destroy, gpointer data)
{
  PorticoDeferred d = { destroy, data };
  g_array_append_val (loop->deferred, d);
}

static void
run_deferred (PorticoLoop *loop)
{
  /* A destroy function may defer more: the loop reads len each time. */
  for (guint i = 0; i < loop->deferred->len; i++)
    {
      PorticoDeferred d = g_array_index (loop->deferred, PorticoDeferred, i);
      d.destroy (d.data);
    }
  g_array_set_size (loop->deferred, 0);
}

/* --- the core source --- */

static gboolean
core_prepare (GSource *source, gint *timeout)
{
  PorticoLoop *loop = ((PorticoCoreSource *) source)->loop;
  portico_loop_update_time (loop);
  if (loop->deferred->len > 0)
    {
      *timeout = 0;
      return TRUE;
    }
  if (loop->heap->len == 0)
    {
      *timeout = -1;
      return FALSE;
    }
  gint64 wait = heap_at (loop, 0)->deadline - loop->now;
  if (wait <= 0)
    {
      *timeout = 0;
      return TRUE;
    }
  *timeout = wait > G_MAXINT ? G_MAXINT : (gint) wait;
  return FALSE;
}

static gboolean
core_check (GSource *source)
{
  PorticoLoop *loop = ((PorticoCoreSource *) source)->loop;
  portico_loop_update_time (loop);
  if (loop->deferred->len > 0)
    return TRUE;
  if (loop->heap->len > 0 && heap_at (loop, 0)->deadline <= loop->now)
    return TRUE;
  if (loop->epfd >= 0 && g_source_query_unix_fd (source, loop->epfd_tag) != 0)
    return TRUE;
  return FALSE;
}

static guint
events_from_epoll (guint32 e)
{
  guint events = 0;
  if (e & EPOLLIN)
    events |= PORTICO_EV_READ;
  if (e & EPOLLRDHUP)
    events |= PORTICO_EV_READ | PORTICO_EV_HUP;
  if (e & EPOLLOUT)
    events |= PORTICO_EV_WRITE;
  if (e & (EPOLLHUP | EPOLLERR))
    events |= PORTICO_EV_HUP | PORTICO_EV_READ | PORTICO_EV_WRITE;
  return events;
}

static void
dispatch_epoll (PorticoLoop *loop)
{
  int n = epoll_wait (loop->epfd, loop->events, PORTICO_EPOLL_BATCH, 0);
  if (n < 0)
    {
      if (errno != EINTR)
        g_warning ("epoll_wait: %s", g_strerror (errno));
      return;
    }
  for (int i = 0; i < n; i++)
    {
      PorticoWatch *w = loop->events[i].data.ptr;
      if (w->fd < 0)
        continue; /* removed by an earlier event of this batch */
      w->func (w, events_from_epoll (loop->events[i].events));
    }
}

static gboolean
core_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  PorticoLoop *loop = ((PorticoCoreSource *) source)->loop;
  if (loop->epfd >= 0)
    dispatch_epoll (loop);
  run_deferred (loop);
  portico_loop_update_time (loop);
  run_timers (loop);
  run_deferred (loop);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs core_funcs = {
  .prepare = core_prepare,
  .check = core_check,
  .dispatch = core_dispatch,
};

/* --- the poll backend: one GLib source per socket --- */

static gboolean
fd_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  PorticoFdSource *fs = (PorticoFdSource *) source;
  PorticoWatch *w = fs->watch;
  GIOCondition cond = g_source_query_unix_fd (source, w->tag);
  guint events = 0;
  if (cond & G_IO_IN)
    events |= PORTICO_EV_READ;
  if (cond & G_IO_OUT)
    events |= PORTICO_EV_WRITE;
  if (cond & (G_IO_HUP | G_IO_ERR | G_IO_NVAL))
    events |= PORTICO_EV_HUP | PORTICO_EV_READ | PORTICO_EV_WRITE;
  /* Edge-style: stop waiting for what arrived until the owner asks again. */
  w->waiting &= ~events;
  g_source_modify_unix_fd (source, w->tag, (w->waiting & PORTICO_EV_READ ? G_IO_IN : 0) |
                                               (w->waiting & PORTICO_EV_WRITE ? G_IO_OUT : 0));
  portico_loop_update_time (fs->loop);
  w->func (w, events);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs fd_funcs = {
  .dispatch = fd_dispatch,
};

/* --- watches --- */

gboolean
portico_watch_add (PorticoLoop *loop, PorticoWatch *watch, int fd, PorticoWatchFunc func)
{
  watch->fd = fd;
  watch->func = func;
  watch->waiting = PORTICO_EV_READ | PORTICO_EV_WRITE;
  if (loop->backend == PORTICO_EVENT_BACKEND_EPOLL)
    {
      struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
        .data.ptr = watch,
      };
      if (epoll_ctl (loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        {
          watch->fd = -1;
          return FALSE;
        }
      return TRUE;
    }
  PorticoFdSource *fs = (PorticoFdSource *) g_source_new (&fd_funcs, sizeof (PorticoFdSource));
  fs->loop = loop;
  fs->watch = watch;
  watch->source = (GSource *) fs;
  watch->tag = g_source_add_unix_fd (watch->source, fd, G_IO_IN | G_IO_OUT);
  g_source_set_can_recurse (watch->source, TRUE); /* as for the core source */
  g_source_attach (watch->source, loop->context);
  return TRUE;
}

void
portico_watch_wait (PorticoLoop *loop, PorticoWatch *watch, guint events)
{
  if (watch->source == NULL || watch->waiting == events)
    return;
  watch->waiting = events;
  g_source_modify_unix_fd (watch->source, watch->tag, (events & PORTICO_EV_READ ? G_IO_IN : 0) |
                                                          (events & PORTICO_EV_WRITE ? G_IO_OUT : 0));
}

void
portico_watch_remove (PorticoLoop *loop, PorticoWatch *watch)
{
  if (watch->fd < 0)
    return;
  if (watch->source != NULL)
    {
      g_source_destroy (watch->source);
      g_source_unref (watch->source);
      watch->source = NULL;
      watch->tag = NULL;
    }
  else
    epoll_ctl (loop->epfd, EPOLL_CTL_DEL, watch->fd, NULL);
  watch->fd = -1;
}

/* --- the loop --- */

PorticoLoop *
portico_loop_new (GMainContext *context, PorticoEventBackend backend)
{
  PorticoLoop *loop = g_new0 (PorticoLoop, 1);
  loop->context = context ? g_main_context_ref (context) : g_main_context_ref_thread_default ();
  loop->backend = backend;
  loop->heap = g_ptr_array_new ();
  loop->deferred = g_array_new (FALSE, FALSE, sizeof (PorticoDeferred));
  loop->epfd = -1;
  portico_loop_update_time (loop);

  loop->core = (PorticoCoreSource *) g_source_new (&core_funcs, sizeof (PorticoCoreSource));
  loop->core->loop = loop;
  g_source_set_name ((GSource *) loop->core, "portico-core");
  /* GLib "blocks" a non-recursive source while dispatching it: it takes its
   * fds out of the poll set and puts them back after, and putting them back
   * wakes the context through its eventfd: a write and a read per
   * iteration, for nothing, since we never iterate the context from a
   * callback. */
  g_source_set_can_recurse ((GSource *) loop->core, TRUE);
  if (backend == PORTICO_EVENT_BACKEND_EPOLL)
    {
      loop->epfd = epoll_create1 (EPOLL_CLOEXEC);
      if (loop->epfd < 0)
        g_error ("epoll_create1: %s", g_strerror (errno));
      loop->epfd_tag = g_source_add_unix_fd ((GSource *) loop->core, loop->epfd, G_IO_IN);
    }
  g_source_attach ((GSource *) loop->core, loop->context);
  return loop;
}

void
portico_loop_free (PorticoLoop *loop)
{
  if (loop == NULL)
    return;
  run_deferred (loop);
  g_source_destroy ((GSource *) loop->core);
  g_source_unref ((GSource *) loop->core);
  if (loop->epfd >= 0)
    close (loop->epfd);
  while (loop->heap->len > 0)
    portico_timer_disarm (loop, heap_at (loop, 0));
  g_ptr_array_free (loop->heap, TRUE);
  g_array_free (loop->deferred, TRUE);
  g_main_context_unref (loop->context);
  g_free (loop);
}
