/* Unit tests for lab/scenario: every key of a scenario file loads into the
 * model with its defaults, every kind of mistake gives the exact error at
 * its JSON path, variants apply by path, and placeholders are replaced. */
#include "error-list.h"
#include "lab/scenario.h"

#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <string.h>

/* The cases are written with ' for " to keep them readable. */
static char *
unquote (const char *text)
{
  char *copy = g_strdup (text);

  g_strdelimit (copy, "'", '"');
  return copy;
}

static void
print_errors (GPtrArray *errors)
{
  for (guint i = 0; i < errors->len; i++)
    g_test_message ("error: %s", (char *) g_ptr_array_index (errors, i));
}

static PorticoScenario *
load_fixture (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "unit", "scenarios", name, NULL);
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  PorticoScenario *s = portico_scenario_load_file (path, errors, &error);

  print_errors (errors);
  g_assert_no_error (error);
  g_assert_nonnull (s);
  g_assert_cmpstr (s->source, ==, path);
  return s;
}

/* The smallest scenario, with @members (an object's members, ' for ")
 * replacing its own; a member set to null removes one. */
static char *
minimal_with (const char *members)
{
  g_autofree char *body = unquote (members);
  g_autofree char *json = g_strdup_printf ("{%s}", body);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonParser) base_parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *base, *changes;
  g_autoptr(GList) keys = NULL;

  g_assert_true (json_parser_load_from_data (base_parser,
                                             "{\"name\": \"t\", \"teaches\": \"Testing.\", "
                                             "\"duration_s\": 5, \"gateway\": {}}", -1, NULL));
  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  base = json_node_get_object (json_parser_get_root (base_parser));
  changes = json_node_get_object (json_parser_get_root (parser));
  keys = json_object_get_members (changes);
  for (GList *l = keys; l; l = l->next)
    json_object_set_member (base, l->data, json_node_copy (json_object_get_member (changes,
                                                                                   l->data)));
  return json_to_string (json_parser_get_root (base_parser), FALSE);
}

static PorticoScenario *
load_minimal (const char *members)
{
  g_autofree char *json = minimal_with (members);
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  PorticoScenario *s = portico_scenario_load_data (json, -1, "t.json", errors, &error);

  print_errors (errors);
  g_assert_no_error (error);
  g_assert_nonnull (s);
  return s;
}

static const char *
header_value (GPtrArray *headers, const char *name)
{
  for (guint i = 0; i < headers->len; i++) {
    PorticoScenarioHeader *h = g_ptr_array_index (headers, i);

    if (g_ascii_strcasecmp (h->name, name) == 0)
      return h->value;
  }
  return NULL;
}

/* The node at @path in @root: keys and array indices separated by dots
 * ("services.0.url"). */
static JsonNode *
at (JsonNode *root, const char *path)
{
  g_auto(GStrv) steps = g_strsplit (path, ".", 0);
  JsonNode *node = root;

  for (guint i = 0; steps[i]; i++) {
    if (g_ascii_isdigit (steps[i][0]))
      node = json_array_get_element (json_node_get_array (node), atoi (steps[i]));
    else
      node = json_object_get_member (json_node_get_object (node), steps[i]);
    g_assert_nonnull (node);
  }
  return node;
}

static const char *
at_string (JsonNode *root, const char *path)
{
  return json_node_get_string (at (root, path));
}

static gint64
at_int (JsonNode *root, const char *path)
{
  return json_node_get_int (at (root, path));
}

/* ---- valid files ------------------------------------------------------------------ */

static void
test_minimal_defaults (void)
{
  g_autoptr(PorticoScenario) s = load_minimal ("'traffic': [{}]");
  PorticoScenarioNode *node;
  PorticoScenarioTraffic *t;
  JsonObject *node_section;

  g_test_summary ("The smallest scenario gets every documented default: one node named "
                  "\"gateway\" on free ports, a one-connection closed loop of GET / for the "
                  "whole run, no links, events, variants or expectations.");
  g_assert_cmpstr (s->name, ==, "t");
  g_assert_cmpstr (s->teaches, ==, "Testing.");
  g_assert_null (s->description);
  g_assert_null (s->variant);
  g_assert_cmpfloat (s->duration_s, ==, 5);
  g_assert_cmpuint (s->nodes->len, ==, 1);
  node = g_ptr_array_index (s->nodes, 0);
  g_assert_cmpstr (node->name, ==, "gateway");
  g_assert_cmpstr (node->json_path, ==, "gateway");
  g_assert_cmpuint (node->workers, ==, 0);
  g_assert_cmpstr (at_string (node->config, "_format_version"), ==, "1");
  g_assert_cmpstr (at_string (node->config, "node.listen.0"), ==, "127.0.0.1:0");
  g_assert_cmpstr (at_string (node->config, "node.admin_listen"), ==, "127.0.0.1:0");
  node_section = json_node_get_object (json_object_get_member (json_node_get_object (node->config),
                                                                "node"));
  g_assert_cmpuint (json_object_get_size (node_section), ==, 2);

  g_assert_cmpuint (s->traffic->len, ==, 1);
  t = g_ptr_array_index (s->traffic, 0);
  g_assert_cmpstr (t->name, ==, "traffic[0]");
  g_assert_null (t->consumer);
  g_assert_cmpstr (t->to, ==, "gateway");
  g_assert_cmpstr (t->method, ==, "GET");
  g_assert_cmpstr (t->path, ==, "/");
  g_assert_cmpuint (t->headers->len, ==, 0);
  g_assert_null (t->body);
  g_assert_cmpuint (t->concurrency, ==, 1);
  g_assert_cmpfloat (t->rate, ==, 0);
  g_assert_cmpfloat (t->start_s, ==, 0);
  g_assert_cmpfloat (t->duration_s, ==, 5);
  g_assert_cmpuint (t->count, ==, 0);
  g_assert_true (t->keepalive);
  g_assert_cmpuint (t->timeout_ms, ==, 10000);
  g_assert_true (t->tls_resume);
  g_assert_false (node->tls);
  g_assert_false (portico_scenario_uses_tls (s));

  g_assert_cmpuint (s->services->len, ==, 0);
  g_assert_cmpuint (s->consumers->len, ==, 0);
  g_assert_cmpuint (s->links->len, ==, 0);
  g_assert_cmpuint (s->events->len, ==, 0);
  g_assert_cmpuint (s->narration->len, ==, 0);
  g_assert_cmpuint (s->variants->len, ==, 0);
  g_assert_cmpuint (s->expect->len, ==, 0);
  g_assert_nonnull (s->count_headers);
  g_assert_cmpuint (g_strv_length (s->count_headers), ==, 0);
  {
    g_auto(GStrv) runs = portico_scenario_run_names (s);

    g_assert_cmpuint (g_strv_length (runs), ==, 1);
    g_assert_cmpstr (runs[0], ==, "default");
  }
}

