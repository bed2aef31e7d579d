/* test-ip-restriction-gateway.c: ip-restriction in a real gateway, between
 * a loopback client (127.0.0.1, or ::1 on an IPv6 listener) and the mock. */
#include "harness-gateway.h"

/* One route per configuration. Single quotes become double quotes: JSON
 * reads better that way in C strings. */
static const char routes[] =
  "{'name':'deny','paths':['/deny'],'plugins':[{'name':'ip-restriction','config':{'deny':['127.0.0.1']}}]},"
  "{'name':'allow','paths':['/allow'],"
  " 'plugins':[{'name':'ip-restriction','config':{'allow':['10.0.0.0/8','127.0.0.0/8']}}]},"
  "{'name':'other','paths':['/other'],'plugins':[{'name':'ip-restriction',"
  " 'config':{'allow':['10.0.0.0/8'],'status':401,'message':'Go away'}}]},"
  "{'name':'both','paths':['/both'],'plugins':[{'name':'ip-restriction',"
  " 'config':{'allow':['127.0.0.0/8'],'deny':['127.0.0.1/32']}}]},"
  "{'name':'v6','paths':['/v6'],'plugins':[{'name':'ip-restriction','config':{'allow':['::/0']}}]},"
  "{'name':'v6deny','paths':['/v6deny'],'plugins':[{'name':'ip-restriction','config':{'deny':['::1']}}]},"
  "{'name':'open','paths':['/open']}";

static char *
config_json (const char *listen, const char *routes_json)
{
  return g_strdup_printf (
    "{'_format_version':'1','node':{'listen':['%s'],'admin_listen':'off','workers':1,"
    "'module_path':['@MODULES@']},'services':[{'name':'s','url':'http://@UPSTREAM@','routes':[%s]}]}",
    listen, routes_json);
}

/* @listen: the gateway's listener. */
static void
fixture_set_up (PorticoTestGateway *f, gconstpointer listen)
{
  g_autofree char *config = config_json (listen, routes);
  portico_test_gateway_start (f, config, NULL, NULL);
}

/* GET @path; the status must be @status and, when @message is not NULL,
 * the body Kong's {"message": @message}. */
static void
expect (const PorticoTestGateway *f, const char *path, int status, const char *message)
{
  g_autofree char *request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
  g_autoptr (PorticoTestResponse) resp = portico_test_gateway_request (f, request);
  if (message != NULL)
    portico_test_expect_message (resp, status, message);
  else
    g_assert_cmpint (resp->status, ==, status);
}

static void
test_v4 (PorticoTestGateway *f, gconstpointer listen)
{
  g_test_summary ("From 127.0.0.1: a deny entry refuses with 403 and Kong's message; an allow "
                  "list that holds the client lets it through, one that does not refuses with "
                  "the configured status and message; deny wins over allow; an IPv6 range never "
                  "admits an IPv4 client; a route without the plugin is untouched.");
  const char *default_message = "Your IP address is not allowed";
  expect (f, "/deny/echo/x", 403, default_message);
  expect (f, "/allow/echo/x", 200, NULL);
  expect (f, "/other/echo/x", 401, "Go away");
  expect (f, "/both/echo/x", 403, default_message);
  expect (f, "/v6/echo/x", 403, default_message);
  expect (f, "/v6deny/echo/x", 200, NULL);
  expect (f, "/open/echo/x", 200, NULL);
}

static void
test_v6 (PorticoTestGateway *f, gconstpointer listen)
{
  g_test_summary ("From ::1 on an IPv6 listener: IPv6 ranges apply, IPv4 ones do not.");
  const char *default_message = "Your IP address is not allowed";
  expect (f, "/v6/echo/x", 200, NULL);
  expect (f, "/v6deny/echo/x", 403, default_message);
  expect (f, "/deny/echo/x", 200, NULL);
  expect (f, "/allow/echo/x", 403, default_message);
  expect (f, "/both/echo/x", 403, default_message);
}

/* `portico check` on a config whose first route carries @plugin_config:
 * refused, naming @wanted. */
static void
expect_refused (const char *plugin_config, const char *wanted)
{
  g_autofree char *route = g_strdup_printf (
    "{'paths':['/x'],'plugins':[{'name':'ip-restriction','config':%s}]}", plugin_config);
  g_autofree char *config = config_json ("127.0.0.1:0", route);
  portico_test_check_config (config, wanted, NULL);
}

static void
test_bad_config (void)
{
  g_test_summary ("A bad entry is refused with its list and index; so is a config with neither "
                  "list.");
  expect_refused ("{'deny':['10.0.0.0/8','10.0.0.0/33']}",
                  "services[0].routes[0].plugins[0].config: deny[1]: invalid ip or cidr range: \"10.0.0.0/33\"");
  expect_refused ("{'allow':['::1','fe80::/129']}", "allow[1]: invalid ip or cidr range: \"fe80::/129\"");
  expect_refused ("{'allow':['10.0.0.1 ']}", "allow[0]: invalid ip or cidr range: \"10.0.0.1 \"");
  expect_refused ("{'status':403}", "at least one of these fields must be non-empty: 'allow', 'deny'");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/modules/ip-restriction/gateway/v4", PorticoTestGateway, "127.0.0.1:0", fixture_set_up, test_v4,
              portico_test_gateway_tear_down);
  g_test_add ("/modules/ip-restriction/gateway/v6", PorticoTestGateway, "[::1]:0", fixture_set_up, test_v6,
              portico_test_gateway_tear_down);
  g_test_add_func ("/modules/ip-restriction/gateway/bad-config", test_bad_config);
  return g_test_run ();
}
