/* config-health.c: an upstream's "healthchecks", Kong's shape:
 *
 *   "healthchecks": {
 *     "active": { "type": "http", "http_path": "/", "timeout": 1, "concurrency": 10,
 *                 "https_verify_certificate": true, "https_sni": null,
 *                 "healthy":   { "interval": 0, "http_statuses": [200, 302], "successes": 0 },
 *                 "unhealthy": { "interval": 0, "http_statuses": [429, 404, 500, ...],
 *                                "http_failures": 0, "tcp_failures": 0, "timeouts": 0 } },
 *     "passive": { "type": "http",
 *                  "healthy":   { "http_statuses": [200, ...], "successes": 0 },
 *                  "unhealthy": { "http_statuses": [429, 500, 503], "http_failures": 0,
 *                                 "tcp_failures": 0, "timeouts": 0 } },
 *     "threshold": 0 }
 *
 * Intervals and the timeout are in seconds, as in Kong. Every count
 * defaults to 0, which turns that counting off: a config without
 * healthchecks checks nothing.
 */
#include "core/config-private.h"

#include <math.h>
#include <string.h>

static const guint active_healthy_statuses[] = { 200, 302 };
static const guint active_unhealthy_statuses[] = { 429, 404, 500, 501, 502, 503, 504, 505 };
static const guint passive_healthy_statuses[] = { 200, 201, 202, 203, 204, 205, 206, 207, 208, 226,
                                                  300, 301, 302, 303, 304, 305, 306, 307, 308 };
static const guint passive_unhealthy_statuses[] = { 429, 500, 503 };

/* The longest interval or timeout: a day. */
#define MAX_SECONDS 86400.0

/* A number of seconds under @key into *@ms (absent: left as it is). */
static void
load_seconds (PorticoConfigLoader *ld, JsonObject *object, const char *key, double min, guint *ms)
{
  JsonNode *node = object != NULL ? portico_json_member (object, key) : NULL;
  if (node == NULL)
    return;
  GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  double value = type == G_TYPE_INT64 || type == G_TYPE_DOUBLE ? json_node_get_double (node) : NAN;
  if (!(value >= min && value <= MAX_SECONDS))
    {
      portico_json_reader_error (ld->r, key, "must be a number of seconds between %g and %g", min, MAX_SECONDS);
      return;
    }
  *ms = (guint) llround (value * 1000);
}

static void
set_statuses (PorticoHealthSide *side, const guint *defaults, gsize n)
{
  side->http_statuses = g_array_sized_new (FALSE, FALSE, sizeof (guint), (guint) n);
  g_array_append_vals (side->http_statuses, defaults, (guint) n);
}

static void
load_statuses (PorticoConfigLoader *ld, JsonObject *object, PorticoHealthSide *side)
{
  JsonArray *array = NULL;
  if (portico_json_reader_get_array (ld->r, object, "http_statuses", &array) != PORTICO_JSON_FIELD_OK)
    return;
  g_array_set_size (side->http_statuses, 0);
  portico_json_reader_push_key (ld->r, "http_statuses");
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      gboolean integer = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
      gint64 status = integer ? json_node_get_int (node) : 0;
      portico_json_reader_push_index (ld->r, i);
      if (status < 100 || status > 999)
        portico_json_reader_error (ld->r, NULL, "must be an HTTP status (100 to 999)");
      else
        {
          guint code = (guint) status;
          g_array_append_val (side->http_statuses, code);
        }
      portico_json_reader_pop (ld->r);
    }
  portico_json_reader_pop (ld->r);
}

/* One "healthy" or "unhealthy" object. @active: it may hold an interval. */
static void
load_side (PorticoConfigLoader *ld, JsonObject *parent, const char *key, gboolean active, gboolean healthy,
           PorticoHealthSide *side)
{
  static const char *const active_healthy[] = { "interval", "http_statuses", "successes", NULL };
  static const char *const active_unhealthy[] = { "interval", "http_statuses", "http_failures",
                                                  "tcp_failures", "timeouts", NULL };
  static const char *const passive_healthy[] = { "http_statuses", "successes", NULL };
  static const char *const passive_unhealthy[] = { "http_statuses", "http_failures", "tcp_failures",
                                                   "timeouts", NULL };
  const char *const *keys = active ? (healthy ? active_healthy : active_unhealthy)
                                   : (healthy ? passive_healthy : passive_unhealthy);
  JsonObject *object = NULL;
  portico_json_reader_get_object (ld->r, parent, key, keys, &object);
  portico_json_reader_push_key (ld->r, key);
  if (active)
    load_seconds (ld, object, "interval", 0, &side->interval_ms);
  load_statuses (ld, object, side);
  /* Kong's bounds: counts up to 255. */
  if (healthy)
    portico_json_reader_get_uint (ld->r, object, "successes", 0, 255, &side->successes);
  else
    {
      portico_json_reader_get_uint (ld->r, object, "http_failures", 0, 255, &side->http_failures);
      portico_json_reader_get_uint (ld->r, object, "tcp_failures", 0, 255, &side->tcp_failures);
      portico_json_reader_get_uint (ld->r, object, "timeouts", 0, 255, &side->timeouts);
    }
  portico_json_reader_pop (ld->r);
}

