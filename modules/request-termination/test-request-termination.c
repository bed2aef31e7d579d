/* test-request-termination.c: the configuration rules, default messages,
 * and the echo document's pieces. */
#include <gio/gio.h>
#include <string.h>

#include "request-termination-logic.h"

static char *
to_text (JsonNode *node)
{
  char *text = json_to_string (node, FALSE);
  json_node_unref (node);
  return text;
}

static void
test_check (void)
{
  g_test_summary ("Kong's rules: message excludes body and content_type, content_type needs a "
                  "body, echo excludes a body; an empty string counts as unset.");
  static const struct {
    const char *message, *body, *content_type;
    gboolean echo;
    const char *error;
  } cases[] = {
    { NULL, NULL, NULL, FALSE, NULL },
    { "gone", NULL, NULL, FALSE, NULL },
    { NULL, "<h1>down</h1>", "text/html", FALSE, NULL },
    { NULL, "down", NULL, FALSE, NULL },
    { "gone", NULL, NULL, TRUE, NULL },
    { "", "x", "", FALSE, NULL },
    { "gone", "down", NULL, FALSE, "message cannot be used with content_type or body" },
    { "gone", NULL, "text/plain", FALSE, "message cannot be used with content_type or body" },
    { NULL, NULL, "text/plain", FALSE, "content_type requires a body" },
    { NULL, "", "text/plain", FALSE, "content_type requires a body" },
    { NULL, "down", NULL, TRUE, "echo cannot be used with content_type and body" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      gboolean ok = request_termination_check (cases[i].message, cases[i].body, cases[i].content_type,
                                               cases[i].echo, &error);
      g_test_message ("case %u", i);
      if (cases[i].error == NULL)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
        }
      else
        {
          g_assert_false (ok);
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
          g_assert_cmpstr (error->message, ==, cases[i].error);
        }
    }
}

static void
test_default_message (void)
{
  g_assert_cmpstr (request_termination_default_message (503), ==, "Service unavailable");
  g_assert_cmpstr (request_termination_default_message (401), ==, "Unauthorized");
  g_assert_cmpstr (request_termination_default_message (404), ==, "Not found");
  g_assert_cmpstr (request_termination_default_message (405), ==, "Method not allowed");
  g_assert_cmpstr (request_termination_default_message (500), ==, "An unexpected error occurred");
  g_assert_cmpstr (request_termination_default_message (502), ==, "Bad Gateway");
  g_assert_null (request_termination_default_message (200));
  g_assert_null (request_termination_default_message (418));
}

