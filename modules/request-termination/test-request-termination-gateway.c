/* test-request-termination-gateway.c: request-termination in a real
 * gateway: what the client gets, and that the upstream (the mock, which
 * counts its requests) is never asked. */
#include <string.h>
#include <unistd.h>

#include "harness-gateway.h"

/* Single quotes become double quotes: JSON reads better that way in C. */
static const char config[] =
  "{'_format_version':'1','node':{'listen':['127.0.0.1:0'],'admin_listen':'off','workers':1,"
  " 'module_path':['@MODULES@']},"
  " 'services':[{'name':'shop','url':'http://@UPSTREAM@','routes':["
  "  {'name':'default','paths':['/default'],'plugins':[{'name':'request-termination'}]},"
  "  {'name':'teapot','paths':['/teapot'],'plugins':[{'name':'request-termination','config':{'status_code':418}}]},"
  "  {'name':'message','paths':['/message'],"
  "   'plugins':[{'name':'request-termination','config':{'status_code':403,'message':'So long'}}]},"
  "  {'name':'body','paths':['/body'],'plugins':[{'name':'request-termination',"
  "   'config':{'status_code':451,'body':'<h1>Gone</h1>','content_type':'text/html'}}]},"
  "  {'name':'trigger','paths':['/trigger'],"
  "   'plugins':[{'name':'request-termination','config':{'trigger':'X-Stop'}}]},"
  "  {'name':'echo','paths':['/echo'],"
  "   'plugins':[{'name':'request-termination','config':{'status_code':200,'echo':true}}]},"
  "  {'name':'order','paths':['/order'],'plugins':[{'name':'request-termination'},"
  "   {'name':'ip-restriction','config':{'deny':['127.0.0.1']}}]}]}]}";

static void
fixture_set_up (PorticoTestGateway *f, gconstpointer data)
{
  portico_test_gateway_start (f, config, NULL, NULL);
}

/* GET @target with extra header lines @fields. */
static PorticoTestResponse *
get (const PorticoTestGateway *f, const char *target, const char *fields)
{
  g_autofree char *request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: Shop.Test:8000\r\n%s\r\n", target, fields);
  return portico_test_gateway_request (f, request);
}

static void
test_responses (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("Defaults: 503 with Kong's \"Service unavailable\"; a status Kong has no message "
                  "for: an empty body; a configured message; a raw body with its content type. "
                  "The upstream is never asked.");
  gint64 before = portico_test_gateway_mock_requests (f);

  g_autoptr (PorticoTestResponse) d = get (f, "/default/echo/", "");
  portico_test_expect_message (d, 503, "Service unavailable");

  g_autoptr (PorticoTestResponse) t = get (f, "/teapot/", "");
  g_assert_cmpint (t->status, ==, 418);
  g_assert_cmpuint (t->body_length, ==, 0);

  g_autoptr (PorticoTestResponse) m = get (f, "/message/", "");
  portico_test_expect_message (m, 403, "So long");

  g_autoptr (PorticoTestResponse) b = get (f, "/body/", "");
  g_assert_cmpint (b->status, ==, 451);
  g_autofree char *text = portico_test_response_body_string (b);
  g_assert_cmpstr (text, ==, "<h1>Gone</h1>");
  g_assert_cmpstr (portico_test_response_header (b, "Content-Type"), ==, "text/html");

  g_assert_cmpint (portico_test_gateway_mock_requests (f), ==, before);
}

static void
test_trigger (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("With a trigger, only requests that carry it (as a header, with any value, or "
                  "as a query argument) are terminated; the others are proxied.");
  gint64 before = portico_test_gateway_mock_requests (f);
  g_autoptr (PorticoTestResponse) pass = get (f, "/trigger/echo/?x-stop-not=1", "X-Other: 1\r\n");
  g_assert_cmpint (pass->status, ==, 200);
  g_assert_cmpint (portico_test_gateway_mock_requests (f), ==, before + 1);

  g_autoptr (PorticoTestResponse) header = get (f, "/trigger/echo/", "x-stop: \r\n");
  portico_test_expect_message (header, 503, "Service unavailable");
  g_autoptr (PorticoTestResponse) query = get (f, "/trigger/echo/?a=1&X-Stop", "");
  portico_test_expect_message (query, 503, "Service unavailable");
  g_assert_cmpint (portico_test_gateway_mock_requests (f), ==, before + 1);
}