static void
test_full_sections (void)
{
  g_autoptr(PorticoScenario) s = load_fixture ("full.json");
  PorticoScenarioService *orders, *billing;
  PorticoScenarioConsumer *alice;
  PorticoScenarioLink *link;
  PorticoScenarioTraffic *t;
  PorticoScenarioNode *node;

  g_test_summary ("full.json sets every key: each lands in the model.");
  g_assert_cmpstr (s->name, ==, "everything");
  g_assert_cmpstr (s->description, ==, "The loader's test fixture: each key set to something "
                                       "other than its default.");
  g_assert_cmpfloat (s->duration_s, ==, 10);
  node = portico_scenario_find_node (s, "gateway");
  g_assert_nonnull (node);
  g_assert_cmpuint (node->workers, ==, 2);
  g_assert_cmpstr (at_string (node->config, "services.0.url"), ==,
                   "http://{{service.orders}}");

  g_assert_cmpuint (s->services->len, ==, 2);
  orders = portico_scenario_find_service (s, "orders");
  g_assert_cmpuint (orders->instances, ==, 2);
  g_assert_cmpuint (orders->mock.status, ==, 201);
  g_assert_cmpint (orders->mock.body_bytes, ==, 512);
  g_assert_null (orders->mock.body);
  g_assert_cmpstr (header_value (orders->mock.headers, "X-Mock"), ==, "yes");
  g_assert_cmpuint (orders->mock.latency_ms, ==, 5);
  g_assert_true (orders->mock.chunked);
  g_assert_cmpfloat (orders->mock.fail_ratio, ==, 0.01);
  g_assert_true (orders->mock.close_mid_body);
  billing = portico_scenario_find_service (s, "billing");
  g_assert_cmpuint (billing->instances, ==, 1);
  g_assert_cmpuint (billing->mock.status, ==, 200);
  g_assert_cmpstr (billing->mock.body, ==, "paid\n");
  g_assert_cmpint (billing->mock.body_bytes, ==, -1);

  g_assert_cmpuint (s->consumers->len, ==, 2);
  alice = portico_scenario_find_consumer (s, "alice");
  g_assert_cmpstr (header_value (alice->headers, "apikey"), ==, "alice-secret");
  g_assert_nonnull (portico_scenario_find_consumer (s, "bob"));

  g_assert_cmpuint (s->links->len, ==, 2);
  link = portico_scenario_find_link (s, "atlantic");
  g_assert_cmpint (link->from_kind, ==, PORTICO_PARTY_CONSUMER);
  g_assert_cmpstr (link->from, ==, "alice");
  g_assert_cmpint (link->to_kind, ==, PORTICO_PARTY_NODE);
  g_assert_cmpstr (link->to, ==, "gateway");
  g_assert_cmpuint (link->props.latency_ms, ==, 40);
  g_assert_cmpuint (link->props.jitter_ms, ==, 5);
  g_assert_cmpuint (link->props.bandwidth_kbps, ==, 10000);
  g_assert_cmpfloat (link->props.reset_ratio, ==, 0.001);
  g_assert_false (link->props.down);
  g_assert_true (portico_scenario_link_between (s, PORTICO_PARTY_NODE, "gateway",
                                                PORTICO_PARTY_SERVICE, "orders") ==
                 portico_scenario_find_link (s, "backend"));
  g_assert_null (portico_scenario_link_between (s, PORTICO_PARTY_NODE, "gateway",
                                                PORTICO_PARTY_SERVICE, "billing"));

  g_assert_cmpuint (s->traffic->len, ==, 2);
  t = g_ptr_array_index (s->traffic, 0);
  g_assert_cmpstr (t->name, ==, "alice");
  g_assert_cmpstr (t->consumer, ==, "alice");
  g_assert_cmpstr (t->method, ==, "POST");
  g_assert_cmpstr (t->path, ==, "/orders?x=1");
  g_test_message ("the entry's headers come after the consumer's and replace them by name");
  g_assert_cmpuint (t->headers->len, ==, 3);
  g_assert_cmpstr (((PorticoScenarioHeader *) g_ptr_array_index (t->headers, 0))->name, ==,
                   "apikey");
  g_assert_cmpstr (header_value (t->headers, "X-Who"), ==, "alice-override");
  g_assert_cmpstr (header_value (t->headers, "content-type"), ==, "application/json");
  g_assert_cmpuint (g_bytes_get_size (t->body), ==, 2);
  g_assert_cmpuint (t->concurrency, ==, 20);
  g_assert_cmpfloat (t->start_s, ==, 1);
  g_assert_cmpfloat (t->duration_s, ==, 8);
  g_assert_cmpuint (t->count, ==, 1000);
  g_assert_false (t->keepalive);
  g_assert_cmpuint (t->timeout_ms, ==, 2000);
  t = g_ptr_array_index (s->traffic, 1);
  g_assert_cmpstr (t->name, ==, "traffic[1]");
  g_assert_cmpuint (t->concurrency, ==, 0);
  g_assert_cmpfloat (t->rate, ==, 50.5);
  g_assert_cmpfloat (t->duration_s, ==, 10);

  g_assert_cmpuint (s->narration->len, ==, 2);
  g_assert_cmpfloat (((PorticoScenarioNarration *) g_ptr_array_index (s->narration, 1))->at_s, ==,
                     10);
  g_assert_cmpstr (((PorticoScenarioNarration *) g_ptr_array_index (s->narration, 1))->say, ==,
                   "The end.");
  g_assert_cmpuint (s->variants->len, ==, 2);
  g_assert_cmpuint (s->expect->len, ==, 25);
  g_assert_cmpuint (g_strv_length (s->count_headers), ==, 1);
  g_assert_cmpstr (s->count_headers[0], ==, "x-ratelimit-remaining-minute");
}

static PorticoScenarioEvent *
event_at (PorticoScenario *s, guint i)
{
  g_assert_cmpuint (i, <, s->events->len);
  return g_ptr_array_index (s->events, i);
}

static void
assert_describes (PorticoScenarioEvent *event, const char *text)
{
  g_autofree char *described = portico_scenario_event_describe (event);

  g_assert_cmpstr (described, ==, text);
}

