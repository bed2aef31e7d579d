/* lab/scenario-events.c: the events and the narration of a scenario, and
 * how an event reads in a report. Both are lists in time order; a link
 * event carries the link's whole props from then on and a reload the
 * node's whole config, so that the runner applies each event as it is.
 */
#include "lab/scenario-private.h"

#include <signal.h>
#include <string.h>

/* ---- events ------------------------------------------------------------------------ */

static const char *const event_kinds[] = { "kill_worker", "stop_node", "start_node",
                                           "service_down", "service_up", "service_slow",
                                           "link", "reload", "idle_connections", NULL };

static const struct {
  const char *name;
  int signo;
} signals[] = {
  { "KILL", SIGKILL }, { "TERM", SIGTERM }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
  { "HUP", SIGHUP }, { "SEGV", SIGSEGV }, { "ABRT", SIGABRT }, { "STOP", SIGSTOP },
  { "CONT", SIGCONT },
};

const char *
portico_scenario_event_kind_name (PorticoScenarioEventKind kind)
{
  g_return_val_if_fail (kind < G_N_ELEMENTS (event_kinds) - 1, "unknown");
  return event_kinds[kind];
}

static gboolean
load_event_node (PorticoScenarioLoader *ld, JsonObject *object, PorticoScenarioEvent *event)
{
  PorticoScenarioNode *node = portico_scenario_get_reference (ld->r, object, "node", ld->s->nodes,
                                                              "node", TRUE);

  event->node = node ? g_strdup (node->name) : NULL;
  return node != NULL;
}

static void
load_event_service (PorticoScenarioLoader *ld, JsonObject *object, PorticoScenarioEvent *event)
{
  PorticoScenarioService *service =
    portico_scenario_get_reference (ld->r, object, "service", ld->s->services, "service", FALSE);
  gint64 instance = -1;

  if (portico_json_reader_get_int (ld->r, object, "instance", 0, MAX_INSTANCES - 1, &instance) ==
        PORTICO_JSON_FIELD_OK && service && instance >= service->instances)
    portico_json_reader_error (ld->r, "instance", "service \"%s\" has %u instance%s (0 to %u)",
                               service->name, service->instances,
                               service->instances == 1 ? "" : "s", service->instances - 1);
  event->service = service ? g_strdup (service->name) : NULL;
  event->instance = (int) instance;
}

static void
load_event_kill_worker (PorticoScenarioLoader *ld, JsonObject *object, PorticoScenarioEvent *event)
{
  static const char *signal_names[G_N_ELEMENTS (signals) + 1];
  PorticoScenarioNode *node;
  int signal;

  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    signal_names[i] = signals[i].name;
  if (!portico_json_member (object, "worker"))
    portico_json_reader_error (ld->r, "worker", "is required");
  if (portico_json_reader_get_uint (ld->r, object, "worker", 0, 255, &event->worker) ==
        PORTICO_JSON_FIELD_OK && load_event_node (ld, object, event) &&
      (node = portico_scenario_find_node (ld->s, event->node))->workers > 0 &&
      event->worker >= node->workers)
    portico_json_reader_error (ld->r, "worker", "node \"%s\" has %u worker%s (0 to %u)", node->name,
                               node->workers, node->workers == 1 ? "" : "s", node->workers - 1);
  signal = portico_scenario_get_enum (ld->r, object, "signal", signal_names, 0);
  event->signal = signals[signal].signo;
}

/* The node's config after this reload: its config before (earlier reloads
 * included) with each "set" path changed; a config the node would refuse
 * is an error here, not a failed reload in the middle of a run. */
