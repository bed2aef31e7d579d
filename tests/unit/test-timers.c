/* test-timers.c: the worker's timer service: owners, accounting, the cap,
 * recurring timers, cancellation, and the loop-lag probe. */
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "net/loop.h"
#include "node/shm.h"
#include "node/timers.h"

static void
iterate_for (int ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;
  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
}

static gboolean
count_and_stop_at_3 (gpointer data)
{
  int *n = data;
  return ++*n < 3;
}

static gboolean
count_once (gpointer data)
{
  (*(int *) data)++;
  return TRUE; /* ignored for one-shot timers */
}

static void
test_one_shot_and_recurring (void)
{
  g_test_summary ("A one-shot timer fires once; a recurring one until its callback returns FALSE; "
                  "the owner's accounting follows.");
  PorticoLoop *loop = portico_loop_new (NULL, PORTICO_EVENT_BACKEND_EPOLL);
  PorticoTimers *t = portico_timers_new (loop, 100);
  int once = 0, thrice = 0;
  g_assert_nonnull (portico_timers_add (t, "core", "once", 5, 0, count_once, &once, NULL, NULL));
  g_assert_nonnull (portico_timers_add (t, "mod-a", "thrice", 5, 5, count_and_stop_at_3, &thrice, NULL, NULL));
  g_assert_cmpuint (portico_timers_pending (t), ==, 2);
  iterate_for (200);
  g_assert_cmpint (once, ==, 1);
  g_assert_cmpint (thrice, ==, 3);
  g_assert_cmpuint (portico_timers_pending (t), ==, 0);
  g_assert_cmpuint (portico_timers_fired (t), ==, 4);

  PorticoShmSlot slot = { 0 };
  portico_timers_publish (t, &slot);
  g_assert_cmpuint (slot.timers_fired, ==, 4);
  g_assert_cmpstr (slot.owners[0].name, ==, "core");
  g_assert_cmpuint (slot.owners[0].fired, ==, 1);
  g_assert_cmpstr (slot.owners[1].name, ==, "mod-a");
  g_assert_cmpuint (slot.owners[1].fired, ==, 3);
  g_assert_cmpuint (slot.owners[1].pending, ==, 0);
  portico_timers_free (t);
  portico_loop_free (loop);
}

typedef struct {
  int *fired;
  gboolean freed;
} Tracked;

static gboolean
tracked_fire (gpointer data)
{
  (*((Tracked *) data)->fired)++;
  return FALSE;
}

static void
tracked_free (gpointer data)
{
  ((Tracked *) data)->freed = TRUE;
}

static void
test_cap_and_cancel (void)
{
  g_test_summary ("Past the cap a new timer is refused with an error naming its owner; cancelled "
                  "timers never fire and free their data.");
  PorticoLoop *loop = portico_loop_new (NULL, PORTICO_EVENT_BACKEND_EPOLL);
  PorticoTimers *t = portico_timers_new (loop, 3);
  int fired = 0;
  Tracked tr[3] = { { &fired, FALSE }, { &fired, FALSE }, { &fired, FALSE } };
  PorticoTimerEntry *e[3];
  for (int i = 0; i < 3; i++)
    e[i] = portico_timers_add (t, "greedy", "t", 10, 0, tracked_fire, &tr[i], tracked_free, NULL);
  g_autoptr (GError) error = NULL;
  g_assert_null (portico_timers_add (t, "greedy", "one-too-many", 10, 0, count_once, &fired, NULL, &error));
  g_assert_error (error, PORTICO_TIMERS_ERROR, PORTICO_TIMERS_ERROR_FULL);
  g_assert_nonnull (strstr (error->message, "greedy"));
  portico_timers_cancel (t, e[0]);
  portico_timers_cancel (t, e[1]);
  g_assert_true (tr[0].freed);
  g_assert_true (tr[1].freed);
  g_assert_false (tr[2].freed);
  g_assert_cmpuint (portico_timers_pending (t), ==, 1);
  iterate_for (100);
  g_assert_cmpint (fired, ==, 1);
  g_assert_true (tr[2].freed);
  portico_timers_free (t);
  portico_loop_free (loop);
}

static gboolean
block_thread (gpointer data)
{
  g_usleep (GPOINTER_TO_UINT (data) * 1000);
  return FALSE;
}

static void
test_loop_lag (void)
{
  g_test_summary ("A timer that blocks the thread shows as loop lag, and as run time of its owner.");
  PorticoLoop *loop = portico_loop_new (NULL, PORTICO_EVENT_BACKEND_EPOLL);
  PorticoTimers *t = portico_timers_new (loop, 100);
  iterate_for (250);
  portico_timers_add (t, "blocker", "sleep", 1, 0, block_thread, GUINT_TO_POINTER (300), NULL, NULL);
  iterate_for (500);
  /* The probe was due during the 300 ms sleep: it fired late by most of it. */
  g_assert_cmpuint (portico_timers_lag_max (t), >=, 150 * 1000);
  PorticoShmSlot slot = { 0 };
  portico_timers_publish (t, &slot);
  g_assert_cmpstr (slot.owners[0].name, ==, "blocker");
  g_assert_cmpuint (slot.owners[0].run_us, >=, 300 * 1000);
  portico_timers_free (t);
  portico_loop_free (loop);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/node/timers/one-shot-and-recurring", test_one_shot_and_recurring);
  g_test_add_func ("/node/timers/cap-and-cancel", test_cap_and_cancel);
  g_test_add_func ("/node/timers/loop-lag", test_loop_lag);
  return g_test_run ();
}
