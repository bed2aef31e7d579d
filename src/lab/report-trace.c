/* report-trace.c: the `--trace` file (see report-trace.h). */
#include "lab/report-trace.h"

#include <math.h>

static JsonObject *
metadata (const char *what, guint pid, guint tid, const char *name)
{
  JsonObject *e = json_object_new ();
  JsonObject *args = json_object_new ();
  json_object_set_string_member (e, "name", what);
  json_object_set_string_member (e, "ph", "M");
  json_object_set_int_member (e, "pid", pid);
  json_object_set_int_member (e, "tid", tid);
  json_object_set_string_member (args, "name", name);
  json_object_set_object_member (e, "args", args);
  return e;
}

/* The thread a span goes on: 1 for the client, 2 + i for node i (in the
 * order the nodes first appear). */
static guint
thread_of (GPtrArray *nodes, const char *node, gboolean *first)
{
  guint i;
  *first = FALSE;
  if (node == NULL)
    return 1;
  if (!g_ptr_array_find_with_equal_func (nodes, node, g_str_equal, &i))
    {
      g_ptr_array_add (nodes, (gpointer) node);
      i = nodes->len - 1;
      *first = TRUE;
    }
  return 2 + i;
}

guint
portico_trace_events_add (JsonArray *events, const PorticoResults *results, guint first_pid)
{
  guint pid = first_pid;
  for (guint v = 0; v < results->variants->len; v++, pid++)
    {
      const PorticoVariantResults *vr = g_ptr_array_index (results->variants, v);
      g_autofree char *process = g_strdup_printf ("%s / %s", results->scenario, vr->variant);
      g_autoptr (GPtrArray) nodes = g_ptr_array_new ();
      json_array_add_object_element (events, metadata ("process_name", pid, 0, process));
      json_array_add_object_element (events, metadata ("thread_name", pid, 1, "client"));
      for (guint i = 0; i < vr->spans->len; i++)
        {
          const PorticoTraceSpan *s = g_ptr_array_index (vr->spans, i);
          gboolean first;
          guint tid = thread_of (nodes, s->node, &first);
          if (first)
            {
              g_autofree char *thread = g_strdup_printf ("node %s", s->node);
              json_array_add_object_element (events, metadata ("thread_name", pid, tid, thread));
            }
          if (!isfinite (s->start_ms) || !isfinite (s->duration_ms))
            continue;
          JsonObject *e = json_object_new ();
          JsonObject *args = json_object_new ();
          json_object_set_string_member (e, "name", s->name);
          json_object_set_string_member (e, "cat", s->category);
          json_object_set_string_member (e, "ph", "X");
          json_object_set_double_member (e, "ts", s->start_ms * 1000.0);
          json_object_set_double_member (e, "dur", s->duration_ms * 1000.0);
          json_object_set_int_member (e, "pid", pid);
          json_object_set_int_member (e, "tid", tid);
          if (s->phase != NULL)
            json_object_set_string_member (args, "phase", s->phase);
          if (s->result != NULL)
            json_object_set_string_member (args, "result", s->result);
          if (g_strcmp0 (s->category, "client") == 0)
            {
              json_object_set_int_member (args, "status", vr->trace_status);
              if (vr->trace_id != NULL)
                json_object_set_string_member (args, "trace_id", vr->trace_id);
            }
          json_object_set_object_member (e, "args", args);
          json_array_add_object_element (events, e);
        }
    }
  return pid;
}

JsonNode *
portico_trace_document (JsonArray *events)
{
  JsonObject *root = json_object_new ();
  json_object_set_array_member (root, "traceEvents", events);
  json_object_set_string_member (root, "displayTimeUnit", "ms");
  JsonNode *node = json_node_init_object (json_node_alloc (), root);
  json_object_unref (root);
  return node;
}
