/* test-rate-limiting-gateway.c: the rate-limiting module in a real gateway
 * in front of `portico mock`: refusals, headers, windows, identifiers, and
 * what the "local" and "shared" policies count with two workers. */
#include "harness-gateway.h"

/* Every request loop stays under this. */
#define MAX_REQUESTS 40

/* @workers behind one service, with or without the admin API, and the
 * plugin with @plugin_config (global). */
static char *
config_for (guint workers, gboolean admin, const char *plugin_config)
{
  return g_strdup_printf (
    "{'_format_version':'1',"
    "'node':{'listen':['127.0.0.1:0'],'admin_listen':'%s','workers':%u,'reuseport':true,"
    "'module_path':['@MODULES@']},"
    "'services':[{'name':'s','url':'http://@UPSTREAM@','routes':[{'name':'r','paths':['/']}]}],"
    "'plugins':[{'name':'rate-limiting','config':%s}]}",
    admin ? "127.0.0.1:0" : "off", workers, plugin_config);
}

/* One worker in front of a mock, with the plugin config the test names. */
static void
fixture_setup (PorticoTestGateway *f, gconstpointer plugin_config)
{
  g_autofree char *config = config_for (1, FALSE, plugin_config);
  portico_test_gateway_start (f, config, NULL, NULL);
}

/* One request on its own connection; @headers: extra "Name: value\r\n" lines. */
static PorticoTestResponse *
get (const char *addr, const char *path, const char *headers)
{
  g_autofree char *req = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n", path,
                                          headers ? headers : "");
  PorticoTestResponse *resp = portico_test_request (addr, req);
  g_assert_nonnull (resp);
  return resp;
}

/* The header's value as a number; -1 when absent. */
static gint64
header_int (const PorticoTestResponse *resp, const char *name)
{
  const char *value = portico_test_response_header (resp, name);
  return value != NULL ? g_ascii_strtoll (value, NULL, 10) : -1;
}

/* Waits (at most @need_s) until at least @need_s are left in the current
 * @period_s window, so a test's requests all fall in one window. */
static void
wait_for_room (gint64 period_s, gint64 need_s)
{
  gint64 now_ms = g_get_real_time () / 1000;
  gint64 left_ms = period_s * 1000 - now_ms % (period_s * 1000);
  if (left_ms < need_s * 1000)
    g_usleep ((left_ms + 20) * 1000);
}

static void
assert_refused (const PorticoTestResponse *resp, int status, const char *message)
{
  g_assert_cmpint (resp->status, ==, status);
  g_autofree char *body = portico_test_response_body_string (resp);
  g_autofree char *expected = g_strdup_printf ("{\"message\":\"%s\"}", message);
  g_assert_cmpstr (g_strstrip (body), ==, expected);
}

static void
test_minute_headers (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("Three requests a minute: each 200 carries X-RateLimit-*-Minute and RateLimit-* "
                  "counting down; the fourth gets Kong's 429 with Retry-After, and never reaches "
                  "the upstream.");
  wait_for_room (60, 10);

  for (int i = 0; i < 3; i++)
    {
      g_autoptr (PorticoTestResponse) resp = get (f->addr, "/echo/ok", NULL);
      g_assert_cmpint (resp->status, ==, 200);
      g_assert_cmpint (header_int (resp, "X-RateLimit-Limit-Minute"), ==, 3);
      g_assert_cmpint (header_int (resp, "X-RateLimit-Remaining-Minute"), ==, 2 - i);
      g_assert_cmpint (header_int (resp, "RateLimit-Limit"), ==, 3);
      g_assert_cmpint (header_int (resp, "RateLimit-Remaining"), ==, 2 - i);
      gint64 reset = header_int (resp, "RateLimit-Reset");
      g_assert_cmpint (reset, >=, 1);
      g_assert_cmpint (reset, <=, 60);
      g_assert_null (portico_test_response_header (resp, "X-RateLimit-Limit-Second"));
      g_assert_null (portico_test_response_header (resp, "Retry-After"));
      /* The upstream answered these. */
      g_assert_cmpstr (portico_test_response_header (resp, "Server"), ==, "portico-mock");
    }

  g_autoptr (PorticoTestResponse) refused = get (f->addr, "/echo/too-many", NULL);
  assert_refused (refused, 429, "API rate limit exceeded");
  g_assert_cmpint (header_int (refused, "X-RateLimit-Limit-Minute"), ==, 3);
  g_assert_cmpint (header_int (refused, "X-RateLimit-Remaining-Minute"), ==, 0);
  g_assert_cmpint (header_int (refused, "RateLimit-Remaining"), ==, 0);
  gint64 retry = header_int (refused, "Retry-After");
  g_assert_cmpint (retry, >=, 1);
  g_assert_cmpint (retry, <=, 60);
  g_assert_cmpint (retry, ==, header_int (refused, "RateLimit-Reset"));
  g_assert_cmpstr (portico_test_response_header (refused, "Server"), !=, "portico-mock");
  /* Still refused: a refusal does not count, but does not free a slot either. */
  g_autoptr (PorticoTestResponse) again = get (f->addr, "/echo/too-many", NULL);
  g_assert_cmpint (again->status, ==, 429);
}

