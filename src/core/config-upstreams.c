/* core/config-upstreams.c: the schema of "upstreams" (Kong's): the
 * balancing algorithm, the consistent-hashing keys and the targets; their
 * "healthchecks" are config-health.c's.
 */
#include "core/config-private.h"

static void
target_free (gpointer data)
{
  PorticoTarget *target = data;

  g_free (target->target);
  portico_address_clear (&target->address);
  g_free (target);
}

void
portico_config_upstream_free (gpointer data)
{
  PorticoUpstream *upstream = data;

  g_free (upstream->name);
  g_free (upstream->algorithm);
  g_free (upstream->hash_on_header);
  g_free (upstream->hash_fallback_header);
  g_free (upstream->hash_on_cookie);
  g_free (upstream->hash_on_cookie_path);
  portico_config_clear_healthchecks (&upstream->healthchecks);
  g_ptr_array_unref (upstream->targets);
  g_free (upstream);
}

static void
load_target (PorticoConfigLoader *ld, JsonNode *node, gpointer data)
{
  static const char *const keys[] = { "target", "weight", "tags", NULL };
  PorticoUpstream *upstream = data;
  PorticoTarget *target;
  JsonObject *object;
  const char *text;

  if (!(object = portico_json_reader_as_object (ld->r, node, keys)))
    return;
  target = g_new0 (PorticoTarget, 1);
  target->weight = 100;
  g_ptr_array_add (upstream->targets, target);
  portico_json_reader_get_uint (ld->r, object, "weight", 0, 1000, &target->weight);
  portico_config_skip_tags (ld, object);
  if ((text = portico_json_reader_require_string (ld->r, object, "target"))) {
    target->target = g_strdup (text);
    portico_config_load_address (ld, "target", text, 8000, &target->address);
  }
}

static const char *const algorithm_names[] = {
  [PORTICO_LB_ROUND_ROBIN] = "round-robin",
  [PORTICO_LB_LEAST_CONNECTIONS] = "least-connections",
  [PORTICO_LB_CONSISTENT_HASHING] = "consistent-hashing",
  [PORTICO_LB_LATENCY] = "latency",
  NULL,
};

static const char *const hash_names[] = {
  [PORTICO_HASH_NONE] = "none",
  [PORTICO_HASH_CONSUMER] = "consumer",
  [PORTICO_HASH_IP] = "ip",
  [PORTICO_HASH_HEADER] = "header",
  [PORTICO_HASH_COOKIE] = "cookie",
  [PORTICO_HASH_PATH] = "path",
  NULL,
};

/* @key's value, one of @names (NULL-terminated): its index, else @fallback
 * (an error when it is there but none of them). */
static guint
load_choice (PorticoConfigLoader *ld, JsonObject *object, const char *key, const char *const *names,
             guint fallback)
{
  const char *text = NULL;
  if (portico_json_reader_get_string (ld->r, object, key, &text) != PORTICO_JSON_FIELD_OK)
    return fallback;
  for (guint i = 0; names[i]; i++)
    if (g_str_equal (text, names[i]))
      return i;
  g_autofree char *list = g_strjoinv (", ", (char **) names);
  portico_json_reader_error (ld->r, key, "must be one of: %s", list);
  return fallback;
}

/* A header name for hash_on "header": @key must hold one. */
static char *
load_hash_header (PorticoConfigLoader *ld, JsonObject *object, const char *key, gboolean needed,
                  const char *needed_by)
{
  const char *text = NULL;
  PorticoJsonField got = portico_json_reader_get_nonempty_string (ld->r, object, key, &text);
  if (got == PORTICO_JSON_FIELD_ABSENT && needed)
    portico_json_reader_error (ld->r, key, "is required with %s \"header\"", needed_by);
  return got == PORTICO_JSON_FIELD_OK ? g_strdup (text) : NULL;
}

/* Kong's consistent-hashing keys: what to hash, what to hash when that
 * is missing, and the ring's size. */
