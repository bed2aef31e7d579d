/* lab/scenario-json.c: what works on a scenario's JSON itself: deep
 * copies, the placeholders of node configs ("{{service.NAME}}"), the paths
 * that variants and reloads set ("a.b[2].c"), the check of a node's config
 * by the gateway's own loader, and what the runner needs to start the
 * parties (rendered configs, mock arguments, link props).
 */
#include "lab/scenario-private.h"

#include "core/config.h"

#include <string.h>

/* Makes @dst a scalar (or null) equal to @src, with a value of its own. */
static void
init_scalar (JsonNode *dst, JsonNode *src)
{
  GType type = JSON_NODE_HOLDS_VALUE (src) ? json_node_get_value_type (src) : G_TYPE_NONE;

  if (type == G_TYPE_STRING)
    json_node_init_string (dst, json_node_get_string (src));
  else if (type == G_TYPE_DOUBLE)
    json_node_init_double (dst, json_node_get_double (src));
  else if (type == G_TYPE_BOOLEAN)
    json_node_init_boolean (dst, json_node_get_boolean (src));
  else if (type == G_TYPE_INT64)
    json_node_init_int (dst, json_node_get_int (src));
  else
    json_node_init_null (dst);
}

/* json_node_copy() shares objects, arrays and even values with the
 * original; variants, reloads and placeholders change their copies, which
 * must not change the scenario. */
JsonNode *
portico_scenario_deep_copy (JsonNode *node)
{
  JsonNode *copy;

  if (JSON_NODE_HOLDS_OBJECT (node)) {
    JsonObject *from = json_node_get_object (node), *object = json_object_new ();
    g_autoptr(GList) keys = json_object_get_members (from);

    for (GList *l = keys; l; l = l->next)
      json_object_set_member (object, l->data,
                              portico_scenario_deep_copy (json_object_get_member (from, l->data)));
    copy = json_node_init_object (json_node_alloc (), object);
    json_object_unref (object);
  } else if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *from = json_node_get_array (node), *array = json_array_new ();

    for (guint i = 0; i < json_array_get_length (from); i++)
      json_array_add_element (array, portico_scenario_deep_copy (json_array_get_element (from, i)));
    copy = json_node_init_array (json_node_alloc (), array);
    json_array_unref (array);
  } else {
    copy = json_node_alloc ();
    init_scalar (copy, node);
  }
  return copy;
}

/* ---- placeholders ------------------------------------------------------------------------ */

/* What a placeholder stands for once its names are checked; NULL after
 * setting *@problem. */
typedef char *(*LookupFunc) (const PorticoScenario *s, PorticoPartyKind kind, const char *name,
                             guint instance, gpointer data, char **problem);

/* "service.NAME", "service.NAME.I" or "node.NAME", checked against @s. */
static char *
expand_one (const PorticoScenario *s, const char *inside, LookupFunc lookup, gpointer data,
            char **problem)
{
  g_auto(GStrv) parts = g_strsplit (inside, ".", 0);
  guint n = g_strv_length (parts);
  guint64 instance = 0;

  if (n == 2 && g_str_equal (parts[0], "node")) {
    PorticoScenarioNode *node = portico_scenario_find_node (s, parts[1]);

    if (node)
      return lookup (s, PORTICO_PARTY_NODE, node->name, 0, data, problem);
    *problem = g_strdup_printf ("unknown node \"%s\" in {{%s}}", parts[1], inside);
    return NULL;
  }
  if ((n == 2 || n == 3) && g_str_equal (parts[0], "service")) {
    PorticoScenarioService *service = portico_scenario_find_service (s, parts[1]);

    if (!service) {
      *problem = g_strdup_printf ("unknown service \"%s\" in {{%s}}", parts[1], inside);
      return NULL;
    }
    if (n == 3 && (!g_ascii_string_to_unsigned (parts[2], 10, 0, G_MAXUINT, &instance, NULL) ||
                   instance >= service->instances)) {
      *problem = g_strdup_printf ("service \"%s\" has %u instance%s (0 to %u) in {{%s}}",
                                  service->name, service->instances,
                                  service->instances == 1 ? "" : "s", service->instances - 1,
                                  inside);
      return NULL;
    }
    return lookup (s, PORTICO_PARTY_SERVICE, service->name, (guint) instance, data, problem);
  }
  *problem = g_strdup_printf ("unknown placeholder {{%s}} (expected {{service.NAME}}, "
                              "{{service.NAME.I}} or {{node.NAME}})", inside);
  return NULL;
}

