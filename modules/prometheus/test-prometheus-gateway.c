/* test-prometheus-gateway.c: the prometheus module in a real gateway: the
 * counters and histograms the traffic leaves on the admin API's /metrics
 * (per service, per code, per consumer), checked line by line by the
 * exposition checker. */
#include <signal.h>
#include <string.h>

#include "exposition-check.h"
#include "harness-gateway.h"

#define WAIT_MS 5000

/* A gateway with two services on the mock: "alpha" (route "alpha-r",
 * /alpha, with @alpha_route_extra) and "beta" (route "beta-r", /beta), and
 * @rest (more top-level members, starting with a comma). */
static PorticoTestGateway *
gateway (const char *alpha_route_extra, const char *rest)
{
  static const char config[] =
    "{'_format_version':'1',"
    " 'node':{'listen':['127.0.0.1:0'],'admin_listen':'127.0.0.1:0','workers':1,"
    "          'module_path':['@MODULES@']},"
    " 'services':[{'name':'alpha','url':'http://@UPSTREAM@',"
    "                'routes':[{'name':'alpha-r','paths':['/alpha']@ALPHA@}]},"
    "              {'name':'beta','url':'http://@UPSTREAM@',"
    "                'routes':[{'name':'beta-r','paths':['/beta']}]}]@REST@}";
  return portico_test_gateway_new (config, NULL, "@ALPHA@", alpha_route_extra, "@REST@", rest, NULL);
}

static void
send (const char *addr, const char *path, const char *extra_headers, int status)
{
  g_autofree char *req = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: shop\r\n%sConnection: close\r\n\r\n", path,
                                          extra_headers != NULL ? extra_headers : "");
  g_autoptr (PorticoTestResponse) resp = portico_test_request (addr, req);
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, status);
}

/* Scrapes until sample @key reaches @value: the log phase runs after the
 * client has its response, so the last count may land a moment later. */
static PorticoExposition *
scrape_until (PorticoTestGateway *g, const char *key, double value)
{
  gint64 end = g_get_monotonic_time () + WAIT_MS * 1000;
  for (;;)
    {
      g_autofree char *text = portico_test_gateway_admin_text (g, "/metrics");
      PorticoExposition *e = portico_exposition_parse (text);
      if ((portico_exposition_has (e, key) && portico_exposition_sample (e, key) >= value)
          || g_get_monotonic_time () > end)
        return e;
      portico_exposition_free (e);
      g_usleep (50 * 1000);
    }
}

#define REQUESTS(service, route, code, source, consumer)                                                    \
  "kong_http_requests_total{service=\"" service "\",route=\"" route "\",code=\"" code "\",source=\"" source \
  "\",consumer=\"" consumer "\"}"

static void
test_counters (void)
{
  g_test_summary ("After traffic to two services, /metrics counts requests per service, route and "
                  "status code (source service), the latency histograms agree with the counts (+Inf "
                  "bucket == _count == requests), bandwidth is counted both ways, and a request that "
                  "matched no route is not counted.");
  g_autoptr (PorticoTestGateway) g = gateway ("",
                                             ",'plugins':[{'name':'prometheus','config':"
                                             "{'status_code_metrics':true,'latency_metrics':true,"
                                             "'bandwidth_metrics':true}}]");
  const char *addr = g->addr;

  for (guint i = 0; i < 5; i++)
    send (addr, "/alpha/status/200", NULL, 200);
  for (guint i = 0; i < 3; i++)
    send (addr, "/alpha/status/503", NULL, 503);
  for (guint i = 0; i < 2; i++)
    send (addr, "/beta/echo/x", NULL, 200);
  send (addr, "/nowhere", NULL, 404);

  g_autoptr (PorticoExposition) e = scrape_until (g, REQUESTS ("beta", "beta-r", "200", "service", ""), 2);
  g_assert_cmpstr (portico_exposition_type (e, "kong_http_requests_total"), ==, "counter");
  g_assert_cmpstr (portico_exposition_type (e, "kong_request_latency_ms"), ==, "histogram");
  g_assert_cmpstr (portico_exposition_type (e, "kong_upstream_latency_ms"), ==, "histogram");
  g_assert_cmpstr (portico_exposition_type (e, "kong_kong_latency_ms"), ==, "histogram");
  g_assert_cmpstr (portico_exposition_type (e, "kong_bandwidth_bytes"), ==, "counter");

  g_assert_cmpfloat (portico_exposition_sample (e, REQUESTS ("alpha", "alpha-r", "200", "service", "")), ==, 5);
  g_assert_cmpfloat (portico_exposition_sample (e, REQUESTS ("alpha", "alpha-r", "503", "service", "")), ==, 3);
  g_assert_cmpfloat (portico_exposition_sample (e, REQUESTS ("beta", "beta-r", "200", "service", "")), ==, 2);
  g_assert_false (portico_exposition_has (e, REQUESTS ("beta", "beta-r", "503", "service", "")));

  static const char *const families[] = { "kong_request_latency_ms", "kong_upstream_latency_ms",
                                          "kong_kong_latency_ms" };
  for (gsize i = 0; i < G_N_ELEMENTS (families); i++)
    {
      g_autofree char *count = g_strdup_printf ("%s_count{service=\"alpha\",route=\"alpha-r\"}", families[i]);
      g_autofree char *inf = g_strdup_printf ("%s_bucket{service=\"alpha\",route=\"alpha-r\",le=\"+Inf\"}",
                                              families[i]);
      g_autofree char *beta = g_strdup_printf ("%s_count{service=\"beta\",route=\"beta-r\"}", families[i]);
      g_assert_cmpfloat (portico_exposition_sample (e, count), ==, 8);
      g_assert_cmpfloat (portico_exposition_sample (e, inf), ==, 8);
      g_assert_cmpfloat (portico_exposition_sample (e, beta), ==, 2);
    }
  /* Every one of Kong's bounds is there from the first request on. */
  g_assert_true (portico_exposition_has (
    e, "kong_upstream_latency_ms_bucket{service=\"alpha\",route=\"alpha-r\",le=\"25\"}"));
  g_assert_true (portico_exposition_has (
    e, "kong_upstream_latency_ms_bucket{service=\"alpha\",route=\"alpha-r\",le=\"60000\"}"));
  g_assert_true (portico_exposition_has (
    e, "kong_kong_latency_ms_bucket{service=\"beta\",route=\"beta-r\",le=\"750\"}"));

  g_assert_cmpfloat (portico_exposition_sample (
                       e, "kong_bandwidth_bytes{service=\"alpha\",route=\"alpha-r\",direction=\"egress\",consumer=\"\"}"),
                     >, 8 * 20);
  g_assert_cmpint (portico_proc_stop (g->gw), ==, 0);
}

