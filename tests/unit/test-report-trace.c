/* The --trace file: Chrome trace events from the traced requests. */
#include <math.h>

#include "lab/report-trace.h"

static PorticoResults *
two_variants (void)
{
  PorticoResults *results = portico_results_new ("sc");
  PorticoVariantResults *a = portico_results_add_variant (results, "a");
  a->trace_status = 200;
  a->trace_id = g_strdup ("0-7");
  portico_variant_results_add_span (a, "request", "client", NULL, NULL, NULL, 0, 5.5);
  portico_variant_results_add_span (a, "access", "phase", "gw", NULL, NULL, 1.0, 0.25);
  portico_variant_results_add_span (a, "key-auth", "module", "gw", "access", "continue", 1.01, 0.2);
  portico_variant_results_add_span (a, "upstream 127.0.0.1:1", "upstream", "gw", NULL, "answered", 1.3, 3);
  portico_variant_results_add_span (a, "log", "phase", "back", NULL, NULL, 4.5, 0.01);
  portico_variant_results_add_span (a, "broken", "phase", "gw", NULL, NULL, NAN, 1);
  portico_results_add_variant (results, "b"); /* nothing traced */
  return results;
}

static JsonObject *
event (JsonArray *events, guint i)
{
  return json_array_get_object_element (events, i);
}

static guint
count (JsonArray *events, const char *ph, guint pid, gint tid)
{
  guint n = 0;
  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *e = event (events, i);
      if (g_str_equal (json_object_get_string_member (e, "ph"), ph) && json_object_get_int_member (e, "pid") == pid &&
          (tid < 0 || json_object_get_int_member (e, "tid") == tid))
        n++;
    }
  return n;
}

static JsonObject *
named (JsonArray *events, const char *name)
{
  for (guint i = 0; i < json_array_get_length (events); i++)
    if (g_str_equal (json_object_get_string_member (event (events, i), "name"), name))
      return event (events, i);
  return NULL;
}

static void
test_events (void)
{
  g_autoptr (PorticoResults) results = two_variants ();
  JsonArray *events = json_array_new ();
  guint next = portico_trace_events_add (events, results, 3);
  g_autoptr (JsonNode) doc = portico_trace_document (events);

  g_assert_cmpuint (next, ==, 5);
  /* variant a is process 3: its name, three threads (client, gw, back), four spans (the NaN one left out) */
  g_assert_cmpuint (count (events, "M", 3, -1), ==, 4);
  g_assert_cmpuint (count (events, "X", 3, 1), ==, 1);
  g_assert_cmpuint (count (events, "X", 3, 2), ==, 3);
  g_assert_cmpuint (count (events, "X", 3, 3), ==, 1);
  g_assert_null (named (events, "broken"));
  /* variant b: only its process and client thread names */
  g_assert_cmpuint (count (events, "M", 4, -1), ==, 2);
  g_assert_cmpuint (count (events, "X", 4, -1), ==, 0);

  JsonObject *module = named (events, "key-auth");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (module, "ts"), 1010, 1e-6);
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (module, "dur"), 200, 1e-6);
  g_assert_cmpstr (json_object_get_string_member (module, "cat"), ==, "module");
  JsonObject *args = json_object_get_object_member (module, "args");
  g_assert_cmpstr (json_object_get_string_member (args, "phase"), ==, "access");
  g_assert_cmpstr (json_object_get_string_member (args, "result"), ==, "continue");
  JsonObject *client = json_object_get_object_member (named (events, "request"), "args");
  g_assert_cmpint (json_object_get_int_member (client, "status"), ==, 200);
  g_assert_cmpstr (json_object_get_string_member (client, "trace_id"), ==, "0-7");
  JsonObject *thread = NULL;
  for (guint i = 0; i < json_array_get_length (events); i++)
    {
      JsonObject *e = event (events, i);
      if (g_str_equal (json_object_get_string_member (e, "name"), "thread_name") &&
          json_object_get_int_member (e, "tid") == 3)
        thread = json_object_get_object_member (e, "args");
    }
  g_assert_nonnull (thread);
  g_assert_cmpstr (json_object_get_string_member (thread, "name"), ==, "node back");

  JsonObject *root = json_node_get_object (doc);
  g_assert_true (json_object_get_array_member (root, "traceEvents") == events);
  g_assert_cmpstr (json_object_get_string_member (root, "displayTimeUnit"), ==, "ms");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lab/report-trace/events", test_events);
  return g_test_run ();
}
