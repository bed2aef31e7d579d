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

/* Calls @func(@signum, @data) from the default main context each time
 * @signum arrives. Returns an id for portico_signal_remove(). */
guint portico_signal_add (int signum, PorticoSignalFunc func, gpointer data);
void portico_signal_remove (guint id);

G_END_DECLS
