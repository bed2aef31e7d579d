/* test-teaching-gateway.c: see test-teaching-gateway.h. */
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "test-teaching-gateway.h"

char *
teaching_gateway_config (const char *upstream, const char *service_plugins, const char *global_plugins)
{
  const char *module_dir = g_getenv ("PORTICO_BUNDLED_MODULE_DIR");
  g_assert_nonnull (module_dir);
  g_autofree char *quoted_dir = g_strescape (module_dir, NULL);
  return g_strdup_printf (
    "{\"_format_version\":\"1\","
    "\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"127.0.0.1:0\",\"workers\":1,"
    "\"module_path\":[\"%s\"]},"
    "\"services\":[{\"name\":\"s\",\"url\":\"http://%s\",\"routes\":[{\"name\":\"r\",\"paths\":[\"/echo\"],"
    "\"strip_path\":false}],\"plugins\":[%s]}],"
    "\"plugins\":[%s]}",
    quoted_dir, upstream, service_plugins ? service_plugins : "", global_plugins ? global_plugins : "");
}

TeachingGateway *
teaching_gateway_start (const char *service_plugins, const char *global_plugins)
{
  TeachingGateway *tg = g_new0 (TeachingGateway, 1);
  tg->mock = portico_mock_spawn (NULL);
  g_autofree char *config =
    teaching_gateway_config (portico_proc_address (tg->mock, 0), service_plugins, global_plugins);
  g_autoptr (GError) error = NULL;
  tg->gw = portico_gateway_spawn (config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (tg->gw);
  tg->addr = portico_proc_address (tg->gw, 0);
  g_assert_nonnull (tg->addr);
  g_autofree char *line = portico_proc_wait_line (tg->gw, "admin ", PORTICO_TEST_LISTEN_TIMEOUT_MS);
  g_assert_nonnull (line);
  tg->admin = g_strdup (line + strlen ("admin "));

  g_autoptr (PorticoTestResponse) first =
    portico_test_request (tg->addr, "GET /echo/warm-up HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  g_assert_nonnull (first);
  g_assert_cmpint (first->status, ==, 200);
  return tg;
}

void
teaching_gateway_free (TeachingGateway *tg)
{
  portico_proc_free (tg->gw);
  portico_proc_free (tg->mock);
  g_free (tg->admin);
  g_free (tg);
}

gint64
teaching_gateway_burst (TeachingGateway *tg, const char *path, guint n, int status, const char *header,
                        gint64 *values)
{
  g_autofree int *fds = g_new (int, n);
  g_autofree char *request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);

  gint64 start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    {
      fds[i] = portico_test_connect (tg->addr);
      g_assert_cmpint (fds[i], >=, 0);
    }
  for (guint i = 0; i < n; i++)
    g_assert_true (portico_test_send_all (fds[i], request, -1));
  /* In order: each read waits at most for the slowest, so the total is the
   * time until the last response, whatever order the gateway answers in. */
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (PorticoTestResponse) resp = portico_test_read_response (fds[i], FALSE, PORTICO_TEST_IO_TIMEOUT_MS);
      close (fds[i]);
      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, status);
      if (values != NULL)
        {
          const char *value = portico_test_response_header (resp, header);
          values[i] = value != NULL ? g_ascii_strtoll (value, NULL, 10) : -1;
        }
    }
  return g_get_monotonic_time () - start;
}

char *
teaching_gateway_admin_text (TeachingGateway *tg, const char *path)
{
  g_autofree char *request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n", path);
  g_autoptr (PorticoTestResponse) resp = portico_test_request (tg->admin, request);
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  return portico_test_response_body_string (resp);
}

JsonNode *
teaching_gateway_admin_get (TeachingGateway *tg, const char *path)
{
  g_autofree char *text = teaching_gateway_admin_text (tg, path);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

void
teaching_check_plugin (const char *plugin, const char *error_path)
{
  g_autofree char *config = teaching_gateway_config ("127.0.0.1:1", NULL, plugin);
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  int fd = g_file_open_tmp ("portico-teaching-XXXXXX.json", &path, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, config, -1, NULL));

  const char *argv[] = { portico_test_binary (), "check", path, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = portico_run_sync (argv, 10000, &out, &err, &error);
  g_unlink (path);
  g_assert_no_error (error);
  g_test_message ("portico check with %s: %d: %s%s", plugin, status, out, err);
  if (error_path == NULL)
    {
      g_assert_cmpint (status, ==, 0);
      return;
    }
  g_assert_cmpint (status, ==, 1);
  g_autofree char *said = g_strconcat (out, err, NULL);
  g_assert_nonnull (strstr (said, error_path));
}