static char *
expand_string (const PorticoScenario *s, const char *text, LookupFunc lookup, gpointer data,
               char **problem)
{
  g_autoptr(GString) out = g_string_new (NULL);
  const char *p = text, *open;

  while ((open = strstr (p, "{{"))) {
    const char *close = strstr (open + 2, "}}");
    g_autofree char *inside = NULL;
    g_autofree char *value = NULL;

    if (!close) {
      *problem = g_strdup ("\"{{\" without \"}}\"");
      return NULL;
    }
    inside = g_strndup (open + 2, close - open - 2);
    if (!(value = expand_one (s, inside, lookup, data, problem)))
      return NULL;
    g_string_append_len (out, p, open - p);
    g_string_append (out, value);
    p = close + 2;
  }
  g_string_append (out, p);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Replaces the placeholders in every string of @node, in place; problems
 * are recorded at their path. */
static void
expand_tree (const PorticoScenario *s, PorticoJsonReader *r, JsonNode *node, LookupFunc lookup,
             gpointer data)
{
  if (JSON_NODE_HOLDS_OBJECT (node)) {
    JsonObject *object = json_node_get_object (node);
    g_autoptr(GList) keys = json_object_get_members (object);

    for (GList *l = keys; l; l = l->next) {
      portico_json_reader_push_key (r, l->data);
      expand_tree (s, r, json_object_get_member (object, l->data), lookup, data);
      portico_json_reader_pop (r);
    }
  } else if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *array = json_node_get_array (node);

    for (guint i = 0; i < json_array_get_length (array); i++) {
      portico_json_reader_push_index (r, i);
      expand_tree (s, r, json_array_get_element (array, i), lookup, data);
      portico_json_reader_pop (r);
    }
  } else if (portico_json_string (node) && strstr (json_node_get_string (node), "{{")) {
    g_autofree char *problem = NULL;
    g_autofree char *value = expand_string (s, json_node_get_string (node), lookup, data, &problem);

    if (value)
      json_node_set_string (node, value);
    else
      portico_json_reader_error (r, NULL, "%s", problem);
  }
}

/* Stand-ins that the config loader accepts: distinct, never connected to. */
static char *
dummy_lookup (const PorticoScenario *s, PorticoPartyKind kind, const char *name, guint instance,
              gpointer data, char **problem)
{
  GPtrArray *array = kind == PORTICO_PARTY_NODE ? s->nodes : s->services;
  guint index = 0;

  while (index < array->len && !g_str_equal (*(char **) g_ptr_array_index (array, index), name))
    index++;
  return g_strdup_printf ("127.0.0.1:%u", (kind == PORTICO_PARTY_NODE ? 30000 : 20000) +
                                            index * MAX_INSTANCES + instance);
}

/* Everything wrong with a node's config ("path: message", paths inside the
 * config): its placeholders, then what the config loader says of it with
 * dummy addresses in their place. */
GPtrArray *
portico_scenario_config_problems (const PorticoScenario *s, JsonNode *config, guint *workers)
{
  g_autoptr(PorticoJsonReader) reader = portico_json_reader_new ();
  g_autoptr(JsonNode) copy = portico_scenario_deep_copy (config);
  GPtrArray *problems = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *text = NULL;
  g_autoptr(PorticoConfig) loaded = NULL;
  GPtrArray *found = portico_json_reader_get_errors (reader);

  expand_tree (s, reader, copy, dummy_lookup, NULL);
  for (guint i = 0; i < found->len; i++)
    g_ptr_array_add (problems, g_strdup (g_ptr_array_index (found, i)));
  if (problems->len > 0)
    return problems;
  text = json_to_string (copy, FALSE);
  if ((loaded = portico_config_load_data (text, -1, NULL, problems, NULL)))
    *workers = loaded->node.workers;
  return problems;
}

typedef struct {
  const char *from_node;
  PorticoScenarioResolveFunc resolve;
  gpointer data;
} Resolver;

static char *
caller_lookup (const PorticoScenario *s, PorticoPartyKind kind, const char *name, guint instance,
               gpointer data, char **problem)
{
  Resolver *resolver = data;
  g_autoptr(GError) error = NULL;
  char *address = resolver->resolve (resolver->from_node, kind, name, instance, resolver->data,
                                     &error);

  if (!address)
    *problem = g_strdup (error ? error->message : "cannot be resolved");
  return address;
}

