/* test-phases.c: the phase runner and the request API, without sockets.
 *
 * A request head is parsed from bytes, a PorticoRequest is started on it
 * with a plan built from the fixture modules (probe, probe-auth), and the
 * phases are run by hand, as the data path would. */
#include <string.h>
#include "http/http-parser.h"
#include "pdk/phases.h"

typedef struct {
  PorticoConfig *config;
  PorticoModuleSet *set;
  PorticoPlan *plan;
  PorticoHttpRequest http;
  char *head;
  PorticoRequest r;
  guint scheduled_ms;
  guint n_scheduled;
} Fixture;

static Fixture *current;

static void
schedule (PorticoRequest *r, guint ms)
{
  current->scheduled_ms = ms;
  current->n_scheduled++;
}

static void
cancel (PorticoRequest *r)
{
}

static const PorticoRequestHooks hooks = { .schedule = schedule, .cancel = cancel };

static const char *
module_dir (void)
{
  const char *dir = g_getenv ("PORTICO_TEST_MODULE_DIR");
  g_assert_nonnull (dir);
  return dir;
}

/* A gateway with two services (a: routes ra, rb; b: route rc), consumers
 * alice and bob, and @plugins. */
static void
setup (Fixture *f, const char *plugins, const char *head)
{
  g_autofree char *json = g_strdup_printf (
    "{\"_format_version\":\"1\",\"node\":{\"module_path\":[\"%s\"]},"
    "\"services\":[{\"name\":\"a\",\"url\":\"http://127.0.0.1:9\",\"routes\":[{\"name\":\"ra\",\"paths\":[\"/a\"]},"
    "{\"name\":\"rb\",\"paths\":[\"/b\"]}]},"
    "{\"name\":\"b\",\"url\":\"http://127.0.0.1:9\",\"routes\":[{\"name\":\"rc\",\"paths\":[\"/c\"]}]}],"
    "\"consumers\":[{\"username\":\"alice\"},{\"username\":\"bob\",\"custom_id\":\"b-1\"}],"
    "\"plugins\":%s}",
    module_dir (), plugins);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  f->config = portico_config_load_data (json, -1, "test", errors, &error);
  g_assert_no_error (error);
  f->set = portico_modules_load (f->config, errors);
  for (guint i = 0; i < errors->len; i++)
    g_test_message ("%s", (const char *) g_ptr_array_index (errors, i));
  g_assert_nonnull (f->set);
  f->plan = portico_plan_new (f->set);
  portico_pdk_bind_gateway (f->config);

  f->head = g_strdup (head);
  PorticoHttpLimits limits;
  portico_http_limits_init (&limits);
  g_assert_cmpint (portico_http_parse_request (f->head, strlen (f->head), &limits, &f->http), ==,
                   PORTICO_HTTP_OK);
  current = f;
  portico_request_start (&f->r, f->plan, &hooks, f, &f->http, f->http.path, f->http.path_len, "127.0.0.9",
                         40000, 8000);
}

static void
teardown (Fixture *f)
{
  portico_request_clear (&f->r);
  portico_plan_free (f->plan);
  portico_module_set_free (f->set);
  portico_config_free (f->config);
  g_free (f->head);
  current = NULL;
}

static void
route_to (Fixture *f, const char *route_name)
{
  for (guint i = 0; i < f->config->routes->len; i++)
    {
      PorticoRoute *route = g_ptr_array_index (f->config->routes, i);
      if (g_strcmp0 (route->name, route_name) == 0)
        {
          f->r.route = route;
          f->r.service = route->service;
          return;
        }
    }
  g_assert_not_reached ();
}

/* Runs rewrite and access, then header_filter on a 200, and returns the
 * X-Probe-Tag the probe instance that ran set. */
static const char *
tag_after_access (Fixture *f)
{
  g_assert_cmpint (portico_phase_run (&f->r, PORTICO_PHASE_REWRITE), ==, PORTICO_CONTINUE);
  g_assert_cmpint (portico_phase_run (&f->r, PORTICO_PHASE_ACCESS), ==, PORTICO_CONTINUE);
  portico_response_begin (&f->r, 200, NULL, 0, FALSE);
  g_assert_cmpint (portico_phase_run (&f->r, PORTICO_PHASE_HEADER_FILTER), ==, PORTICO_CONTINUE);
  return portico_response_get_header (&f->r, "X-Probe-Tag");
}

