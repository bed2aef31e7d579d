/* test-file-log-gateway.c: file-log in a real gateway, in front of the
 * mock upstream: one line per request with what the gateway saw, nothing
 * lost on a graceful stop (also with two workers on one file), rotation
 * with reopen, and a path that cannot be opened. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "harness-gateway.h"

#define WAIT_MS 5000

typedef struct {
  char *dir;
  char *path;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->dir = g_dir_make_tmp ("file-log-gw-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "access.log", NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_autoptr (GDir) d = g_dir_open (f->dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (f->dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
  g_free (f->path);
}

/* The config: one service "orders" on the mock, route "orders-r" on
 * /orders, file-log global with @plugin_config. */
static char *
config_json (guint workers, const char *plugin_config)
{
  return g_strdup_printf (
    "{'_format_version':'1',"
    " 'node':{'listen':['127.0.0.1:0'],'admin_listen':'off','workers':%u,'module_path':['@MODULES@']},"
    " 'services':[{'name':'orders','url':'http://@UPSTREAM@',"
    "   'routes':[{'name':'orders-r','paths':['/orders']}]}],"
    " 'plugins':[{'name':'file-log','config':%s}]}",
    workers, plugin_config);
}

/* A gateway and its mock, logging to the fixture's file. */
static PorticoTestGateway *
gateway (Fixture *f, guint workers, gboolean reopen)
{
  g_autofree char *plugin = g_strdup_printf ("{'path':'%s','reopen':%s}", f->path, reopen ? "true" : "false");
  g_autofree char *config = config_json (workers, plugin);
  return portico_test_gateway_new (config, NULL, NULL);
}

static char **
read_lines (const char *path)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_new0 (char *, 1);
  g_assert_true (text[0] == '\0' || g_str_has_suffix (text, "\n"));
  char **lines = g_strsplit (text, "\n", -1);
  guint n = g_strv_length (lines);
  if (n > 0)
    {
      g_free (lines[n - 1]); /* after the last newline: "" */
      lines[n - 1] = NULL;
    }
  return lines;
}

/* Polls @path until it has @n lines (the flush timer runs every 100 ms). */
static char **
wait_lines (const char *path, guint n)
{
  gint64 end = g_get_monotonic_time () + WAIT_MS * 1000;
  for (;;)
    {
      char **lines = read_lines (path);
      if (g_strv_length (lines) >= n || g_get_monotonic_time () > end)
        return lines;
      g_strfreev (lines);
      g_usleep (20 * 1000);
    }
}

static JsonObject *
parse_line (JsonParser *parser, const char *line)
{
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, line, -1, &error);
  g_assert_no_error (error);
  JsonNode *root = json_parser_get_root (parser);
  g_assert_true (root != NULL && JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

static JsonObject *
member (JsonObject *o, const char *name)
{
  g_assert_true (json_object_has_member (o, name));
  return json_object_get_object_member (o, name);
}

static void
send_ok (const char *addr, const char *request, int status)
{
  g_autoptr (PorticoTestResponse) resp = portico_test_request (addr, request);
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, status);
}

