/* lab/scenario-read.c: the sections of a scenario up to the links:
 * services, nodes, consumers, traffic and links, and the small readers
 * every section shares (numbers, names, headers, references). How the
 * loader works is said at the top of scenario.c.
 */
#include "lab/scenario-private.h"

#include <math.h>
#include <string.h>

/* ---- small readers -------------------------------------------------------------- */

/* %.15g prints 1000000 as such, and 0.1 as 0.1; in any locale. */
const char *
portico_scenario_format_number (char *buffer, gsize size, double value)
{
  return g_ascii_formatd (buffer, size, "%.15g", value);
}

PorticoJsonField
portico_scenario_get_number (PorticoJsonReader *r, JsonObject *object, const char *key, double min,
                             double max,
            double *out)
{
  JsonNode *node = portico_json_member (object, key);
  char low[G_ASCII_DTOSTR_BUF_SIZE], high[G_ASCII_DTOSTR_BUF_SIZE];
  GType type;
  double value = NAN;

  if (!node)
    return PORTICO_JSON_FIELD_ABSENT;
  type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  if (type == G_TYPE_INT64)
    value = (double) json_node_get_int (node);
  else if (type == G_TYPE_DOUBLE)
    value = json_node_get_double (node);
  if (!(value >= min && value <= max)) {
    portico_json_reader_error (r, key, "must be a number between %s and %s",
                               portico_scenario_format_number (low, sizeof low, min),
                               portico_scenario_format_number (high, sizeof high, max));
    return PORTICO_JSON_FIELD_INVALID;
  }
  *out = value;
  return PORTICO_JSON_FIELD_OK;
}

/* One of @names (NULL-terminated): its index, or @fallback when absent or wrong. */
int
portico_scenario_get_enum (PorticoJsonReader *r, JsonObject *object, const char *key,
                           const char *const *names,
          int fallback)
{
  const char *value = NULL;

  if (portico_json_reader_get_string (r, object, key, &value) != PORTICO_JSON_FIELD_OK)
    return fallback;
  for (int i = 0; names[i]; i++) {
    if (g_str_equal (names[i], value))
      return i;
  }
  {
    g_autofree char *list = g_strjoinv (", ", (GStrv) names);

    portico_json_reader_error (r, key, "must be one of: %s", list);
  }
  return fallback;
}

static gboolean
valid_name (const char *name)
{
  if (!*name || strlen (name) > MAX_NAME_LEN)
    return FALSE;
  for (const char *p = name; *p; p++) {
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      return FALSE;
  }
  return TRUE;
}

/* Records the error at "path.key" (the reader's path itself when @key is NULL). */
gboolean
portico_scenario_check_name (PorticoJsonReader *r, const char *key, const char *name)
{
  if (valid_name (name))
    return TRUE;
  portico_json_reader_error (r, key,
                             "a name may only hold letters, digits, \"_\" and \"-\" (1 to %d)",
                             MAX_NAME_LEN);
  return FALSE;
}

/* RFC 9110 token: header names and methods. */
static gboolean
valid_token (const char *text)
{
  if (!*text)
    return FALSE;
  for (const char *p = text; *p; p++) {
    if (!g_ascii_isalnum (*p) && !strchr ("!#$%&'*+-.^_`|~", *p))
      return FALSE;
  }
  return TRUE;
}

static gboolean
has_control (const char *text, gboolean tab_ok)
{
  for (const guchar *p = (const guchar *) text; *p; p++) {
    if ((*p < 0x20 && !(tab_ok && *p == '\t')) || *p == 0x7f)
      return TRUE;
  }
  return FALSE;
}

static void
header_free (gpointer data)
{
  PorticoScenarioHeader *header = data;

  g_free (header->name);
  g_free (header->value);
  g_free (header);
}

static void
headers_put (GPtrArray *headers, const char *name, const char *value)
{
  PorticoScenarioHeader *header;

  for (guint i = 0; i < headers->len; i++) {
    header = g_ptr_array_index (headers, i);
    if (g_ascii_strcasecmp (header->name, name) == 0) {
      g_free (header->value);
      header->value = g_strdup (value);
      return;
    }
  }
  header = g_new (PorticoScenarioHeader, 1);
  header->name = g_strdup (name);
  header->value = g_strdup (value);
  g_ptr_array_add (headers, header);
}