static void
test_second_window (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("Windows are fixed and aligned on the clock: two requests a second, the third is "
                  "refused with Retry-After: 1, and the next second starts over.");
  wait_for_room (3600, 5);
  /* Start right after a second begins: the three requests take far less. */
  gint64 now_ms = g_get_real_time () / 1000;
  g_usleep ((1000 - now_ms % 1000 + 5) * 1000);

  int statuses[3];
  gint64 retry = -1, remaining_hour = -1;
  for (int i = 0; i < 3; i++)
    {
      g_autoptr (PorticoTestResponse) resp = get (f->addr, "/echo/s", NULL);
      statuses[i] = resp->status;
      retry = header_int (resp, "Retry-After");
      remaining_hour = header_int (resp, "X-RateLimit-Remaining-Hour");
    }
  g_assert_cmpint (statuses[0], ==, 200);
  g_assert_cmpint (statuses[1], ==, 200);
  g_assert_cmpint (statuses[2], ==, 429);
  g_assert_cmpint (retry, ==, 1);
  /* The refused request did not count against the hour. */
  g_assert_cmpint (remaining_hour, ==, 98);

  g_usleep (1000 * 1000);
  g_autoptr (PorticoTestResponse) next = get (f->addr, "/echo/s", NULL);
  g_assert_cmpint (next->status, ==, 200);
  g_assert_cmpint (header_int (next, "X-RateLimit-Remaining-Second"), ==, 1);
  g_assert_cmpint (header_int (next, "X-RateLimit-Remaining-Hour"), ==, 97);
  /* RateLimit-* follow the period with the fewest left. */
  g_assert_cmpint (header_int (next, "RateLimit-Limit"), ==, 2);
}

static void
test_limit_by_header (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("limit_by header: each value of X-Tenant has its own count (a 300-byte value "
                  "too: with policy shared it becomes a digest in the key), and a request without "
                  "it counts against its IP, as in Kong.");
  g_autofree char *long_value = g_strnfill (300, 't');
  g_autofree char *tenant_long = g_strdup_printf ("X-Tenant: %s\r\n", long_value);
  const char *who[] = { "X-Tenant: a\r\n", "X-Tenant: b\r\n", tenant_long, NULL /* no header: the IP */ };
  wait_for_room (60, 10);

  for (guint w = 0; w < G_N_ELEMENTS (who); w++)
    for (int i = 0; i < 3; i++)
      {
        g_autoptr (PorticoTestResponse) resp = get (f->addr, "/echo/h", who[w]);
        g_test_message ("identity %u, request %d: %d", w, i, resp->status);
        g_assert_cmpint (resp->status, ==, i < 2 ? 200 : 429);
      }
}

static void
test_limit_by_path (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("limit_by path counts requests for exactly that path together; other paths "
                  "count against the IP.");
  wait_for_room (60, 10);
  g_autoptr (PorticoTestResponse) r1 = get (f->addr, "/echo/p", NULL);
  g_autoptr (PorticoTestResponse) r2 = get (f->addr, "/echo/p", NULL);
  g_autoptr (PorticoTestResponse) r3 = get (f->addr, "/echo/other", NULL);
  g_autoptr (PorticoTestResponse) r4 = get (f->addr, "/echo/other2", NULL);
  g_assert_cmpint (r1->status, ==, 200);
  g_assert_cmpint (r2->status, ==, 429);
  g_assert_cmpint (r3->status, ==, 200);
  g_assert_cmpint (r4->status, ==, 429);
}