static void
test_defaults (void)
{
  g_test_summary ("With Kong's defaults (every family off) traffic adds no kong_ family: /metrics "
                  "shows the node's own figures only.");
  g_autoptr (PorticoTestGateway) g = gateway ("", ",'plugins':[{'name':'prometheus'}]");
  const char *addr = g->addr;

  for (guint i = 0; i < 3; i++)
    send (addr, "/alpha/status/200", NULL, 200);
  /* Give the log phase the time it would need. */
  g_autoptr (PorticoExposition) e = scrape_until (g, "portico_responses_total{worker=\"0\",class=\"2xx\"}", 3);
  g_assert_cmpfloat (portico_exposition_sample (e, "portico_responses_total{worker=\"0\",class=\"2xx\"}"), ==, 3);
  g_usleep (200 * 1000);
  g_autofree char *text = portico_test_gateway_admin_text (g, "/metrics");
  g_autoptr (PorticoExposition) again = portico_exposition_parse (text);
  g_assert_null (strstr (text, "kong_"));
  g_assert_cmpint (portico_proc_stop (g->gw), ==, 0);
}

static void
test_per_consumer (void)
{
  g_test_summary ("per_consumer: requests authenticated by key-auth are counted under the consumer; "
                  "those it refuses (401, source kong) under consumer=\"\".");
  g_autofree char *key_auth = g_build_filename (g_getenv ("PORTICO_BUNDLED_MODULE_DIR"), "key-auth.so", NULL);
  if (!g_file_test (key_auth, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("key-auth.so is not built: no module authenticates a consumer");
      return;
    }
  g_autoptr (PorticoTestGateway) g = gateway (
    ",'plugins':[{'name':'key-auth'}]",
    ",'consumers':[{'username':'alice','keyauth_credentials':[{'key':'alice-key'}]},"
    "              {'custom_id':'bob-id','keyauth_credentials':[{'key':'bob-key'}]}],"
    " 'plugins':[{'name':'prometheus','config':{'per_consumer':true,'status_code_metrics':true,"
    "                                           'bandwidth_metrics':true}}]");
  const char *addr = g->addr;

  for (guint i = 0; i < 3; i++)
    send (addr, "/alpha/status/200", "apikey: alice-key\r\n", 200);
  send (addr, "/alpha/status/200", "apikey: bob-key\r\n", 200);
  for (guint i = 0; i < 2; i++)
    send (addr, "/alpha/status/200", NULL, 401);
  send (addr, "/beta/status/200", NULL, 200);

  g_autoptr (PorticoExposition) e = scrape_until (g, REQUESTS ("beta", "beta-r", "200", "service", ""), 1);
  g_assert_cmpfloat (portico_exposition_sample (e, REQUESTS ("alpha", "alpha-r", "200", "service", "alice")), ==, 3);
  g_assert_cmpfloat (portico_exposition_sample (e, REQUESTS ("alpha", "alpha-r", "200", "service", "bob-id")), ==, 1);
  g_assert_cmpfloat (portico_exposition_sample (e, REQUESTS ("alpha", "alpha-r", "401", "kong", "")), ==, 2);
  g_assert_cmpfloat (portico_exposition_sample (e, REQUESTS ("beta", "beta-r", "200", "service", "")), ==, 1);
  g_assert_true (portico_exposition_has (
    e, "kong_bandwidth_bytes{service=\"alpha\",route=\"alpha-r\",direction=\"egress\",consumer=\"alice\"}"));
  g_assert_cmpint (portico_proc_stop (g->gw), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);

  g_test_add_func ("/modules/prometheus/gateway/counters", test_counters);
  g_test_add_func ("/modules/prometheus/gateway/defaults", test_defaults);
  g_test_add_func ("/modules/prometheus/gateway/per-consumer", test_per_consumer);
  return g_test_run ();
}