/* "headers": {"Name": "value", ...}; @set_by names who sets the @reserved
 * ones (lower-case) itself. */
static GPtrArray *
load_headers (PorticoJsonReader *r, JsonObject *object, const char *set_by)
{
  static const char *const reserved[] = { "content-length", "transfer-encoding", "connection",
                                          NULL };
  GPtrArray *headers = g_ptr_array_new_with_free_func (header_free);
  JsonObject *given = NULL;
  GList *names;

  if (portico_json_reader_get_object (r, object, "headers", NULL, &given) != PORTICO_JSON_FIELD_OK)
    return headers;
  portico_json_reader_push_key (r, "headers");
  names = json_object_get_members (given);
  for (GList *l = names; l; l = l->next) {
    const char *value;
    g_autofree char *lower = g_ascii_strdown (l->data, -1);

    if (!valid_token (l->data))
      portico_json_reader_error (r, l->data, "is not a valid header name");
    else if (g_strv_contains (reserved, lower))
      portico_json_reader_error (r, l->data, "is set by %s itself", set_by);
    else if (portico_json_reader_get_string (r, given, l->data, &value) != PORTICO_JSON_FIELD_OK)
      continue;
    else if (has_control (value, TRUE))
      portico_json_reader_error (r, l->data, "must not hold control characters");
    else
      headers_put (headers, l->data, value);
  }
  g_list_free (names);
  portico_json_reader_pop (r);
  return headers;
}

/* Reads a reference to an entity of @array under @key: required, or when
 * absent the only one there is (@only_default). NULL after an error. */
gpointer
portico_scenario_get_reference (PorticoJsonReader *r, JsonObject *object, const char *key,
                                GPtrArray *array,
               const char *kind, gboolean only_default)
{
  const char *name = NULL;
  gpointer found;

  if (portico_json_reader_get_nonempty_string (r, object, key, &name) == PORTICO_JSON_FIELD_INVALID)
    return NULL;
  if (!name) {
    if (only_default && array->len == 1)
      return g_ptr_array_index (array, 0);
    if (only_default && array->len > 1)
      portico_json_reader_error (r, key, "is required: the scenario has several %ss", kind);
    else
      portico_json_reader_error (r, key, "is required");
    return NULL;
  }
  if (!(found = portico_scenario_find_named (array, name)))
    portico_json_reader_error (r, key, "unknown %s \"%s\"", kind, name);
  return found;
}

/* ---- services -------------------------------------------------------------------- */

static void
load_mock (PorticoJsonReader *r, JsonObject *service, PorticoScenarioMock *mock)
{
  static const char *const keys[] = { "status", "body", "body_bytes", "headers", "latency_ms",
                                      "chunked", "fail_ratio", "close_mid_body", NULL };
  JsonObject *object = NULL;
  const char *body = NULL;

  if (portico_json_reader_get_object (r, service, "mock", keys, &object) != PORTICO_JSON_FIELD_OK)
    return;
  portico_json_reader_push_key (r, "mock");
  portico_json_reader_get_uint (r, object, "status", 200, 599, &mock->status);
  if (portico_json_reader_get_string (r, object, "body", &body) == PORTICO_JSON_FIELD_OK)
    mock->body = g_strdup (body);
  if (portico_json_reader_get_int (r, object, "body_bytes", 0, G_GINT64_CONSTANT (1) << 30,
                                   &mock->body_bytes) == PORTICO_JSON_FIELD_OK && body)
    portico_json_reader_error (r, "body_bytes", "excludes body: give one or the other");
  g_ptr_array_unref (mock->headers);
  mock->headers = load_headers (r, object, "the mock");
  portico_json_reader_get_uint (r, object, "latency_ms", 0, MAX_MS, &mock->latency_ms);
  portico_json_reader_get_bool (r, object, "chunked", &mock->chunked);
  portico_scenario_get_number (r, object, "fail_ratio", 0, 1, &mock->fail_ratio);
  portico_json_reader_get_bool (r, object, "close_mid_body", &mock->close_mid_body);
  portico_json_reader_pop (r);
}

