/* test-gateway-fixture.c: see test-gateway-fixture.h. */
#include "test-gateway-fixture.h"

#include <string.h>

char *
gateway_fixture_json (const char *config)
{
  g_autoptr (GString) text = g_string_new (config);
  g_string_replace (text, "@MODULES@", g_getenv ("PORTICO_BUNDLED_MODULE_DIR"), 0);
  return g_strdelimit (g_string_free (g_steal_pointer (&text), FALSE), "'", '"');
}

void
gateway_fixture_start (GatewayFixture *f, const char *config, const char *const *mock_args)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *json = gateway_fixture_json (config);
  const char *fixed[] = { portico_test_binary (), "mock", "--listen", "127.0.0.1:0" };
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  for (guint i = 0; i < G_N_ELEMENTS (fixed); i++)
    g_ptr_array_add (argv, (gpointer) fixed[i]);
  for (const char *const *a = mock_args; a && *a; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  f->mock = portico_proc_spawn ((const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  f->gw = portico_gateway_spawn_with (json, "@UPSTREAM@", portico_proc_address (f->mock, 0), NULL, &error);
  g_assert_no_error (error);
  f->addr = portico_proc_address (f->gw, 0);
  g_assert_nonnull (f->addr);
}

void
gateway_fixture_tear_down (GatewayFixture *f, gconstpointer data)
{
  g_clear_pointer (&f->gw, portico_proc_free);
  g_clear_pointer (&f->mock, portico_proc_free);
}

PorticoTestResponse *
gateway_fixture_request (const GatewayFixture *f, const char *request)
{
  PorticoTestResponse *resp = portico_test_request (f->addr, request);
  g_assert_nonnull (resp);
  g_test_message ("%.*s-> %s", (int) strcspn (request, "\r"), request, resp->raw_head->str);
  return resp;
}

JsonObject *
gateway_fixture_body_object (const PorticoTestResponse *resp, JsonNode **root)
{
  g_autofree char *body = portico_test_response_body_string (resp);
  *root = json_from_string (body, NULL);
  g_assert_true (*root != NULL && JSON_NODE_HOLDS_OBJECT (*root));
  return json_node_get_object (*root);
}

void
gateway_fixture_expect_message (const PorticoTestResponse *resp, int status, const char *message)
{
  g_autoptr (JsonNode) root = NULL;
  g_assert_cmpint (resp->status, ==, status);
  g_assert_cmpstr (json_object_get_string_member (gateway_fixture_body_object (resp, &root), "message"), ==, message);
  g_assert_true (g_str_has_prefix (portico_test_response_header (resp, "Content-Type"), "application/json"));
}

gint64
gateway_fixture_mock_requests (const GatewayFixture *f)
{
  g_autoptr (PorticoTestResponse) resp =
    portico_test_request (portico_proc_address (f->mock, 0), "GET /__mock/stats HTTP/1.1\r\nHost: m\r\n\r\n");
  g_assert_nonnull (resp);
  g_autoptr (JsonNode) root = NULL;
  return json_object_get_int_member (gateway_fixture_body_object (resp, &root), "requests");
}

gboolean
gateway_fixture_refused (const char *plugin)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *config = g_strdup_printf (
    "{'_format_version':'1','node':{'listen':['127.0.0.1:0'],'admin_listen':'off','module_path':['@MODULES@']},"
    "'plugins':[%s]}", plugin);
  g_autofree char *json = gateway_fixture_json (config);
  g_autoptr (PorticoProc) gw = portico_gateway_spawn (json, &error);
  if (error != NULL)
    g_test_message ("refused: %s", error->message);
  return gw == NULL && error != NULL;
}
