/* signals.h: Unix signals as main-loop events.
 *
 * g_unix_signal_add() does not take SIGQUIT or SIGCHLD, which a master
 * needs (graceful stop, reaping). The handler installed here only writes the
 * signal number to a pipe (async-signal-safe); the loop reads the pipe and
 * calls the callbacks, so everything happens on the loop, never in the
 * handler. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef void (*PorticoSignalFunc) (int signum, gpointer data);

/* Calls @func(@signum, @data) from the thread-default main context (as it
 * was at the first call) each time @signum arrives. Returns an id for
 * portico_signal_remove(). */
guint portico_signal_add (int signum, PorticoSignalFunc func, gpointer data);
void portico_signal_remove (guint id);

/* Forgets every handler (their signals get their default action back) and
 * the pipe: a forked child calls it before installing its own. */
void portico_signals_reset (void);

G_END_DECLS