void
portico_scenario_load_services (PorticoScenarioLoader *ld, JsonObject *root)
{
  static const char *const keys[] = { "mock", "instances", "tls", NULL };
  JsonObject *services = NULL;
  GList *names;

  if (portico_json_reader_get_object (ld->r, root, "services", NULL, &services) !=
      PORTICO_JSON_FIELD_OK)
    return;
  portico_json_reader_push_key (ld->r, "services");
  names = json_object_get_members (services);
  for (GList *l = names; l; l = l->next) {
    PorticoScenarioService *service = g_new0 (PorticoScenarioService, 1);
    JsonObject *object;

    service->name = g_strdup (l->data);
    service->instances = 1;
    service->mock.status = 200;
    service->mock.body_bytes = -1;
    service->mock.headers = g_ptr_array_new_with_free_func (header_free);
    portico_json_reader_push_key (ld->r, l->data);
    if ((object = portico_json_reader_as_object (ld->r, json_object_get_member (services, l->data),
                                                 keys))) {
      portico_json_reader_get_uint (ld->r, object, "instances", 1, MAX_INSTANCES,
                                    &service->instances);
      portico_json_reader_get_bool (ld->r, object, "tls", &service->tls);
      load_mock (ld->r, object, &service->mock);
    }
    if (portico_scenario_check_name (ld->r, NULL, l->data))
      g_ptr_array_add (ld->s->services, service);
    else
      portico_scenario_service_free (service);
    portico_json_reader_pop (ld->r);
  }
  g_list_free (names);
  portico_json_reader_pop (ld->r);
}

/* ---- nodes ----------------------------------------------------------------------- */

static void
set_default (JsonObject *object, const char *key, JsonNode *value)
{
  if (!portico_json_member (object, key))
    json_object_set_member (object, key, value);
  else
    json_node_unref (value);
}

/* A node's config with the scenario's defaults: every node picks free
 * ports, so that nodes never clash with each other or with the machine.
 * node.tls is the lab's, not the gateway's: read by add_node(), taken out. */
static JsonNode *
node_config_new (JsonNode *written)
{
  JsonNode *config = portico_scenario_deep_copy (written);
  JsonObject *object = json_node_get_object (config);
  JsonNode *node_section;

  set_default (object, "_format_version", json_node_init_string (json_node_alloc (), "1"));
  if (!portico_json_member (object, "node"))
    json_object_set_object_member (object, "node", json_object_new ());
  node_section = json_object_get_member (object, "node");
  if (JSON_NODE_HOLDS_OBJECT (node_section)) {
    JsonObject *node = json_node_get_object (node_section);
    JsonArray *listen = json_array_new ();

    json_array_add_string_element (listen, "127.0.0.1:0");
    set_default (node, "listen", json_node_init_array (json_node_alloc (), listen));
    json_array_unref (listen);
    set_default (node, "admin_listen", json_node_init_string (json_node_alloc (), "127.0.0.1:0"));
    json_object_remove_member (node, "tls");
  }
  return config;
}

static void
add_node (PorticoScenarioLoader *ld, const char *name, const char *json_path, JsonNode *written)
{
  PorticoScenarioNode *node;
  JsonObject *object;
  JsonNode *section;

  if (!(object = portico_json_reader_as_object (ld->r, written, NULL)))
    return;
  node = g_new0 (PorticoScenarioNode, 1);
  node->name = g_strdup (name);
  node->json_path = g_strdup (json_path);
  node->config = node_config_new (written);
  if ((section = portico_json_member (object, "node")) && JSON_NODE_HOLDS_OBJECT (section)) {
    portico_json_reader_push_key (ld->r, "node");
    portico_json_reader_get_bool (ld->r, json_node_get_object (section), "tls", &node->tls);
    portico_json_reader_pop (ld->r);
  }
  g_ptr_array_add (ld->s->nodes, node);
}

