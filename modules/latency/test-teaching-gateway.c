/* test-teaching-gateway.c: see test-teaching-gateway.h. */
#include <unistd.h>

#include "test-teaching-gateway.h"

static char *
teaching_config (const char *service_plugins, const char *global_plugins)
{
  return g_strdup_printf (
    "{'_format_version':'1',"
    "'node':{'listen':['127.0.0.1:0'],'admin_listen':'127.0.0.1:0','workers':1,'module_path':['@MODULES@']},"
    "'services':[{'name':'s','url':'http://@UPSTREAM@','routes':[{'name':'r','paths':['/echo'],"
    "'strip_path':false}],'plugins':[%s]}],"
    "'plugins':[%s]}",
    service_plugins ? service_plugins : "", global_plugins ? global_plugins : "");
}

PorticoTestGateway *
teaching_gateway_start (const char *service_plugins, const char *global_plugins)
{
  g_autofree char *config = teaching_config (service_plugins, global_plugins);
  PorticoTestGateway *g = portico_test_gateway_new (config, NULL, NULL);
  portico_test_gateway_admin (g);

  g_autoptr (PorticoTestResponse) first =
    portico_test_gateway_request (g, "GET /echo/warm-up HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  g_assert_cmpint (first->status, ==, 200);
  return g;
}

gint64
teaching_gateway_burst (const PorticoTestGateway *g, const char *path, guint n, int status, const char *header,
                        gint64 *values)
{
  g_autofree int *fds = g_new (int, n);
  g_autofree char *request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", path);

  gint64 start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    {
      fds[i] = portico_test_connect (g->addr);
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

void
teaching_check_plugin (const char *plugin, const char *error_path)
{
  g_autofree char *config = teaching_config (NULL, plugin);
  portico_test_check_config (config, error_path, NULL);
}