char *
portico_scenario_render_config (const PorticoScenario *s, const PorticoScenarioNode *node,
                                JsonNode *config, PorticoScenarioResolveFunc resolve, gpointer data,
                                GError **error)
{
  g_autoptr(PorticoJsonReader) reader = portico_json_reader_new ();
  g_autoptr(JsonNode) copy = portico_scenario_deep_copy (config ? config : node->config);
  Resolver resolver = { node->name, resolve, data };
  GPtrArray *found = portico_json_reader_get_errors (reader);

  g_return_val_if_fail (resolve != NULL, NULL);

  expand_tree (s, reader, copy, caller_lookup, &resolver);
  if (found->len > 0) {
    g_set_error (error, PORTICO_SCENARIO_ERROR, PORTICO_SCENARIO_ERROR_RESOLVE, "%s: %s",
                 node->json_path, (char *) g_ptr_array_index (found, 0));
    return NULL;
  }
  return json_to_string (copy, TRUE);
}

/* ---- JSON paths --------------------------------------------------------------------------- */

/* json-glib has no way to replace an array element, and re-initializing
 * a node that holds an object unrefs that object twice (json-glib 1.6):
 * take the tail off, and put it back after the new element. */
static void
array_replace (JsonArray *array, guint index, JsonNode *value)
{
  g_autoptr(GPtrArray) tail = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  guint len = json_array_get_length (array);

  for (guint i = index + 1; i < len; i++)
    g_ptr_array_add (tail, json_node_ref (json_array_get_element (array, i)));
  for (guint i = len; i > index; i--)
    json_array_remove_element (array, i - 1);
  json_array_add_element (array, portico_scenario_deep_copy (value));
  for (guint i = 0; i < tail->len; i++)
    json_array_add_element (array, json_node_ref (g_ptr_array_index (tail, i)));
}

typedef struct {
  char *key;      /* NULL for an index */
  guint index;
} PathStep;

static void
path_step_clear (gpointer data)
{
  g_free (((PathStep *) data)->key);
}

/* "a.b[2].c" into its steps; NULL if it is not such a path. */
static GArray *
path_parse (const char *path)
{
  g_autoptr(GArray) steps = g_array_new (FALSE, TRUE, sizeof (PathStep));
  const char *p = path;

  g_array_set_clear_func (steps, path_step_clear);
  while (*p) {
    PathStep step = { 0 };

    if (*p == '[') {
      const char *close = strchr (p, ']');
      g_autofree char *digits = close ? g_strndup (p + 1, close - p - 1) : NULL;
      guint64 index;

      if (!digits || !g_ascii_string_to_unsigned (digits, 10, 0, G_MAXUINT, &index, NULL))
        return NULL;
      step.index = (guint) index;
      p = close + 1;
    } else {
      size_t len = strcspn (p, ".[]");

      if (len == 0)
        return NULL;
      step.key = g_strndup (p, len);
      p += len;
    }
    g_array_append_val (steps, step);
    if (*p == '.' && p[1] && p[1] != '.' && p[1] != '[')
      p++;
    else if (*p && *p != '[')
      return NULL;
  }
  return steps->len ? g_steal_pointer (&steps) : NULL;
}

/* Sets the place @path ("a.b[2].c") of @root to a copy of @value. Every
 * step but the last must exist; the last may add a member to an object,
 * not an element to an array. */