/* Records "path: message" problems of a config under the reader's path. */
static void
report_problems (PorticoJsonReader *r, GPtrArray *problems)
{
  for (guint i = 0; i < problems->len; i++) {
    const char *problem = g_ptr_array_index (problems, i);
    const char *colon = strstr (problem, ": ");
    g_autofree char *where = colon ? g_strndup (problem, colon - problem) : NULL;

    portico_json_reader_error (r, where, "%s", colon ? colon + 2 : problem);
  }
}

void
portico_scenario_load_nodes (PorticoScenarioLoader *ld, JsonObject *root)
{
  JsonNode *gateway = portico_json_member (root, "gateway");
  JsonObject *nodes = NULL;

  if (gateway && portico_json_member (root, "nodes")) {
    portico_json_reader_error (ld->r, "nodes",
                               "excludes gateway: write one node as gateway, several as nodes");
  } else if (gateway) {
    portico_json_reader_push_key (ld->r, "gateway");
    add_node (ld, "gateway", "gateway", gateway);
    portico_json_reader_pop (ld->r);
  } else if (portico_json_reader_get_object (ld->r, root, "nodes", NULL, &nodes) ==
             PORTICO_JSON_FIELD_OK) {
    GList *names = json_object_get_members (nodes);

    if (!names)
      portico_json_reader_error (ld->r, "nodes", "must name at least one node");
    portico_json_reader_push_key (ld->r, "nodes");
    for (GList *l = names; l; l = l->next) {
      g_autofree char *json_path = g_strconcat ("nodes.", l->data, NULL);

      portico_json_reader_push_key (ld->r, l->data);
      if (portico_scenario_check_name (ld->r, NULL, l->data))
        add_node (ld, l->data, json_path, json_object_get_member (nodes, l->data));
      portico_json_reader_pop (ld->r);
    }
    portico_json_reader_pop (ld->r);
    g_list_free (names);
  } else if (!portico_json_member (root, "nodes")) {
    portico_json_reader_error (ld->r, "gateway", "is required (or nodes, for several nodes)");
  }

  /* Once every node is known, since one node's config may name another. */
  for (guint i = 0; i < ld->s->nodes->len; i++) {
    PorticoScenarioNode *node = g_ptr_array_index (ld->s->nodes, i);
    g_autoptr(GPtrArray) problems = portico_scenario_config_problems (ld->s, node->config,
                                                                      &node->workers);

    portico_json_reader_push_key (ld->r, node->json_path);
    report_problems (ld->r, problems);
    portico_json_reader_pop (ld->r);
  }
}

/* ---- consumers and traffic --------------------------------------------------------- */

static PorticoScenarioConsumer *
add_consumer (PorticoScenarioLoader *ld, const char *name)
{
  PorticoScenarioConsumer *consumer = g_new0 (PorticoScenarioConsumer, 1);

  consumer->name = g_strdup (name);
  consumer->headers = g_ptr_array_new_with_free_func (header_free);
  g_ptr_array_add (ld->s->consumers, consumer);
  return consumer;
}

void
portico_scenario_load_consumers (PorticoScenarioLoader *ld, JsonObject *root)
{
  static const char *const keys[] = { "headers", "description", NULL };
  JsonObject *consumers = NULL;
  GList *names;

  if (portico_json_reader_get_object (ld->r, root, "consumers", NULL, &consumers) !=
      PORTICO_JSON_FIELD_OK)
    return;
  ld->consumers_declared = TRUE;
  portico_json_reader_push_key (ld->r, "consumers");
  names = json_object_get_members (consumers);
  for (GList *l = names; l; l = l->next) {
    JsonObject *object;
    const char *description;

    portico_json_reader_push_key (ld->r, l->data);
    object = portico_json_reader_as_object (ld->r, json_object_get_member (consumers, l->data),
                                            keys);
    if (object && portico_scenario_check_name (ld->r, NULL, l->data)) {
      PorticoScenarioConsumer *consumer = add_consumer (ld, l->data);

      g_ptr_array_unref (consumer->headers);
      consumer->headers = load_headers (ld->r, object, "the traffic generator");
      portico_json_reader_get_string (ld->r, object, "description", &description);
    }
    portico_json_reader_pop (ld->r);
  }
  g_list_free (names);
  portico_json_reader_pop (ld->r);
}

