/* runner-events.c: a run's timed events and narration (see
 * runner-private.h): each one a timeout on the run's clock, applied to the
 * mocks' control APIs, the nodes' processes, the relays of the links or
 * new idle connections, and recorded with what came of it.
 */
#include "lab/runner-private.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "core/address.h"
#include "lab/link.h"
#include "net/sock.h"

static void
post_mock_state (Run *run, const char *service, int instance, const char *json, GString *detail)
{
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, run->mocks);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      g_autofree char *prefix = g_strdup_printf ("%s#", service);
      if (!g_str_has_prefix (key, prefix))
        continue;
      if (instance >= 0 && (int) g_ascii_strtoll ((char *) key + strlen (prefix), NULL, 10) != instance)
        continue;
      RunMock *m = value;
      g_autofree char *uri = g_strdup_printf ("http://%s/state", m->control);
      g_autoptr (SoupMessage) msg = soup_message_new ("POST", uri);
      g_autoptr (GBytes) body = g_bytes_new (json, strlen (json));
      soup_message_set_request_body_from_bytes (msg, "application/json", body);
      GBytes *answer = soup_session_send_and_read (run->session, msg, NULL, NULL); /* its status says it */
      if (answer != NULL)
        g_bytes_unref (answer);
      g_string_append_printf (detail, "%s%s: %u", detail->len ? ", " : "", (char *) key,
                              soup_message_get_status (msg));
    }
}

/* Opens the event's idle connections; FALSE when not all of them could be. */
static gboolean
open_idle (Run *run, const PorticoScenarioEvent *e, GString *detail)
{
  RunNode *n = portico_runner_find_node (run, e->node);
  PorticoScenarioTraffic fake = { .to = (char *) e->node, .consumer = e->consumer };
  g_autoptr (GError) error = NULL;
  const char *address = n ? portico_runner_traffic_address (run, &fake, &error) : NULL;
  PorticoAddress to = { 0 };
  guint opened = 0;
  if (address != NULL && portico_address_parse (address, 0, &to, &error))
    for (guint i = 0; i < e->count; i++)
      {
        /* Connected, never written to: what an idle keep-alive client looks like. */
        int fd = portico_sock_connect ((const struct sockaddr *) &to.addr, to.addr_len);
        if (fd < 0)
          {
            if (error == NULL)
              g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (errno), "%s", g_strerror (errno));
            break;
          }
        g_array_append_val (run->idle_fds, fd);
        opened++;
      }
  portico_address_clear (&to);
  g_string_append_printf (detail, "%u opened%s%s", opened, error ? ": " : "", error ? error->message : "");
  return opened == e->count;
}

typedef struct {
  Run *run;
  const PorticoScenarioEvent *event;
} EventCall;

gboolean
portico_runner_apply_event (gpointer data)
{
  EventCall *call = data;
  Run *run = call->run;
  const PorticoScenarioEvent *e = call->event;
  g_autofree char *what = portico_scenario_event_describe (e);
  g_autoptr (GString) detail = g_string_new (NULL);
  gboolean ok = TRUE;
  RunNode *n = e->node ? portico_runner_find_node (run, e->node) : NULL;
  switch (e->kind)
    {
    case PORTICO_SCENARIO_EVENT_KILL_WORKER:
      {
        GPid pid = n && n->sampler ? portico_node_sampler_worker_pid (n->sampler, e->worker) : 0;
        ok = pid > 0 && kill (pid, e->signal) == 0;
        g_string_append_printf (detail, ok ? "pid %d" : "no worker %u seen yet", ok ? (int) pid : (int) e->worker);
        break;
      }
    case PORTICO_SCENARIO_EVENT_STOP_NODE:
      ok = n && n->proc;
      if (ok)
        {
          portico_lab_proc_stop (n->proc, e->graceful ? SIGQUIT : SIGTERM, 10000);
          portico_lab_proc_free (n->proc);
          n->proc = NULL;
        }
      break;
    case PORTICO_SCENARIO_EVENT_START_NODE:
      {
        g_autoptr (GError) error = NULL;
        ok = n && n->proc == NULL && portico_runner_node_spawn (run, n, &error);
        if (error)
          g_string_append (detail, error->message);
        break;
      }
    case PORTICO_SCENARIO_EVENT_SERVICE_DOWN:
      post_mock_state (run, e->service, e->instance, "{\"down\":true}", detail);
      break;
    case PORTICO_SCENARIO_EVENT_SERVICE_UP:
      post_mock_state (run, e->service, e->instance, "{\"down\":false}", detail);
      break;
    case PORTICO_SCENARIO_EVENT_SERVICE_SLOW:
      {
        g_autofree char *json = g_strdup_printf ("{\"latency_ms\":%u}", e->latency_ms);
        post_mock_state (run, e->service, e->instance, json, detail);
        break;
      }
    case PORTICO_SCENARIO_EVENT_LINK:
      {
        PorticoLinkProps props;
        portico_scenario_link_props_to_link (&e->props, &props);
        guint changed = 0;
        for (guint i = 0; i < run->links->len; i++)
          {
            RunLink *l = g_ptr_array_index (run->links, i);
            if (g_str_equal (l->link->name, e->link))
              portico_link_set_props (l->relay, &props), changed++;
          }
        ok = changed > 0;
        g_string_append_printf (detail, "%u relay(s)", changed);
        break;
      }
    case PORTICO_SCENARIO_EVENT_RELOAD:
      {
        g_autoptr (GError) error = NULL;
        g_autofree char *text = n ? portico_runner_node_config_text (run, n, e->config, &error) : NULL;
        ok = text && n->proc && g_file_set_contents (n->config_path, text, -1, &error);
        if (ok)
          portico_lab_proc_signal (n->proc, SIGHUP);
        if (error)
          g_string_append (detail, error->message);
        break;
      }
    case PORTICO_SCENARIO_EVENT_IDLE_CONNECTIONS:
      ok = open_idle (run, e, detail);
      break;
    default:
      ok = FALSE;
      break;
    }
  portico_runner_say (run, "event: %s%s%s%s", what, detail->len ? " (" : "", detail->str, detail->len ? ")" : "");
  portico_variant_results_add_event (run->out, portico_runner_elapsed (run), what, ok,
                                     detail->len ? detail->str : NULL);
  return G_SOURCE_REMOVE;
}

gboolean
portico_runner_say_narration (gpointer data)
{
  EventCall *call = data;
  const PorticoScenarioNarration *line = (const PorticoScenarioNarration *) call->event;
  if (!call->run->options->quiet)
    g_print ("%s[%5.1fs] >> %s\n", call->run->options->progress ? "\r\033[K" : "", portico_runner_elapsed (call->run),
             line->say);
  portico_variant_results_add_narration (call->run->out, portico_runner_elapsed (call->run), line->say);
  return G_SOURCE_REMOVE;
}

void
portico_runner_schedule (Run *run, double at_s, GSourceFunc func, gconstpointer item)
{
  EventCall *call = g_new (EventCall, 1);
  *call = (EventCall) { run, item };
  guint id = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) (at_s * 1000), func, call, g_free);
  g_array_append_val (run->timers, id);
}

