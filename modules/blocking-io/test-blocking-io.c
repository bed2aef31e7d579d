/* test-blocking-io.c: the blocking-io module's configuration and its wait,
 * which really holds the calling thread. */
#include "blocking-io-logic.h"

static BlockingIoConf *
conf_from (const char *json)
{
  g_autoptr (JsonNode) node = json_from_string (json, NULL);
  g_assert_nonnull (node);
  return blocking_io_conf_new (json_node_get_object (node));
}

static void
test_conf (void)
{
  g_autofree BlockingIoConf *plain = conf_from ("{\"ms\": 200, \"phase\": \"access\"}");
  g_assert_cmpuint (plain->ms, ==, 200);
  g_assert_cmpint (plain->phase, ==, PORTICO_PHASE_ACCESS);
  g_autofree BlockingIoConf *early = conf_from ("{\"ms\": 3, \"phase\": \"rewrite\"}");
  g_assert_cmpuint (early->ms, ==, 3);
  g_assert_cmpint (early->phase, ==, PORTICO_PHASE_REWRITE);
}

static gboolean
note_fired (gpointer data)
{
  *(gint64 *) data = g_get_monotonic_time ();
  return G_SOURCE_REMOVE;
}

static void
test_blocks_the_thread (void)
{
  g_test_summary ("The wait holds the thread: a timer of the same loop due 5 ms in fires only "
                  "after it, and the wait reports at least ms.");
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GSource) timer = g_timeout_source_new (5);
  gint64 fired_us = 0;
  g_source_set_callback (timer, note_fired, &fired_us, NULL);
  g_source_attach (timer, context);

  BlockingIoConf conf = { .ms = 60 };
  gint64 start = g_get_monotonic_time ();
  guint waited = blocking_io_wait (&conf);
  gint64 end = g_get_monotonic_time ();
  g_assert_cmpuint (waited, >=, 60);
  g_assert_cmpint (end - start, >=, 60000);
  g_assert_cmpint (fired_us, ==, 0);

  for (int i = 0; i < 100 && fired_us == 0; i++)
    g_main_context_iteration (context, TRUE);
  g_assert_cmpint (fired_us, >=, end);
  g_source_destroy (timer);
}

static void
test_zero (void)
{
  BlockingIoConf conf = { .ms = 0 };
  g_assert_cmpuint (blocking_io_wait (&conf), <, 20);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/blocking-io/conf", test_conf);
  g_test_add_func ("/modules/blocking-io/wait/blocks-the-thread", test_blocks_the_thread);
  g_test_add_func ("/modules/blocking-io/wait/zero", test_zero);
  return g_test_run ();
}
