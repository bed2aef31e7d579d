/* Unit tests for core/config: loading, defaults, and the exact text of
 * every validation error. */
#include "error-list.h"
#include "core/config.h"

#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

static void tls_fixture_expand (char **json);

/* The error cases are written with ' for " to keep them readable; no case
 * needs a real '. */
static char *
unquote (const char *text)
{
  char *copy = g_strdup (text);

  g_strdelimit (copy, "'", '"');
  return copy;
}

static PorticoConfig *
load_fixture (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "configs", name, NULL);
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  PorticoConfig *config = portico_config_load_file (path, errors, &error);

  for (guint i = 0; i < errors->len; i++)
    g_test_message ("%s: %s", name, (char *) g_ptr_array_index (errors, i));
  g_assert_no_error (error);
  g_assert_nonnull (config);
  return config;
}

static PorticoConfig *
load_text (const char *text)
{
  g_autofree char *json = unquote (text);
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  PorticoConfig *config = portico_config_load_data (json, -1, "test.json", errors, &error);

  for (guint i = 0; i < errors->len; i++)
    g_test_message ("%s", (char *) g_ptr_array_index (errors, i));
  g_assert_no_error (error);
  g_assert_nonnull (config);
  return config;
}

static PorticoListen *
listen_at (PorticoConfig *config, guint index)
{
  g_assert_cmpuint (index, <, config->node.listen->len);
  return g_ptr_array_index (config->node.listen, index);
}

static const char *
sockaddr_text (const PorticoAddress *address, char *buffer, size_t size)
{
  const struct sockaddr *sa = (const struct sockaddr *) &address->addr;

  if (sa->sa_family == AF_INET)
    return inet_ntop (AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, buffer, size);
  g_assert_cmpint (sa->sa_family, ==, AF_INET6);
  return inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, buffer, size);
}

static guint16
sockaddr_port (const PorticoAddress *address)
{
  const struct sockaddr *sa = (const struct sockaddr *) &address->addr;

  if (sa->sa_family == AF_INET)
    return ntohs (((const struct sockaddr_in *) sa)->sin_port);
  return ntohs (((const struct sockaddr_in6 *) sa)->sin6_port);
}

#define LOOPBACK "127.0.0.1 or ::1"

static void
assert_address (const PorticoAddress *address, const char *text, const char *ip, guint16 port)
{
  char buffer[INET6_ADDRSTRLEN];

  g_assert_cmpstr (address->text, ==, text);
  g_assert_cmpuint (address->port, ==, port);
  g_assert_cmpuint (sockaddr_port (address), ==, port);
  /* "localhost" may come first as ::1 or as 127.0.0.1, by the system's
   * address sorting (RFC 6724). */
  if (g_str_equal (ip, LOOPBACK)) {
    sockaddr_text (address, buffer, sizeof buffer);
    if (!g_str_equal (buffer, "::1"))
      g_assert_cmpstr (buffer, ==, "127.0.0.1");
  } else {
    g_assert_cmpstr (sockaddr_text (address, buffer, sizeof buffer), ==, ip);
  }
  g_assert_cmpuint (address->addr_len, >, 0);
}

/* ---- valid configs ------------------------------------------------------------ */

static void
test_defaults (void)
{
  g_autoptr(PorticoConfig) config = load_text ("{'_format_version': '1'}");
  PorticoNodeConfig *node = &config->node;

  g_test_summary ("A config with only _format_version gets every documented default.");
  g_assert_cmpstr (config->source, ==, "test.json");
  g_assert_cmpuint (node->listen->len, ==, 1);
  assert_address (&listen_at (config, 0)->address, "127.0.0.1:8000", "127.0.0.1", 8000);
  g_assert_false (listen_at (config, 0)->ssl);
  g_assert_false (listen_at (config, 0)->reuseport);
  g_assert_cmpstr (node->admin_listen, ==, "127.0.0.1:8001");
  g_assert_cmpuint (node->workers, ==, 0);
  g_assert_nonnull (node->module_path);
  g_assert_cmpuint (g_strv_length (node->module_path), ==, 0);
  g_assert_cmpint (node->event_backend, ==, PORTICO_EVENT_BACKEND_EPOLL);
  g_assert_cmpuint (node->client_header_timeout, ==, 60000);
  g_assert_cmpuint (node->client_body_timeout, ==, 60000);
  g_assert_cmpuint (node->send_timeout, ==, 60000);
  g_assert_cmpuint (node->keepalive_timeout, ==, 75000);
  g_assert_cmpuint (node->keepalive_requests, ==, 1000);
  g_assert_cmpuint (node->max_request_line, ==, 8192);
  g_assert_cmpuint (node->max_header_size, ==, 32768);
  g_assert_cmpuint (node->upstream_keepalive_pool_size, ==, 512);
  g_assert_cmpuint (node->upstream_keepalive_max_requests, ==, 1000);
  g_assert_cmpuint (node->upstream_keepalive_idle_timeout, ==, 60000);
  g_assert_cmpuint (node->drain_timeout, ==, 10000);
  g_assert_null (node->admin_token);
  g_assert_false (node->reuseport);
  g_assert_cmpuint (config->services->len, ==, 0);
  g_assert_cmpuint (config->routes->len, ==, 0);
  g_assert_cmpuint (config->upstreams->len, ==, 0);
  g_assert_cmpuint (config->consumers->len, ==, 0);
  g_assert_cmpuint (config->plugins->len, ==, 0);
  g_assert_nonnull (config->root);
}

static void
test_full_node (void)
{
  g_autoptr(PorticoConfig) config = load_fixture ("full.json");
  PorticoNodeConfig *node = &config->node;

  g_assert_cmpuint (node->listen->len, ==, 3);
  assert_address (&listen_at (config, 0)->address, "127.0.0.1:18000", "127.0.0.1", 18000);
  g_assert_cmpstr (listen_at (config, 0)->address.host, ==, "127.0.0.1");
  g_test_message ("a listener inherits node.reuseport unless it says otherwise");
  g_assert_true (listen_at (config, 0)->reuseport);
  assert_address (&listen_at (config, 1)->address, "[::1]:18000", "::1", 18000);
  g_assert_cmpstr (listen_at (config, 1)->address.host, ==, "::1");
  g_assert_false (listen_at (config, 1)->reuseport);
  assert_address (&listen_at (config, 2)->address, "18001", "0.0.0.0", 18001);
  g_assert_cmpstr (node->admin_listen, ==, "localhost:18002");
  g_assert_cmpuint (node->workers, ==, 4);
  g_assert_cmpuint (g_strv_length (node->module_path), ==, 2);
  g_assert_cmpstr (node->module_path[0], ==, "build/modules");
  g_assert_cmpstr (node->module_path[1], ==, "/usr/lib/portico/modules");
  g_assert_cmpint (node->event_backend, ==, PORTICO_EVENT_BACKEND_POLL);
  g_assert_cmpuint (node->client_header_timeout, ==, 1000);
  g_assert_cmpuint (node->client_body_timeout, ==, 2000);
  g_assert_cmpuint (node->send_timeout, ==, 3000);
  g_assert_cmpuint (node->keepalive_timeout, ==, 0);
  g_assert_cmpuint (node->keepalive_requests, ==, 50);
  g_assert_cmpuint (node->max_request_line, ==, 4096);
  g_assert_cmpuint (node->max_header_size, ==, 16384);
  g_assert_cmpuint (node->upstream_keepalive_pool_size, ==, 0);
  g_assert_cmpuint (node->upstream_keepalive_max_requests, ==, 200);
  g_assert_cmpuint (node->upstream_keepalive_idle_timeout, ==, 5000);
  g_assert_cmpuint (node->drain_timeout, ==, 0);
  g_assert_cmpstr (node->admin_token, ==, "s3cret");
  g_assert_true (node->reuseport);
}

static void
test_full_services (void)
{
  g_autoptr(PorticoConfig) config = load_fixture ("full.json");
  PorticoUpstream *upstream;
  PorticoService *service;
  PorticoTarget *target;

  g_assert_cmpuint (config->upstreams->len, ==, 1);
  upstream = g_ptr_array_index (config->upstreams, 0);
  g_assert_cmpstr (upstream->name, ==, "orders.internal");
  g_assert_cmpstr (upstream->algorithm, ==, "round-robin");
  g_assert_cmpuint (upstream->targets->len, ==, 3);
  target = g_ptr_array_index (upstream->targets, 0);
  g_assert_cmpstr (target->target, ==, "127.0.0.1:9001");
  g_assert_cmpuint (target->weight, ==, 10);
  assert_address (&target->address, "127.0.0.1:9001", "127.0.0.1", 9001);
  target = g_ptr_array_index (upstream->targets, 1);
  g_test_message ("a target without a port gets 8000, like Kong; weight defaults to 100");
  g_assert_cmpuint (target->weight, ==, 100);
  assert_address (&target->address, "localhost", LOOPBACK, 8000);
  target = g_ptr_array_index (upstream->targets, 2);
  g_assert_cmpuint (target->weight, ==, 0);
  assert_address (&target->address, "[::1]:9003", "::1", 9003);

  g_assert_cmpuint (config->services->len, ==, 3);
  service = g_ptr_array_index (config->services, 0);
  g_assert_cmpstr (service->name, ==, "orders");
  g_assert_cmpstr (service->protocol, ==, "http");
  g_assert_cmpstr (service->host, ==, "orders.internal");
  g_assert_cmpuint (service->port, ==, 80);
  g_assert_null (service->path);
  g_assert_true (service->upstream == upstream);
  g_assert_null (service->address.text);
  g_assert_cmpuint (service->connect_timeout, ==, 1000);
  g_assert_cmpuint (service->write_timeout, ==, 2000);
  g_assert_cmpuint (service->read_timeout, ==, 3000);
  g_assert_cmpuint (service->retries, ==, 0);
  g_assert_cmpuint (service->routes->len, ==, 2);

  service = g_ptr_array_index (config->services, 1);
  g_assert_cmpstr (service->name, ==, "billing");
  g_assert_cmpstr (service->protocol, ==, "http");
  g_assert_cmpstr (service->host, ==, "127.0.0.1");
  g_assert_cmpuint (service->port, ==, 9002);
  g_assert_cmpstr (service->path, ==, "/api/v1");
  g_assert_null (service->upstream);
  assert_address (&service->address, "127.0.0.1:9002", "127.0.0.1", 9002);
  g_assert_cmpuint (service->connect_timeout, ==, 60000);
  g_assert_cmpuint (service->write_timeout, ==, 60000);
  g_assert_cmpuint (service->read_timeout, ==, 60000);
  g_assert_cmpuint (service->retries, ==, 5);

  service = g_ptr_array_index (config->services, 2);
  g_assert_cmpstr (service->name, ==, "static_files~1");
  g_assert_cmpstr (service->host, ==, "localhost");
  g_assert_cmpuint (service->port, ==, 80);
  g_assert_cmpstr (service->path, ==, "/static");
  assert_address (&service->address, "localhost:80", LOOPBACK, 80);
}

