/* tests/integration/harness-gateway.h - a gateway in front of a mock, for the
 * tests that send requests through the real binary with modules loaded (the
 * bundled modules' gateway tests, the phases test).
 *
 * Configurations are written as templates: single quotes stand for double
 * quotes (JSON reads better that way in C strings, so a template cannot hold
 * a literal single quote), and these tokens are replaced:
 *   @MODULES@       the bundled modules' directory ($PORTICO_BUNDLED_MODULE_DIR)
 *   @TEST_MODULES@  the test fixture modules' directory ($PORTICO_TEST_MODULE_DIR)
 *   @UPSTREAM@      the mock's address (127.0.0.1:9 where nothing is served)
 * and, where a function takes them, the caller's own (token, value) pairs.
 * Every function fails the test rather than return something unusable.
 */
#pragma once

#include <json-glib/json-glib.h>

#include "harness.h"

G_BEGIN_DECLS

/**
 * PorticoTestGateway:
 * @mock: the mock upstream (`portico mock`)
 * @gw: the gateway
 * @addr: the gateway's first listener
 * @admin: (nullable): the admin listener once portico_test_gateway_admin()
 *   has found it
 *
 * A gateway and its mock.  Either a g_test_add() fixture
 * (portico_test_gateway_start() / portico_test_gateway_tear_down()) or on the
 * heap (portico_test_gateway_new() / portico_test_gateway_free()).
 */
typedef struct {
  PorticoProc *mock;
  PorticoProc *gw;
  const char *addr;
  char *admin;
} PorticoTestGateway;

/**
 * portico_test_gateway_start:
 * @g: the fixture to fill
 * @config: the configuration template
 * @mock_args: (nullable): extra arguments of `portico mock`, %NULL-terminated
 * @...: (token, value) pairs to replace in @config, then %NULL (a %NULL
 *   value is the empty string); they are replaced before the single quotes
 *   are turned, so a value may use them too
 *
 * Starts a mock, then a gateway serving @config.
 */
void portico_test_gateway_start (PorticoTestGateway *g, const char *config, const char *const *mock_args,
                                 ...) G_GNUC_NULL_TERMINATED;

/** Stops both and frees what @g holds; a g_test_add() tear-down. */
void portico_test_gateway_tear_down (PorticoTestGateway *g, gconstpointer data);

/** portico_test_gateway_start() on the heap. */
PorticoTestGateway *portico_test_gateway_new (const char *config, const char *const *mock_args,
                                              ...) G_GNUC_NULL_TERMINATED;
void portico_test_gateway_free (PorticoTestGateway *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoTestGateway, portico_test_gateway_free)

/**
 * portico_test_gateway_request:
 * @g: a gateway
 * @request: the request bytes
 *
 * Sends @request to @g->addr (see portico_test_request()); the response
 * must come.  The request line and the response head go to the test log.
 *
 * Returns: (transfer full): the response
 */
PorticoTestResponse *portico_test_gateway_request (const PorticoTestGateway *g, const char *request);

/** How many requests the mock has served (its /__mock/stats). */
gint64 portico_test_gateway_mock_requests (const PorticoTestGateway *g);

/**
 * portico_test_gateway_admin:
 * @g: a gateway whose configuration has an admin listener
 *
 * Returns: the admin listener's address (from the gateway's "admin " line)
 */
const char *portico_test_gateway_admin (PorticoTestGateway *g);

/** GET @path on the admin API: it must answer 200; returns the body. */
char *portico_test_gateway_admin_text (PorticoTestGateway *g, const char *path);

/** portico_test_gateway_admin_text() read as JSON, which it must be. */
JsonNode *portico_test_gateway_admin_json (PorticoTestGateway *g, const char *path);

/**
 * portico_test_body_object:
 * @resp: a response whose body must be a JSON object
 * @root: (out): owns the object; free it with json_node_unref()
 */
JsonObject *portico_test_body_object (const PorticoTestResponse *resp, JsonNode **root);

/** @resp has @status, a JSON Content-Type, and Kong's body {"message": @message}. */
void portico_test_expect_message (const PorticoTestResponse *resp, int status, const char *message);

/**
 * portico_test_plugin_config:
 * @plugin: one entry of the top-level "plugins" (a template)
 * @members: (nullable): more top-level members, starting with a comma
 *
 * Returns: a configuration template: the bundled modules, one listener, no
 * admin, no service, and @plugin
 */
char *portico_test_plugin_config (const char *plugin, const char *members);

/** Whether `portico serve` refuses the configuration template @config. */
gboolean portico_test_gateway_refused (const char *config);

/**
 * portico_test_check_config:
 * @config: a configuration template
 * @expected: (nullable): what the refusal names, typically the plugin's
 *   JSON path; %NULL: @config must pass
 * @then: (nullable): what the output must hold after @expected
 *
 * Runs `portico check` on @config: it must exit 0 if @expected is %NULL,
 * else exit 1 with an output (stdout, then stderr) that holds @expected and,
 * after it, @then.
 */
void portico_test_check_config (const char *config, const char *expected, const char *then);

G_END_DECLS