static void
test_full_events (void)
{
  g_autoptr(PorticoScenario) s = load_fixture ("full.json");
  PorticoScenarioEvent *e;

  g_test_summary ("Each kind of event loads with its defaults; a link event carries the "
                  "link's whole props from then on, and a reload the node's whole config "
                  "(earlier reloads included).");
  g_assert_cmpuint (s->events->len, ==, 11);
  e = event_at (s, 0);
  g_assert_cmpint (e->kind, ==, PORTICO_SCENARIO_EVENT_KILL_WORKER);
  g_assert_cmpstr (e->json_path, ==, "events[0]");
  g_assert_cmpstr (e->node, ==, "gateway");
  g_assert_cmpuint (e->worker, ==, 1);
  g_assert_cmpint (e->signal, ==, SIGTERM);
  assert_describes (e, "kill worker 1 of gateway (TERM)");
  e = event_at (s, 1);
  g_assert_cmpint (e->kind, ==, PORTICO_SCENARIO_EVENT_SERVICE_DOWN);
  g_assert_cmpint (e->instance, ==, 1);
  assert_describes (e, "take service orders down (instance 1)");
  e = event_at (s, 2);
  g_assert_cmpint (e->instance, ==, -1);
  g_assert_cmpfloat (e->at_s, ==, 2.5);
  assert_describes (e, "bring service orders up");
  e = event_at (s, 3);
  g_assert_cmpuint (e->latency_ms, ==, 200);
  assert_describes (e, "slow service billing to 200 ms");
  e = event_at (s, 4);
  g_assert_cmpstr (e->link, ==, "atlantic");
  g_assert_cmpuint (e->props.latency_ms, ==, 80);
  g_assert_cmpuint (e->props.jitter_ms, ==, 5);
  g_assert_false (e->props.down);
  assert_describes (e, "link atlantic: latency 80 ms +- 5 ms, 10000 kbit/s, resets 0.001");
  e = event_at (s, 5);
  g_assert_cmpuint (e->props.latency_ms, ==, 80);
  g_assert_true (e->props.down);
  assert_describes (e, "link atlantic: down");

  e = event_at (s, 6);
  g_assert_cmpint (e->kind, ==, PORTICO_SCENARIO_EVENT_RELOAD);
  g_assert_cmpstr (e->node, ==, "gateway");
  g_assert_cmpint (at_int (e->config, "services.0.plugins.0.config.minute"), ==, 5);
  assert_describes (e, "reload node gateway");
  e = event_at (s, 7);
  g_test_message ("the second reload keeps the first one's change");
  g_assert_cmpint (at_int (e->config, "services.0.plugins.0.config.minute"), ==, 5);
  g_assert_cmpint (at_int (e->config, "node.workers"), ==, 1);
  g_assert_cmpstr (at_string (e->config, "services.0.url"), ==, "http://{{service.orders}}");
  g_test_message ("the node's own config is unchanged");
  g_assert_cmpint (at_int (portico_scenario_find_node (s, "gateway")->config, "node.workers"), ==,
                   2);
  g_assert_cmpint (at_int (portico_scenario_find_node (s, "gateway")->config,
                           "services.0.plugins.0.config.minute"), ==, 100);

  e = event_at (s, 8);
  g_assert_cmpuint (e->count, ==, 100);
  g_assert_cmpstr (e->consumer, ==, "bob");
  g_assert_cmpstr (e->node, ==, "gateway");
  assert_describes (e, "open 100 idle connections to gateway");
  e = event_at (s, 9);
  g_assert_true (e->graceful);
  assert_describes (e, "stop node gateway gracefully");
  e = event_at (s, 10);
  g_assert_cmpint (e->kind, ==, PORTICO_SCENARIO_EVENT_START_NODE);
  g_assert_cmpstr (e->node, ==, "gateway");
  assert_describes (e, "start node gateway");
  g_assert_cmpstr (portico_scenario_event_kind_name (PORTICO_SCENARIO_EVENT_IDLE_CONNECTIONS), ==,
                   "idle_connections");
}

static void
test_full_expect (void)
{
  g_autoptr(PorticoScenario) s = load_fixture ("full.json");
  PorticoExpect *e;

  g_test_summary ("Expectations load with their selectors; an integer traffic selector is "
                  "turned into the entry's name.");
  e = g_ptr_array_index (s->expect, 1);
  g_assert_cmpstr (e->json_path, ==, "expect[1]");
  g_assert_cmpstr (e->kind, ==, "status");
  g_assert_cmpuint (e->status_code, ==, 429);
  g_assert_cmpstr (e->traffic, ==, "alice");
  e = g_ptr_array_index (s->expect, 2);
  g_assert_cmpuint (e->status_code, ==, 5);
  g_assert_true (e->per_request);
  e = g_ptr_array_index (s->expect, 6);
  g_assert_cmpfloat (e->percentile, ==, 99.9);
  g_assert_cmpstr (e->variant, ==, "fast");
  g_assert_cmpstr (e->over, ==, "baseline");
  e = g_ptr_array_index (s->expect, 9);
  g_assert_cmpstr (e->traffic, ==, "traffic[1]");
  e = g_ptr_array_index (s->expect, 15);
  g_assert_cmpint (e->figure, ==, PORTICO_FIGURE_RELOADS);
  g_assert_true (e->has_min && e->has_max);
  g_assert_cmpfloat (e->min, ==, 2);
  g_assert_cmpfloat (e->max, ==, 2);
  e = g_ptr_array_index (s->expect, 24);
  g_assert_cmpint (e->figure, ==, PORTICO_FIGURE_PHASES);
  g_assert_cmpuint (g_strv_length (e->phases), ==, 5);
  g_assert_cmpstr (e->variant, ==, "baseline");
}

static void
test_cluster (void)
{
  g_autoptr(PorticoScenario) s = load_fixture ("cluster.json");
  PorticoScenarioTraffic *t;

  g_test_summary ("Several nodes: each named, in the file's order, each validated; node "
                  "placeholders; a duration taken from the longest traffic entry; a count-only "
                  "entry runs until the end.");
  g_assert_cmpuint (s->nodes->len, ==, 3);
  g_assert_cmpstr (((PorticoScenarioNode *) g_ptr_array_index (s->nodes, 0))->name, ==, "lb");
  g_assert_cmpstr (((PorticoScenarioNode *) g_ptr_array_index (s->nodes, 2))->json_path, ==,
                   "nodes.n2");
  g_assert_cmpuint (portico_scenario_find_node (s, "lb")->workers, ==, 1);
  g_assert_cmpstr (at_string (portico_scenario_find_node (s, "n2")->config, "node.listen.1"), ==,
                   "[::1]:0");
  g_assert_cmpfloat (s->duration_s, ==, 6);
  t = g_ptr_array_index (s->traffic, 1);
  g_assert_cmpstr (t->to, ==, "n2");
  g_assert_cmpuint (t->count, ==, 100);
  g_assert_cmpfloat (t->duration_s, ==, 4);
  g_assert_cmpuint (s->consumers->len, ==, 0);
}

static void
test_implicit_consumers (void)
{
  g_autoptr(PorticoScenario) s =
    load_minimal ("'traffic': [{'consumer': 'alice'}, {'consumer': 'alice'}, {'consumer': 'bob'}], "
                  "'links': [{'name': 'l', 'from': 'consumer:bob', 'to': 'node:gateway'}]");

  g_test_summary ("Without a consumers section, the consumers that traffic names exist, once "
                  "each, and links may start at them.");
  g_assert_cmpuint (s->consumers->len, ==, 2);
  g_assert_cmpstr (((PorticoScenarioConsumer *) g_ptr_array_index (s->consumers, 1))->name, ==,
                   "bob");
  g_assert_nonnull (portico_scenario_link_between (s, PORTICO_PARTY_CONSUMER, "bob",
                                                   PORTICO_PARTY_NODE, "gateway"));
}

/* ---- variants --------------------------------------------------------------------- */

