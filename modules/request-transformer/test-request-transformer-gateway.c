/* test-request-transformer-gateway.c: request-transformer in the real
 * gateway, in front of the mock's /echo, which answers with the request it
 * got: what the plugin changed is what the upstream saw. */
#include "harness-gateway.h"

/* One service to the mock, one route "/", the plugin with @plugin_config
 * on the service. */
static char *
config_for (const char *plugin_config)
{
  return g_strdup_printf (
    "{'_format_version':'1',"
    "'node':{'listen':['127.0.0.1:0'],'admin_listen':'off','workers':1,'module_path':['@MODULES@']},"
    "'services':[{'name':'s','url':'http://@UPSTREAM@','routes':[{'name':'r','paths':['/']}],"
    "'plugins':[{'name':'request-transformer','config':%s}]}]}",
    plugin_config);
}

static JsonObject *
echo_of (const PorticoTestResponse *resp, JsonParser *parser)
{
  g_assert_nonnull (resp);
  g_assert_cmpint (resp->status, ==, 200);
  g_autofree char *text = portico_test_response_body_string (resp);
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  JsonNode *root = json_parser_get_root (parser);
  g_assert_true (root != NULL && JSON_NODE_HOLDS_OBJECT (root));
  return json_node_get_object (root);
}

/* The values of header @name the upstream got, "|"-joined, or NULL. */
static char *
echo_header (JsonObject *echo, const char *name)
{
  JsonArray *headers = json_object_get_array_member (echo, "headers");
  GString *values = NULL;
  for (guint i = 0; i < json_array_get_length (headers); i++)
    {
      JsonArray *pair = json_array_get_array_element (headers, i);
      if (g_ascii_strcasecmp (json_array_get_string_element (pair, 0), name) != 0)
        continue;
      if (values == NULL)
        values = g_string_new (NULL);
      else
        g_string_append_c (values, '|');
      g_string_append (values, json_array_get_string_element (pair, 1));
    }
  return values ? g_string_free (values, FALSE) : NULL;
}

static void
assert_header (JsonObject *echo, const char *name, const char *expected)
{
  g_autofree char *got = echo_header (echo, name);
  g_assert_cmpstr (got, ==, expected);
}

static void
test_edits (void)
{
  g_test_summary ("Every kind of edit, seen by the upstream: the method, the path (replace.uri), "
                  "header fields and query arguments removed, renamed, replaced (only when "
                  "present), added (only when absent) and appended; untouched ones unchanged.");
  g_autofree char *config = config_for (
    "{\"http_method\":\"PUT\","
    " \"remove\":{\"headers\":[\"X-Remove\"],\"querystring\":[\"q1\"]},"
    " \"rename\":{\"headers\":[\"X-Old:X-New\"],\"querystring\":[\"q2:q2new\"]},"
    " \"replace\":{\"uri\":\"/echo/replaced\",\"headers\":[\"X-Rep:replaced\",\"X-Nope:never\"],"
    "              \"querystring\":[\"q3:r 3\",\"nope:never\"]},"
    " \"add\":{\"headers\":[\"X-Add:added:with:colons\",\"X-Present:never\"],\"querystring\":[\"q4:a\",\"keep:never\"]},"
    " \"append\":{\"headers\":[\"X-App:2\"],\"querystring\":[\"q5:x\"]}}");
  g_autoptr (PorticoTestGateway) g = portico_test_gateway_new (config, NULL, NULL);

  g_autoptr (PorticoTestResponse) resp = portico_test_gateway_request (
    g, "GET /anything/here?q1=1&q2=2&q3=3&q5=5&keep=%7E HTTP/1.1\r\n"
          "Host: shop.example\r\n"
          "X-Remove: gone\r\n"
          "X-Old: o1\r\n"
          "X-Rep: original\r\n"
          "X-Present: client\r\n"
          "X-App: 1\r\n"
          "X-Untouched: u\r\n\r\n");
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *echo = echo_of (resp, parser);

  g_assert_cmpstr (json_object_get_string_member (echo, "method"), ==, "PUT");
  g_assert_cmpstr (json_object_get_string_member (echo, "path"), ==, "/echo/replaced");
  g_assert_cmpstr (json_object_get_string_member (echo, "query"), ==, "q2new=2&q3=r%203&q5=5&keep=%7E&q4=a&q5=x");
  assert_header (echo, "X-Remove", NULL);
  assert_header (echo, "X-Old", NULL);
  assert_header (echo, "X-New", "o1");
  assert_header (echo, "X-Rep", "replaced");
  assert_header (echo, "X-Nope", NULL);
  assert_header (echo, "X-Add", "added:with:colons");
  assert_header (echo, "X-Present", "client");
  assert_header (echo, "X-App", "1|2");
  assert_header (echo, "X-Untouched", "u");
}

static void
test_body_streams (void)
{
  g_test_summary ("A request body still streams to the upstream untouched (same length and "
                  "digest) while the head is edited.");
  g_autofree char *config = config_for ("{\"add\":{\"headers\":[\"X-Add:1\"]}}");
  g_autoptr (PorticoTestGateway) g = portico_test_gateway_new (config, NULL, NULL);
  g_autoptr (PorticoTestResponse) resp = portico_test_gateway_request (
    g,
    "POST /echo/up HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
    "{\"a\":\"xyz\"}");
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *echo = echo_of (resp, parser);
  g_assert_cmpstr (json_object_get_string_member (echo, "method"), ==, "POST");
  assert_header (echo, "X-Add", "1");
  g_assert_cmpint (json_object_get_int_member (echo, "body_bytes"), ==, 11);
  /* sha256 of {"a":"xyz"} */
  g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "{\"a\":\"xyz\"}", -1);
  g_assert_cmpstr (json_object_get_string_member (echo, "body_sha256"), ==, digest);
}

static void
test_refused (void)
{
  g_test_summary ("portico check refuses body edits, saying why, and a Kong template, at the "
                  "plugin's JSON path; the schema refuses unknown fields.");
  static const struct { const char *config, *message; } cases[] = {
    { "{\"add\":{\"body\":[\"a:1\"]}}",
      "services[0].plugins[0].config: add.body: body edits are not supported: Portico streams request bodies" },
    { "{\"add\":{\"headers\":[\"X-A:$(headers.b)\"]}}", "templates ($(...)) are not supported" },
    { "{\"add\":{\"cookies\":[\"a:1\"]}}", "services[0].plugins[0].config.add.cookies: unknown field" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *config = config_for (cases[i].config);
      portico_test_check_config (config, cases[i].message, NULL);
    }
  g_autofree char *config = config_for ("{\"remove\":{\"body\":[]}}");
  portico_test_check_config (config, NULL, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/request-transformer/gateway/edits", test_edits);
  g_test_add_func ("/modules/request-transformer/gateway/body-streams", test_body_streams);
  g_test_add_func ("/modules/request-transformer/gateway/refused", test_refused);
  return g_test_run ();
}