/* "https_sni": a host name, sent as it is; an address is never SNI. */
static void
load_sni (PorticoConfigLoader *ld, JsonObject *object, PorticoHealthchecks *hc)
{
  const char *sni = NULL;
  if (portico_json_reader_get_nonempty_string (ld->r, object, "https_sni", &sni) != PORTICO_JSON_FIELD_OK)
    return;
  gsize len = strlen (sni);
  if (g_hostname_is_ip_address (sni))
    portico_json_reader_error (ld->r, "https_sni", "must be a host name: an address is never sent as SNI");
  else if (len > 253 || strspn (sni, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") != len ||
           sni[0] == '.' || sni[len - 1] == '.' || strstr (sni, "..") != NULL)
    portico_json_reader_error (ld->r, "https_sni", "is not a valid host name");
  else
    hc->https_sni = g_ascii_strdown (sni, -1);
}

static void
load_active (PorticoConfigLoader *ld, JsonObject *parent, PorticoHealthchecks *hc)
{
  static const char *const keys[] = { "type", "http_path", "timeout", "concurrency", "https_verify_certificate",
                                      "https_sni", "healthy", "unhealthy", NULL };
  JsonObject *object = NULL;
  const char *type = "http", *path = "/";
  portico_json_reader_get_object (ld->r, parent, "active", keys, &object);
  portico_json_reader_push_key (ld->r, "active");
  portico_json_reader_get_string (ld->r, object, "type", &type);
  if (g_str_equal (type, "tcp"))
    hc->active_type = PORTICO_PROBE_TCP;
  else if (g_str_equal (type, "https"))
    hc->active_type = PORTICO_PROBE_HTTPS;
  else if (!g_str_equal (type, "http"))
    portico_json_reader_error (ld->r, "type", "must be \"http\", \"https\" or \"tcp\"");
  /* Read whatever the type, as Kong does (its exports carry them). */
  hc->https_verify_certificate = TRUE;
  portico_json_reader_get_bool (ld->r, object, "https_verify_certificate", &hc->https_verify_certificate);
  load_sni (ld, object, hc);
  portico_json_reader_get_nonempty_string (ld->r, object, "http_path", &path);
  if (path[0] != '/')
    portico_json_reader_error (ld->r, "http_path", "must start with \"/\"");
  hc->http_path = g_strdup (path);
  hc->timeout_ms = 1000;
  load_seconds (ld, object, "timeout", 0.001, &hc->timeout_ms);
  hc->concurrency = 10;
  portico_json_reader_get_uint (ld->r, object, "concurrency", 1, 2147483647, &hc->concurrency);
  load_side (ld, object, "healthy", TRUE, TRUE, &hc->active_healthy);
  load_side (ld, object, "unhealthy", TRUE, FALSE, &hc->active_unhealthy);
  portico_json_reader_pop (ld->r);
}

static void
load_passive (PorticoConfigLoader *ld, JsonObject *parent, PorticoHealthchecks *hc)
{
  static const char *const keys[] = { "type", "healthy", "unhealthy", NULL };
  JsonObject *object = NULL;
  const char *type = "http";
  portico_json_reader_get_object (ld->r, parent, "passive", keys, &object);
  portico_json_reader_push_key (ld->r, "passive");
  portico_json_reader_get_string (ld->r, object, "type", &type);
  /* The traffic counts the same way whatever its scheme. */
  if (!g_str_equal (type, "http") && !g_str_equal (type, "https") && !g_str_equal (type, "tcp"))
    portico_json_reader_error (ld->r, "type", "must be \"http\", \"https\" or \"tcp\"");
  load_side (ld, object, "healthy", FALSE, TRUE, &hc->passive_healthy);
  load_side (ld, object, "unhealthy", FALSE, FALSE, &hc->passive_unhealthy);
  portico_json_reader_pop (ld->r);
}

void
portico_config_load_healthchecks (PorticoConfigLoader *ld, JsonObject *upstream, PorticoHealthchecks *hc)
{
  static const char *const keys[] = { "active", "passive", "threshold", NULL };
  JsonObject *object = NULL;
  set_statuses (&hc->active_healthy, active_healthy_statuses, G_N_ELEMENTS (active_healthy_statuses));
  set_statuses (&hc->active_unhealthy, active_unhealthy_statuses, G_N_ELEMENTS (active_unhealthy_statuses));
  set_statuses (&hc->passive_healthy, passive_healthy_statuses, G_N_ELEMENTS (passive_healthy_statuses));
  set_statuses (&hc->passive_unhealthy, passive_unhealthy_statuses, G_N_ELEMENTS (passive_unhealthy_statuses));
  portico_json_reader_get_object (ld->r, upstream, "healthchecks", keys, &object);
  portico_json_reader_push_key (ld->r, "healthchecks");
  load_active (ld, object, hc);
  load_passive (ld, object, hc);
  guint threshold = 0;
  if (portico_json_reader_get_uint (ld->r, object, "threshold", 0, 100, &threshold) == PORTICO_JSON_FIELD_OK &&
      threshold != 0)
    portico_json_reader_error (ld->r, "threshold", "only 0 is supported (Kong's share of healthy weight "
                                                   "under which the whole upstream counts as down)");
  portico_json_reader_pop (ld->r);
}

void
portico_config_clear_healthchecks (PorticoHealthchecks *hc)
{
  PorticoHealthSide *sides[] = { &hc->active_healthy, &hc->active_unhealthy, &hc->passive_healthy,
                                 &hc->passive_unhealthy };
  for (guint i = 0; i < G_N_ELEMENTS (sides); i++)
    g_clear_pointer (&sides[i]->http_statuses, g_array_unref);
  g_clear_pointer (&hc->http_path, g_free);
  g_clear_pointer (&hc->https_sni, g_free);
}
