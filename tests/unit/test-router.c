/* Unit tests for core/router: Kong's precedence and the matching of each
 * kind of condition. Routes come from a real config so that the loader's
 * normalization (lower-cased hosts, header values) is part of what is tested. */
#include "core/router.h"

#include <string.h>

typedef struct {
  PorticoConfig *config;
  PorticoRouter *router;
  gboolean https;         /* the scheme of the requests route_for() makes */
  size_t matched_len;
  gboolean https_required; /* what the last match said */
} Fixture;

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->router, portico_router_free);
  g_clear_pointer (&f->config, portico_config_free);
}

/* @routes: a JSON array of routes, written with ' for ", all in one
 * service. Replaces what an earlier call built. */
static void
build (Fixture *f, const char *routes)
{
  g_autofree char *quoted = g_strdup (routes);
  g_autofree char *json = NULL;
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;

  fixture_tear_down (f, NULL);
  g_strdelimit (quoted, "'", '"');
  json = g_strdup_printf ("{\"_format_version\": \"1\", \"services\": [{\"name\": \"s\", "
                          "\"url\": \"http://127.0.0.1:1\", \"routes\": %s}]}",
                          quoted);
  f->config = portico_config_load_data (json, -1, "router-test", errors, &error);
  for (guint i = 0; i < errors->len; i++)
    g_test_message ("%s", (char *) g_ptr_array_index (errors, i));
  g_assert_no_error (error);
  f->router = portico_router_new (f->config);
  g_assert_nonnull (f->router);
}

/* Returns the name of the matching route ("-" for an unnamed one), or NULL.
 * @headers: "name: value" strings, NULL-terminated, or NULL. */
static const char *
route_for (Fixture *f, const char *method, const char *host, const char *path,
           const char *const *headers)
{
  PorticoHttpHeader parsed[16];
  PorticoRouteMatch match = { NULL, 12345, FALSE };
  size_t n_headers = 0;

  for (; headers && headers[n_headers]; n_headers++) {
    const char *colon = strchr (headers[n_headers], ':');

    g_assert_nonnull (colon);
    g_assert_cmpuint (n_headers, <, G_N_ELEMENTS (parsed));
    parsed[n_headers].name = headers[n_headers];
    parsed[n_headers].name_len = (size_t) (colon - headers[n_headers]);
    parsed[n_headers].value = colon + 2;
    parsed[n_headers].value_len = strlen (colon + 2);
  }
  f->matched_len = 0;
  f->https_required = FALSE;
  if (!portico_router_match (f->router, method, strlen (method), host, host ? strlen (host) : 0,
                             path, strlen (path), parsed, n_headers, f->https, &match)) {
    g_assert_null (match.route);
    g_assert_cmpuint (match.matched_len, ==, 12345);
    return NULL;
  }
  f->matched_len = match.matched_len;
  f->https_required = match.https_required;
  return match.route->name ? match.route->name : "-";
}

#define GET(f, host, path) route_for ((f), "GET", (host), (path), NULL)

/* ---- precedence ------------------------------------------------------------ */

static void
test_host_precedence (Fixture *f, gconstpointer data)
{
  g_test_summary ("An exact host beats a wildcard host, which beats no host, whatever the "
                  "paths and the declaration order.");
  build (f, "[{'name': 'none', 'paths': ['/orders/very/long']},"
            " {'name': 'wild', 'hosts': ['*.example.com']},"
            " {'name': 'exact', 'hosts': ['api.example.com']}]");
  g_assert_cmpstr (GET (f, "api.example.com", "/orders/very/long"), ==, "exact");
  g_assert_cmpstr (GET (f, "www.example.com", "/orders/very/long"), ==, "wild");
  g_assert_cmpstr (GET (f, "other.org", "/orders/very/long"), ==, "none");
  g_assert_null (GET (f, "other.org", "/"));
}

