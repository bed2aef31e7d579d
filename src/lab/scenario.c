/* lab/scenario.c: loads and validates a scenario file (see scenario.h).
 *
 * Like core/config.c, the loader walks the document once with a
 * PorticoJsonReader, building the model as it goes and recording every
 * problem at its JSON path without stopping. Sections are read in a fixed
 * order because later ones refer to earlier ones, whatever their order in
 * the file: services, nodes (their placeholders name services and nodes),
 * consumers, traffic (which may name consumers into being and sets the
 * duration), links, events, narration, variants, expectations. An entity
 * is registered only once its name is valid, so that one bad name is one
 * error and not one more at each reference to it.
 *
 * This file holds the model's life, the lookups, the document and the
 * variants; scenario-read.c reads the sections up to the links,
 * scenario-events.c the events and narration, scenario-json.c what works
 * on the JSON itself (placeholders, paths) and what the runner needs.
 */
#include "lab/scenario-private.h"

#include <string.h>

G_DEFINE_QUARK (portico-scenario-error-quark, portico_scenario_error)

static PorticoScenario *load_root (JsonNode *root, const char *source, gboolean with_variants,
                                   GPtrArray *errors);

/* ---- the model's life ------------------------------------------------------------ */

static void
node_free (gpointer data)
{
  PorticoScenarioNode *node = data;

  g_free (node->name);
  g_free (node->json_path);
  g_clear_pointer (&node->config, json_node_unref);
  g_free (node);
}

void
portico_scenario_service_free (gpointer data)
{
  PorticoScenarioService *service = data;

  g_free (service->name);
  g_free (service->mock.body);
  g_ptr_array_unref (service->mock.headers);
  g_free (service);
}

static void
consumer_free (gpointer data)
{
  PorticoScenarioConsumer *consumer = data;

  g_free (consumer->name);
  g_ptr_array_unref (consumer->headers);
  g_free (consumer);
}

static void
link_free (gpointer data)
{
  PorticoScenarioLink *link = data;

  g_free (link->name);
  g_free (link->from);
  g_free (link->to);
  g_free (link);
}

static void
traffic_free (gpointer data)
{
  PorticoScenarioTraffic *t = data;

  g_free (t->name);
  g_free (t->consumer);
  g_free (t->to);
  g_free (t->method);
  g_free (t->path);
  g_ptr_array_unref (t->headers);
  g_clear_pointer (&t->body, g_bytes_unref);
  g_free (t);
}

static void
event_free (gpointer data)
{
  PorticoScenarioEvent *event = data;

  g_free (event->json_path);
  g_free (event->node);
  g_free (event->service);
  g_free (event->link);
  g_free (event->consumer);
  g_clear_pointer (&event->config, json_node_unref);
  g_free (event);
}

static void
narration_free (gpointer data)
{
  PorticoScenarioNarration *narration = data;

  g_free (narration->say);
  g_free (narration);
}

static void
variant_free (gpointer data)
{
  PorticoScenarioVariant *variant = data;

  g_free (variant->name);
  g_clear_pointer (&variant->set, json_node_unref);
  g_free (variant);
}

void
portico_scenario_free (PorticoScenario *s)
{
  if (!s)
    return;
  g_free (s->source);
  g_free (s->variant);
  g_free (s->name);
  g_free (s->teaches);
  g_free (s->description);
  g_ptr_array_unref (s->nodes);
  g_ptr_array_unref (s->services);
  g_ptr_array_unref (s->consumers);
  g_ptr_array_unref (s->links);
  g_ptr_array_unref (s->traffic);
  g_ptr_array_unref (s->events);
  g_ptr_array_unref (s->narration);
  g_ptr_array_unref (s->variants);
  g_ptr_array_unref (s->expect);
  g_strfreev (s->count_headers);
  g_clear_pointer (&s->root, json_node_unref);
  g_free (s);
}

static PorticoScenario *
scenario_new (const char *source)
{
  PorticoScenario *s = g_new0 (PorticoScenario, 1);

  s->source = g_strdup (source);
  s->nodes = g_ptr_array_new_with_free_func (node_free);
  s->services = g_ptr_array_new_with_free_func (portico_scenario_service_free);
  s->consumers = g_ptr_array_new_with_free_func (consumer_free);
  s->links = g_ptr_array_new_with_free_func (link_free);
  s->traffic = g_ptr_array_new_with_free_func (traffic_free);
  s->events = g_ptr_array_new_with_free_func (event_free);
  s->narration = g_ptr_array_new_with_free_func (narration_free);
  s->variants = g_ptr_array_new_with_free_func (variant_free);
  s->expect = g_ptr_array_new_with_free_func ((GDestroyNotify) portico_expect_free);
  return s;
}