static void
test_variants (void)
{
  g_autoptr(PorticoScenario) s = load_fixture ("full.json");
  g_autoptr(PorticoScenario) fast = NULL;
  g_autoptr(PorticoScenario) baseline = NULL;
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) runs = portico_scenario_run_names (s);
  PorticoScenarioNode *node;
  JsonObject *node_section;

  g_test_summary ("A variant's set paths change the scenario's JSON (adding a member where "
                  "the object exists, replacing an array element), and the result loads as a "
                  "scenario of its own; the base is untouched.");
  g_assert_cmpuint (g_strv_length (runs), ==, 2);
  g_assert_cmpstr (runs[0], ==, "fast");
  g_assert_cmpstr (runs[1], ==, "baseline");

  fast = portico_scenario_load_variant (s, "fast", errors, &error);
  print_errors (errors);
  g_assert_no_error (error);
  g_assert_nonnull (fast);
  g_assert_cmpstr (fast->variant, ==, "fast");
  g_assert_cmpuint (portico_scenario_find_service (fast, "orders")->mock.latency_ms, ==, 0);
  g_assert_true (((PorticoScenarioTraffic *) g_ptr_array_index (fast->traffic, 0))->keepalive);
  node = portico_scenario_find_node (fast, "gateway");
  node_section = json_node_get_object (json_object_get_member (json_node_get_object (node->config),
                                                                "node"));
  g_assert_cmpstr (json_object_get_string_member (node_section, "event_backend"), ==, "poll");
  g_assert_cmpint (json_object_get_int_member (node_section, "drain_timeout"), ==, 100);
  g_assert_cmpuint (fast->expect->len, ==, s->expect->len);
  g_assert_cmpuint (fast->variants->len, ==, 2);

  g_assert_cmpuint (portico_scenario_find_service (s, "orders")->mock.latency_ms, ==, 5);
  g_assert_false (((PorticoScenarioTraffic *) g_ptr_array_index (s->traffic, 0))->keepalive);

  baseline = portico_scenario_load_variant (s, "baseline", errors, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (portico_scenario_find_service (baseline, "orders")->mock.latency_ms, ==, 5);
  g_assert_cmpuint (errors->len, ==, 0);

  g_assert_null (portico_scenario_load_variant (s, "slow", errors, &error));
  g_assert_error (error, PORTICO_SCENARIO_ERROR, PORTICO_SCENARIO_ERROR_VARIANT);
  g_assert_cmpstr (error->message, ==, "no variant \"slow\" in scenario \"everything\"");
}

static void
test_variant_json (void)
{
  g_autoptr(PorticoScenario) s =
    load_minimal ("'traffic': [{'path': '/a'}, {'path': '/b'}], 'variants': [{'name': 'v', 'set': "
                  "{'traffic[1].path': '/c', 'traffic[0]': {'path': '/d', 'method': 'PUT'}, "
                  "'duration_s': 2.5}}]");
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) root = portico_scenario_variant_json (s, "v", &error);
  g_autofree char *text = NULL;

  g_test_summary ("variant_json returns the scenario's JSON with the set applied, whole "
                  "objects and numbers included, elements replaced in place.");
  g_assert_no_error (error);
  text = json_to_string (root, FALSE);
  g_assert_cmpstr (text, ==, "{\"name\":\"t\",\"teaches\":\"Testing.\",\"duration_s\":2.5,"
                             "\"gateway\":{},\"traffic\":[{\"path\":\"/d\",\"method\":\"PUT\"},"
                             "{\"path\":\"/c\"}],\"variants\":[{\"name\":\"v\",\"set\":"
                             "{\"traffic[1].path\":\"/c\",\"traffic[0]\":{\"path\":\"/d\","
                             "\"method\":\"PUT\"},\"duration_s\":2.5}}]}");
}

/* ---- TLS --------------------------------------------------------------------------- */

/* A tls node "front" in front of a tls mock "secure" (by url, through an
 * upstream of its instance 1, and by an https url that verifies nothing),
 * a plain mock "plain", and a plain node "back" that front reaches and that
 * reaches front. */
#define TLS_SCENARIO \
  "'services': {'secure': {'tls': true, 'instances': 2}, 'plain': {}}, " \
  "'gateway': null, 'nodes': {" \
  " 'front': {'node': {'tls': true, 'workers': 1}, " \
  "  'upstreams': [{'name': 'pool', 'targets': [{'target': '{{service.secure.1}}'}]}], " \
  "  'services': [{'name': 'a', 'url': 'http://{{service.secure}}/v1', 'routes': [{'paths': ['/a']}]}, " \
  "   {'name': 'b', 'host': 'pool', 'routes': [{'paths': ['/b']}]}, " \
  "   {'name': 'c', 'url': 'http://{{service.plain}}', 'routes': [{'paths': ['/c']}]}, " \
  "   {'name': 'd', 'url': 'https://{{service.secure}}', 'tls_verify': false, 'routes': [{'paths': ['/d']}]}, " \
  "   {'name': 'f', 'url': 'http://{{node.back}}', 'routes': [{'paths': ['/f']}]}]}, " \
  " 'back': {'services': [{'name': 'g', 'url': 'http://{{node.front}}', 'routes': [{'paths': ['/g']}]}]}}, " \
  "'traffic': [{'to': 'front', 'tls_resume': false}, {'to': 'front'}]"

static void
test_tls_load (void)
{
  g_autoptr(PorticoScenario) s = load_minimal (TLS_SCENARIO);
  PorticoScenarioNode *front = portico_scenario_find_node (s, "front");
  JsonObject *node_section = json_node_get_object (at (front->config, "node"));

  g_test_summary ("node.tls, a service's tls and a traffic entry's tls_resume load; node.tls is "
                  "the lab's own key, taken out of the config the gateway gets.");
  g_assert_true (front->tls);
  g_assert_false (portico_scenario_find_node (s, "back")->tls);
  g_assert_false (json_object_has_member (node_section, "tls"));
  g_assert_cmpint (json_object_get_int_member (node_section, "workers"), ==, 1);
  g_assert_true (portico_scenario_find_service (s, "secure")->tls);
  g_assert_false (portico_scenario_find_service (s, "plain")->tls);
  g_assert_false (((PorticoScenarioTraffic *) g_ptr_array_index (s->traffic, 0))->tls_resume);
  g_assert_true (((PorticoScenarioTraffic *) g_ptr_array_index (s->traffic, 1))->tls_resume);
  g_assert_true (portico_scenario_uses_tls (s));
}

static void
test_tls_variant (void)
{
  g_autoptr(PorticoScenario) s =
    load_minimal ("'gateway': {'node': {'tls': true}}, 'services': {'m': {'tls': true}}, "
                  "'traffic': [{}], 'variants': [{'name': 'plain', 'set': {'gateway.node.tls': false, "
                  "'services.m.tls': false, 'traffic[0].tls_resume': false}}]");
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(PorticoScenario) plain = portico_scenario_load_variant (s, "plain", errors, &error);

  g_test_summary ("Variants set the TLS keys as any other: a variant without TLS needs no "
                  "certificates.");
  g_assert_no_error (error);
  g_assert_true (portico_scenario_uses_tls (s));
  g_assert_false (portico_scenario_find_node (plain, "gateway")->tls);
  g_assert_false (portico_scenario_find_service (plain, "m")->tls);
  g_assert_false (((PorticoScenarioTraffic *) g_ptr_array_index (plain->traffic, 0))->tls_resume);
  g_assert_false (portico_scenario_uses_tls (plain));
}