static void
load_event_reload (PorticoScenarioLoader *ld, JsonObject *object, PorticoScenarioEvent *event)
{
  JsonObject *set = NULL;
  JsonNode *before;
  g_autoptr(GPtrArray) problems = NULL;
  gboolean applied = TRUE;
  guint workers;

  if (!load_event_node (ld, object, event))
    return;
  before = g_hash_table_lookup (ld->node_configs, event->node);
  event->config = portico_scenario_deep_copy (before);
  if (portico_json_reader_get_object (ld->r, object, "set", NULL, &set) == PORTICO_JSON_FIELD_OK) {
    GList *paths = json_object_get_members (set);

    for (GList *l = paths; l; l = l->next) {
      JsonNode *value = json_object_get_member (set, l->data);
      g_autofree char *problem = NULL;

      if (!portico_scenario_json_path_set (event->config, l->data, value, &problem)) {
        portico_json_reader_error (ld->r, "set", "\"%s\": %s", (char *) l->data, problem);
        applied = FALSE;
      }
    }
    g_list_free (paths);
  }
  if (!applied)
    return;
  problems = portico_scenario_config_problems (ld->s, event->config, &workers);
  for (guint i = 0; i < problems->len; i++)
    portico_json_reader_error (ld->r, "set", "the node's config would be wrong: %s",
                               (char *) g_ptr_array_index (problems, i));
  g_hash_table_insert (ld->node_configs, event->node, json_node_ref (event->config));
}

static void
load_event_action (PorticoScenarioLoader *ld, PorticoScenarioEvent *event, JsonObject *object)
{
  static const char *const node_keys[] = { "node", NULL };
  static const char *const keys[][7] = {
    [PORTICO_SCENARIO_EVENT_KILL_WORKER] = { "node", "worker", "signal", NULL },
    [PORTICO_SCENARIO_EVENT_STOP_NODE] = { "node", "graceful", NULL },
    [PORTICO_SCENARIO_EVENT_SERVICE_DOWN] = { "service", "instance", NULL },
    [PORTICO_SCENARIO_EVENT_SERVICE_UP] = { "service", "instance", NULL },
    [PORTICO_SCENARIO_EVENT_SERVICE_SLOW] = { "service", "instance", "latency_ms", NULL },
    [PORTICO_SCENARIO_EVENT_LINK] = { "name", "latency_ms", "jitter_ms", "bandwidth_kbps",
                                      "reset_ratio", "down", NULL },
    [PORTICO_SCENARIO_EVENT_RELOAD] = { "node", "set", NULL },
    [PORTICO_SCENARIO_EVENT_IDLE_CONNECTIONS] = { "node", "count", "consumer", NULL },
  };
  const char *const *allowed = keys[event->kind][0] ? keys[event->kind] : node_keys;
  PorticoScenarioLink *link;
  PorticoScenarioConsumer *consumer;

  portico_json_reader_check_keys (ld->r, object, allowed);
  switch (event->kind) {
  case PORTICO_SCENARIO_EVENT_KILL_WORKER:
    load_event_kill_worker (ld, object, event);
    break;
  case PORTICO_SCENARIO_EVENT_STOP_NODE:
    portico_json_reader_get_bool (ld->r, object, "graceful", &event->graceful);
    /* fall through */
  case PORTICO_SCENARIO_EVENT_START_NODE:
    load_event_node (ld, object, event);
    break;
  case PORTICO_SCENARIO_EVENT_SERVICE_SLOW:
    if (!portico_json_member (object, "latency_ms"))
      portico_json_reader_error (ld->r, "latency_ms", "is required");
    portico_json_reader_get_uint (ld->r, object, "latency_ms", 0, MAX_MS, &event->latency_ms);
    /* fall through */
  case PORTICO_SCENARIO_EVENT_SERVICE_DOWN:
  case PORTICO_SCENARIO_EVENT_SERVICE_UP:
    load_event_service (ld, object, event);
    break;
  case PORTICO_SCENARIO_EVENT_LINK:
    if (!(link = portico_scenario_get_reference (ld->r, object, "name", ld->s->links, "link",
                                                 FALSE)))
      break;
    event->link = g_strdup (link->name);
    event->props = *(PorticoScenarioLinkProps *) g_hash_table_lookup (ld->link_props, link->name);
    if (portico_scenario_load_link_props (ld->r, object, &event->props) == 0)
      portico_json_reader_error (ld->r, NULL, "must change at least one of: latency_ms, jitter_ms, "
                                              "bandwidth_kbps, reset_ratio, down");
    g_hash_table_insert (ld->link_props, link->name, g_memdup2 (&event->props,
                                                                sizeof event->props));
    break;
  case PORTICO_SCENARIO_EVENT_RELOAD:
    load_event_reload (ld, object, event);
    break;
  case PORTICO_SCENARIO_EVENT_IDLE_CONNECTIONS:
    if (!portico_json_member (object, "count"))
      portico_json_reader_error (ld->r, "count", "is required");
    portico_json_reader_get_uint (ld->r, object, "count", 1, 1000000, &event->count);
    load_event_node (ld, object, event);
    if (portico_json_member (object, "consumer") &&
        (consumer = portico_scenario_get_reference (ld->r, object, "consumer", ld->s->consumers,
                                                    "consumer", FALSE)))
      event->consumer = g_strdup (consumer->name);
    break;
  }
}