static void
test_prefix_precedence (Fixture *f, gconstpointer data)
{
  g_test_summary ("Longer prefixes first; a plain prefix also matches /ordersx, as in Kong; "
                  "matched_len is the prefix length.");
  build (f, "[{'name': 'short', 'paths': ['/orders']},"
            " {'name': 'long', 'paths': ['/orders/items']},"
            " {'name': 'root', 'paths': ['/']}]");
  g_assert_cmpstr (GET (f, "h", "/orders/items/1"), ==, "long");
  g_assert_cmpuint (f->matched_len, ==, strlen ("/orders/items"));
  g_assert_cmpstr (GET (f, "h", "/orders/items"), ==, "long");
  g_assert_cmpstr (GET (f, "h", "/orders/1"), ==, "short");
  g_assert_cmpuint (f->matched_len, ==, strlen ("/orders"));
  g_assert_cmpstr (GET (f, "h", "/orders"), ==, "short");
  g_assert_cmpstr (GET (f, "h", "/ordersx"), ==, "short");
  g_assert_cmpstr (GET (f, "h", "/order"), ==, "root");
  g_assert_cmpuint (f->matched_len, ==, 1);
  g_test_message ("prefixes are case-sensitive, like paths");
  g_assert_cmpstr (GET (f, "h", "/ORDERS"), ==, "root");
}

static void
test_regex_beats_prefix (Fixture *f, gconstpointer data)
{
  build (f, "[{'name': 'prefix', 'paths': ['/users/admin/settings/profile']},"
            " {'name': 'regex', 'paths': ['~/users/[a-z]+/']}]");
  g_assert_cmpstr (GET (f, "h", "/users/admin/settings/profile"), ==, "regex");
  g_assert_cmpuint (f->matched_len, ==, strlen ("/users/admin/"));
}

static void
test_regex_fallback (Fixture *f, gconstpointer data)
{
  build (f, "[{'name': 'prefix', 'paths': ['/users']},"
            " {'name': 'regex', 'paths': ['~/users/\\\\d+$']}]");
  g_assert_cmpstr (GET (f, "h", "/users/42"), ==, "regex");
  g_assert_cmpuint (f->matched_len, ==, strlen ("/users/42"));
  g_assert_cmpstr (GET (f, "h", "/users/42/orders"), ==, "prefix");
  g_assert_cmpstr (GET (f, "h", "/users/admin"), ==, "prefix");
}

static void
test_regex_anchored (Fixture *f, gconstpointer data)
{
  g_test_summary ("Regexes are anchored at the start of the path, not at its end; matched_len "
                  "is where the match ends.");
  build (f, "[{'name': 'versioned', 'paths': ['~/v\\\\d+']}]");
  g_assert_cmpstr (GET (f, "h", "/v12/items"), ==, "versioned");
  g_assert_cmpuint (f->matched_len, ==, strlen ("/v12"));
  g_assert_null (GET (f, "h", "/api/v1/items"));
  g_assert_null (GET (f, "h", "/v"));
}

static void
test_regex_priority (Fixture *f, gconstpointer data)
{
  g_test_summary ("Between regexes: higher regex_priority first, then declaration order; "
                  "headers and methods do not reorder regexes.");
  build (f, "[{'name': 'first', 'paths': ['~/items/.*']},"
            " {'name': 'second', 'paths': ['~/items/\\\\d+'], 'methods': ['GET']},"
            " {'name': 'high', 'paths': ['~/items/7'], 'regex_priority': 10},"
            " {'name': 'negative', 'paths': ['~/items/8'], 'regex_priority': -1}]");
  g_assert_cmpstr (GET (f, "h", "/items/7"), ==, "high");
  g_assert_cmpstr (GET (f, "h", "/items/5"), ==, "first");
  g_assert_cmpstr (GET (f, "h", "/items/8"), ==, "first");
}