static void
load_hashing (PorticoConfigLoader *ld, JsonObject *object, PorticoUpstream *upstream)
{
  const char *path = "/", *cookie = NULL;
  upstream->hash_on = load_choice (ld, object, "hash_on", hash_names, PORTICO_HASH_NONE);
  upstream->hash_fallback = load_choice (ld, object, "hash_fallback", hash_names, PORTICO_HASH_NONE);
  upstream->hash_on_header =
    load_hash_header (ld, object, "hash_on_header", upstream->hash_on == PORTICO_HASH_HEADER, "hash_on");
  upstream->hash_fallback_header = load_hash_header (ld, object, "hash_fallback_header",
                                                     upstream->hash_fallback == PORTICO_HASH_HEADER,
                                                     "hash_fallback");
  if (portico_json_reader_get_nonempty_string (ld->r, object, "hash_on_cookie", &cookie) ==
        PORTICO_JSON_FIELD_ABSENT &&
      upstream->hash_on == PORTICO_HASH_COOKIE)
    portico_json_reader_error (ld->r, "hash_on_cookie", "is required with hash_on \"cookie\"");
  upstream->hash_on_cookie = g_strdup (cookie);
  portico_json_reader_get_nonempty_string (ld->r, object, "hash_on_cookie_path", &path);
  if (path[0] != '/')
    portico_json_reader_error (ld->r, "hash_on_cookie_path", "must start with \"/\"");
  upstream->hash_on_cookie_path = g_strdup (path);
  upstream->slots = 10000;
  portico_json_reader_get_uint (ld->r, object, "slots", 10, 65536, &upstream->slots);

  gboolean hashing = upstream->lb == PORTICO_LB_CONSISTENT_HASHING;
  if (!hashing && upstream->hash_on != PORTICO_HASH_NONE)
    portico_json_reader_error (ld->r, "hash_on", "needs algorithm \"consistent-hashing\"");
  if (hashing && upstream->hash_on == PORTICO_HASH_NONE)
    portico_json_reader_error (ld->r, "hash_on", "is required with algorithm \"consistent-hashing\"");
  if (upstream->hash_fallback != PORTICO_HASH_NONE &&
      (upstream->hash_on == PORTICO_HASH_COOKIE || upstream->hash_fallback == PORTICO_HASH_COOKIE))
    portico_json_reader_error (ld->r, "hash_fallback", "cannot be used with a cookie (Kong's rule: the "
                                                       "gateway sets the cookie, so it is never missing)");
  else if (upstream->hash_fallback != PORTICO_HASH_NONE && upstream->hash_fallback == upstream->hash_on &&
           upstream->hash_on != PORTICO_HASH_HEADER)
    portico_json_reader_error (ld->r, "hash_fallback", "must differ from hash_on");
}

void
portico_config_load_upstream (PorticoConfigLoader *ld, JsonNode *node, gpointer data)
{
  static const char *const keys[] = { "name", "algorithm", "hash_on", "hash_fallback", "hash_on_header",
                                      "hash_fallback_header", "hash_on_cookie", "hash_on_cookie_path",
                                      "slots", "healthchecks", "targets", "tags", NULL };
  PorticoUpstream *upstream;
  JsonObject *object;

  if (!(object = portico_json_reader_as_object (ld->r, node, keys)))
    return;
  upstream = g_new0 (PorticoUpstream, 1);
  upstream->targets = g_ptr_array_new_with_free_func (target_free);
  g_ptr_array_add (ld->config->upstreams, upstream);
  upstream->name = portico_config_load_name (ld, object, "upstream", ld->upstreams, upstream, TRUE);
  upstream->lb = load_choice (ld, object, "algorithm", algorithm_names, PORTICO_LB_ROUND_ROBIN);
  upstream->algorithm = g_strdup (algorithm_names[upstream->lb]);
  load_hashing (ld, object, upstream);
  portico_config_load_healthchecks (ld, object, &upstream->healthchecks);
  portico_config_each_element (ld, object, "targets", load_target, upstream);
  portico_config_skip_tags (ld, object);
}
