/* transform-test-gateway.h: a gateway with one transformer plugin in front
 * of an upstream, for both transformers' integration tests. */
#pragma once

#include "harness.h"

G_BEGIN_DECLS

/* The configuration: one service to http://@upstream, one route "/", and
 * the plugin @name with @config_json on the service; node.module_path is
 * $PORTICO_BUNDLED_MODULE_DIR. */
char *transform_test_config (const char *upstream, const char *name, const char *config_json);

/* Serves transform_test_config() with one worker; fails the test if the
 * gateway does not start. */
PorticoProc *transform_test_gateway (const char *upstream, const char *name, const char *config_json);

/* Runs `portico check` on transform_test_config(); returns its exit status
 * and (in *output) what it printed on stderr. */
int transform_test_check (const char *name, const char *config_json, char **output);

G_END_DECLS
