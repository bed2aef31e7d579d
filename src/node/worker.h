/* worker.h: a worker: one thread, one GMainLoop, the epoll source, the
 * listening sockets it accepts on, and the proxy that serves what it
 * accepts. */
#pragma once

#include <glib.h>
#include "core/config.h"
#include "node/shm.h"
#include "node/timers.h"
#include "pdk/module-loader.h"
#include "proxy/proxy.h"

G_BEGIN_DECLS

typedef struct {
  int fd;
  PorticoListen *listen; /* its address's port is the one bound */
} PorticoListener;

/* Closes and frees an array of PorticoListener* (the master opens them). */
void portico_listeners_close (GPtrArray *listeners);

typedef struct _PorticoWorker PorticoWorker;

/* @shm may be NULL (a worker alone, in tests); otherwise the worker
 * publishes its figures to slot @slot of it several times a second. */
PorticoWorker *portico_worker_new (const PorticoConfig *config, GPtrArray *listeners, PorticoShm *shm,
                                   guint slot, guint generation);
void portico_worker_free (PorticoWorker *worker);
/* Runs until portico_worker_stop() and, for a graceful stop, until the
 * last connection is done (bounded by node.drain_timeout). */
void portico_worker_run (PorticoWorker *worker);
void portico_worker_stop (PorticoWorker *worker, gboolean graceful);
/* Counts a phase's run (all its handlers, @us microseconds) in the worker's
 * per-phase latency histogram, published with the rest of its slot. */
void portico_worker_record_phase (PorticoWorker *worker, PorticoPhase phase, guint64 us);

/* The whole life of a forked worker process: install its signal handlers
 * (QUIT: graceful stop; TERM, INT: fast stop), run the modules'
 * init_worker, serve, return the exit code (1 if a module's init_worker
 * failed). */
int portico_worker_main (const PorticoConfig *config, PorticoModuleSet *modules, GPtrArray *listeners,
                         PorticoShm *shm, guint slot, guint generation);

G_END_DECLS
