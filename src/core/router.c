/* core/router.c: finds the route of a request.
 *
 * Each (route, host, path) combination is one entry; the entries are sorted
 * once, most specific first (router.h gives the order), so a match is a walk
 * that stops at the first entry whose conditions all hold. The walk is
 * linear: fine for the hundreds of routes a gateway usually carries. A
 * per-host index is the next step if configs with thousands show up in
 * profiles.
 *
 * The router points into the config it was built from (strings, routes):
 * free the router first.
 */
#include "core/router.h"

#include <string.h>

typedef enum {
  HOST_EXACT,     /* "example.com" */
  HOST_WILDCARD,  /* "*.example.com" or "example.*" */
  HOST_ANY,       /* the route has no hosts */
} HostKind;

typedef enum {
  PATH_REGEX,
  PATH_PREFIX,
  PATH_ANY, /* the route has no paths */
} PathKind;

typedef struct {
  const PorticoRoute *route;
  guint sequence; /* creation order: the final tie-break */
  guint protocols; /* the schemes it matches (router.h: an https-only route matches http too) */

  HostKind host_kind;
  /* HOST_EXACT: the host; HOST_WILDCARD: what is left without the "*",
   * ".example.com" (a suffix) or "example." (a prefix). */
  const char *host;
  size_t host_len;
  gboolean host_is_suffix;

  PathKind path_kind;
  const char *prefix; /* PATH_PREFIX */
  size_t prefix_len;
  GRegex *regex; /* PATH_REGEX, anchored at the start of the path */
} RouteEntry;

struct _PorticoRouter {
  GArray *entries; /* RouteEntry, sorted by precedence */
};

static void
entry_clear (gpointer data)
{
  RouteEntry *entry = data;

  g_clear_pointer (&entry->regex, g_regex_unref);
}

static void
entry_set_host (RouteEntry *entry, const char *host)
{
  size_t len;

  if (!host) {
    entry->host_kind = HOST_ANY;
    return;
  }
  len = strlen (host);
  if (host[0] == '*') {
    entry->host_kind = HOST_WILDCARD;
    entry->host = host + 1;
    entry->host_len = len - 1;
    entry->host_is_suffix = TRUE;
  } else if (host[len - 1] == '*') {
    entry->host_kind = HOST_WILDCARD;
    entry->host = host;
    entry->host_len = len - 1;
    entry->host_is_suffix = FALSE;
  } else {
    entry->host_kind = HOST_EXACT;
    entry->host = host;
    entry->host_len = len;
  }
}

static void
entry_set_path (RouteEntry *entry, const char *path)
{
  g_autoptr(GError) error = NULL;

  if (!path) {
    entry->path_kind = PATH_ANY;
  } else if (path[0] == '~') {
    entry->path_kind = PATH_REGEX;
    /* Bytes, not UTF-8 (as Kong's PCRE calls): a client can send any
     * bytes, and PCRE2 must never be handed invalid UTF-8 in UTF mode. */
    entry->regex = g_regex_new (path + 1, G_REGEX_OPTIMIZE | G_REGEX_ANCHORED | G_REGEX_RAW, 0,
                                &error);
    /* The config loader compiled it already: only a config that did not
     * come from the loader can get here. */
    if (!entry->regex)
      g_critical ("route %u: regex \"%s\" does not compile: %s", entry->route->index, path + 1,
                  error->message);
  } else {
    entry->path_kind = PATH_PREFIX;
    entry->prefix = path;
    entry->prefix_len = strlen (path);
  }
}

static int
compare_uint (guint a, guint b)
{
  return a < b ? -1 : a > b;
}

/* Negative when @a must be tried before @b (router.h has the rules). */
static int
compare_entries (gconstpointer pa, gconstpointer pb)
{
  const RouteEntry *a = pa, *b = pb;
  int order;

  if ((order = compare_uint (a->host_kind, b->host_kind)))
    return order;
  if ((order = compare_uint (a->path_kind, b->path_kind)))
    return order;
  if (a->path_kind == PATH_REGEX) {
    if (a->route->regex_priority != b->route->regex_priority)
      return a->route->regex_priority > b->route->regex_priority ? -1 : 1;
    if ((order = compare_uint (a->route->index, b->route->index)))
      return order;
  } else if (a->path_kind == PATH_PREFIX && a->prefix_len != b->prefix_len) {
    return a->prefix_len > b->prefix_len ? -1 : 1;
  }
  if ((order = compare_uint (b->route->headers->len, a->route->headers->len)))
    return order;
  if ((order = compare_uint (b->route->methods != NULL, a->route->methods != NULL)))
    return order;
  if ((order = compare_uint (a->route->index, b->route->index)))
    return order;
  return compare_uint (a->sequence, b->sequence);
}

PorticoRouter *
portico_router_new (const PorticoConfig *config)
{
  PorticoRouter *router;

  g_return_val_if_fail (config != NULL, NULL);

  router = g_new0 (PorticoRouter, 1);
  router->entries = g_array_new (FALSE, TRUE, sizeof (RouteEntry));
  g_array_set_clear_func (router->entries, entry_clear);
  for (guint i = 0; i < config->routes->len; i++) {
    const PorticoRoute *route = g_ptr_array_index (config->routes, i);
    guint n_hosts = route->hosts ? g_strv_length (route->hosts) : 1;
    guint n_paths = route->paths ? g_strv_length (route->paths) : 1;

    for (guint h = 0; h < n_hosts; h++) {
      for (guint p = 0; p < n_paths; p++) {
        RouteEntry entry = { .route = route, .sequence = router->entries->len,
                             .protocols = route->protocols == PORTICO_PROTOCOL_HTTPS
                                            ? PORTICO_PROTOCOL_HTTP | PORTICO_PROTOCOL_HTTPS
                                            : route->protocols };

        entry_set_host (&entry, route->hosts ? route->hosts[h] : NULL);
        entry_set_path (&entry, route->paths ? route->paths[p] : NULL);
        g_array_append_val (router->entries, entry);
      }
    }
  }
  g_array_sort (router->entries, compare_entries);
  return router;
}