static void
test_hidden_headers_custom_error (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("hide_client_headers sends no rate-limit headers (Retry-After neither, as in "
                  "Kong); error_code and error_message shape the refusal.");
  wait_for_room (60, 10);
  g_autoptr (PorticoTestResponse) ok = get (f->addr, "/echo/x", NULL);
  g_autoptr (PorticoTestResponse) refused = get (f->addr, "/echo/x", NULL);
  g_assert_cmpint (ok->status, ==, 200);
  assert_refused (refused, 503, "Slow down");
  const char *names[] = { "X-RateLimit-Limit-Minute", "X-RateLimit-Remaining-Minute", "RateLimit-Limit",
                          "RateLimit-Remaining", "RateLimit-Reset", "Retry-After" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_assert_null (portico_test_response_header (ok, names[i]));
      g_assert_null (portico_test_response_header (refused, names[i]));
    }
}

/* ---- two workers ------------------------------------------------------------- */

typedef struct {
  gint64 requests, ok, refused;
} WorkerCounts;

/* Each worker's requests, 2xx and 4xx from the admin API, once the
 * workers have published @total requests between them (within 5 s). */
static void
worker_counts (PorticoTestGateway *g, gint64 total, WorkerCounts counts[2])
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  for (;;)
    {
      g_autoptr (JsonNode) root = portico_test_gateway_admin_json (g, "/workers");
      JsonArray *workers = json_node_get_array (root);
      g_assert_cmpuint (json_array_get_length (workers), ==, 2);
      gint64 seen = 0;
      for (guint i = 0; i < 2; i++)
        {
          JsonObject *w = json_array_get_object_element (workers, i);
          JsonObject *responses = json_object_get_object_member (w, "responses");
          counts[i].requests = json_object_get_int_member (w, "requests");
          counts[i].ok = json_object_get_int_member (responses, "2xx");
          counts[i].refused = json_object_get_int_member (responses, "4xx");
          seen += counts[i].ok + counts[i].refused;
        }
      if (seen >= total)
        return;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
}

/* Sends @n requests, each on its own connection (so both workers get
 * some); returns how many got 200, and checks the others got 429. */
static gint64
send_many (const char *addr, int n)
{
  gint64 ok = 0;
  g_assert_cmpint (n, <=, MAX_REQUESTS);
  for (int i = 0; i < n; i++)
    {
      g_autoptr (PorticoTestResponse) resp = get (addr, "/echo/many", NULL);
      if (resp->status == 200)
        ok++;
      else
        g_assert_cmpint (resp->status, ==, 429);
    }
  return ok;
}

/* Two workers with the plugin @config; @n requests on their own
 * connections. Returns how many got 200; @counts: what each worker did. */
static gint64
run_two_workers (const char *config, int n, WorkerCounts counts[2])
{
  g_autofree char *json = config_for (2, TRUE, config);
  g_autoptr (PorticoTestGateway) g = portico_test_gateway_new (json, NULL, NULL);
  wait_for_room (60, 15);
  gint64 ok = send_many (g->addr, n);
  worker_counts (g, n, counts);
  g_test_message ("worker 0: %" G_GINT64_FORMAT " requests, %" G_GINT64_FORMAT " ok; worker 1: %"
                  G_GINT64_FORMAT " requests, %" G_GINT64_FORMAT " ok", counts[0].requests, counts[0].ok,
                  counts[1].requests, counts[1].ok);
  /* Else the test would not show what the policy shares. */
  g_assert_cmpint (counts[0].requests, >, 0);
  g_assert_cmpint (counts[1].requests, >, 0);
  g_assert_cmpint (ok, ==, counts[0].ok + counts[1].ok);
  return ok;
}

static void
test_shared_two_workers (void)
{
  g_test_summary ("policy shared with two workers: the node as a whole lets exactly `minute` "
                  "requests through, though both workers served some.");
  WorkerCounts counts[2];
  gint64 ok = run_two_workers ("{\"minute\":5,\"policy\":\"shared\",\"limit_by\":\"ip\"}", 30, counts);
  g_assert_cmpint (ok, ==, 5);
}

static void
test_local_two_workers (void)
{
  g_test_summary ("policy local with two workers: each worker counts on its own, so each lets "
                  "`minute` of the requests it served through (up to twice the limit in all).");
  WorkerCounts counts[2];
  gint64 ok = run_two_workers ("{\"minute\":3,\"policy\":\"local\",\"limit_by\":\"ip\"}", 30, counts);
  for (int i = 0; i < 2; i++)
    g_assert_cmpint (counts[i].ok, ==, MIN (counts[i].requests, 3));
  g_assert_cmpint (ok, >, 3);
  g_assert_cmpint (ok, <=, 6);
}