static void
test_path_beats_none (Fixture *f, gconstpointer data)
{
  build (f, "[{'name': 'method-only', 'methods': ['GET']},"
            " {'name': 'root', 'paths': ['/']}]");
  g_assert_cmpstr (GET (f, "h", "/x"), ==, "root");
  build (f, "[]");
  g_assert_null (GET (f, "h", "/x"));
}

static void
test_headers_methods_tie_break (Fixture *f, gconstpointer data)
{
  static const char *const both[] = { "X-V: 1", "x-w: 2", NULL };
  static const char *const one[] = { "x-v: 1", NULL };

  g_test_summary ("With the same host and path: more header conditions first, then a route "
                  "with methods, then declaration order.");
  build (f, "[{'name': 'plain', 'paths': ['/a']},"
            " {'name': 'method', 'paths': ['/a'], 'methods': ['GET']},"
            " {'name': 'header', 'paths': ['/a'], 'headers': {'x-v': ['1']}},"
            " {'name': 'two-headers', 'paths': ['/a'], 'headers': {'x-v': ['1'], 'x-w': ['2']}}]");
  g_assert_cmpstr (route_for (f, "GET", "h", "/a", both), ==, "two-headers");
  g_assert_cmpstr (route_for (f, "GET", "h", "/a", one), ==, "header");
  g_assert_cmpstr (route_for (f, "POST", "h", "/a", one), ==, "header");
  g_assert_cmpstr (route_for (f, "GET", "h", "/a", NULL), ==, "method");
  g_assert_cmpstr (route_for (f, "POST", "h", "/a", NULL), ==, "plain");
}

static void
test_declaration_order (Fixture *f, gconstpointer data)
{
  build (f, "[{'name': 'one', 'paths': ['/same']}, {'name': 'two', 'paths': ['/same']},"
            " {'name': 'three', 'hosts': ['a.com', 'b.com']}, {'name': 'four', 'hosts': ['b.com']}]");
  g_assert_cmpstr (GET (f, "h", "/same"), ==, "one");
  g_assert_cmpstr (GET (f, "b.com", "/"), ==, "three");
}

static void
test_expansion (Fixture *f, gconstpointer data)
{
  g_test_summary ("A route with several hosts and paths matches every combination, each "
                  "ranked on its own.");
  build (f, "[{'name': 'multi', 'hosts': ['a.com', '*.b.com'], 'paths': ['/x', '/y/z']},"
            " {'name': 'mid', 'hosts': ['a.com'], 'paths': ['/y']}]");
  g_assert_cmpstr (GET (f, "a.com", "/x"), ==, "multi");
  g_assert_cmpstr (GET (f, "a.com", "/y/z"), ==, "multi");
  g_assert_cmpstr (GET (f, "a.com", "/y/q"), ==, "mid");
  g_assert_cmpstr (GET (f, "w.b.com", "/y/z/1"), ==, "multi");
  g_assert_cmpuint (f->matched_len, ==, 4);
  g_assert_null (GET (f, "w.b.com", "/q"));
}

static void
test_docs_example (Fixture *f, gconstpointer data)
{
  static const char *const v2[] = { "X-API-Version: 2", NULL };

  g_test_summary ("The precedence example of docs/config.md gives the routes the doc says.");
  build (f, "[{'name': 'catch-all', 'paths': ['/']},"
            " {'name': 'orders', 'paths': ['/orders']},"
            " {'name': 'order-item', 'paths': ['~/orders/\\\\d+/items']},"
            " {'name': 'v2-orders', 'paths': ['/orders'], 'headers': {'x-api-version': ['2']}},"
            " {'name': 'admin', 'hosts': ['admin.example.com']},"
            " {'name': 'tenants', 'hosts': ['*.example.com'], 'paths': ['/orders']}]");
  g_assert_cmpstr (GET (f, "admin.example.com", "/orders/1"), ==, "admin");
  g_assert_cmpstr (GET (f, "acme.example.com", "/orders/1"), ==, "tenants");
  g_assert_cmpstr (GET (f, "acme.example.com", "/billing"), ==, "catch-all");
  g_assert_cmpstr (GET (f, "api.test", "/orders/42/items/3"), ==, "order-item");
  g_assert_cmpuint (f->matched_len, ==, strlen ("/orders/42/items"));
  g_assert_cmpstr (route_for (f, "GET", "api.test", "/orders/42", v2), ==, "v2-orders");
  g_assert_cmpstr (GET (f, "api.test", "/orders/42"), ==, "orders");
  g_assert_cmpstr (GET (f, "api.test", "/ordersx"), ==, "orders");
  g_assert_cmpstr (GET (f, "api.test", "/health"), ==, "catch-all");
}

