/* test-latency-gateway.c: the latency module in a real gateway: requests
 * wait, and the one worker serves the others meanwhile. */
#include "test-teaching-gateway.h"

#define HEADER "X-Portico-Latency-Waited"
#define N_REQUESTS 10
#define WAIT_MS 200

static void
test_overlap (void)
{
  g_test_summary ("With one worker and ms=200, ten requests on ten connections each wait 200 ms, "
                  "and they wait together: the burst takes well under ten waits (< 5 x 200 ms).");
  g_autoptr (PorticoTestGateway) tg =
    teaching_gateway_start ("{\"name\":\"latency\",\"config\":{\"ms\":200}}", NULL);
  gint64 waited[N_REQUESTS];
  gint64 elapsed = teaching_gateway_burst (tg, "/echo/x", N_REQUESTS, 200, HEADER, waited);
  g_test_message ("%d requests of %d ms: %" G_GINT64_FORMAT " ms in all", N_REQUESTS, WAIT_MS, elapsed / 1000);
  for (guint i = 0; i < N_REQUESTS; i++)
    g_assert_cmpint (waited[i], >=, WAIT_MS);
  g_assert_cmpint (elapsed, >=, WAIT_MS * 1000);
  g_assert_cmpint (elapsed, <, 5 * WAIT_MS * 1000);
}

static void
test_phases (void)
{
  g_test_summary ("phase rewrite (a global plugin) waits before routing, so even a request no route "
                  "matches waits; phase access waits only for routed requests.");
  g_autoptr (PorticoTestGateway) early =
    teaching_gateway_start (NULL, "{\"name\":\"latency\",\"config\":{\"ms\":150,\"phase\":\"rewrite\"}}");
  gint64 waited;
  gint64 elapsed = teaching_gateway_burst (early, "/nowhere", 1, 404, HEADER, &waited);
  g_assert_cmpint (waited, >=, 150);
  g_assert_cmpint (elapsed, >=, 150000);
  teaching_gateway_burst (early, "/echo/y", 1, 200, HEADER, &waited);
  g_assert_cmpint (waited, >=, 150);

  g_autoptr (PorticoTestGateway) late = teaching_gateway_start (NULL, "{\"name\":\"latency\",\"config\":{\"ms\":400}}");
  elapsed = teaching_gateway_burst (late, "/nowhere", 1, 404, HEADER, &waited);
  g_assert_cmpint (waited, ==, -1);
  g_assert_cmpint (elapsed, <, 400000);
  teaching_gateway_burst (late, "/echo/y", 1, 200, HEADER, &waited);
  g_assert_cmpint (waited, >=, 400);
}

static void
test_jitter (void)
{
  g_test_summary ("jitter_ms: each request waits ms plus a random part, not all the same.");
  g_autoptr (PorticoTestGateway) tg =
    teaching_gateway_start ("{\"name\":\"latency\",\"config\":{\"ms\":50,\"jitter_ms\":150}}", NULL);
  gint64 waited[N_REQUESTS];
  teaching_gateway_burst (tg, "/echo/z", N_REQUESTS, 200, HEADER, waited);
  gint64 lowest = G_MAXINT64, highest = 0;
  for (guint i = 0; i < N_REQUESTS; i++)
    {
      lowest = MIN (lowest, waited[i]);
      highest = MAX (highest, waited[i]);
    }
  g_assert_cmpint (lowest, >=, 50);
  g_assert_cmpint (highest, >, lowest);
}

static void
test_schema (void)
{
  g_test_summary ("The schema refuses a missing ms, one over 60000, and an unknown phase; "
                  "accepts a valid config.");
  teaching_check_plugin ("{\"name\":\"latency\",\"config\":{}}", "plugins[0].config");
  teaching_check_plugin ("{\"name\":\"latency\",\"config\":{\"ms\":60001}}", "plugins[0].config.ms");
  teaching_check_plugin ("{\"name\":\"latency\",\"config\":{\"ms\":1,\"phase\":\"log\"}}",
                         "plugins[0].config.phase");
  teaching_check_plugin ("{\"name\":\"latency\",\"config\":{\"ms\":1,\"phase\":\"rewrite\",\"jitter_ms\":5}}",
                         NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/latency/gateway/overlap", test_overlap);
  g_test_add_func ("/modules/latency/gateway/phases", test_phases);
  g_test_add_func ("/modules/latency/gateway/jitter", test_jitter);
  g_test_add_func ("/modules/latency/gateway/schema", test_schema);
  return g_test_run ();
}
