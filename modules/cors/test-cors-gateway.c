/* test-cors-gateway.c: cors in a real gateway, in front of a mock whose
 * default response already carries Vary and Access-Control-Allow-Origin. */
#include <string.h>

#include "harness-gateway.h"

/* Single quotes become double quotes: JSON reads better that way in C. */
static const char config[] =
  "{'_format_version':'1','node':{'listen':['127.0.0.1:0'],'admin_listen':'off','workers':1,"
  " 'module_path':['@MODULES@']},"
  " 'services':[{'name':'s','url':'http://@UPSTREAM@','routes':["
  "  {'paths':['/any'],'plugins':[{'name':'cors'}]},"
  "  {'paths':['/list'],'plugins':[{'name':'cors','config':{"
  "    'origins':['http://a.test','(.*\\\\.)?b\\\\.test'],'credentials':true,"
  "    'exposed_headers':['X-Total','X-Page'],'max_age':600,'headers':['X-Foo','X-Bar'],"
  "    'methods':['GET','POST']}}]},"
  "  {'paths':['/single'],'plugins':[{'name':'cors','config':{'origins':['http://only.test']}}]},"
  "  {'paths':['/continue'],'plugins':[{'name':'cors','config':{'preflight_continue':true}}]},"
  "  {'paths':['/creds'],'plugins':[{'name':'cors','config':{'credentials':true,'private_network':true}}]},"
  "  {'paths':['/absent'],'plugins':[{'name':'cors','config':{"
  "    'origins':['http://a.test','http://c.test'],'allow_origin_absent':false}}]},"
  "  {'paths':['/closed'],'plugins':[{'name':'cors'},{'name':'request-termination'}]}]}]}";

static const char *const mock_args[] = {
  "-H", "Vary: Accept-Encoding", "-H", "Access-Control-Allow-Origin: http://upstream.test", NULL,
};

static void
fixture_set_up (PorticoTestGateway *f, gconstpointer data)
{
  portico_test_gateway_start (f, config, mock_args, NULL);
}

/* @method @path with the extra header lines @fields ("" for none). */
static PorticoTestResponse *
send (const PorticoTestGateway *f, const char *method, const char *path, const char *fields)
{
  g_autofree char *request = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: t\r\n%s\r\n", method, path, fields);
  return portico_test_gateway_request (f, request);
}

/* How many Vary fields name @token (a comma-separated list each). */
static guint
vary_count (const PorticoTestResponse *resp, const char *token)
{
  guint n = 0;
  for (guint i = 0; i < resp->headers->len; i++)
    {
      const PorticoTestHeader *h = g_ptr_array_index (resp->headers, i);
      if (g_ascii_strcasecmp (h->name, "Vary") != 0)
        continue;
      g_auto (GStrv) parts = g_strsplit (h->value, ",", -1);
      for (char **p = parts; *p; p++)
        n += g_ascii_strcasecmp (g_strstrip (*p), token) == 0;
    }
  return n;
}

#define ACAO "Access-Control-Allow-Origin"

static void
test_any (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("No origins: every actual response gets Access-Control-Allow-Origin: * (the "
                  "upstream's own replaced), without Vary: Origin, with or without an Origin.");
  g_autoptr (PorticoTestResponse) r1 = send (f, "GET", "/any/", "Origin: http://x.test\r\n");
  g_assert_cmpint (r1->status, ==, 200);
  g_assert_cmpstr (portico_test_response_header (r1, ACAO), ==, "*");
  g_assert_cmpuint (portico_test_response_header_count (r1, ACAO), ==, 1);
  g_assert_cmpuint (vary_count (r1, "Origin"), ==, 0);
  g_assert_cmpuint (vary_count (r1, "Accept-Encoding"), ==, 1);
  g_assert_null (portico_test_response_header (r1, "Access-Control-Allow-Credentials"));
  g_assert_null (portico_test_response_header (r1, "Access-Control-Expose-Headers"));

  g_autoptr (PorticoTestResponse) r2 = send (f, "GET", "/any/", "");
  g_assert_cmpstr (portico_test_response_header (r2, ACAO), ==, "*");
}