static void
test_tls_config (void)
{
  g_autoptr(PorticoScenario) s = load_minimal (TLS_SCENARIO);
  PorticoLabPki pki = { .ca_path = "/run/lab-ca.pem", .cert_path = "/run/lab-cert.pem",
                        .key_path = "/run/lab-key.pem" };
  PorticoScenarioNode *front = portico_scenario_find_node (s, "front");
  PorticoScenarioNode *back = portico_scenario_find_node (s, "back");
  g_autoptr(JsonNode) f = portico_scenario_config_tls (s, front, front->config, &pki);
  g_autoptr(JsonNode) b = portico_scenario_config_tls (s, back, back->config, &pki);
  g_autofree char *before = json_to_string (front->config, FALSE);

  g_test_summary ("The run's TLS in a node's config: a tls node gets the run's certificate as its "
                  "default; a service reaching a tls mock or node by placeholder (url, or an upstream's "
                  "target) becomes https and trusts the run's CA, unless it says otherwise; the "
                  "scenario's own config is not changed.");
  g_assert_cmpstr (at_string (f, "certificates.0.id"), ==, "portico-lab");
  g_assert_cmpstr (at_string (f, "certificates.0.cert_path"), ==, "/run/lab-cert.pem");
  g_assert_cmpstr (at_string (f, "certificates.0.key_path"), ==, "/run/lab-key.pem");
  g_assert_cmpstr (at_string (f, "node.ssl_default_certificate"), ==, "portico-lab");
  g_assert_cmpstr (at_string (f, "services.0.url"), ==, "https://{{service.secure}}/v1");
  g_assert_cmpstr (at_string (f, "services.0.ca_certificates.0"), ==, "/run/lab-ca.pem");
  g_assert_cmpstr (at_string (f, "services.1.protocol"), ==, "https");
  g_assert_cmpstr (at_string (f, "services.1.ca_certificates.0"), ==, "/run/lab-ca.pem");
  g_assert_cmpstr (at_string (f, "services.2.url"), ==, "http://{{service.plain}}");
  g_assert_false (json_object_has_member (json_node_get_object (at (f, "services.2")), "ca_certificates"));
  g_assert_cmpstr (at_string (f, "services.3.url"), ==, "https://{{service.secure}}");
  g_assert_false (json_object_has_member (json_node_get_object (at (f, "services.3")), "ca_certificates"));
  g_assert_cmpstr (at_string (f, "services.4.url"), ==, "http://{{node.back}}");

  g_assert_false (json_object_has_member (json_node_get_object (b), "certificates"));
  g_assert_cmpstr (at_string (b, "services.0.url"), ==, "https://{{node.front}}");
  g_assert_cmpstr (at_string (b, "services.0.ca_certificates.0"), ==, "/run/lab-ca.pem");

  g_assert_nonnull (strstr (before, "\"http://{{service.secure}}/v1\""));
  g_assert_null (strstr (before, "portico-lab"));
}

/* ---- placeholders and the runner's helpers ------------------------------------------- */

static char *
test_resolve (const char *from_node, PorticoPartyKind kind, const char *name, guint instance,
              gpointer data, GError **error)
{
  if (g_str_equal (name, "n2") && data) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "node n2 is not started");
    return NULL;
  }
  return g_strdup_printf ("%s>%s:%s.%u", from_node, kind == PORTICO_PARTY_NODE ? "node" : "service",
                          name, instance);
}

static void
test_render (void)
{
  g_autoptr(PorticoScenario) s = load_fixture ("cluster.json");
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *lb = portico_scenario_render_config (s, portico_scenario_find_node (s, "lb"),
                                                        NULL,
                                                        test_resolve, NULL, &error);
  g_autofree char *n1 = NULL;
  JsonNode *root;

  g_test_summary ("Rendering a node's config replaces every placeholder by what the runner "
                  "resolves for that node, and keeps the rest; a failed resolution is an error "
                  "naming the place.");
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_data (parser, lb, -1, NULL));
  root = json_parser_get_root (parser);
  g_assert_cmpstr (at_string (root, "upstreams.0.targets.0.target"), ==,
                   "lb>node:n1.0");
  g_assert_cmpstr (at_string (root, "upstreams.0.targets.1.target"), ==,
                   "lb>node:n2.0");
  g_assert_cmpstr (at_string (root, "node.admin_listen"), ==, "127.0.0.1:0");

  n1 = portico_scenario_render_config (s, portico_scenario_find_node (s, "n1"), NULL, test_resolve,
                                       NULL, &error);
  g_assert_nonnull (strstr (n1, "\"http://n1>service:orders.0\""));

  g_assert_null (portico_scenario_render_config (s, portico_scenario_find_node (s, "lb"), NULL,
                                                 test_resolve, GINT_TO_POINTER (1), &error));
  g_assert_error (error, PORTICO_SCENARIO_ERROR, PORTICO_SCENARIO_ERROR_RESOLVE);
  g_assert_cmpstr (error->message, ==,
                   "nodes.lb: upstreams[0].targets[1].target: node n2 is not started");
}

static void
test_mock_argv (void)
{
  g_autoptr(PorticoScenario) s = load_fixture ("full.json");
  g_auto(GStrv) orders = portico_scenario_mock_argv (portico_scenario_find_service (s, "orders"),
                                                     1);
  g_auto(GStrv) billing = portico_scenario_mock_argv (portico_scenario_find_service (s, "billing"),
                                                      0);
  g_autofree char *orders_line = g_strjoinv (" ", orders);
  g_autofree char *billing_line = g_strjoinv (" ", billing);
  PorticoLinkProps props;

  g_test_summary ("The mock's arguments say each key that differs from the mock's default; "
                  "link props convert to bytes per second.");
  g_assert_cmpstr (orders_line, ==, "--listen 127.0.0.1:0 --name orders.1 --status=201 "
                                    "--body-bytes=512 --header=X-Mock: yes --latency-ms=5 --chunked "
                                    "--fail-ratio=0.01 --close-mid-body");
  g_assert_cmpstr (billing_line, ==,
                   "--listen 127.0.0.1:0 --name billing --status=200 --body=paid\n");
  portico_scenario_link_props_to_link (&portico_scenario_find_link (s, "atlantic")->props, &props);
  g_assert_cmpuint (props.latency_ms, ==, 40);
  g_assert_cmpuint (props.bandwidth_bps, ==, 1250000);
  g_assert_cmpfloat (props.reset_ratio, ==, 0.001);
}

/* ---- errors -------------------------------------------------------------------------- */

typedef struct {
  const char *name;
  const char *members; /* merged into the minimal scenario; or a whole document with "!" first */
  const char *errors[8];
} ErrorCase;

#define SVC "'services': {'orders': {'instances': 2}}"

