/* test-timer-per-request-gateway.c: a timer per request in a real
 * gateway: they pile up in /timers under the module's name, then go. */
#include <string.h>

#include "../latency/test-teaching-gateway.h"

#define OWNER "timer-per-request"
#define N_REQUESTS 20
#define INTERVAL_MS 100
#define LIFETIME_MS 2000

/* The module's timers on the one worker, pending or running, and how many
 * times they ran, as /timers shows them (0 when the owner is not listed). */
static void
owner_timers (PorticoTestGateway *tg, gint64 *live, gint64 *fired)
{
  g_autoptr (JsonNode) timers = portico_test_gateway_admin_json (tg, "/timers");
  JsonArray *workers = json_node_get_array (timers);
  g_assert_cmpuint (json_array_get_length (workers), ==, 1);
  JsonArray *owners = json_object_get_array_member (json_array_get_object_element (workers, 0), "owners");
  *live = *fired = 0;
  for (guint i = 0; i < json_array_get_length (owners); i++)
    {
      JsonObject *o = json_array_get_object_element (owners, i);
      if (g_str_equal (json_object_get_string_member (o, "name"), OWNER))
        {
          *live = json_object_get_int_member (o, "pending") + json_object_get_int_member (o, "running");
          *fired = json_object_get_int_member (o, "fired");
        }
    }
}

/* The sum of the checks counter's series in /metrics. */
static gint64
checks_counted (PorticoTestGateway *tg)
{
  g_autofree char *metrics = portico_test_gateway_admin_text (tg, "/metrics");
  g_auto (GStrv) lines = g_strsplit (metrics, "\n", -1);
  gint64 sum = 0;
  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix (*l, "timer_per_request_checks_total"))
      sum += g_ascii_strtoll (strrchr (*l, ' ') + 1, NULL, 10);
  return sum;
}

static void
test_pile_up_and_expire (void)
{
  g_test_summary ("After N requests, /timers shows at least N pending timers owned by "
                  "timer-per-request; each runs every interval; after the lifetime they are gone.");
  g_autoptr (PorticoTestGateway) tg = teaching_gateway_start (
    "{\"name\":\"timer-per-request\",\"config\":{\"interval_ms\":100,\"lifetime_ms\":2000}}", NULL);

  gint64 last_sent = 0;
  for (int i = 0; i < N_REQUESTS; i++)
    {
      last_sent = g_get_monotonic_time ();
      g_autoptr (PorticoTestResponse) r =
        portico_test_request (tg->addr, "GET /echo/t HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
      g_assert_nonnull (r);
      g_assert_cmpint (r->status, ==, 200);
    }

  /* The worker publishes its timers every 100 ms: wait for it (bounded). */
  gint64 live = 0, fired = 0;
  for (int i = 0; i < 20 && live < N_REQUESTS; i++)
    {
      g_usleep (50000);
      owner_timers (tg, &live, &fired);
    }
  g_test_message ("after %d requests: %" G_GINT64_FORMAT " timers", N_REQUESTS, live);
  g_assert_cmpint (live, >=, N_REQUESTS);

  gint64 gone_at = 0;
  for (int i = 0; i < (LIFETIME_MS + 3000) / 100; i++)
    {
      g_usleep (100000);
      owner_timers (tg, &live, &fired);
      if (live == 0)
        {
          gone_at = g_get_monotonic_time ();
          break;
        }
    }
  g_test_message ("gone %" G_GINT64_FORMAT " ms after the last request, after %" G_GINT64_FORMAT " runs",
                  gone_at ? (gone_at - last_sent) / 1000 : -1, fired);
  g_assert_cmpint (gone_at, >, 0);
  /* The last timer cannot end before its last run within the lifetime. */
  g_assert_cmpint (gone_at - last_sent, >=, (LIFETIME_MS - INTERVAL_MS) * 1000);
  /* On time, each runs lifetime / interval = 20 times; ask for half. */
  g_assert_cmpint (fired, >=, N_REQUESTS * (LIFETIME_MS / INTERVAL_MS) / 2);
  g_assert_cmpint (checks_counted (tg), ==, fired);
}

static void
test_schema (void)
{
  g_test_summary ("The configuration refuses a lifetime shorter than the interval, and a zero interval.");
  teaching_check_plugin ("{\"name\":\"timer-per-request\",\"config\":{\"interval_ms\":500,\"lifetime_ms\":100}}",
                         "plugins[0].config");
  teaching_check_plugin ("{\"name\":\"timer-per-request\",\"config\":{\"interval_ms\":0}}",
                         "plugins[0].config.interval_ms");
  teaching_check_plugin ("{\"name\":\"timer-per-request\"}", NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/timer-per-request/gateway/pile-up-and-expire", test_pile_up_and_expire);
  g_test_add_func ("/modules/timer-per-request/gateway/schema", test_schema);
  return g_test_run ();
}
