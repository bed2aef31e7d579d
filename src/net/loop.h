/* loop.h: the worker's event loop: sockets and timers on a GMainContext.
 *
 * All sockets of a worker are watched through ONE GSource. With the epoll
 * backend that source owns an epoll fd (edge-triggered; each socket is
 * registered once for its whole life), so the cost of an iteration does not
 * grow with the number of idle connections. The poll backend gives each
 * socket its own GLib source, as a plain GLib program would: it exists to
 * show, measured side by side, why the epoll backend is the default.
 *
 * Both backends deliver readiness the same way, edge-style: a watch's
 * callback gets the events that arrived, the owner sets its ready flags,
 * does I/O until EAGAIN and calls portico_watch_wait() for what it then
 * waits on. Timers live in one binary heap per loop; the core source's
 * prepare() turns the earliest deadline into the poll timeout.
 */
#pragma once

#include <glib.h>
#include <stdint.h>
#include "core/config.h"

G_BEGIN_DECLS

typedef struct _PorticoLoop PorticoLoop;
typedef struct _PorticoWatch PorticoWatch;
typedef struct _PorticoTimer PorticoTimer;

enum {
  PORTICO_EV_READ = 1 << 0,
  PORTICO_EV_WRITE = 1 << 1,
  PORTICO_EV_HUP = 1 << 2, /* the peer closed (at least its side) or an error came:
                            * a read will find EOF after the data */
};

typedef void (*PorticoWatchFunc) (PorticoWatch *watch, guint events);

struct _PorticoWatch {
  int fd; /* -1 when not registered */
  PorticoWatchFunc func;
  guint waiting;   /* PORTICO_EV_READ/WRITE the owner waits for (poll backend) */
  GSource *source; /* poll backend: this socket's own source */
  gpointer tag;    /* poll backend: its unix fd tag */
};

typedef void (*PorticoLoopTimerFunc) (PorticoTimer *timer);

struct _PorticoTimer {
  gint64 deadline; /* loop milliseconds */
  guint heap_index; /* 0 = not armed, else position + 1 */
  PorticoLoopTimerFunc func;
};

PorticoLoop *portico_loop_new (GMainContext *context, PorticoEventBackend backend);
void portico_loop_free (PorticoLoop *loop);

/* Milliseconds of the monotonic clock, read once per loop iteration. */
gint64 portico_loop_now (PorticoLoop *loop);
/* Reads the clock again (after work that took long). */
gint64 portico_loop_update_time (PorticoLoop *loop);

/* Starts watching @fd for both directions. The callback gets the events;
 * with the epoll backend it is registered once, edge-triggered. */
gboolean portico_watch_add (PorticoLoop *loop, PorticoWatch *watch, int fd, PorticoWatchFunc func);
/* Stops watching (call before closing the fd). Events already collected for
 * it in this iteration are dropped. */
void portico_watch_remove (PorticoLoop *loop, PorticoWatch *watch);
/* What the owner now waits for: a no-op for the edge-triggered epoll
 * backend, the poll condition for the poll backend. */
void portico_watch_wait (PorticoLoop *loop, PorticoWatch *watch, guint events);

/* Timers: one-shot; arming an armed timer moves it. */
void portico_timer_arm (PorticoLoop *loop, PorticoTimer *timer, guint ms);
void portico_timer_disarm (PorticoLoop *loop, PorticoTimer *timer);
static inline gboolean
portico_timer_is_armed (const PorticoTimer *timer)
{
  return timer->heap_index != 0;
}
guint portico_loop_n_timers (PorticoLoop *loop);

/* Calls @destroy(@data) once the current batch of events has been
 * dispatched, so an object closed by one event cannot be touched by a later
 * event of the same batch. */
void portico_loop_defer (PorticoLoop *loop, GDestroyNotify destroy, gpointer data);

G_END_DECLS
