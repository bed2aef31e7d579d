/* test-blocking-io-gateway.c: the blocking-io module in a real gateway:
 * while one request blocks the worker, every other one waits its turn;
 * and the same wait done by latency, which does not block. */
#include "../latency/test-teaching-gateway.h"

#define HEADER "X-Portico-Blocking-IO-Waited"
#define N_REQUESTS 10
#define WAIT_MS 200

static const char blocking_plugin[] = "{\"name\":\"blocking-io\",\"config\":{\"ms\":200}}";
static const char latency_plugin[] = "{\"name\":\"latency\",\"config\":{\"ms\":200}}";

/* The worst loop lag the worker's probe saw, once /status shows at least
 * @at_least (bounded wait: the worker publishes every 100 ms). */
static double
loop_lag_max_ms (PorticoTestGateway *tg, double at_least)
{
  double lag = 0;
  for (int i = 0; i < 20 && lag < at_least; i++)
    {
      g_autoptr (JsonNode) status = portico_test_gateway_admin_json (tg, "/status");
      JsonArray *workers = json_object_get_array_member (json_node_get_object (status), "workers");
      g_assert_cmpuint (json_array_get_length (workers), ==, 1);
      lag = json_object_get_double_member (json_array_get_object_element (workers, 0), "loop_lag_max_ms");
      if (lag < at_least)
        g_usleep (100000);
    }
  return lag;
}

/* The burst through @tg, each response saying in @header that it waited. */
static gint64
burst (PorticoTestGateway *tg, const char *header)
{
  gint64 waited[N_REQUESTS];
  gint64 elapsed = teaching_gateway_burst (tg, "/echo/x", N_REQUESTS, 200, header, waited);
  for (guint i = 0; i < N_REQUESTS; i++)
    g_assert_cmpint (waited[i], >=, WAIT_MS);
  return elapsed;
}

static void
test_serializes (void)
{
  g_test_summary ("With one worker and ms=200, ten requests on ten connections are served one after "
                  "the other: the burst takes about ten waits (>= 0.9 x 10 x 200 ms), and the "
                  "worker's loop lag shows the thread was held.");
  g_autoptr (PorticoTestGateway) tg = teaching_gateway_start (blocking_plugin, NULL);
  gint64 elapsed = burst (tg, HEADER);
  g_test_message ("%d requests of %d ms: %" G_GINT64_FORMAT " ms in all", N_REQUESTS, WAIT_MS, elapsed / 1000);
  g_assert_cmpint (elapsed, >=, N_REQUESTS * WAIT_MS * 1000 * 9 / 10);
  /* A 200 ms block holds up the 100 ms lag probe by at least 100 ms. */
  g_assert_cmpfloat (loop_lag_max_ms (tg, 100), >=, 100);
}

static void
test_versus_latency (void)
{
  g_test_summary ("The same 200 ms wait, blocking the worker or yielding: the blocking burst "
                  "takes at least three times as long.");
  g_autoptr (PorticoTestGateway) blocking_gw = teaching_gateway_start (blocking_plugin, NULL);
  gint64 blocking = burst (blocking_gw, HEADER);
  g_autoptr (PorticoTestGateway) latency_gw = teaching_gateway_start (latency_plugin, NULL);
  gint64 yielding = burst (latency_gw, "X-Portico-Latency-Waited");
  g_test_message ("blocking-io: %" G_GINT64_FORMAT " ms, latency: %" G_GINT64_FORMAT " ms",
                  blocking / 1000, yielding / 1000);
  g_assert_cmpint (yielding, >, 0);
  g_assert_cmpfloat ((double) blocking / (double) yielding, >=, 3.0);
}

static void
test_schema (void)
{
  g_test_summary ("The schema requires ms and refuses an unknown phase.");
  teaching_check_plugin ("{\"name\":\"blocking-io\",\"config\":{}}", "plugins[0].config");
  teaching_check_plugin ("{\"name\":\"blocking-io\",\"config\":{\"ms\":1,\"phase\":\"log\"}}",
                         "plugins[0].config.phase");
  teaching_check_plugin ("{\"name\":\"blocking-io\",\"config\":{\"ms\":1,\"phase\":\"rewrite\"}}", NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/blocking-io/gateway/serializes", test_serializes);
  g_test_add_func ("/modules/blocking-io/gateway/versus-latency", test_versus_latency);
  g_test_add_func ("/modules/blocking-io/gateway/schema", test_schema);
  return g_test_run ();
}
