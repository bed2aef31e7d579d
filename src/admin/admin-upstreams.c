/* admin-upstreams.c: the targets' health (Kong's endpoints):
 *
 *   GET  /upstreams/{name}/health                     every target, its weight and health
 *   POST /upstreams/{name}/targets/{target}/healthy   mark it healthy (204)
 *   POST /upstreams/{name}/targets/{target}/unhealthy mark it unhealthy (204)
 *
 * The state lives in the node's shared dictionary (proxy/health.c), so a
 * mark applies to every worker at once, until a health check changes it.
 */
#include "admin/admin-private.h"

#include <string.h>
#include "proxy/proxy.h"

static const PorticoUpstream *
find_upstream (const PorticoConfig *config, const char *name, gsize len)
{
  for (guint i = 0; i < config->upstreams->len; i++)
    {
      const PorticoUpstream *u = g_ptr_array_index (config->upstreams, i);
      if (strlen (u->name) == len && memcmp (u->name, name, len) == 0)
        return u;
    }
  return NULL;
}

void
portico_admin_add_upstream_targets (JsonBuilder *b, const PorticoUpstream *upstream)
{
  static const char *const kinds[] = { "successes", "http_failures", "tcp_failures", "timeouts" };
  gboolean checked = portico_health_checked (upstream);
  json_builder_begin_array (b);
  for (guint i = 0; i < upstream->targets->len; i++)
    {
      const PorticoTarget *t = g_ptr_array_index (upstream->targets, i);
      gint64 counts[4];
      gboolean healthy = portico_health_read (upstream, i, counts);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "target");
      json_builder_add_string_value (b, t->target);
      json_builder_set_member_name (b, "weight");
      json_builder_add_int_value (b, t->weight);
      json_builder_set_member_name (b, "health");
      /* Kong's words. A mark from the admin API shows even without checks. */
      json_builder_add_string_value (b, !healthy ? "UNHEALTHY" : checked ? "HEALTHY" : "HEALTHCHECKS_OFF");
      json_builder_set_member_name (b, "counts");
      json_builder_begin_object (b);
      for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
        {
          json_builder_set_member_name (b, kinds[k]);
          json_builder_add_int_value (b, counts[k]);
        }
      json_builder_end_object (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
}

static JsonNode *
health_json (const PorticoUpstream *upstream)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "upstream");
  json_builder_add_string_value (b, upstream->name);
  json_builder_set_member_name (b, "algorithm");
  json_builder_add_string_value (b, upstream->algorithm);
  json_builder_set_member_name (b, "data");
  portico_admin_add_upstream_targets (b, upstream);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

guint
portico_admin_upstreams (const PorticoConfig *config, const char *method, const char *path, JsonNode **out,
                         const char **message)
{
  /* path: what follows "/upstreams/" */
  const char *slash = strchr (path, '/');
  const PorticoUpstream *upstream = slash ? find_upstream (config, path, (gsize) (slash - path)) : NULL;
  *out = NULL;
  if (upstream == NULL)
    {
      *message = "no such upstream";
      return 404;
    }
  const char *rest = slash + 1;
  if (strcmp (rest, "health") == 0)
    {
      if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0)
        {
          *message = "method not allowed";
          return 405;
        }
      *out = health_json (upstream);
      return 200;
    }
  if (!g_str_has_prefix (rest, "targets/"))
    {
      *message = "no such endpoint";
      return 404;
    }
  const char *target = rest + strlen ("targets/");
  const char *action = strrchr (target, '/');
  gboolean healthy = action != NULL && strcmp (action, "/healthy") == 0;
  if (action == NULL || (!healthy && strcmp (action, "/unhealthy") != 0))
    {
      *message = "no such endpoint (POST .../targets/TARGET/healthy or /unhealthy)";
      return 404;
    }
  if (strcmp (method, "POST") != 0)
    {
      *message = "method not allowed";
      return 405;
    }
  gsize len = (gsize) (action - target);
  for (guint i = 0; i < upstream->targets->len; i++)
    {
      const PorticoTarget *t = g_ptr_array_index (upstream->targets, i);
      if (strlen (t->target) != len || memcmp (t->target, target, len) != 0)
        continue;
      if (!portico_health_set (upstream, i, healthy, "set through the admin API"))
        {
          *message = "the target's name is too long to keep its health";
          return 500;
        }
      return 204;
    }
  *message = "no such target";
  return 404;
}
