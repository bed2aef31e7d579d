/* admin.h: the admin process, a libsoup server over the node's state.
 *
 * The master forks one admin process. It reads the shared-memory zone (never
 * writes a worker slot) and answers, as JSON unless said:
 *   GET  /status   the node header, every worker slot in use, totals
 *   GET  /workers  the "workers" array of /status alone
 *   GET  /timers   timers per worker and per owner (core, each module)
 *   GET  /config   the running configuration, as it was written
 *   GET  /metrics  Prometheus text exposition format 0.0.4
 *   POST /config   a full declarative configuration: validated here, then
 *                  handed to the master as a file to reload
 *   GET  /         the live dashboard's page (and /dashboard/NAME, its files)
 *   GET  /dashboard/snapshot  one dashboard frame (docs/dashboard.md)
 *   GET  /dashboard/ws        a WebSocket pushing a frame every 250 ms
 * HEAD is answered wherever GET is. Errors are {"message": "..."}; an unknown
 * path is 404, a known path with another method 405.
 *
 * Who may ask: without node.admin_token only loopback peers (403 otherwise);
 * with it, any peer that sends "Authorization: Bearer TOKEN" (401 otherwise).
 * The dashboard's page needs no token (it holds no data); its WebSocket
 * also takes the token as the subprotocol "portico-token.TOKEN", as a
 * browser cannot set headers on one, and refuses pages of other origins.
 */
#pragma once

#include <glib.h>

#include "core/config.h"
#include "node/shm.h"

G_BEGIN_DECLS

/* The largest request body accepted (413 past it). */
#define PORTICO_ADMIN_MAX_BODY (8 * 1024 * 1024)

typedef struct {
  PorticoShm *shm;              /* the node's zone */
  const PorticoConfig *config;  /* the running configuration (its root JsonNode is what GET /config shows) */
  int listen_fd;                /* a listening TCP socket the master opened on node.admin_listen */
  int control_fd;               /* write end of a pipe to the master; see POST /config */
  const char *runtime_dir;      /* a private directory where the admin may write files */
} PorticoAdminContext;

/* Serves until SIGTERM/SIGINT/SIGQUIT (on the thread-default GMainContext,
 * signals through portico_signal_add()). Returns the exit code: 0 after a
 * signal, 1 when it cannot serve on @ctx->listen_fd.
 *
 * The admin process owns @ctx->listen_fd (closed on return) and writes to
 * @ctx->control_fd, which it makes non-blocking, one line per accepted
 * POST /config:
 *   "reload RUNTIME_DIR/config-N.json\n"
 * N counts up from 1 within the process (skipping files that exist); the file
 * holds the body exactly as posted and has already passed
 * portico_config_load_data(). The master reads the line and reloads from the
 * file; the admin leaves its last 8 such files in place and removes older
 * ones. The 202 answer carries the generation serving when the line was
 * written. If the pipe is full or its read end is closed the request gets 503
 * and the file is removed. SIGPIPE is ignored in this process. */
int portico_admin_run (const PorticoAdminContext *ctx);

G_END_DECLS