gboolean
portico_scenario_json_path_set (JsonNode *root, const char *path, JsonNode *value, char **problem)
{
  g_autoptr(GArray) steps = path_parse (path);
  g_autoptr(GString) where = g_string_new ("(root)");
  JsonNode *current = root;

  if (!steps) {
    *problem = g_strdup ("is not a path like a.b[2].c");
    return FALSE;
  }
  for (guint i = 0; i < steps->len; i++) {
    PathStep *step = &g_array_index (steps, PathStep, i);
    gboolean last = i + 1 == steps->len;

    if (step->key && !JSON_NODE_HOLDS_OBJECT (current)) {
      *problem = g_strdup_printf ("%s is not an object", where->str);
      return FALSE;
    }
    if (!step->key && !JSON_NODE_HOLDS_ARRAY (current)) {
      *problem = g_strdup_printf ("%s is not an array", where->str);
      return FALSE;
    }
    if (step->key && last) {
      json_object_set_member (json_node_get_object (current), step->key,
                              portico_scenario_deep_copy (value));
      return TRUE;
    }
    if (step->key && !json_object_has_member (json_node_get_object (current), step->key)) {
      *problem = g_strdup_printf ("%s has no member \"%s\"", where->str, step->key);
      return FALSE;
    }
    if (!step->key && step->index >= json_array_get_length (json_node_get_array (current))) {
      *problem = g_strdup_printf ("%s has no element %u (it has %u)", where->str, step->index,
                                  json_array_get_length (json_node_get_array (current)));
      return FALSE;
    }
    if (!step->key && last) {
      array_replace (json_node_get_array (current), step->index, value);
      return TRUE;
    }
    if (i == 0)
      g_string_truncate (where, 0);
    if (step->key)
      g_string_append_printf (where, "%s%s", where->len ? "." : "", step->key);
    else
      g_string_append_printf (where, "[%u]", step->index);
    current = step->key ? json_object_get_member (json_node_get_object (current), step->key)
                        : json_array_get_element (json_node_get_array (current), step->index);
  }
  g_return_val_if_reached (FALSE);
}

/* ---- what the runner needs ------------------------------------------------------------------ */

gboolean
portico_scenario_uses_tls (const PorticoScenario *s)
{
  for (guint i = 0; i < s->nodes->len; i++) {
    if (((PorticoScenarioNode *) g_ptr_array_index (s->nodes, i))->tls)
      return TRUE;
  }
  for (guint i = 0; i < s->services->len; i++) {
    if (((PorticoScenarioService *) g_ptr_array_index (s->services, i))->tls)
      return TRUE;
  }
  return FALSE;
}

/* A LookupFunc that notes in *@data whether the party named listens with TLS. */
static char *
tls_lookup (const PorticoScenario *s, PorticoPartyKind kind, const char *name, guint instance,
            gpointer data, char **problem)
{
  gboolean *tls = data;

  if (kind == PORTICO_PARTY_NODE)
    *tls = *tls || portico_scenario_find_node (s, name)->tls;
  else
    *tls = *tls || portico_scenario_find_service (s, name)->tls;
  return g_strdup ("");
}

/* Whether @text names, by a placeholder, a party that listens with TLS. */
static gboolean
names_tls_party (const PorticoScenario *s, const char *text)
{
  gboolean tls = FALSE;
  g_autofree char *problem = NULL;

  /* The expansion is only walked for its placeholders: tls_lookup notes
   * whether one names a TLS party. */
  if (text != NULL)
    g_free (expand_string (s, text, tls_lookup, &tls, &problem));
  return tls;
}

static const char *
string_member (JsonObject *object, const char *key)
{
  JsonNode *node = object ? portico_json_member (object, key) : NULL;

  return node ? portico_json_string (node) : NULL;
}

