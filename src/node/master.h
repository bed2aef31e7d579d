/* master.h: the master process of a node: the capital.
 *
 * It loads the configuration, opens the listening sockets and creates the
 * shared-memory zone before it forks anything, so every worker starts with
 * that memory already built (copy-on-write). Then its job is to keep the
 * node whole: fork the workers and the admin process, resurrect any that
 * dies (backing off when one keeps dying), reload (a new generation of
 * workers, then the old one drains), and stop. It is single-threaded and
 * never handles a request; it never runs libsoup, because it forks.
 *
 * Signals: HUP reload, QUIT graceful stop, TERM/INT fast stop, CHLD reap.
 */
#pragma once

#include <glib.h>
#include "core/config.h"
#include "node/shm.h"

G_BEGIN_DECLS

/* Runs the admin process (set by the binary, which links libsoup; the core
 * library does not). Returns its exit code. */
typedef int (*PorticoAdminFunc) (PorticoShm *shm, const PorticoConfig *config, int listen_fd,
                                 int control_fd, const char *runtime_dir);

typedef struct {
  const char *config_path;
  const char *pid_file;  /* NULL: none */
  gboolean daemonize;    /* detach once listening (needs pid_file) */
  PorticoAdminFunc admin; /* NULL: no admin process */
} PorticoMasterOptions;

/* Runs a node until it is stopped. Prints "listening ADDR" for each proxy
 * listener and "admin ADDR" for the admin listener once they are open.
 * Returns the exit code (0 after a clean stop, 1 if it could not start). */
int portico_master_run (const PorticoMasterOptions *options);

/* Reads the pid in @pid_file and sends it @signum: `portico reload|stop`. */
gboolean portico_master_signal (const char *pid_file, int signum, GError **error);

G_END_DECLS
