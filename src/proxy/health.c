/* health.c: each target's health, the same in every worker of the node.
 *
 * The state lives in the node's shared dictionary, so that what one worker
 * sees (a passive failure, an active probe run by one worker) takes a
 * target out for all of them, and the admin process can read and set it:
 *
 *   "h|UPSTREAM|TARGET"       1 while the target is unhealthy (absent: healthy)
 *   "h|UPSTREAM|TARGET|KIND"  what counts towards a change, since the last one:
 *                             ok, http, tcp, timeout
 *   "h|gen"                   moves at every change
 *
 * Each worker keeps the states of the upstreams it balances in a cache it
 * reads again only when "h|gen" moved: a pick costs one dictionary read.
 * Without a shared dictionary (a proxy outside a node) every target is
 * healthy.
 */
#include "proxy/proxy-private.h"

#include <string.h>

#define GEN_KEY "h|gen"

typedef struct {
  gint64 gen;       /* "h|gen" when the states were read */
  gboolean read;
  guint8 *down;     /* one per target: unhealthy */
} HealthCache;

static void
cache_free (gpointer data)
{
  HealthCache *c = data;
  g_free (c->down);
  g_free (c);
}

void
portico_health_free (PorticoProxy *proxy)
{
  g_clear_pointer (&proxy->health, g_hash_table_destroy);
}

gboolean
portico_health_key (char *buf, gsize size, const PorticoUpstream *upstream, guint target, const char *kind)
{
  const PorticoTarget *t = g_ptr_array_index (upstream->targets, target);
  int n = g_snprintf (buf, size, "h|%s|%s%s%s", upstream->name, t->target, kind ? "|" : "", kind ? kind : "");
  /* A key the dictionary cannot hold: that target's health is not tracked. */
  return n > 0 && (gsize) n < MIN (size, PORTICO_HEALTH_KEY_MAX);
}

static gboolean
has_checks (const PorticoUpstream *upstream)
{
  const PorticoHealthchecks *hc = &upstream->healthchecks;
  return hc->active_healthy.interval_ms || hc->active_unhealthy.interval_ms || hc->passive_unhealthy.http_failures ||
         hc->passive_unhealthy.tcp_failures || hc->passive_unhealthy.timeouts;
}

static HealthCache *
cache_for (PorticoProxy *proxy, const PorticoUpstream *upstream)
{
  if (proxy->health == NULL)
    proxy->health = g_hash_table_new_full (NULL, NULL, NULL, cache_free);
  HealthCache *c = g_hash_table_lookup (proxy->health, upstream);
  if (c == NULL)
    {
      c = g_new0 (HealthCache, 1);
      c->down = g_new0 (guint8, upstream->targets->len);
      g_hash_table_insert (proxy->health, (gpointer) upstream, c);
    }
  return c;
}

void
portico_health_refresh (PorticoProxy *proxy, const PorticoUpstream *upstream)
{
  gint64 gen = 0;
  /* Nothing can have marked a target: no checks, and nobody set a state
   * (the admin API may: then the generation exists). */
  if (!portico_shared_get (GEN_KEY, &gen, NULL) && !has_checks (upstream))
    return; /* (the key, once made, is never removed: no stale cache is left) */
  HealthCache *c = cache_for (proxy, upstream);
  if (!c->read || c->gen != gen)
    {
      char key[PORTICO_HEALTH_KEY_MAX];
      for (guint i = 0; i < upstream->targets->len; i++)
        {
          gint64 down = 0;
          c->down[i] = portico_health_key (key, sizeof key, upstream, i, NULL) && portico_shared_get (key, &down, NULL) &&
                       down != 0;
        }
      c->gen = gen;
      c->read = TRUE;
    }
}

gboolean
portico_health_cached_up (PorticoProxy *proxy, const PorticoUpstream *upstream, guint target)
{
  HealthCache *c = proxy->health != NULL ? g_hash_table_lookup (proxy->health, upstream) : NULL;
  return c == NULL || !c->down[target];
}

gboolean
portico_health_target_up (PorticoProxy *proxy, const PorticoUpstream *upstream, guint target)
{
  portico_health_refresh (proxy, upstream);
  return portico_health_cached_up (proxy, upstream, target);
}

