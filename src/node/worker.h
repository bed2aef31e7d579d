/* worker.h: a worker: one thread, one GMainLoop, the epoll source, the
 * listening sockets it accepts on, and the proxy that serves what it
 * accepts. */
#pragma once

#include <glib.h>
#include "core/config.h"
#include "proxy/proxy.h"

G_BEGIN_DECLS

typedef struct {
  int fd;
  PorticoListen *listen; /* its address's port is the one bound */
} PorticoListener;

/* Opens every node.listen socket (in the master, before forking). Ports 0
 * are replaced by the ones the kernel picked. Returns an array of
 * PorticoListener*, or NULL with @error naming the address. */
GPtrArray *portico_listeners_open (PorticoConfig *config, GError **error);
void portico_listeners_close (GPtrArray *listeners);

typedef struct _PorticoWorker PorticoWorker;

PorticoWorker *portico_worker_new (const PorticoConfig *config, GPtrArray *listeners, guint id);
void portico_worker_free (PorticoWorker *worker);
/* Runs until portico_worker_stop() and, for a graceful stop, until the
 * last connection is done (bounded by node.drain_timeout). */
void portico_worker_run (PorticoWorker *worker);
void portico_worker_stop (PorticoWorker *worker, gboolean graceful);
PorticoProxy *portico_worker_proxy (PorticoWorker *worker);

G_END_DECLS
