/* lab-proc.h: the processes a scenario starts (gateway nodes, mock
 * services), as children of `portico run`.
 *
 * Each child runs this same binary (`portico serve`, `portico mock`), so a
 * scenario needs nothing installed. Its stdout is read line by line on the
 * main context: the lines "listening ADDR", "admin ADDR" and "control ADDR"
 * are how a child says where it listens (ports are picked free, port 0).
 * Its stderr goes to the runner's, prefixed by nothing: a child's warning
 * is worth seeing. Every child gets PR_SET_PDEATHSIG, and every live one is
 * stopped by portico_lab_procs_stop_all(), so nothing outlives a run, also
 * after Ctrl-C or a failure.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _PorticoLabProc PorticoLabProc;

/* The binary the children run: this process's own executable. */
const char *portico_lab_self_binary (void);

/* Starts @argv (argv[0] is replaced by the binary when NULL) under @name
 * (for messages). NULL with @error when it cannot start. */
PorticoLabProc *portico_lab_proc_spawn (const char *name, const char *const *argv, GError **error);

/* The @index-th value printed as "PREFIX VALUE" ("listening", 0), waiting
 * up to @timeout_ms by running the main context. NULL (and @error) when the
 * child exits or stays silent. Owned by the process. */
const char *portico_lab_proc_wait_value (PorticoLabProc *p, const char *prefix, guint index, guint timeout_ms,
                                         GError **error);
GPid portico_lab_proc_pid (PorticoLabProc *p);
void portico_lab_proc_signal (PorticoLabProc *p, int signum);
/* Whether it has exited, and how (shell style: the code, or 128 + signal). */
gboolean portico_lab_proc_exited (PorticoLabProc *p, int *status);
/* SIGTERM (or @signum), then SIGKILL after @grace_ms; waits for the exit
 * by running the main context. Returns the status as above. */
int portico_lab_proc_stop (PorticoLabProc *p, int signum, guint grace_ms);
/* Stops it if needed, then frees it. */
void portico_lab_proc_free (PorticoLabProc *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoLabProc, portico_lab_proc_free)

/* SIGKILL to every child still running: for Ctrl-C and fatal paths. */
void portico_lab_procs_kill_all (void);

G_END_DECLS