static void
load_traffic_consumer (PorticoScenarioLoader *ld, JsonObject *object, PorticoScenarioTraffic *t)
{
  const char *name = NULL;

  if (portico_json_reader_get_nonempty_string (ld->r, object, "consumer", &name) !=
      PORTICO_JSON_FIELD_OK)
    return;
  if (!portico_scenario_find_consumer (ld->s, name)) {
    if (ld->consumers_declared) {
      portico_json_reader_error (ld->r, "consumer", "unknown consumer \"%s\"", name);
      return;
    }
    if (!portico_scenario_check_name (ld->r, "consumer", name))
      return;
    add_consumer (ld, name);
  }
  t->consumer = g_strdup (name);
}

static void
load_traffic_entry (PorticoJsonReader *r, JsonNode *element, gpointer data)
{
  static const char *const keys[] = { "name", "consumer", "to", "method", "path", "headers",
                                      "body", "concurrency", "rate", "start_s", "duration_s",
                                      "count", "keepalive", "timeout_ms", "tls_resume", NULL };
  PorticoScenarioLoader *ld = data;
  PorticoScenarioTraffic *t = g_new0 (PorticoScenarioTraffic, 1);
  PorticoScenarioNode *to;
  g_autoptr(GPtrArray) headers = NULL;
  const char *name = NULL, *method = "GET", *path = "/", *body = NULL, *first;
  JsonObject *object;
  gint64 count = 0;

  t->name = g_strdup_printf ("traffic[%u]", ld->s->traffic->len);
  t->keepalive = TRUE;
  t->tls_resume = TRUE;
  t->timeout_ms = 10000;
  t->duration_s = NAN;
  t->headers = g_ptr_array_new_with_free_func (header_free);
  g_ptr_array_add (ld->s->traffic, t);
  if (!(object = portico_json_reader_as_object (r, element, keys)))
    return;

  if (portico_json_reader_get_nonempty_string (r, object, "name", &name) == PORTICO_JSON_FIELD_OK &&
      portico_scenario_check_name (r, "name", name)) {
    portico_json_reader_push_key (r, "name");
    if (g_str_equal (name, "overall"))
      portico_json_reader_error (r, NULL, "\"overall\" is reserved: it names every entry together");
    else if ((first = portico_json_reader_claim (r, "traffic", name)))
      portico_json_reader_error (r, NULL, "duplicate traffic name \"%s\" (also at %s)", name,
                                 first);
    portico_json_reader_pop (r);
    g_free (t->name);
    t->name = g_strdup (name);
  }
  load_traffic_consumer (ld, object, t);
  if ((to = portico_scenario_get_reference (r, object, "to", ld->s->nodes, "node", TRUE)))
    t->to = g_strdup (to->name);
  if (portico_json_reader_get_string (r, object, "method", &method) == PORTICO_JSON_FIELD_OK &&
      !valid_token (method))
    portico_json_reader_error (r, "method", "must be an HTTP method (a token, like \"GET\")");
  t->method = g_strdup (method);
  if (portico_json_reader_get_string (r, object, "path", &path) == PORTICO_JSON_FIELD_OK &&
      (path[0] != '/' || strchr (path, ' ') || has_control (path, FALSE)))
    portico_json_reader_error (r, "path", "must start with \"/\" and hold no spaces or control "
                                          "characters");
  t->path = g_strdup (path);
  headers = load_headers (r, object, "the traffic generator");
  if (t->consumer) {
    PorticoScenarioConsumer *consumer = portico_scenario_find_consumer (ld->s, t->consumer);

    for (guint i = 0; i < consumer->headers->len; i++) {
      PorticoScenarioHeader *h = g_ptr_array_index (consumer->headers, i);
      headers_put (t->headers, h->name, h->value);
    }
  }
  for (guint i = 0; i < headers->len; i++) {
    PorticoScenarioHeader *h = g_ptr_array_index (headers, i);
    headers_put (t->headers, h->name, h->value);
  }
  if (portico_json_reader_get_string (r, object, "body", &body) == PORTICO_JSON_FIELD_OK)
    t->body = g_bytes_new (body, strlen (body));

  portico_json_reader_get_uint (r, object, "concurrency", 1, 100000, &t->concurrency);
  if (portico_scenario_get_number (r, object, "rate", 0.001, 1e6,
                                   &t->rate) == PORTICO_JSON_FIELD_OK &&
      t->concurrency > 0)
    portico_json_reader_error (r, "rate", "excludes concurrency: give one or the other");
  if (t->concurrency == 0 && !portico_json_member (object, "rate"))
    t->concurrency = 1;
  portico_scenario_get_number (r, object, "start_s", 0, MAX_DURATION_S, &t->start_s);
  portico_scenario_get_number (r, object, "duration_s", 0.001, MAX_DURATION_S, &t->duration_s);
  if (portico_json_reader_get_int (r, object, "count", 1, G_GINT64_CONSTANT (1000000000000),
                                   &count) ==
      PORTICO_JSON_FIELD_OK)
    t->count = (guint64) count;
  portico_json_reader_get_bool (r, object, "keepalive", &t->keepalive);
  portico_json_reader_get_uint (r, object, "timeout_ms", 1, MAX_MS, &t->timeout_ms);
  portico_json_reader_get_bool (r, object, "tls_resume", &t->tls_resume);
}