/* ---- lookups --------------------------------------------------------------------- */

/* Every entity type starts with its name. */
gpointer
portico_scenario_find_named (GPtrArray *array, const char *name)
{
  for (guint i = 0; name && i < array->len; i++) {
    char **entity_name = g_ptr_array_index (array, i);

    if (g_str_equal (*entity_name, name))
      return entity_name;
  }
  return NULL;
}

PorticoScenarioNode *
portico_scenario_find_node (const PorticoScenario *s, const char *name)
{
  return portico_scenario_find_named (s->nodes, name);
}

PorticoScenarioService *
portico_scenario_find_service (const PorticoScenario *s, const char *name)
{
  return portico_scenario_find_named (s->services, name);
}

PorticoScenarioConsumer *
portico_scenario_find_consumer (const PorticoScenario *s, const char *name)
{
  return portico_scenario_find_named (s->consumers, name);
}

PorticoScenarioLink *
portico_scenario_find_link (const PorticoScenario *s, const char *name)
{
  return portico_scenario_find_named (s->links, name);
}

PorticoScenarioLink *
portico_scenario_link_between (const PorticoScenario *s, PorticoPartyKind from_kind,
                               const char *from, PorticoPartyKind to_kind, const char *to)
{
  for (guint i = 0; i < s->links->len; i++) {
    PorticoScenarioLink *link = g_ptr_array_index (s->links, i);

    if (link->from_kind == from_kind && link->to_kind == to_kind && g_str_equal (link->from,
                                                                                 from) &&
        g_str_equal (link->to, to))
      return link;
  }
  return NULL;
}

/* ---- variants and expectations ------------------------------------------------------- */

/* Applies each path of @set to @root; records an error per path that
 * cannot be set (at "set", the reader being at the variant). */
static gboolean
apply_set (PorticoJsonReader *r, JsonNode *root, JsonObject *set, const char *variant,
           GError **error)
{
  g_autoptr(GList) paths = json_object_get_members (set);
  gboolean ok = TRUE;

  for (GList *l = paths; l; l = l->next) {
    g_autofree char *problem = NULL;

    if (g_str_has_prefix (l->data, "variants") &&
        strchr (".[", ((char *) l->data)[strlen ("variants")]))
      problem = g_strdup ("a variant cannot change the variants");
    else if (portico_scenario_json_path_set (root, l->data, json_object_get_member (set, l->data),
                                             &problem))
      continue;
    if (r)
      portico_json_reader_error (r, "set", "\"%s\": %s (variant \"%s\")", (char *) l->data, problem,
                                 variant);
    else if (ok)
      g_set_error (error, PORTICO_SCENARIO_ERROR, PORTICO_SCENARIO_ERROR_VARIANT,
                   "variant \"%s\": \"%s\": %s", variant, (char *) l->data, problem);
    ok = FALSE;
  }
  return ok;
}

static void
load_variant (PorticoJsonReader *r, JsonNode *element, gpointer data)
{
  static const char *const keys[] = { "name", "set", NULL };
  PorticoScenarioLoader *ld = data;
  PorticoScenarioVariant *variant;
  JsonObject *object, *set = NULL;
  const char *name, *first;

  if (!(object = portico_json_reader_as_object (r, element, keys)))
    return;
  portico_json_reader_get_object (r, object, "set", NULL, &set);
  if (!(name = portico_json_reader_require_string (r, object, "name")) ||
      !portico_scenario_check_name (r, "name", name))
    return;
  portico_json_reader_push_key (r, "name");
  first = portico_json_reader_claim (r, "variant", name);
  if (first)
    portico_json_reader_error (r, NULL, "duplicate variant name \"%s\" (also at %s)", name, first);
  portico_json_reader_pop (r);
  if (set) {
    g_autoptr(JsonNode) copy = portico_scenario_deep_copy (ld->s->root);

    apply_set (r, copy, set, name, NULL);
  }
  if (first)
    return;
  variant = g_new0 (PorticoScenarioVariant, 1);
  variant->name = g_strdup (name);
  variant->set = json_node_init_object (json_node_alloc (), set ? set : json_object_new ());
  if (!set)
    json_object_unref (json_node_get_object (variant->set));
  g_ptr_array_add (ld->s->variants, variant);
}

