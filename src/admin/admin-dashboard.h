/* admin-dashboard.h: the live view's data (docs/dashboard.md): a sampler
 * that reads the zone every 250 ms, the per-second history it keeps, the
 * frames built from them, and the WebSockets the frames are pushed to.
 *
 * Rates and percentiles are differences between two samples a second
 * apart, so the sampler runs whether or not anyone watches: a sample is a
 * copy of the zone's slots, which costs next to nothing next to a page
 * that finds no rate for its first second. A frame is built only when
 * someone asks for one (GET /dashboard/snapshot, an open WebSocket). */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "admin/admin-private.h"

G_BEGIN_DECLS

/* The sampler's period, and so the WebSocket's. */
#define PORTICO_DASHBOARD_INTERVAL_MS 250
/* Per-second points kept: five minutes. */
#define PORTICO_DASHBOARD_HISTORY 300
/* Traced requests listed in a frame, newest first. */
#define PORTICO_DASHBOARD_TRACES 20

typedef struct _PorticoAdminDashboard PorticoAdminDashboard;

/* Takes a first sample and starts sampling on the thread-default main
 * context. @config must outlive the dashboard or be replaced first with
 * portico_admin_dashboard_set_config(). */
PorticoAdminDashboard *portico_admin_dashboard_new (PorticoShm *shm, const PorticoConfig *config);
/* Stops sampling and closes every WebSocket still open. */
void portico_admin_dashboard_free (PorticoAdminDashboard *dash);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoAdminDashboard, portico_admin_dashboard_free)

/* The generation's configuration after a reload (upstreams, backend). */
void portico_admin_dashboard_set_config (PorticoAdminDashboard *dash, const PorticoConfig *config);

/* A frame of the latest sample with the whole history: the body of
 * GET /dashboard/snapshot. */
JsonNode *portico_admin_dashboard_frame (PorticoAdminDashboard *dash);

/* Pushes frames to @conn from now on: one at once with the whole history,
 * then one per sample with the history points it has not had yet, until
 * it closes. @socket is @conn's, read to tell a client that does not keep
 * up: it is skipped (not queued) until the kernel has sent what it got. */
void portico_admin_dashboard_watch (PorticoAdminDashboard *dash, SoupWebsocketConnection *conn,
                                    GSocket *socket);

/* The file of the dashboard's page that @path names ("/": index.html,
 * "/dashboard/NAME": NAME), from the bundle compiled into the binary, and
 * its Content-Type in *@content_type; NULL when there is no such file. */
GBytes *portico_admin_dashboard_asset (const char *path, const char **content_type);

G_END_DECLS