static const ErrorCase error_cases[] = {
  /* the document */
  { "not-an-object", "![]", { "(root): must be a JSON object" } },
  { "syntax", "!{'name': }", { "1:10: Parse error*" } },
  { "empty-object", "!{}",
    { "name: is required", "teaches: is required",
      "gateway: is required (or nodes, for several nodes)",
      "duration_s: is required (no traffic entry has a duration_s)" } },
  { "unknown-key", "'gatway': {}", { "gatway: unknown key (did you mean \"gateway\"?)" } },
  { "name-teaches", "'name': 'a b', 'teaches': 'one\\ntwo', 'description': ''",
    { "name: a name may only hold letters, digits, \"_\" and \"-\" (1 to 64)",
      "teaches: must be one line (put more in description)", "description: must not be empty" } },
  { "duration", "'duration_s': 0", { "duration_s: must be a number between 0.1 and 3600" } },
  { "duration-type", "'duration_s': '5'", { "duration_s: must be a number between 0.1 and 3600" } },

  /* nodes */
  { "gateway-and-nodes", "'nodes': {'a': {}}",
    { "nodes: excludes gateway: write one node as gateway, several as nodes" } },
  { "nodes-empty", "'gateway': null, 'nodes': {}", { "nodes: must name at least one node" } },
  { "nodes-shape", "'gateway': null, 'nodes': {'a b': {}, 'c': []}",
    { "nodes.a b: a name may only hold letters, digits, \"_\" and \"-\" (1 to 64)",
      "nodes.c: must be an object" } },
  { "gateway-config", "'gateway': {'bogus': 1, 'node': {'workers': -1}}",
    { "gateway.bogus: unknown key (expected one of: _format_version, node, services, upstreams, "
      "consumers, plugins, certificates, snis)",
      "gateway.node.workers: must be an integer between 0 and 256" } },
  { "nodes-config", "'gateway': null, 'nodes': {'a': {'_format_version': '2'}, 'b': {'services': "
                    "[{'name': 's', 'url': 'http://127.0.0.1:1', 'routes': [{'paths': ['x']}]}]}}",
    { "nodes.a._format_version: must be \"1\"",
      "nodes.b.services[0].routes[0].paths[0]: must start with \"/\"" } },
  { "placeholders",
    SVC ", 'gateway': {'services': [{'name': 'a', 'url': 'http://{{service.nope}}'},"
                    " {'name': 'b', 'url': 'http://{{service.orders.2}}'}, {'name': 'c', 'url': "
                    "'http://{{svc.orders}}'}, {'name': 'd', 'url': 'http://{{service.orders'}, "
                    "{'name': 'e', 'url': 'http://{{node.other}}'}]}",
    { "gateway.services[0].url: unknown service \"nope\" in {{service.nope}}",
      "gateway.services[1].url: service \"orders\" has 2 instances (0 to 1) in {{service.orders.2}}",
      "gateway.services[2].url: unknown placeholder {{svc.orders}} (expected {{service.NAME}}, "
      "{{service.NAME.I}} or {{node.NAME}})",
      "gateway.services[3].url: \"{{\" without \"}}\"",
      "gateway.services[4].url: unknown node \"other\" in {{node.other}}" } },
  { "placeholder-then-config", SVC ", 'gateway': {'services': [{'name': 'a', 'url': "
                               "'ftp://{{service.orders.1}}'}]}",
    { "gateway.services[0].url: must start with \"http://\"*" } },

  /* services */
  { "services",
    "'services': {'a b': {}, 'x': {'instances': 0, 'mock': {'status': 700, 'chunk': true}}, "
                "'y': []}",
    { "services.a b: a name may only hold letters, digits, \"_\" and \"-\" (1 to 64)",
      "services.x.instances: must be an integer between 1 and 64",
      "services.x.mock.chunk: unknown key (did you mean \"chunked\"?)",
      "services.x.mock.status: must be an integer between 200 and 599",
      "services.y: must be an object" } },
  { "mock-fields", "'services': {'x': {'mock': {'body': 'b', 'body_bytes': 5, 'headers': "
                   "{'Content-Length': '5', 'bad name': 'v', 'X-Ok': 'a\\nb', 'X-N': 1}, "
                   "'latency_ms': -1, 'fail_ratio': 2, 'chunked': 'yes'}}}",
    { "services.x.mock.body_bytes: excludes body: give one or the other",
      "services.x.mock.headers.Content-Length: is set by the mock itself",
      "services.x.mock.headers.bad name: is not a valid header name",
      "services.x.mock.headers.X-Ok: must not hold control characters",
      "services.x.mock.headers.X-N: must be a string",
      "services.x.mock.latency_ms: must be an integer between 0 and 600000",
      "services.x.mock.chunked: must be true or false",
      "services.x.mock.fail_ratio: must be a number between 0 and 1" } },

  /* consumers and traffic */
  { "consumers",
    "'consumers': {'a': {'header': {}}, 'b': {'headers': {'Connection': 'close'}}, 'c': 1}",
    { "consumers.a.header: unknown key (did you mean \"headers\"?)",
      "consumers.b.headers.Connection: is set by the traffic generator itself",
      "consumers.c: must be an object" } },
  { "traffic-consumer", "'consumers': {'a': {}}, 'traffic': [{'consumer': 'b'}, {'consumer': ''}]",
    { "traffic[0].consumer: unknown consumer \"b\"", "traffic[1].consumer: must not be empty" } },
  { "traffic-implicit-consumer", "'traffic': [{'consumer': 'a b'}]",
    { "traffic[0].consumer: a name may only hold letters, digits, \"_\" and \"-\" (1 to 64)" } },
  { "traffic-to", "'traffic': [{'to': 'nope'}]", { "traffic[0].to: unknown node \"nope\"" } },
  { "traffic-to-several", "'gateway': null, 'nodes': {'a': {}, 'b': {}}, 'traffic': [{}]",
    { "traffic[0].to: is required: the scenario has several nodes" } },
  { "traffic-request",
    "'traffic': [{'method': 'GET /', 'path': 'orders', 'headers': {'X': 'a\\rb'}, "
                       "'body': 5, 'bogus': 1}, {'path': '/a b'}]",
    { "traffic[0].bogus: unknown key*",
      "traffic[0].method: must be an HTTP method (a token, like \"GET\")",
      "traffic[0].path: must start with \"/\" and hold no spaces or control characters",
      "traffic[0].headers.X: must not hold control characters", "traffic[0].body: must be a string",
      "traffic[1].path: must start with \"/\" and hold no spaces or control characters" } },
  { "traffic-load", "'traffic': [{'concurrency': 2, 'rate': 5}, {'concurrency': 0}, {'rate': 0}, "
                    "{'count': 0, 'timeout_ms': 0, 'keepalive': 1}]",
    { "traffic[0].rate: excludes concurrency: give one or the other",
      "traffic[1].concurrency: must be an integer between 1 and 100000",
      "traffic[2].rate: must be a number between 0.001 and 1000000",
      "traffic[3].count: must be an integer between 1 and 1000000000000",
      "traffic[3].keepalive: must be true or false",
      "traffic[3].timeout_ms: must be an integer between 1 and 600000" } },
  { "traffic-times",
    "'traffic': [{'start_s': 5}, {'start_s': 2, 'duration_s': 4}, {'duration_s': 0}]",
    { "traffic[2].duration_s: must be a number between 0.001 and 3600",
      "traffic[0].start_s: must be before the end of the run (duration_s 5)",
      "traffic[1].duration_s: ends at 6 s, after the run (duration_s 5)" } },
  { "traffic-names", "'traffic': [{'name': 'a'}, {'name': 'a'}, {'name': 'traffic[0]'}, 1, {'name': 'overall'}]",
    { "traffic[1].name: duplicate traffic name \"a\" (also at traffic[0].name)",
      "traffic[2].name: a name may only hold letters, digits, \"_\" and \"-\" (1 to 64)",
      "traffic[3]: must be an object",
      "traffic[4].name: \"overall\" is reserved: it names every entry together" } },
  { "traffic-not-array", "'traffic': {}", { "traffic: must be an array" } },

  /* links */
  { "links-parties", SVC ", 'links': [{'name': 'a', 'from': 'service:orders', 'to': 'consumer:x'}, "
                     "{'name': 'b', 'from': 'node:nope', 'to': 'service:nope'}, {'name': 'c', 'from': "
                     "'consumer:x', 'to': 'orders'}, {'from': 'node:gateway', 'to': 'service:orders'}]",
    { "links[0].from: must be \"consumer:NAME\" or \"node:NAME\"",
      "links[0].to: must be \"node:NAME\" or \"service:NAME\"",
      "links[1].from: unknown node \"nope\"", "links[1].to: unknown service \"nope\"",
      "links[2].from: unknown consumer \"x\"", "links[2].to: must be \"node:NAME\" or \"service:NAME\"",
      "links[3].name: is required" } },
  { "links-pairs", SVC ", 'links': [{'name': 'a', 'from': 'node:gateway', 'to': 'service:orders'}, "
                   "{'name': 'b', 'from': 'node:gateway', 'to': 'service:orders'}, {'name': 'a', 'from':"
                   " 'node:gateway', 'to': 'node:gateway'}, {'name': 'c', 'from': 'node:gateway', 'to': "
                   "'node:gateway'}]",
    { "links[1]: duplicate link from node:gateway to service:orders (also link \"a\")",
      "links[2].name: duplicate link name \"a\" (also at links[0].name)",
      "links[3].to: is the link's own origin: a link joins two parties" } },
  { "links-props", SVC ", 'links': [{'name': 'a', 'from': 'node:gateway', 'to': 'service:orders', "
                   "'latency_ms': 600001, 'jitter_ms': -1, 'bandwidth_kbps': 1.5, 'reset_ratio': -0.1, "
                   "'down': 0, 'loss': 1}]",
    { "links[0].loss: unknown key*", "links[0].latency_ms: must be an integer between 0 and 600000",
      "links[0].jitter_ms: must be an integer between 0 and 600000",
      "links[0].bandwidth_kbps: must be an integer between 0 and 100000000",
      "links[0].reset_ratio: must be a number between 0 and 1", "links[0].down: must be true or false" } },

  /* events */
  { "events-shape",
    "'events': [{'kill_worker': {'worker': 0}}, {'at_s': 1}, {'at_s': 1, 'start_node': {},"
                    " 'stop_node': {}}, {'at_s': 1, 'kill': {}}, 3]",
    { "events[0].at_s: is required",
      "events[1]: must have one of: kill_worker, stop_node, start_node, service_down, service_up, "
      "service_slow, link, reload, idle_connections",
      "events[2]: has both stop_node and start_node: one action per event",
      "events[3].kill: unknown key (expected one of: at_s, kill_worker, stop_node, start_node, "
      "service_down, service_up, service_slow, link, reload, idle_connections)",
      "events[3]: must have one of: *", "events[4]: must be an object" } },
  { "events-times", "'events': [{'at_s': 3, 'start_node': {}}, {'at_s': 2, 'start_node': {}}, "
                    "{'at_s': 5, 'start_node': {}}, {'at_s': -1, 'start_node': {}}]",
    { "events[1].at_s: must not be before the one above (at 3 s): list them in time order",
      "events[2].at_s: must be before the end of the run (duration_s 5)",
      "events[3].at_s: must be a number between 0 and 3600" } },
  { "kill-worker",
    "'gateway': {'node': {'workers': 2}}, 'events': [{'at_s': 1, 'kill_worker': {}}, "
                   "{'at_s': 1, 'kill_worker': {'worker': 2, 'signal': 'kill', 'pid': 1}}, "
                   "{'at_s': 1, 'kill_worker': 0}]",
    { "events[0].kill_worker.worker: is required",
      "events[1].kill_worker.pid: unknown key (expected one of: node, worker, signal)",
      "events[1].kill_worker.worker: node \"gateway\" has 2 workers (0 to 1)",
      "events[1].kill_worker.signal: must be one of: KILL, TERM, INT, QUIT, HUP, SEGV, ABRT, STOP, CONT",
      "events[2].kill_worker: must be an object" } },
  { "events-nodes",
    "'gateway': null, 'nodes': {'a': {}, 'b': {}}, 'events': [{'at_s': 1, 'stop_node': "
                    "{'graceful': 1}}, {'at_s': 1, 'start_node': {'node': 'c'}}]",
    { "events[0].stop_node.graceful: must be true or false",
      "events[0].stop_node.node: is required: the scenario has several nodes",
      "events[1].start_node.node: unknown node \"c\"" } },
  { "events-services",
    SVC ", 'events': [{'at_s': 1, 'service_down': {}}, {'at_s': 1, 'service_up': "
                       "{'service': 'x'}}, {'at_s': 1, 'service_slow': {'service': 'orders', 'instance': 2}}]",
    { "events[0].service_down.service: is required",
      "events[1].service_up.service: unknown service \"x\"",
      "events[2].service_slow.latency_ms: is required",
      "events[2].service_slow.instance: service \"orders\" has 2 instances (0 to 1)" } },
  { "events-link",
    SVC ", 'links': [{'name': 'l', 'from': 'node:gateway', 'to': 'service:orders'}], "
                   "'events': [{'at_s': 1, 'link': {'name': 'm', 'down': true}}, {'at_s': 1, 'link': "
                   "{'name': 'l'}}, {'at_s': 1, 'link': {'name': 'l', 'latency': 5}}]",
    { "events[0].link.name: unknown link \"m\"",
      "events[1].link: must change at least one of: latency_ms, jitter_ms, bandwidth_kbps, "
      "reset_ratio, down",
      "events[2].link.latency: unknown key (expected one of: name, latency_ms, jitter_ms, "
      "bandwidth_kbps, reset_ratio, down)",
      "events[2].link: must change at least one of: *" } },
  { "events-reload",
    "'events': [{'at_s': 1, 'reload': {'set': {'services[0].name': 'x', 'node..a': 1}}}, "
                     "{'at_s': 1, 'reload': {'set': {'node.workers': 'two', 'node.listen[0]': 'nowhere'}}}]",
    { "events[0].reload.set: \"services[0].name\": (root) has no member \"services\"",
      "events[0].reload.set: \"node..a\": is not a path like a.b[2].c",
      "events[1].reload.set: the node's config would be wrong: node.workers: must be an integer "
      "between 0 and 256",
      "events[1].reload.set: the node's config would be wrong: node.listen[0]: *" } },
  { "events-idle",
    "'consumers': {'a': {}}, 'events': [{'at_s': 1, 'idle_connections': {}}, {'at_s': 1, "
                   "'idle_connections': {'count': 5, 'consumer': 'b'}}]",
    { "events[0].idle_connections.count: is required",
      "events[1].idle_connections.consumer: unknown consumer \"b\"" } },

  /* narration */
  { "narration", "'narration': [{'at_s': 1}, {'at_s': 0, 'say': 'x'}, {'at_s': 6, 'say': 'y'}, "
                 "{'at_s': 5, 'say': 'the end', 'when': 1}]",
    { "narration[0].say: is required",
      "narration[1].at_s: must not be before the one above (at 1 s): list them in time order",
      "narration[2].at_s: must be before the end of the run (duration_s 5)",
      "narration[3].when: unknown key (expected one of: at_s, say)" } },

  /* variants */
  { "variants-shape",
    "'variants': [{'set': {}}, {'name': 'a'}, {'name': 'a'}, {'name': 'b', 'set': 1}]",
    { "variants[0].name: is required",
      "variants[2].name: duplicate variant name \"a\" (also at variants[1].name)",
      "variants[3].set: must be an object" } },
  { "variants-paths",
    "'traffic': [{}], 'variants': [{'name': 'a', 'set': {'gateway.node.workers': 1, "
                      "'traffic[1].path': '/', 'name.x': 1, 'variants[0].name': 'b', 'x[': 1}}]",
    { "variants[0].set: \"gateway.node.workers\": gateway has no member \"node\" (variant \"a\")",
      "variants[0].set: \"traffic[1].path\": traffic has no element 1 (it has 1) (variant \"a\")",
      "variants[0].set: \"name.x\": name is not an object (variant \"a\")",
      "variants[0].set: \"variants[0].name\": a variant cannot change the variants (variant \"a\")",
      "variants[0].set: \"x[\": is not a path like a.b[2].c (variant \"a\")" } },
  { "variants-load", "'gateway': {'node': {}}, 'variants': [{'name': 'poll', 'set': "
                     "{'gateway.node.event_backend': 'pol', 'duration_s': 100000}}, {'name': 'ok'}]",
    { "variants[0] (poll): gateway.node.event_backend: must be \"epoll\" or \"poll\"",
      "variants[0] (poll): duration_s: must be a number between 0.1 and 3600" } },

  /* expectations (the kinds' own checks are test-expect's) */
  { "expect-shape",
    "'expect': [1, {}, {'reloads': 1, 'errors': 0}, {'reload': 1}, {'reloads': 'one'}]",
    { "expect[0]: must be an object with one key, the kind of expectation, like "
      "{\"success_ratio\": {\"min\": 0.99}}",
      "expect[1]: must have exactly one key, the kind of expectation (it has 0)",
      "expect[2]: must have exactly one key, the kind of expectation (it has 2)",
      "expect[3].reload: unknown key (did you mean \"reloads\"?)",
      "expect[4].reloads: must be a number (exactly that) or an object" } },
  { "expect-references", "'traffic': [{'name': 'a'}], 'variants': [{'name': 'v'}], 'expect': "
                         "[{'success_ratio': {'min': 1, 'traffic': 'b', 'variant': 'w'}}, "
                         "{'reloads': {'max': 1, 'node': 'x'}}, {'requests': {'min': 1, 'traffic': 1}}]",
    { "expect[0].success_ratio.variant: unknown variant \"w\"",
      "expect[0].success_ratio.traffic: unknown traffic entry \"b\"",
      "expect[1].reloads.node: unknown node \"x\"",
      "expect[2].requests.traffic: no traffic entry 1 (there is 1)" } },
  /* TLS */
  { "tls-types", "'services': {'x': {'tls': 'yes'}}, 'gateway': {'node': {'tls': 1}}, "
                 "'traffic': [{'tls_resume': 'no'}]",
    { "services.x.tls: must be true or false", "gateway.node.tls: must be true or false",
      "traffic[0].tls_resume: must be true or false" } },
  { "tls-nodes", "'gateway': null, 'nodes': {'a': {'node': {'tls': null}}, 'b': {'node': {'tls': 'on'}}}",
    { "nodes.b.node.tls: must be true or false" } },
  { "tls-keys", "'services': {'x': {'tls': true, 'mock': {'tls': true}}}, 'traffic': [{'tls': true}]",
    { "services.x.mock.tls: unknown key*", "traffic[0].tls: unknown key*" } },
  { "tls-reload", "'gateway': {'node': {'tls': true}}, 'events': [{'at_s': 1, 'reload': {'set': "
                  "{'node.tls': false}}}]",
    { "events[0].reload.set: the node's config would be wrong: node.tls: unknown key*" } },

  { "expect-no-variants",
    "'expect': [{'ratio': {'of': 'rps', 'variant': 'a', 'over': 'b', 'min': 1}}]",
    { "expect[0].ratio.variant: unknown variant \"a\" (the scenario has no variants)",
      "expect[0].ratio.over: unknown variant \"b\" (the scenario has no variants)" } },
};

