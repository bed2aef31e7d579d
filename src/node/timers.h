/* timers.h: the worker's timer service: named one-shot and recurring timers
 * with an owner each, run on the worker's one thread.
 *
 * While a timer's callback runs, no connection is served: the service
 * accounts for every owner (the core, or a module) how many timers it has
 * pending, how many ran, how long they took and how late they fired, so the
 * cost of "a timer per request" is visible in /timers. A cap on pending
 * timers turns a runaway module into a clear error instead of a dying
 * worker. It also measures the loop's lag: a probe every 100 ms notes how
 * late it fires, which is how long the thread was busy elsewhere. */
#pragma once

#include <glib.h>
#include "net/loop.h"
#include "node/shm.h"

G_BEGIN_DECLS

typedef struct _PorticoTimers PorticoTimers;
typedef struct _PorticoTimerEntry PorticoTimerEntry;

/* Return TRUE to run again after the interval (recurring timers); a one-shot
 * timer's return value is ignored. */
typedef gboolean (*PorticoTimerCallback) (gpointer data);

#define PORTICO_TIMERS_ERROR (portico_timers_error_quark ())
GQuark portico_timers_error_quark (void);

typedef enum {
  PORTICO_TIMERS_ERROR_FULL, /* the worker's cap on pending timers is reached */
  PORTICO_TIMERS_ERROR_OWNERS, /* too many distinct owners */
} PorticoTimersError;

PorticoTimers *portico_timers_new (PorticoLoop *loop, guint max_pending);
void portico_timers_free (PorticoTimers *timers);

/* Schedules @callback after @delay_ms, then every @interval_ms if
 * @interval_ms > 0 and the callback returns TRUE. @owner and @name are
 * copied. @destroy frees @data when the timer ends (fired once, returned
 * FALSE, or cancelled). */
PorticoTimerEntry *portico_timers_add (PorticoTimers *timers, const char *owner, const char *name,
                                       guint delay_ms, guint interval_ms, PorticoTimerCallback callback,
                                       gpointer data, GDestroyNotify destroy, GError **error);
void portico_timers_cancel (PorticoTimers *timers, PorticoTimerEntry *entry);

guint portico_timers_pending (PorticoTimers *timers);
guint64 portico_timers_fired (PorticoTimers *timers);
guint portico_timers_running (PorticoTimers *timers);
/* The last and the worst lag the probe measured, in microseconds. */
guint32 portico_timers_lag (PorticoTimers *timers);
guint32 portico_timers_lag_max (PorticoTimers *timers);

/* Copies the per-owner accounting into a shared-memory slot. */
void portico_timers_publish (PorticoTimers *timers, PorticoShmSlot *slot);

G_END_DECLS
