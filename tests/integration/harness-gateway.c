/* tests/integration/harness-gateway.c - see harness-gateway.h. */
#include "harness-gateway.h"

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* Where a configuration that is only checked points its services. */
#define NO_UPSTREAM "127.0.0.1:9"
#define CHECK_TIMEOUT_MS 20000

/* Replaces @token in @text by the directory in the environment variable
 * @name, which must be set if @text uses it. */
static void
replace_dir (GString *text, const char *token, const char *name)
{
  if (strstr (text->str, token) == NULL)
    return;
  const char *dir = g_getenv (name);
  g_assert_nonnull (dir);
  g_string_replace (text, token, dir, 0);
}

/* @config with the caller's @pairs replaced first, so that their values
 * may use single quotes too; the directories and @upstream last, so that
 * whatever they hold is left as it is. */
static char *
expand (const char *config, const char *upstream, va_list pairs)
{
  g_autoptr (GString) text = g_string_new (config);
  const char *token;

  while ((token = va_arg (pairs, const char *)) != NULL)
    {
      const char *value = va_arg (pairs, const char *);
      g_string_replace (text, token, value ? value : "", 0);
    }
  g_strdelimit (text->str, "'", '"');
  replace_dir (text, "@MODULES@", "PORTICO_BUNDLED_MODULE_DIR");
  replace_dir (text, "@TEST_MODULES@", "PORTICO_TEST_MODULE_DIR");
  g_string_replace (text, "@UPSTREAM@", upstream, 0);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* expand() without pairs. */
static char *
expand_plain (const char *config, const char *upstream, ...)
{
  va_list none;
  va_start (none, upstream);
  char *json = expand (config, upstream, none);
  va_end (none);
  return json;
}

static void
start_va (PorticoTestGateway *g, const char *config, const char *const *mock_args, va_list pairs)
{
  g_autoptr (GError) error = NULL;
  const char *fixed[] = { portico_test_binary (), "mock", "--listen", "127.0.0.1:0" };
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
    g_ptr_array_add (argv, (gpointer) fixed[i]);
  for (const char *const *a = mock_args; a && *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);

  memset (g, 0, sizeof *g);
  g->mock = portico_proc_spawn ((const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  const char *upstream = portico_proc_address (g->mock, 0);
  g_assert_nonnull (upstream);
  g_autofree char *json = expand (config, upstream, pairs);
  g->gw = portico_gateway_spawn (json, &error);
  g_assert_no_error (error);
  g->addr = portico_proc_address (g->gw, 0);
  g_assert_nonnull (g->addr);
}

void
portico_test_gateway_start (PorticoTestGateway *g, const char *config, const char *const *mock_args, ...)
{
  va_list pairs;
  va_start (pairs, mock_args);
  start_va (g, config, mock_args, pairs);
  va_end (pairs);
}

void
portico_test_gateway_tear_down (PorticoTestGateway *g, gconstpointer data)
{
  g_clear_pointer (&g->gw, portico_proc_free);
  g_clear_pointer (&g->mock, portico_proc_free);
  g_clear_pointer (&g->admin, g_free);
  g->addr = NULL;
}

PorticoTestGateway *
portico_test_gateway_new (const char *config, const char *const *mock_args, ...)
{
  PorticoTestGateway *g = g_new0 (PorticoTestGateway, 1);
  va_list pairs;
  va_start (pairs, mock_args);
  start_va (g, config, mock_args, pairs);
  va_end (pairs);
  return g;
}

void
portico_test_gateway_free (PorticoTestGateway *g)
{
  portico_test_gateway_tear_down (g, NULL);
  g_free (g);
}

PorticoTestResponse *
portico_test_gateway_request (const PorticoTestGateway *g, const char *request)
{
  PorticoTestResponse *resp = portico_test_request (g->addr, request);
  g_assert_nonnull (resp);
  g_test_message ("%.*s-> %s", (int) strcspn (request, "\r"), request, resp->raw_head->str);
  return resp;
}

gint64
portico_test_gateway_mock_requests (const PorticoTestGateway *g)
{
  g_autoptr (PorticoTestResponse) resp =
    portico_test_request (portico_proc_address (g->mock, 0), "GET /__mock/stats HTTP/1.1\r\nHost: m\r\n\r\n");
  g_assert_nonnull (resp);
  g_autoptr (JsonNode) root = NULL;
  return json_object_get_int_member (portico_test_body_object (resp, &root), "requests");
}

const char *
portico_test_gateway_admin (PorticoTestGateway *g)
{
  if (g->admin == NULL)
    {
      g_autofree char *line = portico_proc_wait_line (g->gw, "admin ", PORTICO_TEST_LISTEN_TIMEOUT_MS);
      g_assert_nonnull (line);
      g->admin = g_strstrip (g_strdup (line + strlen ("admin ")));
    }
  return g->admin;
}

char *
portico_test_gateway_admin_text (PorticoTestGateway *g, const char *path)
{
  g_autofree char *request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n", path);
  g_autoptr (PorticoTestResponse) resp = portico_test_request (portico_test_gateway_admin (g), request);
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  return portico_test_response_body_string (resp);
}

JsonNode *
portico_test_gateway_admin_json (PorticoTestGateway *g, const char *path)
{
  g_autofree char *text = portico_test_gateway_admin_text (g, path);
  g_autoptr (GError) error = NULL;
  JsonNode *root = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_nonnull (root);
  return root;
}

JsonObject *
portico_test_body_object (const PorticoTestResponse *resp, JsonNode **root)
{
  g_autofree char *body = portico_test_response_body_string (resp);
  *root = json_from_string (body, NULL);
  if (*root == NULL || !JSON_NODE_HOLDS_OBJECT (*root))
    g_test_message ("not a JSON object: %s", body);
  g_assert_true (*root != NULL && JSON_NODE_HOLDS_OBJECT (*root));
  return json_node_get_object (*root);
}

void
portico_test_expect_message (const PorticoTestResponse *resp, int status, const char *message)
{
  g_autoptr (JsonNode) root = NULL;
  g_assert_cmpint (resp->status, ==, status);
  g_assert_cmpstr (json_object_get_string_member (portico_test_body_object (resp, &root), "message"), ==, message);
  g_assert_true (g_str_has_prefix (portico_test_response_header (resp, "Content-Type"), "application/json"));
}

char *
portico_test_plugin_config (const char *plugin, const char *members)
{
  return g_strdup_printf (
    "{'_format_version':'1','node':{'listen':['127.0.0.1:0'],'admin_listen':'off','module_path':['@MODULES@']},"
    "'plugins':[%s]%s}", plugin, members ? members : "");
}

gboolean
portico_test_gateway_refused (const char *config)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *json = expand_plain (config, NO_UPSTREAM, NULL);
  g_autoptr (PorticoProc) gw = portico_gateway_spawn (json, &error);
  if (error != NULL)
    g_test_message ("refused: %s", error->message);
  return gw == NULL && error != NULL;
}

void
portico_test_check_config (const char *config, const char *expected, const char *then)
{
  g_autofree char *json = expand_plain (config, NO_UPSTREAM, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("portico-check-XXXXXX.json", &path, &error);
  g_assert_no_error (error);
  close (fd);
  g_file_set_contents (path, json, -1, &error);
  g_assert_no_error (error);

  const char *argv[] = { portico_test_binary (), "check", path, NULL };
  g_autofree char *out = NULL, *err = NULL;
  int status = portico_run_sync (argv, CHECK_TIMEOUT_MS, &out, &err, &error);
  g_unlink (path);
  g_assert_no_error (error);
  g_autofree char *said = g_strconcat (out, err, NULL);
  g_test_message ("portico check: %d: %s", status, said);
  if (expected == NULL)
    {
      g_assert_cmpint (status, ==, 0);
      return;
    }
  g_assert_cmpint (status, ==, 1);
  const char *at = strstr (said, expected);
  g_assert_nonnull (at);
  if (then != NULL)
    g_assert_nonnull (strstr (at + strlen (expected), then));
}