static void
test_preflight (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("A preflight is answered by the gateway: 200, no body, Kong's default methods, "
                  "the requested headers reflected, and the upstream never sees it. OPTIONS "
                  "without Access-Control-Request-Method is an actual request: proxied.");
  gint64 before = portico_test_gateway_mock_requests (f);
  g_autoptr (PorticoTestResponse) r = send (f, "OPTIONS", "/any/echo/", "Origin: http://x.test\r\n"
                                            "Access-Control-Request-Method: PUT\r\n"
                                            "Access-Control-Request-Headers: X-Foo, X-Bar\r\n");
  g_assert_cmpint (r->status, ==, 200);
  g_assert_cmpuint (r->body_length, ==, 0);
  g_assert_cmpstr (portico_test_response_header (r, ACAO), ==, "*");
  g_assert_cmpstr (portico_test_response_header (r, "Access-Control-Allow-Methods"), ==,
                   "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT");
  g_assert_cmpstr (portico_test_response_header (r, "Access-Control-Allow-Headers"), ==, "X-Foo, X-Bar");
  g_assert_null (portico_test_response_header (r, "Access-Control-Max-Age"));
  g_assert_null (portico_test_response_header (r, "Access-Control-Allow-Credentials"));
  g_assert_cmpint (portico_test_gateway_mock_requests (f), ==, before);

  g_autoptr (PorticoTestResponse) plain = send (f, "OPTIONS", "/any/", "Origin: http://x.test\r\n");
  g_assert_cmpint (plain->status, ==, 200);
  g_assert_cmpuint (plain->body_length, >, 0);
  g_assert_cmpstr (portico_test_response_header (plain, ACAO), ==, "*");
  g_assert_null (portico_test_response_header (plain, "Access-Control-Allow-Methods"));
  g_assert_cmpint (portico_test_gateway_mock_requests (f), ==, before + 1);
}

static void
test_list (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("A list of origins: an allowed one is answered (normalized), a regex matches a "
                  "whole host, anything else gets no Access-Control-Allow-Origin at all (the "
                  "upstream's is removed); Vary: Origin is added to the upstream's Vary; "
                  "credentials and exposed headers always.");
  static const struct {
    const char *origin, *allowed;
  } cases[] = {
    { "http://a.test:80", "http://a.test" },
    { "http://a.test", "http://a.test" },
    { "https://api.b.test", "https://api.b.test" },
    { "http://b.test:8080", "http://b.test:8080" },
    { "https://a.test", NULL },
    { "http://evil.test", NULL },
    { "http://b.test.evil", NULL },
    { "http://xb.test", NULL },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *fields = g_strdup_printf ("Origin: %s\r\n", cases[i].origin);
      g_autoptr (PorticoTestResponse) r = send (f, "GET", "/list/", fields);
      g_assert_cmpint (r->status, ==, 200);
      g_assert_cmpstr (portico_test_response_header (r, ACAO), ==, cases[i].allowed);
      g_assert_cmpuint (portico_test_response_header_count (r, ACAO), ==, cases[i].allowed ? 1 : 0);
      g_assert_cmpuint (vary_count (r, "Origin"), ==, 1);
      g_assert_cmpuint (vary_count (r, "Accept-Encoding"), ==, 1);
      g_assert_cmpstr (portico_test_response_header (r, "Access-Control-Allow-Credentials"), ==, "true");
      g_assert_cmpstr (portico_test_response_header (r, "Access-Control-Expose-Headers"), ==, "X-Total,X-Page");
    }
}

static void
test_list_preflight (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("A preflight on the list: the configured methods, headers and max age, "
                  "credentials, Vary: Origin; no exposed headers (those are for actual responses).");
  g_autoptr (PorticoTestResponse) r = send (f, "OPTIONS", "/list/", "Origin: http://a.test\r\n"
                                            "Access-Control-Request-Method: POST\r\n"
                                            "Access-Control-Request-Headers: X-Other\r\n");
  g_assert_cmpint (r->status, ==, 200);
  g_assert_cmpstr (portico_test_response_header (r, ACAO), ==, "http://a.test");
  g_assert_cmpstr (portico_test_response_header (r, "Access-Control-Allow-Methods"), ==, "GET,POST");
  g_assert_cmpstr (portico_test_response_header (r, "Access-Control-Allow-Headers"), ==, "X-Foo,X-Bar");
  g_assert_cmpstr (portico_test_response_header (r, "Access-Control-Max-Age"), ==, "600");
  g_assert_cmpstr (portico_test_response_header (r, "Access-Control-Allow-Credentials"), ==, "true");
  g_assert_cmpuint (vary_count (r, "Origin"), ==, 1);
  g_assert_null (portico_test_response_header (r, "Access-Control-Expose-Headers"));

  g_autoptr (PorticoTestResponse) refused = send (f, "OPTIONS", "/list/", "Origin: http://evil.test\r\n"
                                                  "Access-Control-Request-Method: POST\r\n");
  g_assert_cmpint (refused->status, ==, 200);
  g_assert_null (portico_test_response_header (refused, ACAO));
}

static void
test_single (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("One plain origin is answered as configured, whatever the request's Origin.");
  g_autoptr (PorticoTestResponse) r = send (f, "GET", "/single/", "Origin: http://other.test\r\n");
  g_assert_cmpstr (portico_test_response_header (r, ACAO), ==, "http://only.test");
  g_assert_cmpuint (vary_count (r, "Origin"), ==, 1);
}