/* The scenario lasts duration_s, or as long as its longest traffic entry;
 * an entry without a duration_s runs until the end. */
void
portico_scenario_load_traffic (PorticoScenarioLoader *ld, JsonObject *root)
{
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  gboolean given = portico_scenario_get_number (ld->r, root, "duration_s", 0.1, MAX_DURATION_S,
                               &ld->s->duration_s) == PORTICO_JSON_FIELD_OK;
  gboolean known = given;

  portico_json_reader_foreach (ld->r, root, "traffic", load_traffic_entry, ld);
  for (guint i = 0; !given && i < ld->s->traffic->len; i++) {
    PorticoScenarioTraffic *t = g_ptr_array_index (ld->s->traffic, i);

    if (!isnan (t->duration_s)) {
      ld->s->duration_s = MAX (ld->s->duration_s, t->start_s + t->duration_s);
      known = TRUE;
    }
  }
  if (!known && !portico_json_member (root, "duration_s"))
    portico_json_reader_error (ld->r, "duration_s",
                               "is required (no traffic entry has a duration_s)");
  if (!known)
    return;
  portico_json_reader_push_key (ld->r, "traffic");
  for (guint i = 0; i < ld->s->traffic->len; i++) {
    PorticoScenarioTraffic *t = g_ptr_array_index (ld->s->traffic, i);

    portico_json_reader_push_index (ld->r, i);
    if (t->start_s >= ld->s->duration_s)
      portico_json_reader_error (ld->r, "start_s",
                                 "must be before the end of the run (duration_s %s)",
                                 portico_scenario_format_number (a, sizeof a, ld->s->duration_s));
    else if (isnan (t->duration_s))
      t->duration_s = ld->s->duration_s - t->start_s;
    else if (t->start_s + t->duration_s > ld->s->duration_s)
      portico_json_reader_error (ld->r, "duration_s", "ends at %s s, after the run (duration_s %s)",
                                 portico_scenario_format_number (a, sizeof a,
                                                                 t->start_s + t->duration_s),
                                 portico_scenario_format_number (b, sizeof b, ld->s->duration_s));
    portico_json_reader_pop (ld->r);
  }
  portico_json_reader_pop (ld->r);
}

/* ---- links ------------------------------------------------------------------------- */

static const char *const party_names[] = { "consumer", "node", "service", NULL };