/* ---- matching --------------------------------------------------------------- */

static void
test_wildcards (Fixture *f, gconstpointer data)
{
  g_test_summary ("\"*.example.com\" covers one or more leftmost labels, \"example.*\" one or "
                  "more rightmost ones; the wildcard is never empty.");
  build (f, "[{'name': 'left', 'hosts': ['*.example.com']}]");
  g_assert_cmpstr (GET (f, "a.example.com", "/"), ==, "left");
  g_assert_cmpstr (GET (f, "a.b.example.com", "/"), ==, "left");
  g_assert_cmpstr (GET (f, "A.EXAMPLE.COM:8443", "/"), ==, "left");
  g_assert_null (GET (f, "example.com", "/"));
  g_assert_null (GET (f, ".example.com", "/"));
  g_assert_null (GET (f, "myexample.com", "/"));
  g_assert_null (GET (f, "a.example.com.evil.org", "/"));

  build (f, "[{'name': 'right', 'hosts': ['example.*']}]");
  g_assert_cmpstr (GET (f, "example.org", "/"), ==, "right");
  g_assert_cmpstr (GET (f, "example.co.uk", "/"), ==, "right");
  g_assert_cmpstr (GET (f, "Example.Org:8080", "/"), ==, "right");
  g_assert_null (GET (f, "example.", "/"));
  g_assert_null (GET (f, "example", "/"));
  g_assert_null (GET (f, "www.example.org", "/"));
  g_assert_null (GET (f, "examples.org", "/"));
}

static void
test_host_normalization (Fixture *f, gconstpointer data)
{
  g_test_summary ("Hosts compare without case, without a port, and without a final root dot.");
  build (f, "[{'name': 'api', 'hosts': ['API.example.com']},"
            " {'name': 'v6', 'hosts': ['[::1]']}]");
  g_assert_cmpstr (GET (f, "api.example.com", "/"), ==, "api");
  g_assert_cmpstr (GET (f, "Api.Example.COM", "/"), ==, "api");
  g_assert_cmpstr (GET (f, "api.example.com:8000", "/"), ==, "api");
  g_assert_cmpstr (GET (f, "api.example.com.", "/"), ==, "api");
  g_assert_cmpstr (GET (f, "api.example.com.:80", "/"), ==, "api");
  g_assert_cmpstr (GET (f, "[::1]:8000", "/"), ==, "v6");
  g_assert_cmpstr (GET (f, "[::1]", "/"), ==, "v6");
  g_assert_null (GET (f, "api.example.co", "/"));
  g_assert_null (GET (f, "api.example.comm", "/"));
  g_assert_null (GET (f, "", "/"));
  g_assert_null (GET (f, NULL, "/"));
}

static void
test_methods (Fixture *f, gconstpointer data)
{
  build (f, "[{'name': 'write', 'methods': ['POST', 'PUT']}]");
  g_assert_cmpstr (route_for (f, "POST", "h", "/", NULL), ==, "write");
  g_assert_cmpstr (route_for (f, "PUT", "h", "/", NULL), ==, "write");
  g_assert_cmpuint (f->matched_len, ==, 0);
  g_test_message ("methods are case-sensitive (RFC 9110)");
  g_assert_null (route_for (f, "post", "h", "/", NULL));
  g_assert_null (route_for (f, "POS", "h", "/", NULL));
  g_assert_null (route_for (f, "POSTS", "h", "/", NULL));
  g_assert_null (route_for (f, "GET", "h", "/", NULL));
}