static void
test_preflight_continue (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("preflight_continue: the preflight goes to the upstream, and the module adds "
                  "nothing to its answer.");
  g_autoptr (PorticoTestResponse) r = send (f, "OPTIONS", "/continue/", "Origin: http://x.test\r\n"
                                            "Access-Control-Request-Method: PUT\r\n");
  g_assert_cmpint (r->status, ==, 200);
  g_autofree char *body = portico_test_response_body_string (r);
  g_assert_true (g_str_has_prefix (body, "hello from mock"));
  g_assert_cmpstr (portico_test_response_header (r, ACAO), ==, "http://upstream.test");
  g_assert_null (portico_test_response_header (r, "Access-Control-Allow-Methods"));
}

static void
test_credentials_any (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("credentials with every origin allowed: the request's Origin is answered "
                  "instead of \"*\" (browsers refuse \"*\" with credentials), with Vary: Origin; "
                  "private_network answers a private-network preflight.");
  g_autoptr (PorticoTestResponse) r = send (f, "GET", "/creds/", "Origin: http://x.test:81\r\n");
  g_assert_cmpstr (portico_test_response_header (r, ACAO), ==, "http://x.test:81");
  g_assert_cmpstr (portico_test_response_header (r, "Access-Control-Allow-Credentials"), ==, "true");
  g_assert_cmpuint (vary_count (r, "Origin"), ==, 1);

  g_autoptr (PorticoTestResponse) none = send (f, "GET", "/creds/", "");
  g_assert_cmpstr (portico_test_response_header (none, ACAO), ==, "*");
  g_assert_null (portico_test_response_header (none, "Access-Control-Allow-Credentials"));

  g_autoptr (PorticoTestResponse) pre = send (f, "OPTIONS", "/creds/", "Origin: http://x.test\r\n"
                                              "Access-Control-Request-Method: GET\r\n"
                                              "Access-Control-Request-Private-Network: true\r\n");
  g_assert_cmpint (pre->status, ==, 200);
  g_assert_cmpstr (portico_test_response_header (pre, "Access-Control-Allow-Private-Network"), ==, "true");
  g_assert_cmpstr (portico_test_response_header (pre, ACAO), ==, "http://x.test");

  g_autoptr (PorticoTestResponse) any = send (f, "OPTIONS", "/any/", "Origin: http://x.test\r\n"
                                              "Access-Control-Request-Method: GET\r\n"
                                              "Access-Control-Request-Private-Network: true\r\n");
  g_assert_null (portico_test_response_header (any, "Access-Control-Allow-Private-Network"));
}

static void
test_origin_absent (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("allow_origin_absent false: a request without Origin is left alone (the "
                  "upstream's headers pass unchanged); with one, the list applies.");
  g_autoptr (PorticoTestResponse) r = send (f, "GET", "/absent/", "");
  g_assert_cmpstr (portico_test_response_header (r, ACAO), ==, "http://upstream.test");
  g_assert_cmpuint (vary_count (r, "Origin"), ==, 0);

  g_autoptr (PorticoTestResponse) c = send (f, "GET", "/absent/", "Origin: http://c.test\r\n");
  g_assert_cmpstr (portico_test_response_header (c, ACAO), ==, "http://c.test");
}

static void
test_gateway_response (PorticoTestGateway *f, gconstpointer data)
{
  g_test_summary ("A response the gateway makes (request-termination's 503) gets the CORS "
                  "headers too, so the browser can read the error.");
  g_autoptr (PorticoTestResponse) r = send (f, "GET", "/closed/", "Origin: http://x.test\r\n");
  g_assert_cmpint (r->status, ==, 503);
  g_assert_cmpstr (portico_test_response_header (r, ACAO), ==, "*");
}

static void
test_bad_regex (void)
{
  g_test_summary ("An origin that is not a valid regex refuses the configuration: the gateway "
                  "does not start.");
  g_autofree char *config = portico_test_plugin_config ("{'name':'cors','config':{'origins':['a.test','(x']}}", NULL);
  g_assert_true (portico_test_gateway_refused (config));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add ("/modules/cors/gateway/" name, PorticoTestGateway, NULL, fixture_set_up, fn, \
                                  portico_test_gateway_tear_down)
  ADD ("any", test_any);
  ADD ("preflight", test_preflight);
  ADD ("list", test_list);
  ADD ("list-preflight", test_list_preflight);
  ADD ("single", test_single);
  ADD ("preflight-continue", test_preflight_continue);
  ADD ("credentials-any", test_credentials_any);
  ADD ("origin-absent", test_origin_absent);
  ADD ("gateway-response", test_gateway_response);
#undef ADD
  g_test_add_func ("/modules/cors/gateway/bad-regex", test_bad_regex);
  return g_test_run ();
}
