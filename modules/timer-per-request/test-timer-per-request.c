/* test-timer-per-request.c: the module's configuration and how long one
 * request's timer lives. */
#include "timer-per-request-logic.h"

static TimerPerRequestConf *
conf_from (const char *json, GError **error)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);
  g_assert_nonnull (node);
  return timer_per_request_conf_new (json_node_get_object (node), error);
}

static void
test_conf (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree TimerPerRequestConf *defaults = conf_from ("{\"interval_ms\": 1000, \"lifetime_ms\": 60000}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (defaults->interval_ms, ==, 1000);
  g_assert_cmpuint (defaults->lifetime_ms, ==, 60000);

  g_autofree TimerPerRequestConf *once = conf_from ("{\"interval_ms\": 250, \"lifetime_ms\": 250}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (once->lifetime_ms, ==, 250);
}

static void
test_conf_refuses_short_life (void)
{
  g_test_summary ("A lifetime shorter than the interval is refused, with both values named.");
  g_autoptr (GError) error = NULL;
  g_autofree TimerPerRequestConf *conf = conf_from ("{\"interval_ms\": 500, \"lifetime_ms\": 499}", &error);
  g_assert_null (conf);
  g_assert_nonnull (error);
  g_assert_cmpstr (error->message, ==, "lifetime_ms (499) must be at least interval_ms (500)");
}

/* Runs a check the way the worker's timer would, each run @late_us after
 * it was due (a recurring timer is re-armed from when it ran); returns
 * the runs, *last_us: when the last one ran. */
static guint
run_check (const TimerPerRequestConf *conf, gint64 late_us, gint64 *last_us)
{
  TimerPerRequestCheck check;
  gint64 now = 1000000;
  timer_per_request_check_init (&check, conf, now);
  guint runs = 0;
  gboolean again = TRUE;
  while (again && runs < 10000)
    {
      now += (gint64) conf->interval_ms * 1000 + late_us;
      runs++;
      again = timer_per_request_check_again (&check, now);
    }
  *last_us = now - 1000000;
  return runs;
}

static void
test_lifetime (void)
{
  g_test_summary ("On time, a check runs lifetime/interval times and its last run is at the "
                  "lifetime; late, it runs fewer times and still never past the lifetime.");
  TimerPerRequestConf conf = { .interval_ms = 100, .lifetime_ms = 1000 };
  gint64 last;
  g_assert_cmpuint (run_check (&conf, 0, &last), ==, 10);
  g_assert_cmpint (last, ==, 1000000);

  g_assert_cmpuint (run_check (&conf, 30000, &last), ==, 7);
  g_assert_cmpint (last, <=, 1000000);

  TimerPerRequestConf once = { .interval_ms = 250, .lifetime_ms = 250 };
  g_assert_cmpuint (run_check (&once, 0, &last), ==, 1);
  TimerPerRequestConf uneven = { .interval_ms = 300, .lifetime_ms = 1000 };
  g_assert_cmpuint (run_check (&uneven, 0, &last), ==, 3);
  g_assert_cmpint (last, ==, 900000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/timer-per-request/conf", test_conf);
  g_test_add_func ("/modules/timer-per-request/conf/refuses-short-life", test_conf_refuses_short_life);
  g_test_add_func ("/modules/timer-per-request/check/lifetime", test_lifetime);
  return g_test_run ();
}