static void
test_full_routes (void)
{
  g_autoptr(PorticoConfig) config = load_fixture ("full.json");
  PorticoService *orders = g_ptr_array_index (config->services, 0);
  PorticoRouteHeader *header;
  PorticoRoute *route;

  g_test_summary ("Routes keep their values, normalized (hosts and header values lower-cased), "
                  "and are numbered over the whole config.");
  g_assert_cmpuint (config->routes->len, ==, 4);
  route = g_ptr_array_index (config->routes, 0);
  g_assert_true (g_ptr_array_index (orders->routes, 0) == route);
  g_assert_true (route->service == orders);
  g_assert_cmpuint (route->index, ==, 0);
  g_assert_cmpstr (route->name, ==, "orders-api");
  g_assert_cmpuint (g_strv_length (route->paths), ==, 2);
  g_assert_cmpstr (route->paths[0], ==, "/orders");
  g_assert_cmpstr (route->paths[1], ==, "~/orders/\\d+/items$");
  g_assert_cmpuint (g_strv_length (route->hosts), ==, 3);
  g_assert_cmpstr (route->hosts[0], ==, "api.example.com");
  g_assert_cmpstr (route->hosts[1], ==, "*.example.org");
  g_assert_cmpstr (route->hosts[2], ==, "example.*");
  g_assert_cmpuint (g_strv_length (route->methods), ==, 2);
  g_assert_cmpstr (route->methods[1], ==, "POST");
  g_assert_cmpuint (route->headers->len, ==, 1);
  header = g_ptr_array_index (route->headers, 0);
  g_assert_cmpstr (header->name, ==, "x-version");
  g_assert_cmpuint (g_strv_length (header->values), ==, 2);
  g_assert_cmpstr (header->values[0], ==, "v1");
  g_assert_cmpstr (header->values[1], ==, "v2");
  g_assert_false (route->strip_path);
  g_assert_true (route->preserve_host);
  g_assert_cmpint (route->regex_priority, ==, -3);

  route = g_ptr_array_index (config->routes, 1);
  g_assert_null (route->name);
  g_assert_cmpuint (route->index, ==, 1);
  g_assert_cmpstr (route->paths[0], ==, "/legacy");
  g_assert_null (route->hosts);
  g_assert_null (route->methods);
  g_assert_nonnull (route->headers);
  g_assert_cmpuint (route->headers->len, ==, 0);
  g_assert_true (route->strip_path);
  g_assert_false (route->preserve_host);
  g_assert_cmpint (route->regex_priority, ==, 0);

  route = g_ptr_array_index (config->routes, 2);
  g_assert_cmpstr (route->name, ==, "billing");
  g_assert_cmpuint (route->index, ==, 2);
  g_assert_true (route->service == g_ptr_array_index (config->services, 1));
  g_assert_null (route->paths);
  g_assert_cmpstr (route->methods[0], ==, "DELETE");

  route = g_ptr_array_index (config->routes, 3);
  g_assert_cmpuint (route->index, ==, 3);
  header = g_ptr_array_index (route->headers, 0);
  g_assert_cmpstr (header->name, ==, "x-static");
}

static void
test_full_consumers_plugins (void)
{
  g_autoptr(PorticoConfig) config = load_fixture ("full.json");
  PorticoConsumer *alice, *bob;
  PorticoPluginConf *plugin;
  JsonObject *object;

  g_assert_cmpuint (config->consumers->len, ==, 2);
  alice = g_ptr_array_index (config->consumers, 0);
  g_assert_cmpstr (alice->username, ==, "alice");
  g_assert_null (alice->custom_id);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (alice->node));
  object = json_node_get_object (alice->node);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "jwt_secrets")),
                    ==, 2);
  bob = g_ptr_array_index (config->consumers, 1);
  g_assert_null (bob->username);
  g_assert_cmpstr (bob->custom_id, ==, "bob-42");

  /* Nested plugins come with their service or route, top-level ones last. */
  g_assert_cmpuint (config->plugins->len, ==, 5);
  plugin = g_ptr_array_index (config->plugins, 0);
  g_assert_cmpstr (plugin->name, ==, "cors");
  g_assert_cmpstr (plugin->json_path, ==, "services[0].routes[0].plugins[0]");
  g_assert_true (plugin->route == g_ptr_array_index (config->routes, 0));
  g_assert_null (plugin->service);
  g_assert_null (plugin->consumer);
  g_assert_true (plugin->enabled);
  g_assert_true (json_object_has_member (json_node_get_object (plugin->config), "origins"));

  plugin = g_ptr_array_index (config->plugins, 1);
  g_assert_cmpstr (plugin->name, ==, "rate-limiting");
  g_assert_cmpstr (plugin->json_path, ==, "services[0].plugins[0]");
  g_assert_true (plugin->service == g_ptr_array_index (config->services, 0));
  g_assert_null (plugin->route);
  g_assert_false (plugin->enabled);

  plugin = g_ptr_array_index (config->plugins, 2);
  g_assert_cmpstr (plugin->name, ==, "correlation-id");
  g_assert_cmpstr (plugin->json_path, ==, "plugins[0]");
  g_assert_null (plugin->service);
  g_assert_null (plugin->route);
  g_assert_null (plugin->consumer);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (plugin->config));
  g_assert_cmpuint (json_object_get_size (json_node_get_object (plugin->config)), ==, 0);

  plugin = g_ptr_array_index (config->plugins, 3);
  g_assert_cmpstr (plugin->json_path, ==, "plugins[1]");
  g_assert_true (plugin->service == g_ptr_array_index (config->services, 0));
  g_assert_true (plugin->route == g_ptr_array_index (config->routes, 0));
  g_assert_true (plugin->consumer == alice);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (plugin->config), "second"), ==,
                   5);

  plugin = g_ptr_array_index (config->plugins, 4);
  g_test_message ("a consumer is referred to by username or custom_id");
  g_assert_true (plugin->consumer == bob);
}

static void
test_admin_off (void)
{
  g_autoptr(PorticoConfig) config =
    load_text ("{'_format_version': '1', 'node': {'admin_listen': 'off', 'listen': ['0']}}");

  g_assert_null (config->node.admin_listen);
  assert_address (&listen_at (config, 0)->address, "0", "0.0.0.0", 0);
}

static void
test_null_is_unset (void)
{
  g_autoptr(PorticoConfig) config =
    load_text ("{'_format_version': '1', 'node': {'workers': null}, 'services': [{'name': 'a',"
               " 'url': 'http://127.0.0.1:1', 'path': null, 'routes': [{'paths': ['/'],"
               " 'hosts': null, 'name': null}]}], 'plugins': null}");
  PorticoRoute *route = g_ptr_array_index (config->routes, 0);

  g_test_summary ("A null value means the key is not set (decK and Kong dumps write nulls).");
  g_assert_cmpuint (config->node.workers, ==, 0);
  g_assert_null (route->hosts);
  g_assert_null (route->name);
}