static void
test_query (void)
{
  g_test_summary ("The query as Kong shows it: decoded, repeated names as arrays, bare names as "
                  "true, empty names skipped.");
  static const struct {
    const char *in, *out;
  } cases[] = {
    { "", "{}" },
    { "a=1", "{\"a\":\"1\"}" },
    { "a=1&b=2", "{\"a\":\"1\",\"b\":\"2\"}" },
    { "a=1&a=2&a=3", "{\"a\":[\"1\",\"2\",\"3\"]}" },
    { "flag", "{\"flag\":true}" },
    { "flag&flag=x", "{\"flag\":[true,\"x\"]}" },
    { "e=", "{\"e\":\"\"}" },
    { "q=a%20b+c&n%61me=%C3%A9", "{\"q\":\"a b c\",\"name\":\"\\u00e9\"}" },
    { "=v&&a=1&", "{\"a\":\"1\"}" },
    { "x=a=b", "{\"x\":\"a=b\"}" },
    { "bad=%zz", "{\"bad\":\"%zz\"}" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = to_text (request_termination_query_json (cases[i].in));
      g_test_message ("\"%s\"", cases[i].in);
      /* json-glib may write é raw or escaped: compare parsed values. */
      g_autoptr (JsonNode) got = json_from_string (text, NULL);
      g_autoptr (JsonNode) want = json_from_string (cases[i].out, NULL);
      g_assert_nonnull (got);
      g_assert_nonnull (want);
      g_test_message ("got %s, want %s", text, cases[i].out);
      g_assert_true (json_node_equal (got, want));
    }
  g_autofree char *none = to_text (request_termination_query_json (NULL));
  g_assert_cmpstr (none, ==, "{}");
}

static void
test_headers (void)
{
  const char *names[] = { "Host", "X-Multi", "Accept", "x-multi" };
  const char *values[] = { "a.test", "1", "*/*", "2" };
  g_autofree char *text = to_text (request_termination_headers_json (names, values, 4));
  g_assert_cmpstr (text, ==, "{\"host\":\"a.test\",\"x-multi\":[\"1\",\"2\"],\"accept\":\"*/*\"}");
  g_autofree char *empty = to_text (request_termination_headers_json (NULL, NULL, 0));
  g_assert_cmpstr (empty, ==, "{}");
}

static void
test_host (void)
{
  static const char *const cases[][2] = {
    { "api.example.com", "api.example.com" },
    { "API.Example.com:8000", "api.example.com" },
    { "127.0.0.1:8000", "127.0.0.1" },
    { "[::1]:8000", "[::1]" },
    { "[::1]", "[::1]" },
    { "", "" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *host = request_termination_host (cases[i][0]);
      g_assert_cmpstr (host, ==, cases[i][1]);
    }
}

static void
test_echo (void)
{
  g_test_summary ("The echo document has Kong's members, filled from what the request had.");
  const char *names[] = { "Host", "X-A" };
  const char *values[] = { "Shop.test:8000", "1" };
  RequestTerminationEcho echo = {
    .message = "Service unavailable", .worker_pid = 77, .hostname = "box",
    .method = "POST", .path = "/orders/1", .raw_query = "q=1", .host_header = "Shop.test:8000",
    .port = 8000, .header_names = names, .header_values = values, .n_headers = 2,
    .routed = TRUE, .route_name = NULL, .service_name = "orders",
  };
  gsize len = 0;
  g_autofree char *json = request_termination_echo_json (&echo, &len);
  g_assert_cmpuint (len, ==, strlen (json));
  g_assert_cmpstr (json, ==,
                   "{\"message\":\"Service unavailable\","
                   "\"kong\":{\"worker_pid\":77,\"hostname\":\"box\"},"
                   "\"request\":{\"scheme\":\"http\",\"host\":\"shop.test\",\"port\":8000,"
                   "\"headers\":{\"host\":\"Shop.test:8000\",\"x-a\":\"1\"},\"query\":{\"q\":\"1\"},"
                   "\"method\":\"POST\",\"path\":\"/orders/1\"},"
                   "\"matched_route\":{\"name\":null},\"matched_service\":{\"name\":\"orders\"}}");

  g_test_message ("no message, no Host, no route: those members are left out");
  echo = (RequestTerminationEcho){ .worker_pid = 1, .hostname = "h", .method = "GET", .path = "/",
                                   .raw_query = "" };
  g_autofree char *bare = request_termination_echo_json (&echo, NULL);
  g_assert_cmpstr (bare, ==,
                   "{\"kong\":{\"worker_pid\":1,\"hostname\":\"h\"},"
                   "\"request\":{\"scheme\":\"http\",\"port\":0,\"headers\":{},\"query\":{},"
                   "\"method\":\"GET\",\"path\":\"/\"}}");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/request-termination/check", test_check);
  g_test_add_func ("/modules/request-termination/default-message", test_default_message);
  g_test_add_func ("/modules/request-termination/echo/query", test_query);
  g_test_add_func ("/modules/request-termination/echo/headers", test_headers);
  g_test_add_func ("/modules/request-termination/echo/host", test_host);
  g_test_add_func ("/modules/request-termination/echo/document", test_echo);
  return g_test_run ();
}
