/* router.h: picks the route of a request, with Kong's precedence.
 *
 * At build time every (route, host, path) combination becomes one entry and
 * the entries are sorted once by precedence, so matching is a walk that
 * stops at the first entry that matches:
 *   1. host: an exact host beats a wildcard host, which beats no host;
 *   2. path: regex paths (by regex_priority, higher first, then declaration
 *      order) beat prefix paths, longer prefixes beat shorter ones, and any
 *      path beats no path;
 *   3. more header conditions first, then a route with methods first;
 *   4. declaration order.
 * A route matches only the schemes its "protocols" list, except that one
 * with https alone also matches plain http, as in Kong, so that the
 * gateway can answer with its https_redirect_status_code (the match says
 * so) instead of "no route".
 */
#pragma once

#include "core/config.h"
#include "http/http-parser.h"

G_BEGIN_DECLS

typedef struct _PorticoRouter PorticoRouter;

typedef struct {
  const PorticoRoute *route;
  /* How many bytes at the start of the (normalized) path the matching path
   * covered: the prefix length, or the end of the regex match. strip_path
   * removes them. */
  size_t matched_len;
  /* The route takes https only and the request came over plain http: the
   * gateway answers route->https_redirect_status_code instead of proxying. */
  gboolean https_required;
} PorticoRouteMatch;

/* Compiles every route of @config. Regex errors are caught by the config
 * loader, so this cannot fail on a loaded config. The router points into
 * @config: free the router first. */
PorticoRouter *portico_router_new (const PorticoConfig *config);
void portico_router_free (PorticoRouter *router);

/* @host: the Host value as sent (a port, if any, is ignored; compared
 * case-insensitively); @path: the normalized path, no query; @https: the
 * request came over TLS. */
gboolean portico_router_match (const PorticoRouter *router, const char *method, size_t method_len,
                               const char *host, size_t host_len, const char *path,
                               size_t path_len, const PorticoHttpHeader *headers, size_t n_headers,
                               gboolean https, PorticoRouteMatch *match);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PorticoRouter, portico_router_free)

G_END_DECLS