static void
test_headers (Fixture *f, gconstpointer data)
{
  static const char *const upper[] = { "X-Version: V2", NULL };
  static const char *const second[] = { "x-version: v9", "x-version: v1", NULL };
  static const char *const wrong[] = { "x-version: v3", "x-other: v1", NULL };
  static const char *const list[] = { "x-version: v1, v2", NULL };
  static const char *const partial[] = { "x-version: v1", NULL };
  static const char *const all[] = { "x-version: v1", "x-tenant: acme", NULL };

  g_test_summary ("Header names and values compare without case; any occurrence of the header "
                  "may match; the whole value must equal a listed one; all conditions must hold.");
  build (f, "[{'name': 'versioned', 'headers': {'X-Version': ['v1', 'V2']}},"
            " {'name': 'tenant', 'headers': {'x-version': ['v1'], 'x-tenant': ['ACME']}}]");
  g_assert_cmpstr (route_for (f, "GET", "h", "/", upper), ==, "versioned");
  g_assert_cmpstr (route_for (f, "GET", "h", "/", second), ==, "versioned");
  g_assert_cmpstr (route_for (f, "GET", "h", "/", partial), ==, "versioned");
  g_assert_cmpstr (route_for (f, "GET", "h", "/", all), ==, "tenant");
  g_assert_null (route_for (f, "GET", "h", "/", wrong));
  g_assert_null (route_for (f, "GET", "h", "/", list));
  g_assert_null (route_for (f, "GET", "h", "/", NULL));
}

static void
test_no_match (Fixture *f, gconstpointer data)
{
  build (f, "[{'name': 'a', 'hosts': ['a.com'], 'paths': ['/a'], 'methods': ['GET']}]");
  g_assert_cmpstr (GET (f, "a.com", "/a"), ==, "a");
  g_assert_null (GET (f, "b.com", "/a"));
  g_assert_null (GET (f, "a.com", "/b"));
  g_assert_null (route_for (f, "POST", "a.com", "/a", NULL));
  g_assert_null (GET (f, "a.com", ""));
}

static void
test_empty (Fixture *f, gconstpointer data)
{
  build (f, "[]");
  g_assert_null (GET (f, "a.com", "/"));
}

static void
test_regex_bytes (Fixture *f, gconstpointer data)
{
  g_test_summary ("Regexes match bytes, as in Kong: a path that is not UTF-8 is matched safely, "
                  "and \".\" is one byte.");
  build (f, "[{'name': 'one-byte', 'paths': ['~/caf.$']}, {'name': 'prefix', 'paths': ['/']}]");
  g_assert_cmpstr (GET (f, "h", "/caf\xe9"), ==, "one-byte");
  g_assert_cmpstr (GET (f, "h", "/caf\xc3\xa9"), ==, "prefix");
  g_assert_cmpstr (GET (f, "h", "/\xff\xfe"), ==, "prefix");
}

static void
test_path_not_terminated (Fixture *f, gconstpointer data)
{
  PorticoRouteMatch match = { 0 };
  const char *request = "/items/42 HTTP/1.1";

  g_test_summary ("The path is a slice of the request buffer: nothing past path_len counts.");
  build (f, "[{'name': 'exact', 'paths': ['~/items/\\\\d+$']}]");
  g_assert_true (portico_router_match (f->router, "GET", 3, "h", 1, request, strlen ("/items/42"),
                                       NULL, 0, FALSE, &match));
  g_assert_cmpstr (match.route->name, ==, "exact");
  g_assert_cmpuint (match.matched_len, ==, strlen ("/items/42"));
  g_assert_false (portico_router_match (f->router, "GET", 3, "h", 1, request, strlen ("/items/"),
                                        NULL, 0, FALSE, &match));
}