void
portico_router_free (PorticoRouter *router)
{
  if (!router)
    return;
  g_array_unref (router->entries);
  g_free (router);
}

static gboolean
equal_ignoring_case (const char *a, size_t a_len, const char *b, size_t b_len)
{
  return a_len == b_len && g_ascii_strncasecmp (a, b, a_len) == 0;
}

/* The length of @host without a ":port" suffix or a final root dot. */
static size_t
bare_host_len (const char *host, size_t len)
{
  const char *colon;

  if (len > 0 && host[0] == '[') {
    const char *end = memchr (host, ']', len);

    return end ? (size_t) (end - host) + 1 : len;
  }
  if ((colon = memchr (host, ':', len)))
    len = (size_t) (colon - host);
  if (len > 0 && host[len - 1] == '.')
    len--;
  return len;
}

static gboolean
host_matches (const RouteEntry *entry, const char *host, size_t len)
{
  switch (entry->host_kind) {
  case HOST_ANY:
    return TRUE;
  case HOST_EXACT:
    return equal_ignoring_case (entry->host, entry->host_len, host, len);
  case HOST_WILDCARD:
    /* The "*" stands for at least one character: a whole label or more. */
    if (len <= entry->host_len)
      return FALSE;
    if (entry->host_is_suffix)
      return g_ascii_strncasecmp (host + len - entry->host_len, entry->host, entry->host_len) == 0;
    return g_ascii_strncasecmp (host, entry->host, entry->host_len) == 0;
  }
  return FALSE;
}

static gboolean
path_matches (const RouteEntry *entry, const char *path, size_t len, size_t *matched_len)
{
  g_autoptr(GMatchInfo) info = NULL;
  int end = 0;

  switch (entry->path_kind) {
  case PATH_ANY:
    *matched_len = 0;
    return TRUE;
  case PATH_PREFIX:
    if (len < entry->prefix_len || memcmp (path, entry->prefix, entry->prefix_len) != 0)
      return FALSE;
    *matched_len = entry->prefix_len;
    return TRUE;
  case PATH_REGEX:
    if (!entry->regex || len > G_MAXSSIZE ||
        !g_regex_match_full (entry->regex, path, (gssize) len, 0, 0, &info, NULL))
      return FALSE;
    g_match_info_fetch_pos (info, 0, NULL, &end);
    *matched_len = (size_t) end;
    return TRUE;
  }
  return FALSE;
}

static gboolean
method_matches (const PorticoRoute *route, const char *method, size_t len)
{
  if (!route->methods)
    return TRUE;
  for (guint i = 0; route->methods[i]; i++) {
    if (strlen (route->methods[i]) == len && memcmp (route->methods[i], method, len) == 0)
      return TRUE;
  }
  return FALSE;
}

/* Every condition needs one request header of its name (any occurrence)
 * whose whole value is one of the listed values, ignoring case. */
static gboolean
headers_match (const PorticoRoute *route, const PorticoHttpHeader *headers, size_t n_headers)
{
  for (guint c = 0; c < route->headers->len; c++) {
    const PorticoRouteHeader *condition = g_ptr_array_index (route->headers, c);
    size_t name_len = strlen (condition->name);
    gboolean found = FALSE;

    for (size_t h = 0; h < n_headers && !found; h++) {
      if (!equal_ignoring_case (headers[h].name, headers[h].name_len, condition->name, name_len))
        continue;
      for (guint v = 0; condition->values[v] && !found; v++)
        found = equal_ignoring_case (headers[h].value, headers[h].value_len, condition->values[v],
                                     strlen (condition->values[v]));
    }
    if (!found)
      return FALSE;
  }
  return TRUE;
}

gboolean
portico_router_match (const PorticoRouter *router, const char *method, size_t method_len,
                      const char *host, size_t host_len, const char *path, size_t path_len,
                      const PorticoHttpHeader *headers, size_t n_headers, gboolean https,
                      PorticoRouteMatch *match)
{
  guint protocol = https ? PORTICO_PROTOCOL_HTTPS : PORTICO_PROTOCOL_HTTP;

  g_return_val_if_fail (router != NULL, FALSE);
  g_return_val_if_fail (match != NULL, FALSE);

  if (!path) {
    path = "";
    path_len = 0;
  }
  host_len = host ? bare_host_len (host, host_len) : 0;
  for (guint i = 0; i < router->entries->len; i++) {
    const RouteEntry *entry = &g_array_index (router->entries, RouteEntry, i);
    size_t matched_len;

    if ((entry->protocols & protocol) && host_matches (entry, host, host_len) &&
        path_matches (entry, path, path_len, &matched_len) &&
        method_matches (entry->route, method, method_len) &&
        headers_match (entry->route, headers, n_headers)) {
      match->route = entry->route;
      match->matched_len = matched_len;
      match->https_required = !https && !(entry->route->protocols & PORTICO_PROTOCOL_HTTP);
      return TRUE;
    }
  }
  return FALSE;
}