gboolean
portico_health_set (const PorticoUpstream *upstream, guint target, gboolean healthy, const char *why)
{
  static const char *const kinds[] = { "ok", "http", "tcp", "timeout" };
  char key[PORTICO_HEALTH_KEY_MAX];
  if (!portico_health_key (key, sizeof key, upstream, target, NULL))
    return FALSE;
  gint64 was = 0;
  portico_shared_get (key, &was, NULL);
  gboolean changed = (was != 0) == healthy;
  if (healthy)
    portico_shared_delete (key);
  else
    portico_shared_set (key, 1, 0);
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    if (portico_health_key (key, sizeof key, upstream, target, kinds[k]))
      portico_shared_delete (key);
  /* Only a change makes the workers read the states again. */
  if (changed)
    portico_shared_incr (GEN_KEY, 1, 0, NULL);
  if (changed)
    g_message ("upstream %s: target %s is now %s (%s)", upstream->name,
               ((const PorticoTarget *) g_ptr_array_index (upstream->targets, target))->target,
               healthy ? "healthy" : "unhealthy", why);
  return TRUE;
}

static gboolean
status_listed (const GArray *statuses, guint status)
{
  for (guint i = 0; statuses != NULL && i < statuses->len; i++)
    if (g_array_index (statuses, guint, i) == status)
      return TRUE;
  return FALSE;
}

/* Counts one outcome of kind @kind; when it reaches @limit (not 0), the
 * target changes state. */
static void
count (const PorticoUpstream *upstream, guint target, const char *kind, guint limit, gboolean healthy,
       const char *why)
{
  char key[PORTICO_HEALTH_KEY_MAX];
  gint64 n = 0;
  if (limit == 0 || !portico_health_key (key, sizeof key, upstream, target, kind) ||
      !portico_shared_incr (key, 1, 0, &n))
    return;
  if (n >= (gint64) limit)
    portico_health_set (upstream, target, healthy, why);
}

/* A success resets the failure counts, a failure the success count: the
 * limits count in a row, as Kong's do. */
static void
reset (const PorticoUpstream *upstream, guint target, gboolean failures)
{
  static const char *const failure_kinds[] = { "http", "tcp", "timeout" };
  char key[PORTICO_HEALTH_KEY_MAX];
  if (!failures)
    {
      if (portico_health_key (key, sizeof key, upstream, target, "ok"))
        portico_shared_delete (key);
      return;
    }
  for (guint k = 0; k < G_N_ELEMENTS (failure_kinds); k++)
    if (portico_health_key (key, sizeof key, upstream, target, failure_kinds[k]))
      portico_shared_delete (key);
}

void
portico_health_report (const PorticoUpstream *upstream, guint target, gboolean active, PorticoHealthOutcome outcome,
                       guint status)
{
  const PorticoHealthchecks *hc = &upstream->healthchecks;
  const PorticoHealthSide *healthy = active ? &hc->active_healthy : &hc->passive_healthy;
  const PorticoHealthSide *unhealthy = active ? &hc->active_unhealthy : &hc->passive_unhealthy;
  char why[64];
  switch (outcome)
    {
    case PORTICO_HEALTH_ANSWERED:
      if (status_listed (unhealthy->http_statuses, status))
        {
          g_snprintf (why, sizeof why, "%s: status %u", active ? "probe" : "traffic", status);
          reset (upstream, target, FALSE);
          count (upstream, target, "http", unhealthy->http_failures, FALSE, why);
        }
      else if (status_listed (healthy->http_statuses, status))
        {
          g_snprintf (why, sizeof why, "%s: status %u", active ? "probe" : "traffic", status);
          reset (upstream, target, TRUE);
          count (upstream, target, "ok", healthy->successes, TRUE, why);
        }
      break;
    case PORTICO_HEALTH_CONNECTED: /* a tcp probe that connected */
      reset (upstream, target, TRUE);
      count (upstream, target, "ok", healthy->successes, TRUE, "probe: connected");
      break;
    case PORTICO_HEALTH_TCP_FAILURE:
      reset (upstream, target, FALSE);
      count (upstream, target, "tcp", unhealthy->tcp_failures, FALSE,
             active ? "probe: connection failed" : "traffic: connection failed");
      break;
    case PORTICO_HEALTH_TIMEOUT:
      reset (upstream, target, FALSE);
      count (upstream, target, "timeout", unhealthy->timeouts, FALSE, active ? "probe: timeout" : "traffic: timeout");
      break;
    }
}

gboolean
portico_health_read (const PorticoUpstream *upstream, guint target, gint64 counts[4])
{
  static const char *const kinds[] = { "ok", "http", "tcp", "timeout" };
  char key[PORTICO_HEALTH_KEY_MAX];
  gint64 down = 0;
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      counts[k] = 0;
      if (portico_health_key (key, sizeof key, upstream, target, kinds[k]))
        portico_shared_get (key, &counts[k], NULL);
    }
  return !(portico_health_key (key, sizeof key, upstream, target, NULL) && portico_shared_get (key, &down, NULL) &&
           down != 0);
}

gboolean
portico_health_checked (const PorticoUpstream *upstream)
{
  return has_checks (upstream);
}
