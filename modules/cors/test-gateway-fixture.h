/* test-gateway-fixture.h: what the gateway tests of cors, correlation-id,
 * request-termination and ip-restriction share: a one-worker gateway with
 * the bundled modules in front of a mock, and a few readers. */
#pragma once

#include <json-glib/json-glib.h>

#include "harness.h"

G_BEGIN_DECLS

typedef struct {
  PorticoProc *mock;
  PorticoProc *gw;
  const char *addr; /* the gateway's first listener */
} GatewayFixture;

/* @config with its single quotes turned into double quotes (JSON reads
 * better that way in C strings) and "@MODULES@" replaced by the bundled
 * modules' directory. */
char *gateway_fixture_json (const char *config);

/* Starts a mock (with @mock_args, NULL-terminated, or NULL) and a gateway
 * running gateway_fixture_json (@config) with "@UPSTREAM@" replaced by the
 * mock's address. Fails the test if either does not start. */
void gateway_fixture_start (GatewayFixture *f, const char *config, const char *const *mock_args);
/* Stops both; a g_test_add() tear-down. */
void gateway_fixture_tear_down (GatewayFixture *f, gconstpointer data);

/* Sends @request to the gateway; the response must come. */
PorticoTestResponse *gateway_fixture_request (const GatewayFixture *f, const char *request);

/* How many requests the mock has served (its /__mock/stats). */
gint64 gateway_fixture_mock_requests (const GatewayFixture *f);

/* @resp's body, which must be a JSON object; *@root owns it. */
JsonObject *gateway_fixture_body_object (const PorticoTestResponse *resp, JsonNode **root);

/* @resp has @status and Kong's JSON body {"message": @message}. */
void gateway_fixture_expect_message (const PorticoTestResponse *resp, int status, const char *message);

/* Whether a gateway refuses to start with @plugin (one entry of the
 * top-level "plugins", single-quoted) in its configuration. */
gboolean gateway_fixture_refused (const char *plugin);

G_END_DECLS