static GStrv
names_of (GPtrArray *array)
{
  GStrv names = g_new0 (char *, array->len + 1);

  for (guint i = 0; i < array->len; i++)
    names[i] = g_strdup (*(char **) g_ptr_array_index (array, i));
  return names;
}

static void
load_expectation (PorticoJsonReader *r, JsonNode *element, gpointer data)
{
  PorticoScenarioLoader *ld = data;
  g_auto(GStrv) variants = names_of (ld->s->variants);
  g_auto(GStrv) nodes = names_of (ld->s->nodes);
  g_auto(GStrv) traffic = names_of (ld->s->traffic);
  g_auto(GStrv) services = names_of (ld->s->services);
  PorticoExpectNames names = { (const char *const *) variants, (const char *const *) nodes,
                               (const char *const *) traffic, (const char *const *) services };
  PorticoExpect *expect = portico_expect_load (r, element, &names);

  if (expect)
    g_ptr_array_add (ld->s->expect, expect);
}

/* The headers the traffic must count, for header_seen. */
static GStrv
count_headers (GPtrArray *expect)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_null_terminated (0, g_free, TRUE);

  for (guint i = 0; i < expect->len; i++) {
    PorticoExpect *e = g_ptr_array_index (expect, i);

    if (e->figure == PORTICO_FIGURE_HEADER_SEEN &&
        !g_ptr_array_find_with_equal_func (names, e->header, g_str_equal, NULL))
      g_ptr_array_add (names, g_strdup (e->header));
  }
  if (names->len == 0) /* an empty array may never have allocated its storage */
    return g_new0 (char *, 1);
  return (GStrv) g_ptr_array_steal (names, NULL);
}

/* ---- the document ---------------------------------------------------------------------- */

static void
load_document (PorticoScenarioLoader *ld, JsonNode *root)
{
  static const char *const keys[] = { "name", "teaches", "description", "duration_s", "gateway",
                                      "nodes", "services", "links", "consumers", "traffic",
                                      "events", "narration", "variants", "expect", NULL };
  PorticoScenario *s = ld->s;
  JsonObject *object;
  const char *text;

  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    portico_json_reader_error (ld->r, NULL, "must be a JSON object");
    return;
  }
  object = json_node_get_object (root);
  portico_json_reader_check_keys (ld->r, object, keys);
  if ((text = portico_json_reader_require_string (ld->r, object, "name")) &&
      portico_scenario_check_name (ld->r, "name", text))
    s->name = g_strdup (text);
  if ((text = portico_json_reader_require_string (ld->r, object, "teaches"))) {
    if (strchr (text, '\n'))
      portico_json_reader_error (ld->r, "teaches", "must be one line (put more in description)");
    s->teaches = g_strdup (text);
  }
  if (portico_json_reader_get_nonempty_string (ld->r, object, "description", &text) ==
      PORTICO_JSON_FIELD_OK)
    s->description = g_strdup (text);

  portico_scenario_load_services (ld, object);
  portico_scenario_load_nodes (ld, object);
  for (guint i = 0; i < s->nodes->len; i++) {
    PorticoScenarioNode *node = g_ptr_array_index (s->nodes, i);
    g_hash_table_insert (ld->node_configs, node->name, json_node_ref (node->config));
  }
  portico_scenario_load_consumers (ld, object);
  portico_scenario_load_traffic (ld, object);
  portico_json_reader_foreach (ld->r, object, "links", portico_scenario_load_link, ld);
  portico_json_reader_foreach (ld->r, object, "events", portico_scenario_load_event, ld);
  portico_json_reader_foreach (ld->r, object, "narration", portico_scenario_load_narration, ld);
  portico_json_reader_foreach (ld->r, object, "variants", load_variant, ld);
  portico_json_reader_foreach (ld->r, object, "expect", load_expectation, ld);
  s->count_headers = count_headers (s->expect);
}

/* Loads @root (taken); every error found goes to @errors ("path: message").
 * A valid scenario's variants are loaded too, their errors prefixed. */