static void
test_error_case (gconstpointer data)
{
  const ErrorCase *ec = data;
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(PorticoScenario) s = NULL;
  g_autofree char *json =
    ec->members[0] == '!' ? unquote (ec->members + 1) : minimal_with (ec->members);
  g_autofree char *summary = NULL;
  guint expected = 0;

  s = portico_scenario_load_data (json, -1, "case.json", errors, &error);
  g_assert_null (s);
  g_assert_error (error, PORTICO_SCENARIO_ERROR, PORTICO_SCENARIO_ERROR_INVALID);
  expected = portico_test_assert_errors (errors, ec->errors, G_N_ELEMENTS (ec->errors));
  summary = g_strdup_printf ("case.json: %u error%s", expected, expected == 1 ? "" : "s");
  g_assert_cmpstr (error->message, ==, summary);
}

static void
test_error_file (void)
{
  g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("portico-scenario-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bad.json", NULL);
  g_autofree char *summary = g_strdup_printf ("%s: 2 errors", path);

  g_test_summary ("A file's errors are counted in the GError, which names the file; the "
                  "errors themselves do not repeat it. A missing file is an I/O error.");
  g_assert_true (g_file_set_contents (path, "{\"name\": \"x\", \"teaches\": \"y\"}", -1, NULL));
  g_assert_null (portico_scenario_load_file (path, errors, &error));
  g_assert_cmpstr (error->message, ==, summary);
  g_assert_cmpuint (errors->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (errors, 0), ==,
                   "gateway: is required (or nodes, for several nodes)");
  g_assert_cmpstr (g_ptr_array_index (errors, 1), ==,
                   "duration_s: is required (no traffic entry has a duration_s)");
  g_clear_error (&error);
  g_assert_null (portico_scenario_load_data ("{}", -1, NULL, NULL, &error));
  g_assert_cmpstr (error->message, ==, "<embedded>: 4 errors");
  g_clear_error (&error);
  g_unlink (path);
  g_assert_null (portico_scenario_load_file (path, errors, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_assert_cmpuint (errors->len, ==, 2);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/lab/scenario/load/minimal", test_minimal_defaults);
  g_test_add_func ("/lab/scenario/load/full/sections", test_full_sections);
  g_test_add_func ("/lab/scenario/load/full/events", test_full_events);
  g_test_add_func ("/lab/scenario/load/full/expect", test_full_expect);
  g_test_add_func ("/lab/scenario/load/cluster", test_cluster);
  g_test_add_func ("/lab/scenario/load/implicit-consumers", test_implicit_consumers);
  g_test_add_func ("/lab/scenario/variants/load", test_variants);
  g_test_add_func ("/lab/scenario/variants/json", test_variant_json);
  g_test_add_func ("/lab/scenario/tls/load", test_tls_load);
  g_test_add_func ("/lab/scenario/tls/variant", test_tls_variant);
  g_test_add_func ("/lab/scenario/tls/config", test_tls_config);
  g_test_add_func ("/lab/scenario/runner/render", test_render);
  g_test_add_func ("/lab/scenario/runner/mock-argv", test_mock_argv);
  for (guint i = 0; i < G_N_ELEMENTS (error_cases); i++) {
    g_autofree char *path = g_strdup_printf ("/lab/scenario/errors/%s", error_cases[i].name);

    g_test_add_data_func (path, &error_cases[i], test_error_case);
  }
  g_test_add_func ("/lab/scenario/errors/file", test_error_file);
  return g_test_run ();
}