static void
test_lines (Fixture *f, gconstpointer data)
{
  g_test_summary ("Each request through the gateway adds one JSON line: the request as the gateway "
                  "got it (method, uri, headers, query), the response (status, size), latencies, "
                  "client_ip, started_at, route and service, and the phases the core timed.");
  g_autoptr (PorticoTestGateway) g = gateway (f, 1, FALSE);
  const char *addr = g->addr;
  gint64 before_ms = g_get_real_time () / 1000;

  enum { N = 12 };
  for (guint i = 0; i < N - 2; i++)
    send_ok (addr, "GET /orders/echo/x HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n", 200);
  send_ok (addr,
           "GET /orders/status/503?a=1&tag=x&tag=y%20z&flag HTTP/1.1\r\nHost: shop.example\r\n"
           "X-Trace: t-7\r\nAccept: a\r\nAccept: b\r\nAuthorization: Bearer s3cret\r\nConnection: close\r\n\r\n",
           503);
  send_ok (addr, "GET /nowhere HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n", 404);

  g_auto (GStrv) lines = wait_lines (f->path, N);
  g_assert_cmpuint (g_strv_length (lines), ==, N);
  gint64 after_ms = g_get_real_time () / 1000;

  g_autoptr (JsonParser) parser = json_parser_new ();
  for (guint i = 0; i < N; i++)
    parse_line (parser, lines[i]);

  /* One worker, one connection at a time: the lines are in request order. */
  JsonObject *o = parse_line (parser, lines[N - 2]);
  JsonObject *request = member (o, "request");
  g_assert_cmpstr (json_object_get_string_member (request, "method"), ==, "GET");
  g_assert_cmpstr (json_object_get_string_member (request, "uri"), ==, "/orders/status/503?a=1&tag=x&tag=y%20z&flag");
  JsonObject *headers = member (request, "headers");
  g_assert_cmpstr (json_object_get_string_member (headers, "x-trace"), ==, "t-7");
  g_assert_cmpstr (json_object_get_string_member (headers, "host"), ==, "shop.example");
  g_assert_cmpstr (json_object_get_string_member (headers, "authorization"), ==, "REDACTED");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (headers, "accept")), ==, 2);
  JsonObject *query = member (request, "querystring");
  g_assert_cmpstr (json_object_get_string_member (query, "a"), ==, "1");
  g_assert_true (json_object_get_boolean_member (query, "flag"));
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (query, "tag"), 1), ==, "y z");

  JsonObject *response = member (o, "response");
  g_assert_cmpint (json_object_get_int_member (response, "status"), ==, 503);
  g_assert_cmpint (json_object_get_int_member (response, "size"), >, 0);
  g_assert_true (json_object_has_member (member (response, "headers"), "content-length"));
  JsonObject *latencies = member (o, "latencies");
  g_assert_cmpint (json_object_get_int_member (latencies, "request"), >=, 0);
  g_assert_cmpint (json_object_get_int_member (latencies, "kong"), >=, 0);
  g_assert_cmpint (json_object_get_int_member (latencies, "proxy"), >=, 0);
  g_assert_cmpint (json_object_get_int_member (latencies, "proxy"), <=,
                   json_object_get_int_member (latencies, "request"));
  g_assert_cmpstr (json_object_get_string_member (o, "client_ip"), ==, "127.0.0.1");
  gint64 started = json_object_get_int_member (o, "started_at");
  g_assert_cmpint (started, >=, before_ms - 1000);
  g_assert_cmpint (started, <=, after_ms + 1000);
  g_assert_cmpstr (json_object_get_string_member (member (o, "route"), "name"), ==, "orders-r");
  g_assert_cmpstr (json_object_get_string_member (member (o, "service"), "name"), ==, "orders");
  g_assert_false (json_object_has_member (o, "consumer"));
  g_assert_true (json_object_has_member (o, "phases"));
  JsonArray *phases = json_object_get_array_member (o, "phases");
  for (guint i = 0; i < json_array_get_length (phases); i++)
    {
      JsonObject *span = json_array_get_object_element (phases, i);
      g_assert_nonnull (json_object_get_string_member (span, "module"));
      g_assert_nonnull (json_object_get_string_member (span, "phase"));
      g_assert_cmpint (json_object_get_int_member (span, "duration_us"), >=, 0);
    }

  /* No route: the gateway's 404, logged without route or service. */
  o = parse_line (parser, lines[N - 1]);
  g_assert_cmpint (json_object_get_int_member (member (o, "response"), "status"), ==, 404);
  g_assert_false (json_object_has_member (o, "route"));
  g_assert_false (json_object_has_member (o, "service"));
  g_assert_cmpint (json_object_get_int_member (member (o, "latencies"), "proxy"), ==, -1);

  g_assert_cmpint (portico_proc_stop (g->gw), ==, 0);
}