/* "at_s" of events and narration: in time order, within the run. *@last
 * is the last valid time of the section, so that one wrong time is one
 * error, not one more at the next element. */
static void
load_at (PorticoScenarioLoader *ld, JsonObject *object, double *last, gboolean at_end_ok,
         double *at_s)
{
  char a[G_ASCII_DTOSTR_BUF_SIZE];
  PorticoJsonField field = portico_scenario_get_number (ld->r, object, "at_s", 0, MAX_DURATION_S,
                                                        at_s);

  if (field == PORTICO_JSON_FIELD_ABSENT)
    portico_json_reader_error (ld->r, "at_s", "is required");
  if (field != PORTICO_JSON_FIELD_OK)
    return;
  if (*at_s < *last)
    portico_json_reader_error (ld->r, "at_s", "must not be before the one above (at %s s): list "
                                              "them in time order",
                               portico_scenario_format_number (a, sizeof a, *last));
  else if (ld->s->duration_s > 0 &&
           (*at_s > ld->s->duration_s || (!at_end_ok && *at_s == ld->s->duration_s)))
    portico_json_reader_error (ld->r, "at_s", "must be before the end of the run (duration_s %s)",
                               portico_scenario_format_number (a, sizeof a, ld->s->duration_s));
  else
    *last = *at_s;
}

void
portico_scenario_load_event (PorticoJsonReader *r, JsonNode *element, gpointer data)
{
  PorticoScenarioLoader *ld = data;
  PorticoScenarioEvent *event;
  JsonObject *object, *action;
  const char *found = NULL;
  double at_s = 0;

  if (!(object = portico_json_reader_as_object (r, element, NULL)))
    return;
  {
    g_autofree const char **keys = g_new0 (const char *, G_N_ELEMENTS (event_kinds) + 1);

    keys[0] = "at_s";
    memcpy (keys + 1, event_kinds, sizeof event_kinds);
    portico_json_reader_check_keys (r, object, keys);
  }
  load_at (ld, object, &ld->last_event_at, FALSE, &at_s);
  for (int k = 0; event_kinds[k]; k++) {
    if (!portico_json_member (object, event_kinds[k]))
      continue;
    if (found) {
      portico_json_reader_error (r, NULL, "has both %s and %s: one action per event", found,
                                 event_kinds[k]);
      return;
    }
    found = event_kinds[k];
  }
  if (!found) {
    g_autofree char *list = g_strjoinv (", ", (GStrv) event_kinds);

    portico_json_reader_error (r, NULL, "must have one of: %s", list);
    return;
  }
  event = g_new0 (PorticoScenarioEvent, 1);
  event->at_s = at_s;
  event->json_path = g_strdup (portico_json_reader_get_path (r));
  event->instance = -1;
  event->signal = SIGKILL;
  for (int k = 0; event_kinds[k]; k++) {
    if (g_str_equal (found, event_kinds[k]))
      event->kind = (PorticoScenarioEventKind) k;
  }
  g_ptr_array_add (ld->s->events, event);
  if (portico_json_reader_get_object (r, object, found, NULL, &action) != PORTICO_JSON_FIELD_OK)
    return;
  portico_json_reader_push_key (r, found);
  load_event_action (ld, event, action);
  portico_json_reader_pop (r);
}