static void
test_round_trip (void)
{
  g_autoptr(PorticoConfig) config = load_fixture ("design-example.json");
  g_autoptr(PorticoConfig) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL, *text_again = NULL;
  PorticoService *service;
  PorticoRoute *route;
  PorticoPluginConf *plugin;

  g_test_summary ("The example of DESIGN.md loads, and the kept document loads again to the same "
                  "thing.");
  g_assert_cmpuint (config->node.workers, ==, 2);
  g_assert_cmpstr (config->node.module_path[0], ==, "build/modules");
  g_assert_cmpuint (config->services->len, ==, 1);
  service = g_ptr_array_index (config->services, 0);
  g_assert_cmpstr (service->name, ==, "orders");
  g_assert_null (service->upstream);
  assert_address (&service->address, "127.0.0.1:9001", "127.0.0.1", 9001);
  route = g_ptr_array_index (config->routes, 0);
  g_assert_cmpstr (route->paths[0], ==, "/orders");
  g_assert_true (route->strip_path);
  g_assert_cmpuint (config->plugins->len, ==, 2);
  plugin = g_ptr_array_index (config->plugins, 0);
  g_assert_cmpstr (plugin->name, ==, "rate-limiting");
  g_assert_true (plugin->service == service);
  g_assert_cmpuint (config->upstreams->len, ==, 1);
  g_assert_cmpuint (config->consumers->len, ==, 1);

  text = json_to_string (config->root, FALSE);
  again = portico_config_load_data (text, -1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (again);
  g_assert_cmpstr (again->source, ==, "<embedded>");
  text_again = json_to_string (again->root, FALSE);
  g_assert_cmpstr (text, ==, text_again);
  g_assert_true (json_node_equal (config->root, again->root));
  g_assert_cmpuint (again->routes->len, ==, config->routes->len);
  g_assert_cmpuint (again->plugins->len, ==, config->plugins->len);
}

/* ---- errors ------------------------------------------------------------------------ */

typedef struct {
  const char *name;
  /* Written with ' for "; wrapped in {'_format_version': '1', ...} unless
   * it starts with "{" or is the empty string. */
  const char *json;
  /* Every error, in order; one ending in "*" matches as a prefix (for text
   * that comes from the resolver or from GRegex). */
  const char *errors[8];
} ErrorCase;

#define SVC "'name': 's', 'url': 'http://127.0.0.1:1'"

static const ErrorCase error_cases[] = {
  /* The document. */
  { "syntax", "{\n  'a': 1,\n  'b': }", { "3:8: Parse error: *" } },
  { "empty", "", { "(root): must be a JSON object" } },
  { "not-an-object", "[]", { "(root): must be a JSON object" } },
  { "format-version-missing", "{}", { "_format_version: is required (use \"1\")" } },
  { "format-version-wrong", "{'_format_version': '3.0'}", { "_format_version: must be \"1\"" } },
  { "format-version-number", "{'_format_version': 1}", { "_format_version: must be \"1\"" } },
  { "top-unknown-key", "'foo': 1",
    { "foo: unknown key (expected one of: _format_version, node, services, upstreams, consumers, "
      "plugins, certificates, snis)" } },
  { "top-typo", "'service': []", { "service: unknown key (did you mean \"services\"?)" } },
  { "top-types", "'node': [], 'services': {}, 'upstreams': 1, 'consumers': 'x', 'plugins': true",
    { "node: must be an object", "upstreams: must be an array", "services: must be an array",
      "consumers: must be an array", "plugins: must be an array" } },

  /* node */
  { "node-unknown-key", "'node': {'bogus': 1}", { "node.bogus: unknown key" } },
  { "node-typo", "'node': {'worker': 2}", { "node.worker: unknown key (did you mean \"workers\"?)" } },
  { "node-workers", "'node': {'workers': 257}",
    { "node.workers: must be an integer between 0 and 256" } },
  { "node-workers-string", "'node': {'workers': '2'}",
    { "node.workers: must be an integer between 0 and 256" } },
  { "node-workers-float", "'node': {'workers': 1.5}",
    { "node.workers: must be an integer between 0 and 256" } },
  { "node-event-backend", "'node': {'event_backend': 'kqueue'}",
    { "node.event_backend: must be \"epoll\" or \"poll\"" } },
  { "node-module-path", "'node': {'module_path': [1, '', 'ok']}",
    { "node.module_path[0]: must be a string", "node.module_path[1]: must not be empty" } },
  { "node-module-path-type", "'node': {'module_path': 'build'}",
    { "node.module_path: must be an array" } },
  { "node-timeouts",
    "'node': {'client_header_timeout': 0, 'client_body_timeout': -1, 'send_timeout': 2147483648,"
    " 'keepalive_timeout': -1, 'drain_timeout': 'x', 'upstream_keepalive_idle_timeout': 0}",
    { "node.client_header_timeout: must be an integer between 1 and 2147483647",
      "node.client_body_timeout: must be an integer between 1 and 2147483647",
      "node.send_timeout: must be an integer between 1 and 2147483647",
      "node.keepalive_timeout: must be an integer between 0 and 2147483647",
      "node.upstream_keepalive_idle_timeout: must be an integer between 1 and 2147483647",
      "node.drain_timeout: must be an integer between 0 and 2147483647" } },
  { "node-counts",
    "'node': {'keepalive_requests': 0, 'upstream_keepalive_pool_size': -1,"
    " 'upstream_keepalive_max_requests': 0}",
    { "node.keepalive_requests: must be an integer between 1 and 2147483647",
      "node.upstream_keepalive_pool_size: must be an integer between 0 and 2147483647",
      "node.upstream_keepalive_max_requests: must be an integer between 1 and 2147483647" } },
  { "node-sizes", "'node': {'max_request_line': 255, 'max_header_size': 1023}",
    { "node.max_request_line: must be an integer between 256 and 1048576",
      "node.max_header_size: must be an integer between 1024 and 1048576" } },
  { "node-admin-token", "'node': {'admin_token': '', 'reuseport': 'yes'}",
    { "node.reuseport: must be true or false", "node.admin_token: must not be empty" } },
  { "node-admin-token-type", "'node': {'admin_token': 42}",
    { "node.admin_token: must be a string" } },
  { "listen-ssl", "'node': {'listen': [{'address': '127.0.0.1:0', 'ssl': true}]}",
    { "node.listen[0].ssl: a TLS listener needs a certificate (\"certificates\" is empty)" } },
  { "listen-object",
    "'node': {'listen': [{'ssl': false, 'port': 80}, {'address': 80}, 1]}",
    { "node.listen[0].port: unknown key (expected one of: address, ssl, reuseport)",
      "node.listen[0].address: is required", "node.listen[1].address: must be a string",
      "node.listen[2]: must be a string (\"host:port\") or an object" } },
  { "listen-addresses",
    "'node': {'listen': ['localhost', '127.0.0.1:70000', '::1:80', '[::1', ':80', '127.0.0.1:']}",
    { "node.listen[0]: \"localhost\" has no port (expected \"host:port\")",
      "node.listen[1]: \"127.0.0.1:70000\" has an invalid port (expected 0 to 65535)",
      "node.listen[2]: \"::1:80\": an IPv6 address needs brackets, as in \"[::1]:8000\"",
      "node.listen[3]: \"[::1\" is not an address (expected \"[::1]:8000\")",
      "node.listen[4]: \":80\" has no host",
      "node.listen[5]: \"127.0.0.1:\" has an invalid port (expected 0 to 65535)" } },
  { "listen-unresolvable", "'node': {'listen': ['nosuch.invalid:80']}",
    { "node.listen[0]: cannot resolve \"nosuch.invalid\": *" } },
  { "listen-empty", "'node': {'listen': []}", { "node.listen: must have at least one address" } },
  { "listen-duplicate", "'node': {'listen': ['127.0.0.1:9000', '127.0.0.1:9000', '0', '0']}",
    { "node.listen[1]: \"127.0.0.1:9000\" is already listened on" } },
  { "admin-listen-clash", "'node': {'listen': ['127.0.0.1:8001']}",
    { "node.admin_listen: \"127.0.0.1:8001\" is also a proxy listener" } },
  { "admin-listen-public-no-token", "'node': {'admin_listen': '0.0.0.0:8001'}",
    { "node.admin_listen: \"0.0.0.0:8001\" is not a loopback address: set node.admin_token to expose the admin API" } },
  { "admin-listen-bad", "'node': {'admin_listen': 'localhost'}",
    { "node.admin_listen: \"localhost\" has no port (expected \"host:port\")" } },

  /* services */
  { "service-unknown-key", "'services': [{" SVC ", 'bogus': 1}]",
    { "services[0].bogus: unknown key" } },
  { "service-not-object", "'services': [1]", { "services[0]: must be an object" } },
  { "service-name-missing", "'services': [{'url': 'http://127.0.0.1:1'}]",
    { "services[0].name: is required" } },
  { "service-name-chars", "'services': [{'name': 'a b', 'url': 'http://127.0.0.1:1'}]",
    { "services[0].name: may only contain letters, digits, \".\", \"_\", \"~\" and \"-\"" } },
  { "service-name-type", "'services': [{'name': 1, 'url': 'http://127.0.0.1:1'}]",
    { "services[0].name: must be a string" } },
  { "service-name-empty", "'services': [{'name': '', 'url': 'http://127.0.0.1:1'}]",
    { "services[0].name: must not be empty" } },
  { "service-name-duplicate", "'services': [{" SVC "}, {" SVC "}]",
    { "services[1].name: duplicate service name \"s\"" } },
  { "service-url-and-parts",
    "'services': [{" SVC ", 'host': 'localhost', 'port': 80, 'protocol': 'http', 'path': '/'}]",
    { "services[0].protocol: cannot be used together with url",
      "services[0].host: cannot be used together with url",
      "services[0].port: cannot be used together with url",
      "services[0].path: cannot be used together with url" } },
  { "service-no-target", "'services': [{'name': 's', 'port': 80}]",
    { "services[0]: must have a url or a host" } },
  { "service-urls",
    "'services': [{'name': 'a', 'url': 'https://127.0.0.1'}, {'name': 'b', 'url': 'ftp://h/'},"
    " {'name': 'c', 'url': 'not a url'}, {'name': 'd', 'url': 'http://h/?q=1'},"
    " {'name': 'e', 'url': 'http://127.0.0.1:0/'}, {'name': 'f', 'url': 7}]",
    { "services[1].url: must start with \"http://\" or \"https://\"",
      "services[2].url: must be a URL such as \"http://host:port/path\"",
      "services[3].url: must not have a user, a query or a fragment",
      "services[4].url: must not have port 0", "services[5].url: must be a string" } },
  { "service-parts",
    "'services': [{'name': 'a', 'protocol': 'https', 'host': 'localhost'},"
    " {'name': 'b', 'protocol': 'grpc', 'host': 'localhost'},"
    " {'name': 'c', 'host': 'localhost', 'port': 0, 'path': 'x'},"
    " {'name': 'd', 'host': '', 'port': 65536}]",
    { "services[1].protocol: must be \"http\" or \"https\"",
      "services[2].port: must be an integer between 1 and 65535",
      "services[2].path: must start with \"/\"", "services[3].host: must not be empty",
      "services[3].port: must be an integer between 1 and 65535" } },
  { "service-unresolvable",
    "'services': [{'name': 'a', 'host': 'nosuch.invalid'}, {'name': 'b', 'url': "
    "'http://nosuch.invalid:81/x'}]",
    { "services[0].host: cannot resolve \"nosuch.invalid\": *",
      "services[1].url: cannot resolve \"nosuch.invalid\": *" } },
  { "service-numbers",
    "'services': [{" SVC ", 'connect_timeout': 0, 'write_timeout': 2147483648, 'read_timeout': "
    "'1', 'retries': 32768}]",
    { "services[0].connect_timeout: must be an integer between 1 and 2147483647",
      "services[0].write_timeout: must be an integer between 1 and 2147483647",
      "services[0].read_timeout: must be an integer between 1 and 2147483647",
      "services[0].retries: must be an integer between 0 and 32767" } },
  { "service-tags", "'services': [{" SVC ", 'tags': ['a', 1]}]",
    { "services[0].tags[1]: must be a string" } },

  /* routes */
  { "route-unknown-key", "'services': [{" SVC ", 'routes': [{'paths': ['/'], 'snis': []}]}]",
    { "services[0].routes[0].snis: unknown key (expected one of: name, paths, hosts, methods, "
      "headers, strip_path, preserve_host, regex_priority, protocols, https_redirect_status_code, "
      "plugins, tags)" } },
  { "route-typo", "'services': [{" SVC ", 'routes': [{'path': ['/']}]}]",
    { "services[0].routes[0].path: unknown key (did you mean \"paths\"?)",
      "services[0].routes[0]: must have at least one of paths, hosts, methods, headers" } },
  { "route-no-matcher", "'services': [{" SVC ", 'routes': [{'name': 'r'}, {'paths': [],"
    " 'hosts': [], 'methods': [], 'headers': {}}]}]",
    { "services[0].routes[0]: must have at least one of paths, hosts, methods, headers",
      "services[0].routes[1]: must have at least one of paths, hosts, methods, headers" } },
  { "route-paths",
    "'services': [{" SVC ", 'routes': [{'paths': ['orders', '/ok', '~', '~/(', 1]}]}]",
    { "services[0].routes[0].paths[0]: must start with \"/\"",
      "services[0].routes[0].paths[2]: must have a regex after \"~\"",
      "services[0].routes[0].paths[3]: invalid regex: Error while compiling regular expression*",
      "services[0].routes[0].paths[4]: must be a string" } },
  { "route-paths-type", "'services': [{" SVC ", 'routes': [{'paths': '/'}]}]",
    { "services[0].routes[0].paths: must be an array" } },
  { "route-hosts",
    "'services': [{" SVC ", 'routes': [{'hosts': ['a.*.com', '*', '*.*', 'ex*.com', '**.com',"
    " 'example.com:8080', 'exa mple.com', '']}]}]",
    { "services[0].routes[0].hosts[0]: a wildcard must be the whole leftmost or rightmost label "
      "(\"*.example.com\" or \"example.*\")",
      "services[0].routes[0].hosts[1]: a wildcard must be the whole leftmost or rightmost label "
      "(\"*.example.com\" or \"example.*\")",
      "services[0].routes[0].hosts[2]: a wildcard must be the whole leftmost or rightmost label "
      "(\"*.example.com\" or \"example.*\")",
      "services[0].routes[0].hosts[3]: a wildcard must be the whole leftmost or rightmost label "
      "(\"*.example.com\" or \"example.*\")",
      "services[0].routes[0].hosts[4]: a wildcard must be the whole leftmost or rightmost label "
      "(\"*.example.com\" or \"example.*\")",
      "services[0].routes[0].hosts[5]: a port in hosts is not supported yet",
      "services[0].routes[0].hosts[6]: is not a valid host name",
      "services[0].routes[0].hosts[7]: must not be empty" } },
  { "route-hosts-more",
    "'services': [{" SVC ", 'routes': [{'hosts': ['.example.com', '[::1]:80', '[::1', 'a..b']}]}]",
    { "services[0].routes[0].hosts[0]: is not a valid host name",
      "services[0].routes[0].hosts[1]: a port in hosts is not supported yet",
      "services[0].routes[0].hosts[2]: is not a valid host name",
      "services[0].routes[0].hosts[3]: is not a valid host name" } },
  { "route-methods", "'services': [{" SVC ", 'routes': [{'methods': ['get', 'GET', '', 'P T']}]}]",
    { "services[0].routes[0].methods[0]: must be an upper-case method such as \"GET\"",
      "services[0].routes[0].methods[2]: must be an upper-case method such as \"GET\"",
      "services[0].routes[0].methods[3]: must be an upper-case method such as \"GET\"" } },
  { "route-headers",
    "'services': [{" SVC ", 'routes': [{'headers': {'Host': ['a'], 'x-a': 'v', 'x-b': [],"
    " 'a b': ['v'], 'x-c': [1], 'X-D': ['1'], 'x-d': ['2']}}]}]",
    { "services[0].routes[0].headers.Host: use \"hosts\" to match the Host header",
      "services[0].routes[0].headers.x-a: must be an array",
      "services[0].routes[0].headers.x-b: must list at least one value",
      "services[0].routes[0].headers.a b: is not a valid header name",
      "services[0].routes[0].headers.x-c[0]: must be a string",
      "services[0].routes[0].headers.x-d: duplicate header \"x-d\"" } },
  { "route-headers-type", "'services': [{" SVC ", 'routes': [{'headers': ['x-a']}]}]",
    { "services[0].routes[0].headers: must be an object" } },
  { "route-flags",
    "'services': [{" SVC ", 'routes': [{'paths': ['/'], 'strip_path': 'yes', 'preserve_host': 1,"
    " 'regex_priority': 1.5, 'protocols': ['https', 'grpc', 'http'], 'tags': 'x'}]}]",
    { "services[0].routes[0].strip_path: must be true or false",
      "services[0].routes[0].preserve_host: must be true or false",
      "services[0].routes[0].regex_priority: must be an integer between -2147483648 and 2147483647",
      "services[0].routes[0].protocols[1]: \"grpc\" is not supported: Portico proxies HTTP/1.1 only "
      "(\"http\" or \"https\")",
      "services[0].routes[0].tags: must be an array" } },
  { "route-protocols",
    "'services': [{" SVC ", 'routes': [{'paths': ['/a'], 'protocols': ['tcp', 'tls', 'wss', 'HTTP', 'ftp', 1]},"
    " {'paths': ['/b'], 'protocols': []}, {'paths': ['/c'], 'protocols': 'https'}]}]",
    { "services[0].routes[0].protocols[0]: \"tcp\" is not supported: Portico proxies HTTP/1.1 only "
      "(\"http\" or \"https\")",
      "services[0].routes[0].protocols[1]: \"tls\" is not supported: Portico proxies HTTP/1.1 only "
      "(\"http\" or \"https\")",
      "services[0].routes[0].protocols[2]: \"wss\" is not supported: Portico proxies HTTP/1.1 only "
      "(\"http\" or \"https\")",
      "services[0].routes[0].protocols[3]: must be \"http\" or \"https\"",
      "services[0].routes[0].protocols[4]: must be \"http\" or \"https\"",
      "services[0].routes[0].protocols[5]: must be a string",
      "services[0].routes[1].protocols: must list \"http\", \"https\" or both",
      "services[0].routes[2].protocols: must be an array" } },
  { "route-https-redirect-status-code",
    "'services': [{" SVC ", 'routes': [{'paths': ['/a'], 'https_redirect_status_code': 303},"
    " {'paths': ['/b'], 'https_redirect_status_code': '301'}, {'paths': ['/c'], 'https_redirect_status_code': 301.5},"
    " {'paths': ['/d'], 'https_redirect_status_code': 200}, {'paths': ['/e'], 'https_redirect_status_code': 308}]}]",
    { "services[0].routes[0].https_redirect_status_code: must be 301, 302, 307, 308 or 426",
      "services[0].routes[1].https_redirect_status_code: must be 301, 302, 307, 308 or 426",
      "services[0].routes[2].https_redirect_status_code: must be 301, 302, 307, 308 or 426",
      "services[0].routes[3].https_redirect_status_code: must be 301, 302, 307, 308 or 426" } },
  { "route-name-duplicate",
    "'services': [{" SVC ", 'routes': [{'name': 'r', 'paths': ['/a']}]},"
    " {'name': 't', 'url': 'http://127.0.0.1:2', 'routes': [{'name': 'r', 'paths': ['/b']},"
    " {'name': 'x y', 'paths': ['/c']}]}]",
    { "services[1].routes[0].name: duplicate route name \"r\"",
      "services[1].routes[1].name: may only contain letters, digits, \".\", \"_\", \"~\" and "
      "\"-\"" } },
  { "routes-type", "'services': [{" SVC ", 'routes': {}}]",
    { "services[0].routes: must be an array" } },

  /* upstreams */
  { "upstream-unknown-key", "'upstreams': [{'name': 'u', 'host_header': 'x'}]",
    { "upstreams[0].host_header: unknown key (expected one of: name, algorithm, hash_on, "
      "hash_fallback, hash_on_header, hash_fallback_header, hash_on_cookie, hash_on_cookie_path, "
      "slots, healthchecks, targets, tags)" } },
  { "upstream-names", "'upstreams': [{'targets': []}, {'name': 'u'}, {'name': 'u'}]",
    { "upstreams[0].name: is required", "upstreams[2].name: duplicate upstream name \"u\"" } },
  { "upstream-algorithm",
    "'upstreams': [{'name': 'a', 'algorithm': 'least-connections'}, {'name': 'b', 'algorithm':"
    " 'consistent-hashing'}, {'name': 'c', 'algorithm': 'latency', 'hash_on': 'ip'}, {'name': 'd',"
    " 'algorithm': 'random'}]",
    { "upstreams[1].hash_on: is required with algorithm \"consistent-hashing\"",
      "upstreams[2].hash_on: needs algorithm \"consistent-hashing\"",
      "upstreams[3].algorithm: must be one of: round-robin, least-connections, "
      "consistent-hashing, latency" } },
  { "upstream-healthchecks-https",
    "'upstreams': [{'name': 'u', 'healthchecks': {'active': {'type': 'udp', 'https_verify_certificate': 'no',"
    " 'https_sni': '10.0.0.1'}, 'passive': {'type': 'grpc'}}},"
    " {'name': 'v', 'healthchecks': {'active': {'type': 'https', 'https_sni': 'a b'}}},"
    " {'name': 'w', 'healthchecks': {'active': {'https_sni': ''}}},"
    " {'name': 'x', 'healthchecks': {'active': {'https_sni': 'a.test:443', 'https_verify': false}}}]",
    { "upstreams[0].healthchecks.active.type: must be \"http\", \"https\" or \"tcp\"",
      "upstreams[0].healthchecks.active.https_verify_certificate: must be true or false",
      "upstreams[0].healthchecks.active.https_sni: must be a host name: an address is never sent as SNI",
      "upstreams[0].healthchecks.passive.type: must be \"http\", \"https\" or \"tcp\"",
      "upstreams[1].healthchecks.active.https_sni: is not a valid host name",
      "upstreams[2].healthchecks.active.https_sni: must not be empty",
      "upstreams[3].healthchecks.active.https_verify: unknown key (expected one of: type, http_path, timeout, "
      "concurrency, https_verify_certificate, https_sni, healthy, unhealthy)",
      "upstreams[3].healthchecks.active.https_sni: is not a valid host name" } },
  { "upstream-targets",
    "'upstreams': [{'name': 'u', 'targets': [{'weight': 1}, {'target': '127.0.0.1', 'weight':"
    " 1001}, {'target': 'h:99999'}, {'target': 'nosuch.invalid'}, {'target': '127.0.0.1:1',"
    " 'port': 1}, 'x']}]",
    { "upstreams[0].targets[0].target: is required",
      "upstreams[0].targets[1].weight: must be an integer between 0 and 1000",
      "upstreams[0].targets[2].target: \"h:99999\" has an invalid port (expected 0 to 65535)",
      "upstreams[0].targets[3].target: cannot resolve \"nosuch.invalid\": *",
      "upstreams[0].targets[4].port: unknown key (expected one of: target, weight, tags)",
      "upstreams[0].targets[5]: must be an object" } },

  /* consumers */
  { "consumer-unknown-key", "'consumers': [{'username': 'a', 'plugins': []}]",
    { "consumers[0].plugins: unknown key (expected one of: username, custom_id, tags, "
      "keyauth_credentials, basicauth_credentials, jwt_secrets, acls)" } },
  { "consumer-ids",
    "'consumers': [{'tags': []}, {'username': 'a'}, {'username': 'a'}, {'custom_id': 'c'},"
    " {'custom_id': 'c'}, {'username': '', 'custom_id': 5}]",
    { "consumers[0]: must have a username or a custom_id",
      "consumers[2].username: duplicate consumer username \"a\"",
      "consumers[4].custom_id: duplicate consumer custom_id \"c\"",
      "consumers[5].username: must not be empty", "consumers[5].custom_id: must be a string" } },
  { "consumer-keyauth",
    "'consumers': [{'username': 'a', 'keyauth_credentials': [{'key': 'k1'}, {}, {'key': 1},"
    " {'key': 'k2', 'ttl': 5}]}, {'username': 'b', 'keyauth_credentials': [{'key': 'k1'}]}]",
    { "consumers[0].keyauth_credentials[1].key: is required",
      "consumers[0].keyauth_credentials[2].key: must be a string",
      "consumers[0].keyauth_credentials[3].ttl: unknown key (expected one of: key, tags)",
      "consumers[1].keyauth_credentials[0].key: duplicate key (also used at "
      "consumers[0].keyauth_credentials[0].key)" } },
  { "consumer-basicauth",
    "'consumers': [{'username': 'a', 'basicauth_credentials': [{'username': 'u', 'password':"
    " 'p'}, {'username': 'u', 'password': 'q'}, {'username': 'v'}]}]",
    { "consumers[0].basicauth_credentials[1].username: duplicate username \"u\" (also used at "
      "consumers[0].basicauth_credentials[0].username)",
      "consumers[0].basicauth_credentials[2].password: is required" } },
  { "consumer-jwt",
    "'consumers': [{'username': 'a', 'jwt_secrets': [{'key': 'k'}, {'key': 'r', 'algorithm':"
    " 'RS256', 'secret': 's'}, {'key': 'n', 'algorithm': 'none', 'secret': 's'}, {'secret': 's'},"
    " {'key': 'k', 'secret': 's'}, {'key': 'z', 'secret': 5}]}]",
    { "consumers[0].jwt_secrets[0].secret: is required with algorithm HS256",
      "consumers[0].jwt_secrets[1].rsa_public_key: is required with algorithm RS256",
      "consumers[0].jwt_secrets[2].algorithm: must be one of: HS256, HS384, HS512, RS256, RS384, "
      "RS512, ES256, ES384, ES512, PS256, PS384, PS512, EdDSA",
      "consumers[0].jwt_secrets[3].key: is required",
      "consumers[0].jwt_secrets[4].key: duplicate key \"k\" (also used at "
      "consumers[0].jwt_secrets[0].key)",
      "consumers[0].jwt_secrets[5].secret: must be a string" } },
  { "consumer-acls",
    "'consumers': [{'username': 'a', 'acls': [{'group': 'g'}, {'name': 'g'}, 'g'], "
    "'keyauth_credentials': {}}]",
    { "consumers[0].keyauth_credentials: must be an array",
      "consumers[0].acls[1].name: unknown key (expected one of: group, tags)",
      "consumers[0].acls[1].group: is required", "consumers[0].acls[2]: must be an object" } },

  /* plugins */
  { "plugin-fields",
    "'plugins': [{'enabled': 'no', 'config': []}, {'name': ''}, {'name': 'p', 'bogus': 1}]",
    { "plugins[0].name: is required", "plugins[0].enabled: must be true or false",
      "plugins[0].config: must be an object", "plugins[1].name: must not be empty",
      "plugins[2].bogus: unknown key (expected one of: name, enabled, config, service, route, "
      "consumer, tags)" } },
  { "plugin-references",
    "'plugins': [{'name': 'p', 'service': 'nope', 'route': 'nope', 'consumer': 'nope'},"
    " {'name': 'q', 'service': 1}]",
    { "plugins[0].service: unknown service \"nope\"", "plugins[0].route: unknown route \"nope\"",
      "plugins[0].consumer: unknown consumer \"nope\"", "plugins[1].service: must be a string" } },
  { "plugin-route-of-other-service",
    "'services': [{" SVC ", 'routes': [{'name': 'r', 'paths': ['/']}]}, {'name': 't', 'url':"
    " 'http://127.0.0.1:2'}], 'plugins': [{'name': 'p', 'service': 't', 'route': 'r'}]",
    { "plugins[0].route: route \"r\" is not a route of service \"t\"" } },
  { "plugin-nested",
    "'services': [{" SVC ", 'plugins': [{'name': 'p', 'service': 's'}], 'routes': [{'paths':"
    " ['/'], 'plugins': [{'config': {}}, {'name': 'q', 'route': 'r'}]}]}]",
    { "services[0].routes[0].plugins[0].name: is required",
      "services[0].routes[0].plugins[1].route: unknown key (expected one of: name, enabled, "
      "config, tags)",
      "services[0].plugins[0].service: unknown key (expected one of: name, enabled, config, "
      "tags)" } },
  { "plugin-duplicate",
    "'services': [{" SVC ", 'plugins': [{'name': 'p'}]}], 'plugins': [{'name': 'p'},"
    " {'name': 'p', 'service': 's'}, {'name': 'p'}, {'name': 'q'}]",
    { "plugins[1]: duplicate plugin \"p\" on the same scope as services[0].plugins[0]",
      "plugins[2]: duplicate plugin \"p\" on the same scope as plugins[0]" } },

  /* Several at once, at every level, in the order the loader meets them. */
  { "several",
    "'bogus': 0, 'node': {'workers': -1}, 'upstreams': [{'name': 'u', 'targets': [{'target':"
    " '127.0.0.1:1', 'weight': -5}]}], 'services': [{'name': 's', 'host': 'u', 'routes':"
    " [{'paths': ['x']}]}], 'consumers': [{}], 'plugins': [{'name': 'p', 'consumer': 'zed'}]",
    { "bogus: unknown key (expected one of: _format_version, node, services, upstreams, "
      "consumers, plugins, certificates, snis)",
      "node.workers: must be an integer between 0 and 256",
      "upstreams[0].targets[0].weight: must be an integer between 0 and 1000",
      "services[0].routes[0].paths[0]: must start with \"/\"",
      "consumers[0]: must have a username or a custom_id",
      "plugins[0].consumer: unknown consumer \"zed\"" } },
};

static void
test_error_case (gconstpointer data)
{
  const ErrorCase *ec = data;
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(PorticoConfig) config = NULL;
  g_autofree char *json = NULL;
  g_autofree char *summary = NULL;
  guint expected = 0;

  if (ec->json[0] == '{' || ec->json[0] == '[' || ec->json[0] == '\0')
    json = unquote (ec->json);
  else {
    g_autofree char *body = unquote (ec->json);

    json = g_strdup_printf ("{\"_format_version\": \"1\", %s}", body);
  }
  tls_fixture_expand (&json);
  config = portico_config_load_data (json, -1, "case.json", errors, &error);
  g_assert_null (config);
  g_assert_error (error, PORTICO_CONFIG_ERROR, PORTICO_CONFIG_ERROR_INVALID);

  expected = portico_test_assert_errors (errors, ec->errors, G_N_ELEMENTS (ec->errors));
  summary = g_strdup_printf ("case.json: %u error%s", expected, expected == 1 ? "" : "s");
  g_assert_cmpstr (error->message, ==, summary);
}

static void
test_error_summary (void)
{
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "configs", "missing.json",
                                                 NULL);

  g_test_summary ("Without @errors the GError still counts them; a missing file is an I/O "
                  "error with the file name, and adds nothing to @errors.");
  g_assert_null (portico_config_load_data ("{}", -1, NULL, NULL, &error));
  g_assert_error (error, PORTICO_CONFIG_ERROR, PORTICO_CONFIG_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "<embedded>: 1 error");
  g_clear_error (&error);

  g_assert_null (portico_config_load_file (path, errors, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_nonnull (strstr (error->message, "missing.json"));
  g_assert_cmpuint (errors->len, ==, 0);
}

static void
test_error_file (void)
{
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("portico-config-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bad.json", NULL);
  g_autofree char *summary = g_strdup_printf ("%s: 2 errors", path);

  g_assert_true (g_file_set_contents (path, "{\"_format_version\": \"2\", \"x\": 1}", -1, NULL));
  g_assert_null (portico_config_load_file (path, errors, &error));
  g_assert_cmpstr (error->message, ==, summary);
  g_assert_cmpuint (errors->len, ==, 2);
  g_test_message ("the errors themselves do not repeat the file name");
  g_assert_cmpstr (g_ptr_array_index (errors, 0), ==,
                   "x: unknown key (expected one of: _format_version, node, services, upstreams, "
                   "consumers, plugins, certificates, snis)");
  g_assert_cmpstr (g_ptr_array_index (errors, 1), ==, "_format_version: must be \"1\"");
  g_unlink (path);
  g_rmdir (dir);
}

/* ---- addresses ------------------------------------------------------------------- */

static void
test_address_parse (void)
{
  static const struct {
    const char *text;
    guint16 default_port;
    const char *host, *ip;
    guint16 port;
  } cases[] = {
    { "127.0.0.1:8000", 0, "127.0.0.1", "127.0.0.1", 8000 },
    { "[::1]:8000", 0, "::1", "::1", 8000 },
    { "localhost:9000", 0, "localhost", LOOPBACK, 9000 },
    { "8000", 0, "0.0.0.0", "0.0.0.0", 8000 },
    { "0", 0, "0.0.0.0", "0.0.0.0", 0 },
    { "127.0.0.1:0", 0, "127.0.0.1", "127.0.0.1", 0 },
    { "127.0.0.1:65535", 0, "127.0.0.1", "127.0.0.1", 65535 },
    { "127.0.0.1", 8000, "127.0.0.1", "127.0.0.1", 8000 },
    { "[::1]", 80, "::1", "::1", 80 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    PorticoAddress address;
    g_autoptr(GError) error = NULL;

    g_assert_true (portico_address_parse (cases[i].text, cases[i].default_port, &address, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (address.host, ==, cases[i].host);
    assert_address (&address, cases[i].text, cases[i].ip, cases[i].port);
    portico_address_clear (&address);
    g_assert_null (address.text);
    g_assert_null (address.host);
  }
}

static void
test_address_invalid (void)
{
  static const struct {
    const char *text, *message;
  } cases[] = {
    { "localhost", "\"localhost\" has no port (expected \"host:port\")" },
    { "", "\"\" has no host" },
    { "h:65536", "\"h:65536\" has an invalid port (expected 0 to 65535)" },
    { "h:-1", "\"h:-1\" has an invalid port (expected 0 to 65535)" },
    { "h:+1", "\"h:+1\" has an invalid port (expected 0 to 65535)" },
    { "h:0x10", "\"h:0x10\" has an invalid port (expected 0 to 65535)" },
    { "99999", "\"99999\" has an invalid port (expected 0 to 65535)" },
    { "[::1]x", "\"[::1]x\" is not an address (expected \"[::1]:8000\")" },
    { "[localhost]:80", "cannot resolve \"localhost\": " },
    { "fe80::1", "\"fe80::1\": an IPv6 address needs brackets, as in \"[::1]:8000\"" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    PorticoAddress address;
    g_autoptr(GError) error = NULL;

    g_assert_false (portico_address_parse (cases[i].text, 0, &address, &error));
    g_assert_error (error, PORTICO_CONFIG_ERROR, PORTICO_CONFIG_ERROR_INVALID);
    g_assert_true (g_str_has_prefix (error->message, cases[i].message));
    g_assert_null (address.text);
  }
}

/* ---- schemes: route protocols, https probes ----------------------------------------- */

static void
test_schemes (void)
{
  g_test_summary ("Route protocols (both schemes by default) and https_redirect_status_code (426 by "
                  "default); https probes' keys with Kong's defaults (verify, no SNI), read whatever "
                  "the probe type, and no TLS client before the master builds one.");
  g_autoptr(PorticoConfig) config = load_text (
    "{'_format_version': '1',"
    " 'upstreams': [{'name': 'plain'},"
    "               {'name': 'probed', 'healthchecks': {'active': {'type': 'https', 'https_verify_certificate': false,"
    "                                                              'https_sni': 'API.Example.com'}}},"
    "               {'name': 'http', 'healthchecks': {'active': {'https_sni': 'a.test'}}}],"
    " 'services': [{'name': 's', 'url': 'http://127.0.0.1:1', 'routes': ["
    "   {'paths': ['/a']}, {'paths': ['/b'], 'protocols': ['https'], 'https_redirect_status_code': 301},"
    "   {'paths': ['/c'], 'protocols': ['http', 'http']}, {'paths': ['/d'], 'protocols': ['https', 'http']}]}]}");
  const guint both = PORTICO_PROTOCOL_HTTP | PORTICO_PROTOCOL_HTTPS;
  const PorticoRoute *a = g_ptr_array_index (config->routes, 0), *b = g_ptr_array_index (config->routes, 1);
  const PorticoRoute *c = g_ptr_array_index (config->routes, 2), *d = g_ptr_array_index (config->routes, 3);
  g_assert_cmpuint (a->protocols, ==, both);
  g_assert_cmpint (a->https_redirect_status_code, ==, 426);
  g_assert_cmpuint (b->protocols, ==, PORTICO_PROTOCOL_HTTPS);
  g_assert_cmpint (b->https_redirect_status_code, ==, 301);
  g_assert_cmpuint (c->protocols, ==, PORTICO_PROTOCOL_HTTP);
  g_assert_cmpuint (d->protocols, ==, both);

  const PorticoUpstream *plain = g_ptr_array_index (config->upstreams, 0);
  const PorticoUpstream *probed = g_ptr_array_index (config->upstreams, 1);
  const PorticoUpstream *http = g_ptr_array_index (config->upstreams, 2);
  g_assert_cmpint (plain->healthchecks.active_type, ==, PORTICO_PROBE_HTTP);
  g_assert_true (plain->healthchecks.https_verify_certificate);
  g_assert_null (plain->healthchecks.https_sni);
  g_assert_cmpint (probed->healthchecks.active_type, ==, PORTICO_PROBE_HTTPS);
  g_assert_false (probed->healthchecks.https_verify_certificate);
  g_assert_cmpstr (probed->healthchecks.https_sni, ==, "api.example.com");
  g_assert_null (probed->probe_tls_client);
  g_assert_cmpint (http->healthchecks.active_type, ==, PORTICO_PROBE_HTTP);
  g_assert_cmpstr (http->healthchecks.https_sni, ==, "a.test");
}

/* ---- traced requests (node.trace_token, node.trace_sample) ------------------------- */

static void
test_trace_keys (void)
{
  g_test_summary ("Absent, the trace keys are off (no token, no sampling); the bounds and any "
                  "printable ASCII token without spaces are taken as written.");
  g_autoptr(PorticoConfig) defaults = load_text ("{'_format_version': '1'}");
  g_assert_null (defaults->node.trace_token);
  g_assert_cmpuint (defaults->node.trace_sample, ==, 0);

  g_autoptr(PorticoConfig) set = load_text ("{'_format_version': '1', 'node': "
                                            "{'trace_token': '!s3cret~', 'trace_sample': 1000000000}}");
  g_assert_cmpstr (set->node.trace_token, ==, "!s3cret~");
  g_assert_cmpuint (set->node.trace_sample, ==, 1000000000);

  g_autoptr(PorticoConfig) low = load_text ("{'_format_version': '1', 'node': {'trace_token': 'x', 'trace_sample': 1}}");
  g_assert_cmpstr (low->node.trace_token, ==, "x");
  g_assert_cmpuint (low->node.trace_sample, ==, 1);
}

#define TOKEN_CHARS "node.trace_token: must be printable ASCII without spaces (it is a header value)"
#define SAMPLE_RANGE "node.trace_sample: must be an integer between 0 and 1000000000"

static const ErrorCase trace_error_cases[] = {
  { "node-trace-token-empty", "'node': {'trace_token': ''}", { "node.trace_token: must not be empty" } },
  { "node-trace-token-space", "'node': {'trace_token': 'a b'}", { TOKEN_CHARS } },
  { "node-trace-token-tab", "'node': {'trace_token': 'a\\tb'}", { TOKEN_CHARS } },
  { "node-trace-token-utf8", "'node': {'trace_token': 's\u00e9cret'}", { TOKEN_CHARS } },
  { "node-trace-token-type", "'node': {'trace_token': 42}", { "node.trace_token: must be a string" } },
  { "node-trace-token-array", "'node': {'trace_token': ['a']}", { "node.trace_token: must be a string" } },
  { "node-trace-sample-negative", "'node': {'trace_sample': -1}", { SAMPLE_RANGE } },
  { "node-trace-sample-big", "'node': {'trace_sample': 2e9}", { SAMPLE_RANGE } },
  { "node-trace-sample-over", "'node': {'trace_sample': 1000000001}", { SAMPLE_RANGE } },
  { "node-trace-sample-float", "'node': {'trace_sample': 1.5}", { SAMPLE_RANGE } },
  { "node-trace-sample-string", "'node': {'trace_sample': '10'}", { SAMPLE_RANGE } },
  { "node-trace-both", "'node': {'trace_sample': -1, 'trace_token': 'a b'}", { SAMPLE_RANGE, TOKEN_CHARS } },
};


/* ---- TLS ---------------------------------------------------------------------------- */

/* Certificates made when the test starts: two self-signed pairs (A, B),
 * inline (JSON-escaped) and in files, and a file that holds no PEM. */
static struct {
  char *dir;
  char *cert_a, *key_a, *cert_b, *key_b; /* JSON-escaped PEM */
  char *cert_a_pem;                      /* as it is */
  char *cert_a_file, *key_a_file, *not_pem_file;
} tls;

static char *
pem_of (gboolean key_pem, X509 *cert, EVP_PKEY *key)
{
  BIO *bio = BIO_new (BIO_s_mem ());
  char *data;
  long len;

  if (key_pem)
    g_assert_cmpint (PEM_write_bio_PrivateKey (bio, key, NULL, NULL, 0, NULL, NULL), ==, 1);
  else
    g_assert_cmpint (PEM_write_bio_X509 (bio, cert), ==, 1);
  len = BIO_get_mem_data (bio, &data);
  char *copy = g_strndup (data, (gsize) len);
  BIO_free (bio);
  return copy;
}

static void
make_pair (const char *cn, char **cert_pem, char **key_pem)
{
  EVP_PKEY *key = EVP_EC_gen ("P-256");
  X509 *cert = X509_new ();

  g_assert_nonnull (key);
  ASN1_INTEGER_set (X509_get_serialNumber (cert), 1);
  X509_gmtime_adj (X509_getm_notBefore (cert), 0);
  X509_gmtime_adj (X509_getm_notAfter (cert), 3600);
  X509_set_pubkey (cert, key);
  X509_NAME_add_entry_by_txt (X509_get_subject_name (cert), "CN", MBSTRING_ASC, (const unsigned char *) cn, -1, -1, 0);
  X509_set_issuer_name (cert, X509_get_subject_name (cert));
  g_assert_cmpint (X509_sign (cert, key, EVP_sha256 ()), >, 0);
  *cert_pem = pem_of (FALSE, cert, key);
  *key_pem = pem_of (TRUE, cert, key);
  X509_free (cert);
  EVP_PKEY_free (key);
}

static char *
json_escaped (const char *pem)
{
  g_autoptr(GString) text = g_string_new (pem);

  g_string_replace (text, "\n", "\\n", 0);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
tls_fixture_make (void)
{
  g_autofree char *cert_b = NULL, *key_a = NULL, *key_b = NULL;

  make_pair ("a.test", &tls.cert_a_pem, &key_a);
  make_pair ("b.test", &cert_b, &key_b);
  tls.cert_a = json_escaped (tls.cert_a_pem);
  tls.key_a = json_escaped (key_a);
  tls.cert_b = json_escaped (cert_b);
  tls.key_b = json_escaped (key_b);
  tls.dir = g_dir_make_tmp ("portico-config-tls-XXXXXX", NULL);
  tls.cert_a_file = g_build_filename (tls.dir, "a.pem", NULL);
  tls.key_a_file = g_build_filename (tls.dir, "a.key", NULL);
  tls.not_pem_file = g_build_filename (tls.dir, "not.pem", NULL);
  g_assert_true (g_file_set_contents (tls.cert_a_file, tls.cert_a_pem, -1, NULL));
  g_assert_true (g_file_set_contents (tls.key_a_file, key_a, -1, NULL));
  g_assert_true (g_file_set_contents (tls.not_pem_file, "not a certificate\n", -1, NULL));
}

static void
tls_fixture_remove (void)
{
  g_unlink (tls.cert_a_file);
  g_unlink (tls.key_a_file);
  g_unlink (tls.not_pem_file);
  g_rmdir (tls.dir);
}

/* @CERT@ and @KEY@ (pair A), @CERTB@ and @KEYB@, @CERTFILE@ and @KEYFILE@
 * (pair A's files), @NOTPEM@ and @DIR@ in *@json. */
static void
tls_fixture_expand (char **json)
{
  GString *text = g_string_new (*json);

  g_string_replace (text, "@CERTB@", tls.cert_b, 0);
  g_string_replace (text, "@KEYB@", tls.key_b, 0);
  g_string_replace (text, "@CERT@", tls.cert_a, 0);
  g_string_replace (text, "@KEY@", tls.key_a, 0);
  g_string_replace (text, "@CERTFILE@", tls.cert_a_file, 0);
  g_string_replace (text, "@KEYFILE@", tls.key_a_file, 0);
  g_string_replace (text, "@NOTPEM@", tls.not_pem_file, 0);
  g_string_replace (text, "@DIR@", tls.dir, 0);
  g_free (*json);
  *json = g_string_free (text, FALSE);
}

static PorticoConfig *
load_tls_text (const char *text)
{
  g_autofree char *json = unquote (text);

  tls_fixture_expand (&json);
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  PorticoConfig *config = portico_config_load_data (json, -1, "tls.json", errors, &error);

  for (guint i = 0; i < errors->len; i++)
    g_test_message ("%s", (char *) g_ptr_array_index (errors, i));
  g_assert_no_error (error);
  return config;
}

static void
test_tls_keys (void)
{
  g_test_summary ("Certificates inline and from files, their SNIs with those of the top-level snis, "
                  "the default certificate, the node's ssl_* keys on a TLS listener, and an https "
                  "service's TLS keys with their defaults.");
  g_autoptr(PorticoConfig) config = load_tls_text (
    "{'_format_version': '1',"
    " 'node': {'listen': ['127.0.0.1:0', {'address': '127.0.0.1:0', 'ssl': true}],"
    "          'ssl_handshake_timeout': 5000, 'ssl_session_tickets': false, 'ssl_default_certificate': 'b'},"
    " 'certificates': [{'id': 'a', 'cert': '@CERT@', 'key': '@KEY@', 'snis': ['A.Test', '*.a.test', 'a.*']},"
    "                  {'id': 'b', 'cert_path': '@CERTFILE@', 'key_path': '@KEYFILE@', 'tags': ['x']},"
    "                  {'cert': '@CERTB@', 'key': '@KEYB@'}],"
    " 'snis': [{'name': 'www.b.test', 'certificate': 'b'}, {'name': 'api.b.test', 'certificate': {'id': 'b'}}],"
    " 'services': [{'name': 'plain', 'url': 'http://127.0.0.1'},"
    "              {'name': 'tls', 'url': 'https://127.0.0.1'},"
    "              {'name': 'parts', 'protocol': 'https', 'host': '127.0.0.1', 'tls_verify': false,"
    "               'ca_certificates': ['@CERTFILE@', '@CERTFILE@'], 'client_certificate': 'a'},"
    "              {'name': 'port', 'url': 'https://127.0.0.1:8443/x', 'client_certificate': {'id': 'b'}}]}");
  g_assert_nonnull (config);

  g_assert_false (listen_at (config, 0)->ssl);
  g_assert_true (listen_at (config, 1)->ssl);
  g_assert_cmpuint (listen_at (config, 1)->ssl_handshake_timeout, ==, 5000);
  g_assert_false (listen_at (config, 1)->ssl_session_tickets);
  g_assert_null (listen_at (config, 1)->tls);

  g_assert_cmpuint (config->certificates->len, ==, 3);
  PorticoCertificate *a = g_ptr_array_index (config->certificates, 0);
  PorticoCertificate *b = g_ptr_array_index (config->certificates, 1);
  PorticoCertificate *c = g_ptr_array_index (config->certificates, 2);
  g_assert_cmpstr (a->id, ==, "a");
  g_assert_cmpstr (a->cert_pem, ==, tls.cert_a_pem);
  g_assert_cmpuint (a->snis->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (a->snis, 0), ==, "a.test");
  g_assert_cmpstr (g_ptr_array_index (a->snis, 1), ==, "*.a.test");
  g_assert_cmpstr (g_ptr_array_index (a->snis, 2), ==, "a.*");
  g_assert_cmpstr (a->json_path, ==, "certificates[0]");
  g_assert_cmpstr (b->cert_pem, ==, tls.cert_a_pem);
  g_assert_nonnull (strstr (b->key_pem, "PRIVATE KEY"));
  g_assert_cmpuint (b->snis->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (b->snis, 0), ==, "www.b.test");
  g_assert_cmpstr (g_ptr_array_index (b->snis, 1), ==, "api.b.test");
  g_assert_null (c->id);
  g_test_message ("node.ssl_default_certificate names the default; else the first is");
  g_assert_false (a->is_default);
  g_assert_true (b->is_default);
  g_assert_false (c->is_default);

  PorticoService *plain = g_ptr_array_index (config->services, 0);
  PorticoService *tls_url = g_ptr_array_index (config->services, 1);
  PorticoService *parts = g_ptr_array_index (config->services, 2);
  PorticoService *port = g_ptr_array_index (config->services, 3);
  g_assert_cmpstr (plain->protocol, ==, "http");
  g_assert_cmpuint (plain->port, ==, 80);
  g_assert_cmpstr (tls_url->protocol, ==, "https");
  g_assert_cmpuint (tls_url->port, ==, 443);
  g_assert_true (tls_url->tls_verify);
  g_assert_null (tls_url->ca_certificates_pem);
  g_assert_null (tls_url->client_certificate);
  g_assert_null (tls_url->tls_client);
  g_assert_cmpstr (parts->protocol, ==, "https");
  g_assert_cmpuint (parts->port, ==, 443);
  g_assert_false (parts->tls_verify);
  g_assert_nonnull (strstr (parts->ca_certificates_pem, tls.cert_a_pem));
  g_assert_cmpuint (strlen (parts->ca_certificates_pem), ==, 2 * (strlen (tls.cert_a_pem) + 1));
  g_assert_true (parts->client_certificate == a);
  g_assert_cmpuint (port->port, ==, 8443);
  g_assert_cmpstr (port->path, ==, "/x");
  g_assert_true (port->client_certificate == b);

  g_autoptr(PorticoConfig) first = load_tls_text (
    "{'_format_version': '1', 'node': {'listen': [{'address': '127.0.0.1:0', 'ssl': true}]},"
    " 'certificates': [{'cert': '@CERT@', 'key': '@KEY@'}, {'cert': '@CERTB@', 'key': '@KEYB@'}]}");
  g_assert_nonnull (first);
  g_assert_true (((PorticoCertificate *) g_ptr_array_index (first->certificates, 0))->is_default);
  g_assert_false (((PorticoCertificate *) g_ptr_array_index (first->certificates, 1))->is_default);
  g_assert_cmpuint (listen_at (first, 0)->ssl_handshake_timeout, ==, 60000);
  g_assert_true (listen_at (first, 0)->ssl_session_tickets);
}

#define CERT_A "{'cert': '@CERT@', 'key': '@KEY@'"

static const ErrorCase tls_error_cases[] = {
  { "tls-certificate-keys", "'certificates': [{'cert': '@CERT@', 'key': '@KEY@', 'cert_alt': 1}, 3]",
    { "certificates[0].cert_alt: unknown key (expected one of: id, cert, key, cert_path, key_path, snis, tags)",
      "certificates[1]: must be an object" } },
  { "tls-certificate-missing", "'certificates': [{}, {'cert': '', 'key_path': 4}]",
    { "certificates[0]: must have a cert or a cert_path", "certificates[0]: must have a key or a key_path",
      "certificates[1].cert: must not be empty", "certificates[1].key_path: must be a string" } },
  { "tls-certificate-both", "'certificates': [{'cert': '@CERT@', 'cert_path': '@CERTFILE@', 'key': '@KEY@'}]",
    { "certificates[0].cert_path: cannot be used together with cert" } },
  { "tls-certificate-not-pem", "'certificates': [{'cert': 'hello', 'key': 'world'}]",
    { "certificates[0].cert: holds no PEM certificate",
      "certificates[0].key: holds no PEM private key (an encrypted key is not supported)" } },
  { "tls-certificate-key-mismatch", "'certificates': [{'cert': '@CERT@', 'key': '@KEYB@'},"
    " {'cert_path': '@CERTFILE@', 'key': '@KEYB@'}]",
    { "certificates[0].key: does not match the certificate",
      "certificates[1].key: does not match the certificate" } },
  { "tls-certificate-files", "'certificates': [{'cert_path': '@DIR@/missing.pem', 'key_path': '@NOTPEM@'}]",
    { "certificates[0].cert_path: Failed to open file*",
      "certificates[0].key_path: holds no PEM private key (an encrypted key is not supported)" } },
  { "tls-certificate-ids", "'certificates': [" CERT_A ", 'id': 'x'}, " CERT_A ", 'id': 'x'}, " CERT_A ", 'id': ''}]",
    { "certificates[1].id: duplicate certificate id \"x\"", "certificates[2].id: must not be empty" } },
  { "tls-snis", "'certificates': [" CERT_A ", 'snis': ['a.test', 'x.*.test', '*', '10.0.0.1', 'a b', 'A.TEST', 1]},"
    " " CERT_A ", 'snis': ['a.test', '*.a.test']}]",
    { "certificates[0].snis[1]: a wildcard must be the whole leftmost or rightmost label (\"*.example.com\" or \"example.*\")",
      "certificates[0].snis[2]: a wildcard must be the whole leftmost or rightmost label (\"*.example.com\" or \"example.*\")",
      "certificates[0].snis[3]: must be a host name: clients never send an address as SNI",
      "certificates[0].snis[4]: is not a valid host name",
      "certificates[0].snis[5]: duplicate SNI \"a.test\" (also at certificates[0].snis[0])",
      "certificates[0].snis[6]: must be a string",
      "certificates[1].snis[0]: duplicate SNI \"a.test\" (also at certificates[0].snis[0])" } },
  { "tls-sni-entities", "'certificates': [" CERT_A ", 'id': 'a', 'snis': ['a.test']}],"
    " 'snis': [{'name': 'b.test', 'certificate': 'zed'}, {'name': 'A.test', 'certificate': 'a'},"
    " {'name': 'c.test'}, {'certificate': 'a'}, {'name': 'd.test', 'certificate': 5}, {'name': 'e.test', 'certificate': 'a', 'x': 1}]",
    { "snis[0].certificate: unknown certificate \"zed\"",
      "snis[1].name: duplicate SNI \"a.test\" (also at certificates[0].snis[0])",
      "snis[2].certificate: is required", "snis[3].name: is required",
      "snis[4].certificate: must be a certificate id (a string, or {\"id\": ...})",
      "snis[5].x: unknown key (expected one of: name, certificate, tags)" } },
  { "tls-node", "'certificates': [" CERT_A ", 'id': 'a'}], 'node': {'ssl_default_certificate': 'b',"
    " 'ssl_handshake_timeout': 0, 'ssl_session_tickets': 'yes'}",
    { "node.ssl_handshake_timeout: must be an integer between 1 and 2147483647",
      "node.ssl_session_tickets: must be true or false",
      "node.ssl_default_certificate: unknown certificate \"b\"" } },
  { "tls-listen-no-certificate", "'node': {'listen': ['127.0.0.1:0', {'address': '127.0.0.1:0', 'ssl': true}]}",
    { "node.listen[1].ssl: a TLS listener needs a certificate (\"certificates\" is empty)" } },
  { "tls-service-http", "'services': [{'name': 's', 'url': 'http://127.0.0.1', 'tls_verify': true,"
    " 'ca_certificates': [], 'client_certificate': 'a'}]",
    { "services[0].tls_verify: is only for https services", "services[0].ca_certificates: is only for https services",
      "services[0].client_certificate: is only for https services" } },
  { "tls-service-keys", "'certificates': [" CERT_A ", 'id': 'a'}],"
    " 'services': [{'name': 's', 'url': 'https://127.0.0.1', 'tls_verify': 1, 'ca_certificates': [],"
    " 'client_certificate': 'b'}, {'name': 't', 'protocol': 'https', 'host': '127.0.0.1',"
    " 'ca_certificates': ['@DIR@/missing.pem', '@NOTPEM@', '@CERTFILE@'], 'client_certificate': ['a']},"
    " {'name': 'u', 'url': 'https://127.0.0.1', 'ca_certificates': ['']}]",
    { "services[0].tls_verify: must be true or false",
      "services[0].ca_certificates: must name at least one file (leave it out for the system's)",
      "services[0].client_certificate: unknown certificate \"b\"",
      "services[1].ca_certificates[0]: Failed to open file*",
      "services[1].ca_certificates[1]: holds no PEM certificate",
      "services[1].client_certificate: must be a certificate id (a string, or {\"id\": ...})",
      "services[2].ca_certificates[0]: must not be empty" } },
};

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/config/load/defaults", test_defaults);
  g_test_add_func ("/config/load/full/node", test_full_node);
  g_test_add_func ("/config/load/full/services", test_full_services);
  g_test_add_func ("/config/load/full/routes", test_full_routes);
  g_test_add_func ("/config/load/full/consumers-plugins", test_full_consumers_plugins);
  g_test_add_func ("/config/load/admin-off", test_admin_off);
  g_test_add_func ("/config/load/null-is-unset", test_null_is_unset);
  g_test_add_func ("/config/load/round-trip", test_round_trip);
  for (guint i = 0; i < G_N_ELEMENTS (error_cases); i++) {
    g_autofree char *path = g_strdup_printf ("/config/errors/%s", error_cases[i].name);

    g_test_add_data_func (path, &error_cases[i], test_error_case);
  }
  g_test_add_func ("/config/errors/summary", test_error_summary);
  g_test_add_func ("/config/errors/file", test_error_file);
  g_test_add_func ("/config/address/parse", test_address_parse);
  g_test_add_func ("/config/address/invalid", test_address_invalid);
  g_test_add_func ("/config/load/trace", test_trace_keys);
  g_test_add_func ("/config/load/schemes", test_schemes);
  tls_fixture_make ();
  g_test_add_func ("/config/load/tls", test_tls_keys);
  for (guint i = 0; i < G_N_ELEMENTS (tls_error_cases); i++) {
    g_autofree char *path = g_strdup_printf ("/config/errors/%s", tls_error_cases[i].name);

    g_test_add_data_func (path, &tls_error_cases[i], test_error_case);
  }
  for (guint i = 0; i < G_N_ELEMENTS (trace_error_cases); i++) {
    g_autofree char *path = g_strdup_printf ("/config/errors/%s", trace_error_cases[i].name);

    g_test_add_data_func (path, &trace_error_cases[i], test_error_case);
  }
  int status = g_test_run ();

  tls_fixture_remove ();
  return status;
}
