/* transform-test-gateway.c: see transform-test-gateway.h. */
#include "transform-test-gateway.h"

#include <glib/gstdio.h>
#include <unistd.h>

char *
transform_test_config (const char *upstream, const char *name, const char *config_json)
{
  const char *modules = g_getenv ("PORTICO_BUNDLED_MODULE_DIR");
  g_assert_nonnull (modules);
  return g_strdup_printf (
    "{\"_format_version\":\"1\","
    "\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"off\",\"workers\":1,\"module_path\":[\"%s\"]},"
    "\"services\":[{\"name\":\"s\",\"url\":\"http://%s\",\"routes\":[{\"name\":\"r\",\"paths\":[\"/\"]}],"
    "\"plugins\":[{\"name\":\"%s\",\"config\":%s}]}]}",
    modules, upstream, name, config_json);
}

PorticoProc *
transform_test_gateway (const char *upstream, const char *name, const char *config_json)
{
  g_autofree char *json = transform_test_config (upstream, name, config_json);
  g_autoptr (GError) error = NULL;
  PorticoProc *gw = portico_gateway_spawn (json, &error);
  g_assert_no_error (error);
  g_assert_nonnull (gw);
  return gw;
}

int
transform_test_check (const char *name, const char *config_json, char **output)
{
  g_autofree char *json = transform_test_config ("127.0.0.1:9", name, config_json);
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  int fd = g_file_open_tmp ("portico-transform-XXXXXX.json", &path, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));
  const char *argv[] = { portico_test_binary (), "check", path, NULL };
  int status = portico_run_sync (argv, 10000, NULL, output, &error);
  g_assert_no_error (error);
  g_unlink (path);
  return status;
}
