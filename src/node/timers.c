/* timers.c: named, owned, accounted timers on the loop's timer heap. */
#include "node/timers.h"

#include <string.h>

#define LAG_PROBE_MS 100

typedef struct {
  char name[PORTICO_SHM_OWNER_NAME];
  guint32 pending;
  guint32 running;
  guint64 fired;
  guint64 run_us;
  guint64 max_late_us;
} Owner;

struct _PorticoTimerEntry {
  PorticoTimer timer; /* first: the loop calls back with it */
  PorticoTimers *timers;
  Owner *owner;
  char *name;
  guint interval_ms;
  gint64 due_us; /* when it should fire, monotonic */
  PorticoTimerCallback callback;
  gpointer data;
  GDestroyNotify destroy;
  gboolean running;
  gboolean cancelled;
};

struct _PorticoTimers {
  PorticoLoop *loop;
  guint max_pending;
  guint pending;
  guint running;
  guint64 fired;
  Owner owners[PORTICO_SHM_N_OWNERS];
  guint n_owners;
  PorticoTimer probe;
  gint64 probe_due_us;
  guint32 lag_us;
  guint32 lag_max_us;
};

G_DEFINE_QUARK (portico-timers-error-quark, portico_timers_error)

static Owner *
owner_for (PorticoTimers *t, const char *name)
{
  for (guint i = 0; i < t->n_owners; i++)
    if (strcmp (t->owners[i].name, name) == 0)
      return &t->owners[i];
  if (t->n_owners == PORTICO_SHM_N_OWNERS)
    return NULL;
  Owner *o = &t->owners[t->n_owners++];
  g_strlcpy (o->name, name, sizeof o->name);
  return o;
}

static void
entry_free (PorticoTimerEntry *e)
{
  if (e->destroy != NULL)
    e->destroy (e->data);
  g_free (e->name);
  g_free (e);
}

static void
entry_fire (PorticoTimer *timer)
{
  PorticoTimerEntry *e = (PorticoTimerEntry *) timer;
  PorticoTimers *t = e->timers;
  Owner *o = e->owner;
  gint64 start = g_get_monotonic_time ();
  guint64 late = start > e->due_us ? (guint64) (start - e->due_us) : 0;
  if (late > o->max_late_us)
    o->max_late_us = late;

  o->pending--;
  t->pending--;
  o->running++;
  t->running++;
  e->running = TRUE;
  gboolean again = e->callback (e->data);
  e->running = FALSE;
  o->running--;
  t->running--;
  o->fired++;
  t->fired++;
  o->run_us += (guint64) (g_get_monotonic_time () - start);
  portico_loop_update_time (t->loop);

  if (again && e->interval_ms > 0 && !e->cancelled)
    {
      o->pending++;
      t->pending++;
      e->due_us += (gint64) e->interval_ms * 1000;
      portico_timer_arm (t->loop, &e->timer, e->interval_ms);
      return;
    }
  entry_free (e);
}

PorticoTimerEntry *
portico_timers_add (PorticoTimers *t, const char *owner, const char *name, guint delay_ms,
                    guint interval_ms, PorticoTimerCallback callback, gpointer data,
                    GDestroyNotify destroy, GError **error)
{
  g_return_val_if_fail (callback != NULL, NULL);
  Owner *o = owner_for (t, owner);
  if (o == NULL)
    {
      g_set_error (error, PORTICO_TIMERS_ERROR, PORTICO_TIMERS_ERROR_OWNERS,
                   "timer \"%s\" of %s: this worker already has %d timer owners", name, owner,
                   PORTICO_SHM_N_OWNERS);
      return NULL;
    }
  if (t->pending >= t->max_pending)
    {
      g_set_error (error, PORTICO_TIMERS_ERROR, PORTICO_TIMERS_ERROR_FULL,
                   "timer \"%s\" of %s refused: the worker has %u pending timers (the cap), %u of "
                   "them %s's", name, owner, t->pending, o->pending, owner);
      return NULL;
    }
  PorticoTimerEntry *e = g_new0 (PorticoTimerEntry, 1);
  e->timers = t;
  e->owner = o;
  e->name = g_strdup (name);
  e->interval_ms = interval_ms;
  e->callback = callback;
  e->data = data;
  e->destroy = destroy;
  e->timer.func = entry_fire;
  e->due_us = g_get_monotonic_time () + (gint64) delay_ms * 1000;
  o->pending++;
  t->pending++;
  portico_timer_arm (t->loop, &e->timer, delay_ms);
  return e;
}

void
portico_timers_cancel (PorticoTimers *t, PorticoTimerEntry *e)
{
  if (e->running)
    {
      /* From inside its own callback: it ends when the callback returns. */
      e->cancelled = TRUE;
      return;
    }
  if (portico_timer_is_armed (&e->timer))
    {
      portico_timer_disarm (t->loop, &e->timer);
      e->owner->pending--;
      t->pending--;
    }
  entry_free (e);
}

static void
probe_fire (PorticoTimer *timer)
{
  PorticoTimers *t = (PorticoTimers *) ((char *) timer - G_STRUCT_OFFSET (PorticoTimers, probe));
  gint64 now = g_get_monotonic_time ();
  gint64 late = now - t->probe_due_us;
  /* The loop's clock has millisecond steps: lateness under 1 ms is noise. */
  t->lag_us = late > 1000 ? (guint32) MIN (late, G_MAXUINT32) : 0;
  if (t->lag_us > t->lag_max_us)
    t->lag_max_us = t->lag_us;
  t->probe_due_us = now + LAG_PROBE_MS * 1000;
  portico_timer_arm (t->loop, &t->probe, LAG_PROBE_MS);
}

PorticoTimers *
portico_timers_new (PorticoLoop *loop, guint max_pending)
{
  PorticoTimers *t = g_new0 (PorticoTimers, 1);
  t->loop = loop;
  t->max_pending = max_pending;
  t->probe.func = probe_fire;
  t->probe_due_us = g_get_monotonic_time () + LAG_PROBE_MS * 1000;
  portico_timer_arm (loop, &t->probe, LAG_PROBE_MS);
  return t;
}

void
portico_timers_free (PorticoTimers *t)
{
  if (t == NULL)
    return;
  portico_timer_disarm (t->loop, &t->probe);
  g_free (t);
}

guint
portico_timers_pending (PorticoTimers *t)
{
  return t->pending;
}

guint64
portico_timers_fired (PorticoTimers *t)
{
  return t->fired;
}

guint
portico_timers_running (PorticoTimers *t)
{
  return t->running;
}

guint32
portico_timers_lag (PorticoTimers *t)
{
  return t->lag_us;
}

guint32
portico_timers_lag_max (PorticoTimers *t)
{
  return t->lag_max_us;
}

void
portico_timers_publish (PorticoTimers *t, PorticoShmSlot *slot)
{
  slot->timers_pending = t->pending;
  slot->timers_running = t->running;
  slot->timers_fired = t->fired;
  slot->loop_lag_us = t->lag_us;
  slot->loop_lag_max_us = t->lag_max_us;
  for (guint i = 0; i < PORTICO_SHM_N_OWNERS; i++)
    {
      PorticoShmTimerOwner *so = &slot->owners[i];
      if (i >= t->n_owners)
        {
          memset (so, 0, sizeof *so);
          continue;
        }
      const Owner *o = &t->owners[i];
      memcpy (so->name, o->name, sizeof so->name);
      so->pending = o->pending;
      so->running = o->running;
      so->fired = o->fired;
      so->run_us = o->run_us;
      so->max_late_us = o->max_late_us;
    }
}