static JsonArray *
array_member (JsonObject *object, const char *key)
{
  JsonNode *node = object ? portico_json_member (object, key) : NULL;

  return node && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static JsonObject *
object_element (JsonArray *array, guint i)
{
  JsonNode *node = json_array_get_element (array, i);

  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* Whether @service (of @config's "services") reaches a TLS party: by its
 * url's host, or by a target of the upstream its host names. */
static gboolean
service_reaches_tls (const PorticoScenario *s, JsonObject *config, JsonObject *service)
{
  const char *url = string_member (service, "url"), *host = string_member (service, "host");
  JsonArray *upstreams = array_member (config, "upstreams");

  if (url)
    return names_tls_party (s, url);
  if (names_tls_party (s, host))
    return TRUE;
  for (guint i = 0; host && upstreams && i < json_array_get_length (upstreams); i++) {
    JsonObject *upstream = object_element (upstreams, i);
    JsonArray *targets = array_member (upstream, "targets");

    if (g_strcmp0 (string_member (upstream, "name"), host) != 0)
      continue;
    for (guint t = 0; targets && t < json_array_get_length (targets); t++) {
      if (names_tls_party (s, string_member (object_element (targets, t), "target")))
        return TRUE;
    }
  }
  return FALSE;
}

static void
service_use_tls (JsonObject *service, const char *ca_path)
{
  const char *url = string_member (service, "url");
  JsonNode *verify = portico_json_member (service, "tls_verify");
  JsonArray *cas;

  if (url && g_str_has_prefix (url, "http://")) {
    g_autofree char *https = g_strconcat ("https://", url + strlen ("http://"), NULL);

    json_object_set_string_member (service, "url", https);
  } else if (!url) {
    json_object_set_string_member (service, "protocol", "https");
  }
  if (portico_json_member (service, "ca_certificates") ||
      (verify && JSON_NODE_HOLDS_VALUE (verify) &&
       json_node_get_value_type (verify) == G_TYPE_BOOLEAN && !json_node_get_boolean (verify)))
    return;
  cas = json_array_new ();
  json_array_add_string_element (cas, ca_path);
  json_object_set_array_member (service, "ca_certificates", cas);
}

JsonNode *
portico_scenario_config_tls (const PorticoScenario *s, const PorticoScenarioNode *node,
                             JsonNode *config, const PorticoLabPki *pki)
{
  JsonNode *copy = portico_scenario_deep_copy (config);
  JsonObject *root = JSON_NODE_HOLDS_OBJECT (copy) ? json_node_get_object (copy) : NULL;
  JsonArray *services = array_member (root, "services");
  JsonNode *section = root ? portico_json_member (root, "node") : NULL;

  for (guint i = 0; services && i < json_array_get_length (services); i++) {
    JsonObject *service = object_element (services, i);

    if (service && service_reaches_tls (s, root, service))
      service_use_tls (service, pki->ca_path);
  }
  if (node->tls && root) {
    JsonArray *certificates = array_member (root, "certificates");
    JsonObject *lab = json_object_new ();

    if (!certificates) {
      certificates = json_array_new ();
      json_object_set_array_member (root, "certificates", certificates);
    }
    json_object_set_string_member (lab, "id", "portico-lab");
    json_object_set_string_member (lab, "cert_path", pki->cert_path);
    json_object_set_string_member (lab, "key_path", pki->key_path);
    json_array_add_object_element (certificates, lab);
    if (section && JSON_NODE_HOLDS_OBJECT (section) &&
        !portico_json_member (json_node_get_object (section), "ssl_default_certificate"))
      json_object_set_string_member (json_node_get_object (section), "ssl_default_certificate",
                                     "portico-lab");
  }
  return copy;
}

GStrv
portico_scenario_mock_argv (const PorticoScenarioService *service, guint instance)
{
  const PorticoScenarioMock *mock = &service->mock;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_null_terminated (16, g_free, TRUE);
  char ratio[G_ASCII_DTOSTR_BUF_SIZE];

  g_ptr_array_add (argv, g_strdup ("--listen"));
  g_ptr_array_add (argv, g_strdup ("127.0.0.1:0"));
  g_ptr_array_add (argv, g_strdup ("--name"));
  g_ptr_array_add (argv, service->instances > 1 ? g_strdup_printf ("%s.%u", service->name, instance)
                                                : g_strdup (service->name));
  g_ptr_array_add (argv, g_strdup_printf ("--status=%u", mock->status));
  if (mock->body)
    g_ptr_array_add (argv, g_strdup_printf ("--body=%s", mock->body));
  if (mock->body_bytes >= 0)
    g_ptr_array_add (argv, g_strdup_printf ("--body-bytes=%" G_GINT64_FORMAT, mock->body_bytes));
  for (guint i = 0; i < mock->headers->len; i++) {
    PorticoScenarioHeader *h = g_ptr_array_index (mock->headers, i);

    g_ptr_array_add (argv, g_strdup_printf ("--header=%s: %s", h->name, h->value));
  }
  if (mock->latency_ms)
    g_ptr_array_add (argv, g_strdup_printf ("--latency-ms=%u", mock->latency_ms));
  if (mock->chunked)
    g_ptr_array_add (argv, g_strdup ("--chunked"));
  if (mock->fail_ratio > 0)
    g_ptr_array_add (argv, g_strdup_printf ("--fail-ratio=%s",
                                            portico_scenario_format_number (ratio, sizeof ratio,
                                                                            mock->fail_ratio)));
  if (mock->close_mid_body)
    g_ptr_array_add (argv, g_strdup ("--close-mid-body"));
  return (GStrv) g_ptr_array_steal (argv, NULL);
}

void
portico_scenario_link_props_to_link (const PorticoScenarioLinkProps *props, PorticoLinkProps *out)
{
  out->latency_ms = props->latency_ms;
  out->jitter_ms = props->jitter_ms;
  out->bandwidth_bps = (guint64) props->bandwidth_kbps * 1000 / 8;
  out->reset_ratio = props->reset_ratio;
  out->down = props->down;
}