void
portico_scenario_load_narration (PorticoJsonReader *r, JsonNode *element, gpointer data)
{
  static const char *const keys[] = { "at_s", "say", NULL };
  PorticoScenarioLoader *ld = data;
  PorticoScenarioNarration *narration;
  JsonObject *object;
  const char *say;
  double at_s = 0;

  if (!(object = portico_json_reader_as_object (r, element, keys)))
    return;
  load_at (ld, object, &ld->last_narration_at, TRUE, &at_s);
  if (!(say = portico_json_reader_require_string (r, object, "say")))
    return;
  narration = g_new0 (PorticoScenarioNarration, 1);
  narration->at_s = at_s;
  narration->say = g_strdup (say);
  g_ptr_array_add (ld->s->narration, narration);
}

static void
describe_link_props (GString *out, const PorticoScenarioLinkProps *props)
{
  char ratio[G_ASCII_DTOSTR_BUF_SIZE];

  if (props->down) {
    g_string_append (out, "down");
    return;
  }
  g_string_append_printf (out, "latency %u ms", props->latency_ms);
  if (props->jitter_ms)
    g_string_append_printf (out, " +- %u ms", props->jitter_ms);
  if (props->bandwidth_kbps)
    g_string_append_printf (out, ", %u kbit/s", props->bandwidth_kbps);
  if (props->reset_ratio > 0)
    g_string_append_printf (out, ", resets %s",
                            portico_scenario_format_number (ratio, sizeof ratio,
                                                            props->reset_ratio));
}

char *
portico_scenario_event_describe (const PorticoScenarioEvent *e)
{
  GString *out = g_string_new (NULL);
  g_autofree char *instance = e->instance >= 0 ? g_strdup_printf (" (instance %d)", e->instance)
                                               : g_strdup ("");

  switch (e->kind) {
  case PORTICO_SCENARIO_EVENT_KILL_WORKER:
    for (guint i = 0; i < G_N_ELEMENTS (signals); i++) {
      if (signals[i].signo == e->signal)
        g_string_append_printf (out, "kill worker %u of %s (%s)", e->worker, e->node,
                                signals[i].name);
    }
    break;
  case PORTICO_SCENARIO_EVENT_STOP_NODE:
    g_string_append_printf (out, "stop node %s%s", e->node, e->graceful ? " gracefully" : "");
    break;
  case PORTICO_SCENARIO_EVENT_START_NODE:
    g_string_append_printf (out, "start node %s", e->node);
    break;
  case PORTICO_SCENARIO_EVENT_SERVICE_DOWN:
    g_string_append_printf (out, "take service %s down%s", e->service, instance);
    break;
  case PORTICO_SCENARIO_EVENT_SERVICE_UP:
    g_string_append_printf (out, "bring service %s up%s", e->service, instance);
    break;
  case PORTICO_SCENARIO_EVENT_SERVICE_SLOW:
    g_string_append_printf (out, "slow service %s to %u ms%s", e->service, e->latency_ms, instance);
    break;
  case PORTICO_SCENARIO_EVENT_LINK:
    g_string_append_printf (out, "link %s: ", e->link);
    describe_link_props (out, &e->props);
    break;
  case PORTICO_SCENARIO_EVENT_RELOAD:
    g_string_append_printf (out, "reload node %s", e->node);
    break;
  case PORTICO_SCENARIO_EVENT_IDLE_CONNECTIONS:
    g_string_append_printf (out, "open %u idle connection%s to %s", e->count,
                            e->count == 1 ? "" : "s", e->node);
    break;
  }
  return g_string_free (out, FALSE);
}