/* "kind:NAME" with a kind of @allowed (a bit per PorticoPartyKind). */
static char *
load_party (PorticoScenarioLoader *ld, JsonObject *object, const char *key, guint allowed,
            PorticoPartyKind *kind)
{
  const char *text = portico_json_reader_require_string (ld->r, object, key);
  const char *colon;
  GPtrArray *entities;

  if (!text)
    return NULL;
  colon = strchr (text, ':');
  for (int k = 0; colon && party_names[k]; k++) {
    if ((allowed & (1u << k)) && strlen (party_names[k]) == (size_t) (colon - text) &&
        strncmp (text, party_names[k], colon - text) == 0) {
      *kind = (PorticoPartyKind) k;
      entities = k == PORTICO_PARTY_CONSUMER ? ld->s->consumers
                 : k == PORTICO_PARTY_NODE   ? ld->s->nodes
                                             : ld->s->services;
      if (portico_scenario_find_named (entities, colon + 1))
        return g_strdup (colon + 1);
      portico_json_reader_error (ld->r, key, "unknown %s \"%s\"", party_names[k], colon + 1);
      return NULL;
    }
  }
  if (allowed & (1u << PORTICO_PARTY_CONSUMER))
    portico_json_reader_error (ld->r, key, "must be \"consumer:NAME\" or \"node:NAME\"");
  else
    portico_json_reader_error (ld->r, key, "must be \"node:NAME\" or \"service:NAME\"");
  return NULL;
}

/* Returns how many of the props @object sets. */
guint
portico_scenario_load_link_props (PorticoJsonReader *r, JsonObject *object,
                                  PorticoScenarioLinkProps *props)
{
  guint set = 0;

  set += portico_json_reader_get_uint (r, object, "latency_ms", 0, MAX_MS,
                                       &props->latency_ms) != PORTICO_JSON_FIELD_ABSENT;
  set += portico_json_reader_get_uint (r, object, "jitter_ms", 0, MAX_MS,
                                       &props->jitter_ms) != PORTICO_JSON_FIELD_ABSENT;
  set += portico_json_reader_get_uint (r, object, "bandwidth_kbps", 0, 100000000,
                                       &props->bandwidth_kbps) != PORTICO_JSON_FIELD_ABSENT;
  set += portico_scenario_get_number (r, object, "reset_ratio", 0, 1,
                                      &props->reset_ratio) != PORTICO_JSON_FIELD_ABSENT;
  set += portico_json_reader_get_bool (r, object, "down",
                                       &props->down) != PORTICO_JSON_FIELD_ABSENT;
  return set;
}

void
portico_scenario_load_link (PorticoJsonReader *r, JsonNode *element, gpointer data)
{
  static const char *const keys[] = { "name", "from", "to", "latency_ms", "jitter_ms",
                                      "bandwidth_kbps", "reset_ratio", "down", NULL };
  PorticoScenarioLoader *ld = data;
  PorticoScenarioLink link = { 0 }, *other;
  JsonObject *object;
  const char *name, *first;

  if (!(object = portico_json_reader_as_object (r, element, keys)))
    return;
  portico_scenario_load_link_props (r, object, &link.props);
  if ((name = portico_json_reader_require_string (r, object, "name")) &&
      portico_scenario_check_name (r, "name", name)) {
    portico_json_reader_push_key (r, "name");
    if ((first = portico_json_reader_claim (r, "link", name)))
      portico_json_reader_error (r, NULL, "duplicate link name \"%s\" (also at %s)", name, first);
    portico_json_reader_pop (r);
  }
  link.from = load_party (ld, object, "from",
                          1u << PORTICO_PARTY_CONSUMER | 1u << PORTICO_PARTY_NODE,
                          &link.from_kind);
  link.to = load_party (ld, object, "to", 1u << PORTICO_PARTY_NODE | 1u << PORTICO_PARTY_SERVICE,
                        &link.to_kind);
  if (!link.from || !link.to || !name || portico_scenario_find_named (ld->s->links, name)) {
    g_free (link.from);
    g_free (link.to);
    return;
  }
  if (link.from_kind == link.to_kind && g_str_equal (link.from, link.to))
    portico_json_reader_error (r, "to", "is the link's own origin: a link joins two parties");
  else if ((other = portico_scenario_link_between (ld->s, link.from_kind, link.from, link.to_kind,
                                                   link.to)))
    portico_json_reader_error (r, NULL, "duplicate link from %s:%s to %s:%s (also link \"%s\")",
                               party_names[link.from_kind], link.from, party_names[link.to_kind],
                               link.to, other->name);
  link.name = g_strdup (name);
  g_ptr_array_add (ld->s->links, g_memdup2 (&link, sizeof link));
  g_hash_table_insert (ld->link_props, link.name, g_memdup2 (&link.props, sizeof link.props));
}