static void
test_precedence (void)
{
  g_test_summary ("Of several instances of one module, the most specific scope that matches runs: "
                  "consumer+route+service > consumer+route > consumer+service > route+service > "
                  "consumer > route > service > global (Kong's order).");
  const char *plugins =
    "[{\"name\":\"probe-auth\"},"
    "{\"name\":\"probe\",\"config\":{\"tag\":\"global\"}},"
    "{\"name\":\"probe\",\"service\":\"a\",\"config\":{\"tag\":\"service\"}},"
    "{\"name\":\"probe\",\"route\":\"ra\",\"config\":{\"tag\":\"route\"}},"
    "{\"name\":\"probe\",\"consumer\":\"bob\",\"config\":{\"tag\":\"consumer\"}},"
    "{\"name\":\"probe\",\"route\":\"rb\",\"service\":\"a\",\"config\":{\"tag\":\"route+service\"}},"
    "{\"name\":\"probe\",\"consumer\":\"alice\",\"service\":\"a\",\"config\":{\"tag\":\"consumer+service\"}},"
    "{\"name\":\"probe\",\"consumer\":\"alice\",\"route\":\"rb\",\"config\":{\"tag\":\"consumer+route\"}},"
    "{\"name\":\"probe\",\"consumer\":\"bob\",\"route\":\"rb\",\"service\":\"a\",\"config\":{\"tag\":\"all three\"}}]";
  struct {
    const char *route;
    const char *user;
    const char *tag;
  } cases[] = {
    { "rc", NULL, "global" },
    { "ra", NULL, "route" },
    { "rb", NULL, "route+service" },
    { "rc", "bob", "consumer" },
    { "ra", "bob", "consumer" },
    { "ra", "alice", "consumer+service" },
    { "rb", "alice", "consumer+route" },
    { "rb", "bob", "all three" },
    { "rc", "alice", "global" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Fixture f = { 0 };
      g_autofree char *head = g_strdup_printf ("GET /x HTTP/1.1\r\nHost: h\r\n%s%s%s\r\n",
                                               cases[i].user ? "X-Probe-User: " : "",
                                               cases[i].user ? cases[i].user : "", cases[i].user ? "\r\n" : "");
      setup (&f, plugins, head);
      route_to (&f, cases[i].route);
      g_test_message ("route %s, user %s", cases[i].route, cases[i].user ? cases[i].user : "-");
      g_assert_cmpstr (tag_after_access (&f), ==, cases[i].tag);
      teardown (&f);
    }
}

static void
test_rewrite_global_only (void)
{
  g_test_summary ("Rewrite runs before routing, so only global instances take part in it.");
  Fixture f = { 0 };
  setup (&f, "[{\"name\":\"probe\",\"route\":\"ra\",\"config\":{\"tag\":\"route\"}}]",
         "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (portico_phase_run (&f.r, PORTICO_PHASE_REWRITE), ==, PORTICO_CONTINUE);
  g_assert_cmpuint (portico_request_n_spans (&f.r), ==, 0);
  route_to (&f, "ra");
  g_assert_cmpint (portico_phase_run (&f.r, PORTICO_PHASE_ACCESS), ==, PORTICO_CONTINUE);
  g_assert_cmpuint (portico_request_n_spans (&f.r), ==, 1);
  PorticoSpan span;
  g_assert_true (portico_request_get_span (&f.r, 0, &span));
  g_assert_cmpstr (span.module, ==, "probe");
  g_assert_cmpint (span.phase, ==, PORTICO_PHASE_ACCESS);
  g_assert_cmpint (span.duration_us, >=, 0);
  teardown (&f);
}

static void
test_request_edits (void)
{
  g_test_summary ("Header, query, method and path edits in access change what the upstream gets; "
                  "framing fields cannot be touched.");
  Fixture f = { 0 };
  setup (&f,
         "[{\"name\":\"probe\",\"config\":{\"set_headers\":[\"X-New: 1\",\"Accept: text/plain\"],"
         "\"remove_headers\":[\"X-Gone\"],\"set_query\":[\"q=a b&c\",\"new=1\"],\"method\":\"PATCH\","
         "\"upstream_path\":\"/v2/things\"}}]",
         "GET /a?q=1&keep=2&q=3 HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nX-Gone: a\r\nX-Gone: b\r\n\r\n");
  route_to (&f, "ra");
  g_assert_cmpint (portico_phase_run (&f.r, PORTICO_PHASE_ACCESS), ==, PORTICO_CONTINUE);
  g_assert_cmpstr (portico_request_get_header (&f.r, "accept"), ==, "text/plain");
  g_assert_cmpstr (portico_request_get_header (&f.r, "x-new"), ==, "1");
  g_assert_null (portico_request_get_header (&f.r, "x-gone"));
  g_assert_cmpstr (portico_request_get_query_arg (&f.r, "q"), ==, "a b&c");
  g_assert_cmpstr (portico_request_get_query_arg (&f.r, "keep"), ==, "2");
  g_assert_cmpstr (portico_request_get_raw_query (&f.r), ==, "keep=2&q=a%20b%26c&new=1");
  const char *path, *query;
  gsize query_len, method_len;
  portico_request_upstream_target (&f.r, &path, &query, &query_len);
  g_assert_cmpstr (path, ==, "/v2/things");
  g_assert_cmpuint (query_len, ==, strlen ("keep=2&q=a%20b%26c&new=1"));
  const char *method = portico_request_upstream_method (&f.r, &method_len);
  g_assert_cmpint (strncmp (method, "PATCH", method_len), ==, 0);

  /* Framing is the gateway's; bad names and values are refused. */
  f.r.phase = PORTICO_PHASE_ACCESS;
  g_assert_false (portico_request_set_header (&f.r, "Content-Length", "5"));
  g_assert_nonnull (strstr (portico_request_last_error (&f.r), "framing fields are the gateway's"));
  g_assert_false (portico_request_set_header (&f.r, "X-Bad", "a\r\nInjected: 1"));
  g_assert_false (portico_request_set_header (&f.r, "Bad Name", "x"));
  g_assert_false (portico_request_set_path (&f.r, "no-slash"));
  teardown (&f);
}

static void
test_misuse (void)
{
  g_test_summary ("A call that makes no sense in the phase fails, and its message names the "
                  "function, the phase and the module.");
  Fixture f = { 0 };
  setup (&f, "[{\"name\":\"probe\"}]", "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  route_to (&f, "ra");
  g_assert_cmpint (portico_phase_run (&f.r, PORTICO_PHASE_ACCESS), ==, PORTICO_CONTINUE);
  portico_response_begin (&f.r, 200, NULL, 0, FALSE);
  g_assert_cmpint (portico_phase_run (&f.r, PORTICO_PHASE_HEADER_FILTER), ==, PORTICO_CONTINUE);
  g_assert_cmpstr (portico_response_get_header (&f.r, "X-Probe-Misuse"), ==,
                   "portico_request_set_header: not allowed in the header_filter phase (module probe)");
  g_assert_cmpint (portico_phase_run (&f.r, PORTICO_PHASE_LOG), ==, PORTICO_CONTINUE);
  g_assert_cmpstr (portico_request_last_error (&f.r), ==,
                   "portico_request_set_header: not allowed in the log phase (module probe)");
  teardown (&f);
}

static void
test_results (void)
{
  g_test_summary ("respond gives the module's response; respond where the phase cannot take it, and "
                  "error, are errors that say which module and phase.");
  struct {
    const char *config;
    PorticoPhase phase;
    PorticoResult result;
    const char *error;
  } cases[] = {
    { "{\"respond_in\":\"rewrite\",\"respond_status\":401}", PORTICO_PHASE_REWRITE, PORTICO_RESPOND, "" },
    { "{\"respond_in\":\"access\"}", PORTICO_PHASE_ACCESS, PORTICO_RESPOND, "" },
    { "{\"respond_in\":\"balancer\"}", PORTICO_PHASE_BALANCER, PORTICO_RESPOND, "" },
    { "{\"respond_in\":\"header_filter\"}", PORTICO_PHASE_HEADER_FILTER, PORTICO_RESPOND, "" },
    { "{\"respond_in\":\"body_filter\"}", PORTICO_PHASE_BODY_FILTER, PORTICO_ERROR,
      "probe returned PORTICO_RESPOND, which body_filter does not allow" },
    { "{\"error_in\":\"access\"}", PORTICO_PHASE_ACCESS, PORTICO_ERROR, "probe failed in access" },
    { "{\"respond_in\":\"log\"}", PORTICO_PHASE_LOG, PORTICO_CONTINUE, "probe returned PORTICO_RESPOND, which log does not allow" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Fixture f = { 0 };
      g_autofree char *plugins = g_strdup_printf ("[{\"name\":\"probe\",\"config\":%s}]", cases[i].config);
      setup (&f, plugins, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
      route_to (&f, "ra");
      if (cases[i].phase >= PORTICO_PHASE_HEADER_FILTER)
        portico_response_begin (&f.r, 200, NULL, 0, FALSE);
      g_test_message ("%s in %s", cases[i].config, portico_phase_name (cases[i].phase));
      PorticoResult got = cases[i].phase == PORTICO_PHASE_BODY_FILTER
                            ? portico_phase_body (&f.r, "x", 1, TRUE)
                            : portico_phase_run (&f.r, cases[i].phase);
      g_assert_cmpint (got, ==, cases[i].result);
      g_assert_cmpstr (f.r.last_error, ==, cases[i].error);
      if (got == PORTICO_RESPOND)
        {
          g_assert_true (f.r.local);
          g_assert_cmpint (f.r.status, ==, i == 0 ? 401 : 418);
          g_autofree char *body = g_strndup (f.r.local_body, f.r.local_body_len);
          g_autofree char *expected = g_strdup_printf ("{\"message\":\"probe probe responds in %s\"}",
                                                       portico_phase_name (cases[i].phase));
          g_assert_cmpstr (body, ==, expected);
        }
      teardown (&f);
    }
}

static void
test_yield (void)
{
  g_test_summary ("A handler that yields is called again when resumed, and the phase goes on from "
                  "there; yield_for asks the loop for a resume after the wait.");
  Fixture f = { 0 };
  setup (&f, "[{\"name\":\"probe-auth\"},{\"name\":\"probe\",\"config\":{\"yield_ms\":25}}]",
         "GET /a HTTP/1.1\r\nHost: h\r\nX-Probe-User: alice\r\n\r\n");
  route_to (&f, "ra");
  g_assert_cmpint (portico_phase_run (&f.r, PORTICO_PHASE_ACCESS), ==, PORTICO_YIELD);
  g_assert_cmpuint (f.n_scheduled, ==, 1);
  g_assert_cmpuint (f.scheduled_ms, ==, 25);
  /* Resumed: probe-auth (before probe) does not run again. */
  g_assert_cmpint (portico_phase_run (&f.r, PORTICO_PHASE_ACCESS), ==, PORTICO_CONTINUE);
  g_assert_cmpuint (portico_request_n_spans (&f.r), ==, 3);
  PorticoSpan span;
  portico_request_get_span (&f.r, 1, &span);
  g_assert_cmpint (span.result, ==, PORTICO_YIELD);
  g_assert_cmpstr (portico_consumer_get_username (portico_request_get_consumer (&f.r)), ==, "alice");
  g_assert_cmpstr (portico_request_get_header (&f.r, "X-Consumer-Username"), ==, "alice");
  g_assert_cmpstr (portico_request_get_header (&f.r, "X-Credential-Identifier"), ==, "probe-credential");
  teardown (&f);
}

static void
test_response_edits (void)
{
  g_test_summary ("Response headers set in access apply to whatever response comes, local ones too.");
  Fixture f = { 0 };
  setup (&f, "[{\"name\":\"probe\",\"config\":{\"tag\":\"t1\"}}]", "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  route_to (&f, "ra");
  g_assert_cmpint (portico_phase_run (&f.r, PORTICO_PHASE_ACCESS), ==, PORTICO_CONTINUE);
  portico_response_set_local (&f.r, 503, "text/plain", "down", 4);
  g_assert_cmpstr (portico_response_get_header (&f.r, "X-Probe-Tag"), ==, "t1");
  g_assert_cmpstr (portico_response_get_header (&f.r, "Content-Type"), ==, "text/plain");
  g_assert_cmpint (portico_response_get_status (&f.r), ==, 503);
  teardown (&f);
}

static void
test_body_chain (void)
{
  g_test_summary ("body_filter chunks pass from module to module; a module can hold bytes back "
                  "and emit them on the last call.");
  Fixture f = { 0 };
  setup (&f, "[{\"name\":\"probe\",\"config\":{\"upper_body\":true,\"append_body\":\"!\"}}]",
         "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
  route_to (&f, "ra");
  portico_response_begin (&f.r, 200, NULL, 0, FALSE);
  g_assert_cmpint (portico_phase_body (&f.r, "abc", 3, FALSE), ==, PORTICO_CONTINUE);
  g_assert_cmpint (f.r.chunk_len, ==, 3);
  g_assert_cmpint (memcmp (f.r.chunk, "ABC", 3), ==, 0);
  g_assert_cmpint (portico_phase_body (&f.r, "de", 2, TRUE), ==, PORTICO_CONTINUE);
  g_assert_cmpint (f.r.chunk_len, ==, 3);
  g_assert_cmpint (memcmp (f.r.chunk, "DE!", 3), ==, 0);
  teardown (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL); /* misuse warnings are expected here */
  g_test_add_func ("/pdk/phases/precedence", test_precedence);
  g_test_add_func ("/pdk/phases/rewrite-global-only", test_rewrite_global_only);
  g_test_add_func ("/pdk/phases/request-edits", test_request_edits);
  g_test_add_func ("/pdk/phases/misuse", test_misuse);
  g_test_add_func ("/pdk/phases/results", test_results);
  g_test_add_func ("/pdk/phases/yield", test_yield);
  g_test_add_func ("/pdk/phases/response-edits", test_response_edits);
  g_test_add_func ("/pdk/phases/body-chain", test_body_chain);
  return g_test_run ();
}