/* The route for GET h @path over http and over https, as "http-route https-route"
 * ("-" for none), each followed by "!" when it must be answered with a
 * redirect to https. */
static char *
routes_by_scheme (Fixture *f, const char *path)
{
  const char *names[2];
  gboolean required[2];

  for (int https = 0; https < 2; https++) {
    f->https = https;
    names[https] = GET (f, "h", path);
    required[https] = f->https_required;
  }
  f->https = FALSE;
  return g_strdup_printf ("%s%s %s%s", names[0] ? names[0] : "-", required[0] ? "!" : "",
                          names[1] ? names[1] : "-", required[1] ? "!" : "");
}

static void
test_protocols (Fixture *f, gconstpointer data)
{
  g_test_summary ("A route matches the schemes of its protocols (both by default); one with https "
                  "alone also matches http, with https_required, as in Kong, so that the gateway "
                  "redirects; an http-only route never matches https, and the walk goes on to the "
                  "next route.");
  build (f, "[{'name': 'plain', 'paths': ['/p'], 'protocols': ['http']},"
            " {'name': 'secure', 'paths': ['/s'], 'protocols': ['https']},"
            " {'name': 'both', 'paths': ['/b']},"
            " {'name': 'listed', 'paths': ['/l'], 'protocols': ['https', 'http']},"
            " {'name': 'secure-long', 'paths': ['/x/long'], 'protocols': ['https']},"
            " {'name': 'plain-short', 'paths': ['/x'], 'protocols': ['http']},"
            " {'name': 'plain-long', 'paths': ['/y/long'], 'protocols': ['http']},"
            " {'name': 'secure-short', 'paths': ['/y'], 'protocols': ['https']}]");
  struct {
    const char *path, *expected;
  } cases[] = {
    { "/p", "plain -" },
    { "/s", "secure! secure" },
    { "/b", "both both" },
    { "/l", "listed listed" },
    { "/x/long", "secure-long! secure-long" },
    { "/x/other", "plain-short -" },
    { "/y/long", "plain-long secure-short" },
    { "/y/other", "secure-short! secure-short" },
    { "/q", "- -" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *got = routes_by_scheme (f, cases[i].path);

    g_test_message ("%s: %s", cases[i].path, got);
    g_assert_cmpstr (got, ==, cases[i].expected);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, NULL, func, fixture_tear_down)
  ADD ("/router/precedence/host", test_host_precedence);
  ADD ("/router/precedence/longer-prefix", test_prefix_precedence);
  ADD ("/router/precedence/regex-beats-prefix", test_regex_beats_prefix);
  ADD ("/router/precedence/regex-fallback", test_regex_fallback);
  ADD ("/router/precedence/regex-priority", test_regex_priority);
  ADD ("/router/precedence/path-beats-none", test_path_beats_none);
  ADD ("/router/precedence/headers-methods", test_headers_methods_tie_break);
  ADD ("/router/precedence/declaration-order", test_declaration_order);
  ADD ("/router/precedence/expansion", test_expansion);
  ADD ("/router/precedence/docs-example", test_docs_example);
  ADD ("/router/match/wildcards", test_wildcards);
  ADD ("/router/match/host-normalization", test_host_normalization);
  ADD ("/router/match/methods", test_methods);
  ADD ("/router/match/headers", test_headers);
  ADD ("/router/match/regex-anchored", test_regex_anchored);
  ADD ("/router/match/none", test_no_match);
  ADD ("/router/match/empty", test_empty);
  ADD ("/router/match/regex-bytes", test_regex_bytes);
  ADD ("/router/match/path-not-terminated", test_path_not_terminated);
  ADD ("/router/match/protocols", test_protocols);
#undef ADD
  return g_test_run ();
}