static void
test_echo (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("echo answers with the request as the gateway saw it, in Kong's shape: method, "
                  "path, host, port, headers (lowercase, repeated ones as arrays), query, the "
                  "matched route and service, the worker's pid.");
  g_autoptr (PorticoTestResponse) r =
    get (f, "/echo/a%20b?q=1&tag=x&tag=y&flag", "X-Multi: 1\r\nX-Multi: 2\r\nX-Single: s\r\n");
  g_assert_cmpint (r->status, ==, 200);
  g_assert_true (g_str_has_prefix (portico_test_response_header (r, "Content-Type"), "application/json"));
  g_autoptr (JsonNode) root = NULL;
  JsonObject *echo = portico_test_body_object (r, &root);
  g_assert_false (json_object_has_member (echo, "message"));

  JsonObject *node = json_object_get_object_member (echo, "kong");
  gint64 pid = json_object_get_int_member (node, "worker_pid");
  g_assert_cmpint (pid, >, 0);
  g_assert_cmpint (pid, !=, portico_proc_pid (f->gw)); /* a worker, not the master */
  g_assert_cmpstr (json_object_get_string_member (node, "hostname"), ==, g_get_host_name ());

  JsonObject *req = json_object_get_object_member (echo, "request");
  g_assert_cmpstr (json_object_get_string_member (req, "method"), ==, "GET");
  g_assert_cmpstr (json_object_get_string_member (req, "path"), ==, "/echo/a%20b");
  g_assert_cmpstr (json_object_get_string_member (req, "scheme"), ==, "http");
  g_assert_cmpstr (json_object_get_string_member (req, "host"), ==, "shop.test");
  g_assert_cmpint (json_object_get_int_member (req, "port"), ==,
                   g_ascii_strtoll (strrchr (f->addr, ':') + 1, NULL, 10));

  JsonObject *headers = json_object_get_object_member (req, "headers");
  g_assert_cmpstr (json_object_get_string_member (headers, "x-single"), ==, "s");
  g_assert_cmpstr (json_object_get_string_member (headers, "host"), ==, "Shop.Test:8000");
  JsonArray *multi = json_object_get_array_member (headers, "x-multi");
  g_assert_cmpuint (json_array_get_length (multi), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (multi, 1), ==, "2");

  JsonObject *query = json_object_get_object_member (req, "query");
  g_assert_cmpstr (json_object_get_string_member (query, "q"), ==, "1");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (query, "tag")), ==, 2);
  g_assert_true (json_object_get_boolean_member (query, "flag"));

  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (echo, "matched_route"), "name"),
                   ==, "echo");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (echo, "matched_service"), "name"),
                   ==, "shop");
}

static void
test_priority (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("Priority 2: request-termination runs after ip-restriction (990), whatever "
                  "their order in the configuration, so the refusal is ip-restriction's.");
  g_autoptr (PorticoTestResponse) r = get (f, "/order/", "");
  portico_test_expect_message (r, 403, "Your IP address is not allowed");
}

static void
test_bad_config (void)
{
  g_test_summary ("Kong's rules between fields are enforced: message with body refuses the "
                  "configuration, and the gateway does not start.");
  g_autofree char *config =
    portico_test_plugin_config ("{'name':'request-termination','config':{'message':'a','body':'b'}}", NULL);
  g_assert_true (portico_test_gateway_refused (config));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) \
  g_test_add ("/modules/request-termination/gateway/" name, PorticoTestGateway, NULL, fixture_set_up, fn, \
              portico_test_gateway_tear_down)
  ADD ("responses", test_responses);
  ADD ("trigger", test_trigger);
  ADD ("echo", test_echo);
  ADD ("priority", test_priority);
#undef ADD
  g_test_add_func ("/modules/request-termination/gateway/bad-config", test_bad_config);
  return g_test_run ();
}
