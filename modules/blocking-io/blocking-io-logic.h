/* blocking-io-logic.h: the blocking-io module's configuration and its wait,
 * without a request. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include "pdk/portico.h"

G_BEGIN_DECLS

typedef struct {
  guint ms;           /* how long each request blocks the worker */
  PorticoPhase phase; /* rewrite (global plugins only) or access */
} BlockingIoConf;

/* From a config the core already checked against the schema and filled
 * with defaults. */
BlockingIoConf *blocking_io_conf_new (JsonObject *config);

/* Blocks the calling thread for conf->ms, the way a blocking read or a
 * synchronous DNS lookup would. Returns how long it really blocked, in ms. */
guint blocking_io_wait (const BlockingIoConf *conf);

G_END_DECLS