static void
test_shared_busy_windows (void)
{
  g_test_summary ("policy shared, second 3, two workers hammered for 2.5 s by 8 connections (tens of "
                  "thousands of requests a second): at most 3 per clock second get through, so at most "
                  "3 x 4 over the 4 windows the run touches. A window's key that expired a moment "
                  "before its second ended (its TTL read on another clock) let 3 more through at "
                  "each busy window's end.");
  g_autofree char *json = config_for (2, FALSE, "{\"second\":3,\"policy\":\"shared\",\"limit_by\":\"ip\"}");
  g_autoptr (PorticoTestGateway) g = portico_test_gateway_new (json, NULL, NULL);
  g_autofree char *url = g_strdup_printf ("http://%s/busy", g->addr);
  const char *argv[] = { portico_test_binary (), "traffic", "-c", "8", "-d", "2.5", "--json", url, NULL };
  g_autofree char *out = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (portico_run_sync (argv, 20000, &out, NULL, &error), ==, 0);
  g_autoptr (JsonNode) root = json_from_string (out, &error);
  g_assert_no_error (error);
  JsonObject *status = json_object_get_object_member (json_node_get_object (root), "status");
  gint64 ok = json_object_get_int_member_with_default (status, "200", 0);
  gint64 refused = json_object_get_int_member_with_default (status, "429", 0);
  g_test_message ("200: %" G_GINT64_FORMAT ", 429: %" G_GINT64_FORMAT, ok, refused);
  g_assert_cmpint (refused, >, 1000); /* busy enough to reach every window's end */
  g_assert_cmpint (ok, >=, 3);
  g_assert_cmpint (ok, <=, 3 * 4);
}

/* ---- configurations refused ---------------------------------------------------- */

static void
assert_check_refuses (const char *plugin_config, const char *expected)
{
  g_autofree char *plugin = g_strdup_printf ("{'name':'rate-limiting','config':%s}", plugin_config);
  g_autofree char *config = portico_test_plugin_config (plugin, NULL);
  portico_test_check_config (config, expected, NULL);
}

static void
test_config_refused (void)
{
  g_test_summary ("portico check refuses what Kong refuses: no limit at all, a longer period with a "
                  "lower limit, limit_by header without header_name, limit_by path without path, "
                  "and a policy Portico does not have.");
  assert_check_refuses ("{}", "plugins[0].config: at least one of these fields must be non-empty");
  assert_check_refuses ("{\"second\":10,\"minute\":5}",
                        "plugins[0].config: The limit for minute(5) cannot be lower than the limit for second(10)");
  assert_check_refuses ("{\"minute\":5,\"limit_by\":\"header\"}", "header_name");
  assert_check_refuses ("{\"minute\":5,\"limit_by\":\"path\"}", "path");
  assert_check_refuses ("{\"minute\":5,\"policy\":\"redis\"}", "policy");
}

#define ADD(path, config, func) \
  g_test_add ("/modules/rate-limiting/gateway/" path, PorticoTestGateway, config, fixture_setup, func, \
              portico_test_gateway_tear_down)
#define BY_HEADER "{\"minute\":2,\"limit_by\":\"header\",\"header_name\":\"X-Tenant\",\"policy\":"

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ADD ("minute-headers", "{\"minute\":3}", test_minute_headers);
  ADD ("second-window", "{\"second\":2,\"hour\":100,\"limit_by\":\"ip\"}", test_second_window);
  ADD ("limit-by-header", BY_HEADER "\"local\"}", test_limit_by_header);
  ADD ("limit-by-header-shared", BY_HEADER "\"shared\"}", test_limit_by_header);
  ADD ("limit-by-path", "{\"minute\":1,\"limit_by\":\"path\",\"path\":\"/echo/p\"}", test_limit_by_path);
  ADD ("hidden-headers", "{\"minute\":1,\"hide_client_headers\":true,\"error_code\":503,"
                         "\"error_message\":\"Slow down\"}", test_hidden_headers_custom_error);
  g_test_add_func ("/modules/rate-limiting/gateway/shared-two-workers", test_shared_two_workers);
  g_test_add_func ("/modules/rate-limiting/gateway/local-two-workers", test_local_two_workers);
  g_test_add_func ("/modules/rate-limiting/gateway/shared-busy-windows", test_shared_busy_windows);
  g_test_add_func ("/modules/rate-limiting/gateway/config-refused", test_config_refused);
  return g_test_run ();
}
