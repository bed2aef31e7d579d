/* test-latency.c: the latency module's configuration and the wait its
 * handler starts on one call and ends on the next. */
#include "latency-logic.h"

static LatencyConf *
conf_from (const char *json)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);
  g_assert_nonnull (node);
  return latency_conf_new (json_node_get_object (node));
}

static void
test_conf (void)
{
  g_autofree LatencyConf *plain = conf_from ("{\"ms\": 200, \"phase\": \"access\", \"jitter_ms\": 0}");
  g_assert_cmpuint (plain->ms, ==, 200);
  g_assert_cmpuint (plain->jitter_ms, ==, 0);
  g_assert_cmpint (plain->phase, ==, PORTICO_PHASE_ACCESS);

  g_autofree LatencyConf *early = conf_from ("{\"ms\": 5, \"phase\": \"rewrite\", \"jitter_ms\": 7}");
  g_assert_cmpuint (early->ms, ==, 5);
  g_assert_cmpuint (early->jitter_ms, ==, 7);
  g_assert_cmpint (early->phase, ==, PORTICO_PHASE_REWRITE);
}

static void
test_wait_then_continue (void)
{
  g_test_summary ("The first call plans the wait and asks to yield for all of it; the call after "
                  "the resume ends it with the time really waited, and leaves the state idle.");
  LatencyConf conf = { .ms = 200 };
  LatencyWait wait = { 0 };
  guint ms = 12345;
  gint64 t0 = 1000000;

  g_assert_true (latency_step (&wait, &conf, t0, 99, &ms));
  g_assert_cmpuint (ms, ==, 200);
  g_assert_true (wait.waiting);
  g_assert_cmpuint (wait.planned_ms, ==, 200);
  g_assert_cmpint (wait.started_us, ==, t0);

  g_assert_false (latency_step (&wait, &conf, t0 + 203900, 99, &ms));
  g_assert_cmpuint (ms, ==, 203);
  g_assert_false (wait.waiting);

  /* Another instance of the module in a later phase starts its own wait. */
  g_assert_true (latency_step (&wait, &conf, t0 + 300000, 0, &ms));
  g_assert_cmpint (wait.started_us, ==, t0 + 300000);
}

static void
test_early_resume (void)
{
  g_test_summary ("A resume that comes before the plan has elapsed (the loop's clock is read once "
                  "per turn, in ms) yields again for the rest, rounded up: the wait is never short.");
  LatencyConf conf = { .ms = 200 };
  LatencyWait wait = { 0 };
  guint ms;
  gint64 t0 = 5000000;
  g_assert_true (latency_step (&wait, &conf, t0, 0, &ms));

  g_assert_true (latency_step (&wait, &conf, t0 + 198100, 0, &ms));
  g_assert_cmpuint (ms, ==, 2);
  g_assert_true (wait.waiting);
  g_assert_cmpint (wait.started_us, ==, t0);

  g_assert_true (latency_step (&wait, &conf, t0 + 199999, 0, &ms));
  g_assert_cmpuint (ms, ==, 1);

  g_assert_false (latency_step (&wait, &conf, t0 + 200000, 0, &ms));
  g_assert_cmpuint (ms, ==, 200);
  g_assert_false (wait.waiting);
}

static void
test_zero (void)
{
  g_test_summary ("ms 0 without jitter does not yield at all.");
  LatencyConf conf = { .ms = 0 };
  LatencyWait wait = { 0 };
  guint ms = 1;
  g_assert_false (latency_step (&wait, &conf, 5, 0xffffffffu, &ms));
  g_assert_cmpuint (ms, ==, 0);
  g_assert_false (wait.waiting);
}

static void
test_jitter (void)
{
  g_test_summary ("jitter_ms adds 0 to jitter_ms ms, both ends included, whatever the random bits.");
  LatencyConf conf = { .ms = 100, .jitter_ms = 50 };
  guint32 randoms[] = { 0, 1, 50, 51, 101, 0x7fffffffu, 0xffffffffu, 12345678 };
  gboolean saw_min = FALSE, saw_max = FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (randoms); i++)
    {
      LatencyWait wait = { 0 };
      guint ms;
      g_assert_true (latency_step (&wait, &conf, 0, randoms[i], &ms));
      g_assert_cmpuint (wait.planned_ms, >=, 100);
      g_assert_cmpuint (wait.planned_ms, <=, 150);
      saw_min |= wait.planned_ms == 100;
      saw_max |= wait.planned_ms == 150;
    }
  g_assert_true (saw_min);
  g_assert_true (saw_max);

  /* ms 0 with jitter still waits when the draw is not 0. */
  LatencyConf only_jitter = { .ms = 0, .jitter_ms = 10 };
  LatencyWait wait = { 0 };
  guint ms;
  g_assert_true (latency_step (&wait, &only_jitter, 0, 3, &ms));
  g_assert_cmpuint (ms, ==, 3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/latency/conf", test_conf);
  g_test_add_func ("/modules/latency/step/wait-then-continue", test_wait_then_continue);
  g_test_add_func ("/modules/latency/step/early-resume", test_early_resume);
  g_test_add_func ("/modules/latency/step/zero", test_zero);
  g_test_add_func ("/modules/latency/step/jitter", test_jitter);
  return g_test_run ();
}