static void
graceful_stop (Fixture *f, guint workers, guint n)
{
  g_autoptr (PorticoTestGateway) g = gateway (f, workers, FALSE);
  const char *addr = g->addr;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *req =
        g_strdup_printf ("GET /orders/echo/%u HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n", i);
      send_ok (addr, req, 200);
    }
  /* At once: lines from the last 100 ms still wait in the buffers. */
  portico_proc_signal (g->gw, SIGQUIT);
  g_assert_cmpint (portico_proc_wait (g->gw, 20000), ==, 0);

  g_auto (GStrv) lines = read_lines (f->path);
  g_assert_cmpuint (g_strv_length (lines), ==, n);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  for (guint i = 0; i < n; i++)
    {
      JsonObject *o = parse_line (parser, lines[i]);
      const char *uri = json_object_get_string_member (member (o, "request"), "uri");
      g_assert_true (g_hash_table_add (seen, g_strdup (uri)));
    }
  g_assert_cmpuint (g_hash_table_size (seen), ==, n);
}

static void
test_graceful_stop (Fixture *f, gconstpointer data)
{
  g_test_summary ("N requests, then SIGQUIT right away: the gateway exits cleanly and the file holds N "
                  "lines, one per request (exit_worker flushes what the timer had not written yet).");
  graceful_stop (f, 1, 50);
}

static void
test_two_workers (Fixture *f, gconstpointer data)
{
  g_test_summary ("Two workers append to one file, each from its own buffer: after a graceful stop "
                  "every line is whole JSON and every request is there once.");
  graceful_stop (f, 2, 300);
}

static void
test_reopen (Fixture *f, gconstpointer data)
{
  g_test_summary ("reopen: after the file is renamed (log rotation), the next lines go to a new file "
                  "at the configured path; the old file keeps the old lines.");
  g_autoptr (PorticoTestGateway) g = gateway (f, 1, TRUE);
  const char *addr = g->addr;
  g_autofree char *rotated = g_strconcat (f->path, ".1", NULL);

  send_ok (addr, "GET /orders/echo/first HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n", 200);
  g_auto (GStrv) first = wait_lines (f->path, 1);
  g_assert_cmpuint (g_strv_length (first), ==, 1);
  g_assert_cmpint (g_rename (f->path, rotated), ==, 0);

  send_ok (addr, "GET /orders/echo/second HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n", 200);
  g_auto (GStrv) second = wait_lines (f->path, 1);
  g_assert_cmpuint (g_strv_length (second), ==, 1);
  g_assert_nonnull (strstr (second[0], "/orders/echo/second"));
  g_auto (GStrv) old = read_lines (rotated);
  g_assert_cmpuint (g_strv_length (old), ==, 1);
  g_assert_nonnull (strstr (old[0], "/orders/echo/first"));
  g_assert_cmpint (portico_proc_stop (g->gw), ==, 0);
}

static void
test_bad_path (Fixture *f, gconstpointer data)
{
  g_test_summary ("A path that cannot be opened is refused with the configuration, naming the plugin's "
                  "JSON path and the file: portico check fails, and so does serve.");
  g_autofree char *bad = g_build_filename (f->dir, "no-such-dir", "access.log", NULL);
  g_autofree char *plugin = g_strdup_printf ("{'path':'%s'}", bad);
  g_autofree char *config = config_json (1, plugin);

  portico_test_check_config (config, "plugins[0].config", bad);
  g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
  g_assert_true (portico_test_gateway_refused (config));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);

  g_test_add ("/modules/file-log/gateway/lines", Fixture, NULL, fixture_setup, test_lines, fixture_teardown);
  g_test_add ("/modules/file-log/gateway/graceful-stop", Fixture, NULL, fixture_setup, test_graceful_stop,
              fixture_teardown);
  g_test_add ("/modules/file-log/gateway/two-workers", Fixture, NULL, fixture_setup, test_two_workers,
              fixture_teardown);
  g_test_add ("/modules/file-log/gateway/reopen", Fixture, NULL, fixture_setup, test_reopen, fixture_teardown);
  g_test_add ("/modules/file-log/gateway/bad-path", Fixture, NULL, fixture_setup, test_bad_path, fixture_teardown);
  return g_test_run ();
}