static PorticoScenario *
load_root (JsonNode *root, const char *source, gboolean with_variants, GPtrArray *errors)
{
  g_autoptr(PorticoJsonReader) reader = portico_json_reader_new ();
  g_autoptr(PorticoScenario) s = scenario_new (source);
  GPtrArray *found = portico_json_reader_get_errors (reader);
  PorticoScenarioLoader ld = { .r = reader, .s = s };

  s->root = root;
  ld.link_props = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  ld.node_configs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                           (GDestroyNotify) json_node_unref);
  load_document (&ld, root);
  g_hash_table_unref (ld.link_props);
  g_hash_table_unref (ld.node_configs);
  for (guint i = 0; i < found->len; i++)
    g_ptr_array_add (errors, g_strdup (g_ptr_array_index (found, i)));
  if (found->len > 0)
    return NULL;

  for (guint i = 0; with_variants && i < s->variants->len; i++) {
    PorticoScenarioVariant *variant = g_ptr_array_index (s->variants, i);
    g_autoptr(GPtrArray) variant_errors = g_ptr_array_new_with_free_func (g_free);
    JsonNode *document = portico_scenario_variant_json (s, variant->name, NULL);
    /* Loaded only to be checked: its errors are what counts. */
    PorticoScenario *loaded = load_root (document, source, FALSE, variant_errors);
    if (loaded != NULL)
      portico_scenario_free (loaded);

    for (guint j = 0; j < variant_errors->len; j++)
      g_ptr_array_add (errors, g_strdup_printf ("variants[%u] (%s): %s", i, variant->name,
                                                (char *) g_ptr_array_index (variant_errors, j)));
  }
  return errors->len > 0 ? NULL : g_steal_pointer (&s);
}

static PorticoScenario *
finish_load (JsonNode *root, const char *source, const char *variant, GPtrArray *errors,
             GError **error)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  PorticoScenario *s = root ? load_root (root, source, variant == NULL, found) : NULL;

  if (s) {
    s->variant = g_strdup (variant);
    return s;
  }
  g_set_error (error, PORTICO_SCENARIO_ERROR, PORTICO_SCENARIO_ERROR_INVALID, "%s: %u error%s",
               source, found->len, found->len == 1 ? "" : "s");
  for (guint i = 0; errors && i < found->len; i++)
    g_ptr_array_add (errors, g_strdup (g_ptr_array_index (found, i)));
  return NULL;
}

PorticoScenario *
portico_scenario_load_data (const char *data, gssize len, const char *source, GPtrArray *errors,
                            GError **error)
{
  g_autoptr(PorticoJsonReader) reader = portico_json_reader_new ();
  JsonNode *root;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  source = source ? source : "<embedded>";
  if (!(root = portico_json_reader_parse (reader, data, len))) {
    GPtrArray *found = portico_json_reader_get_errors (reader);

    g_set_error (error, PORTICO_SCENARIO_ERROR, PORTICO_SCENARIO_ERROR_INVALID, "%s: 1 error",
                 source);
    if (errors)
      g_ptr_array_add (errors, g_strdup (g_ptr_array_index (found, 0)));
    return NULL;
  }
  return finish_load (root, source, NULL, errors, error);
}

PorticoScenario *
portico_scenario_load_file (const char *path, GPtrArray *errors, GError **error)
{
  g_autofree char *data = NULL;
  gsize len;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_get_contents (path, &data, &len, error))
    return NULL;
  return portico_scenario_load_data (data, (gssize) len, path, errors, error);
}

JsonNode *
portico_scenario_variant_json (const PorticoScenario *s, const char *variant, GError **error)
{
  PorticoScenarioVariant *v = portico_scenario_find_named (s->variants, variant);
  g_autoptr(JsonNode) root = NULL;

  if (!v) {
    g_set_error (error, PORTICO_SCENARIO_ERROR, PORTICO_SCENARIO_ERROR_VARIANT,
                 "no variant \"%s\" in scenario \"%s\"", variant, s->name);
    return NULL;
  }
  root = portico_scenario_deep_copy (s->root);
  if (!apply_set (NULL, root, json_node_get_object (v->set), v->name, error))
    return NULL;
  return g_steal_pointer (&root);
}

PorticoScenario *
portico_scenario_load_variant (const PorticoScenario *s, const char *variant, GPtrArray *errors,
                               GError **error)
{
  JsonNode *root = portico_scenario_variant_json (s, variant, error);

  return root ? finish_load (root, s->source, variant, errors, error) : NULL;
}

GStrv
portico_scenario_run_names (const PorticoScenario *s)
{
  if (s->variants->len == 0)
    return g_strdupv ((GStrv) (const char *const[]) { "default", NULL });
  return names_of (s->variants);
}

