/* runner.c: one scenario run, variant by variant (see runner.h).
 *
 * A scenario with TLS (a node's node.tls, a service's tls) gets its
 * certificates first (lab/lab-pki.h), in the run's directory: the mocks
 * serve them, the nodes' configs name them, and the traffic, the nodes
 * towards https mocks and the runner's own probes trust the run's CA.
 *
 * Start order follows what each party must know: mocks first (they know
 * nothing), then the links towards services, then the nodes (their configs
 * name the services, or the links in front of them; a node naming another
 * node waits for it), then the links towards nodes, then the traffic (sent
 * to a node, or to the link in front of it). Node ports are picked before
 * the first start and kept, so a node stopped and started again by events
 * is found where it was.
 */
#include "lab/runner.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "core/address.h"
#include "core/json-reader.h"
#include "core/trace.h"
#include "lab/lab-proc.h"
#include "lab/link.h"
#include "lab/node-sampler.h"
#include "lab/traffic.h"
#include "net/sock.h"

#define START_TIMEOUT_MS 15000
#define SAMPLE_MS 200

typedef struct {
  PorticoLabProc *proc;
  char *address; /* "127.0.0.1:PORT" */
  char *control;
} RunMock;

typedef struct {
  const PorticoScenarioLink *link;
  char *target_key; /* "service:NAME#I" or "node:NAME" */
  PorticoLink *relay;
} RunLink;

typedef struct {
  const PorticoScenarioNode *node;
  char *listen;      /* "127.0.0.1:PORT", fixed for the run */
  char *admin;
  char *config_path;
  char *trace_token; /* what its requests carry to be traced */
  PorticoLabProc *proc;
  PorticoNodeSampler *sampler;
} RunNode;

typedef struct {
  const PorticoScenarioTraffic *spec;
  PorticoTraffic *traffic;
  guint start_timer;
  gboolean done;
} RunTraffic;

typedef struct {
  const PorticoScenario *sc;
  const PorticoRunOptions *options;
  PorticoVariantResults *out;
  PorticoLoop *loop;
  GMainLoop *main_loop;
  SoupSession *session;
  char *dir;
  PorticoLabPki *pki;            /* NULL: no TLS in the scenario */
  PorticoTlsClient *tls_client;  /* the traffic's, trusting the run's CA */
  GHashTable *mocks;   /* "NAME#I" -> RunMock* */
  GPtrArray *links;    /* RunLink* */
  GPtrArray *nodes;    /* RunNode*, the scenario's order */
  GPtrArray *traffic;  /* RunTraffic* */
  GArray *timers;      /* guint source ids of events and narration */
  GArray *idle_fds;    /* int */
  gint64 start_us;
  guint traffic_left;
  gboolean time_up;
  guint progress_timer;
} Run;

static double
run_elapsed (Run *run)
{
  return (double) (g_get_monotonic_time () - run->start_us) / 1e6;
}

static void
run_say (Run *run, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static void
run_say (Run *run, const char *fmt, ...)
{
  if (run->options->quiet)
    return;
  va_list args;
  va_start (args, fmt);
  g_autofree char *text = g_strdup_vprintf (fmt, args);
  va_end (args);
  g_print ("%s[%5.1fs] %s\n", run->options->progress ? "\r\033[K" : "", run_elapsed (run), text);
}

/* ---- addresses ---- */

static char *
free_port_address (void)
{
  /* Bound then released: the node takes it a moment later. Loopback
   * ports are not handed out twice in a row by the kernel's allocator. */
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof sin;
  if (fd < 0 || bind (fd, (struct sockaddr *) &sin, sizeof sin) != 0 ||
      getsockname (fd, (struct sockaddr *) &sin, &len) != 0)
    {
      if (fd >= 0)
        close (fd);
      return NULL;
    }
  close (fd);
  return g_strdup_printf ("127.0.0.1:%u", ntohs (sin.sin_port));
}

static RunNode *
find_node (Run *run, const char *name)
{
  for (guint i = 0; i < run->nodes->len; i++)
    {
      RunNode *n = g_ptr_array_index (run->nodes, i);
      if (g_str_equal (n->node->name, name))
        return n;
    }
  return NULL;
}

/* The relay of @link towards @target_key ("service:S#I", "node:N"),
 * started on first use. */
static const char *
link_address (Run *run, const PorticoScenarioLink *link, const char *target_key, const char *target,
              GError **error)
{
  for (guint i = 0; i < run->links->len; i++)
    {
      RunLink *l = g_ptr_array_index (run->links, i);
      if (l->link == link && g_str_equal (l->target_key, target_key))
        return portico_link_address (l->relay);
    }
  PorticoLinkProps props;
  portico_scenario_link_props_to_link (&link->props, &props);
  PorticoLink *relay = portico_link_new (run->loop, "127.0.0.1:0", target, &props, error);
  if (relay == NULL)
    return NULL;
  RunLink *l = g_new0 (RunLink, 1);
  l->link = link;
  l->target_key = g_strdup (target_key);
  l->relay = relay;
  g_ptr_array_add (run->links, l);
  return portico_link_address (relay);
}

/* What @from_node must use to reach a service instance or a node. */
static char *
resolve (const char *from_node, PorticoPartyKind kind, const char *name, guint instance, gpointer data,
         GError **error)
{
  Run *run = data;
  const char *target;
  g_autofree char *key = NULL;
  if (kind == PORTICO_PARTY_SERVICE)
    {
      g_autofree char *mock_key = g_strdup_printf ("%s#%u", name, instance);
      RunMock *m = g_hash_table_lookup (run->mocks, mock_key);
      if (m == NULL)
        {
          g_set_error (error, PORTICO_SCENARIO_ERROR, PORTICO_SCENARIO_ERROR_RESOLVE,
                       "service %s has no instance %u", name, instance);
          return NULL;
        }
      target = m->address;
      key = g_strdup_printf ("service:%s", mock_key);
    }
  else
    {
      RunNode *n = find_node (run, name);
      if (n == NULL || n->proc == NULL)
        {
          g_set_error (error, PORTICO_SCENARIO_ERROR, PORTICO_SCENARIO_ERROR_RESOLVE, "node %s is not started",
                       name);
          return NULL;
        }
      target = n->listen;
      key = g_strdup_printf ("node:%s", name);
    }
  const PorticoScenarioLink *link =
    from_node ? portico_scenario_link_between (run->sc, PORTICO_PARTY_NODE, from_node, kind, name) : NULL;
  if (link == NULL)
    return g_strdup (target);
  const char *via = link_address (run, link, key, target, error);
  return via ? g_strdup (via) : NULL;
}

/* ---- starting ---- */

static gboolean
start_mocks (Run *run, GError **error)
{
  for (guint i = 0; i < run->sc->services->len; i++)
    {
      const PorticoScenarioService *svc = g_ptr_array_index (run->sc->services, i);
      for (guint k = 0; k < svc->instances; k++)
        {
          g_auto (GStrv) args = portico_scenario_mock_argv (svc, k);
          g_autoptr (GPtrArray) argv = g_ptr_array_new ();
          g_ptr_array_add (argv, NULL);
          g_ptr_array_add (argv, "mock");
          for (char **a = args; *a; a++)
            g_ptr_array_add (argv, *a);
          if (svc->tls)
            {
              const char *tls_args[] = { "--tls-cert", run->pki->cert_path, "--tls-key", run->pki->key_path };
              for (guint a = 0; a < G_N_ELEMENTS (tls_args); a++)
                g_ptr_array_add (argv, (gpointer) tls_args[a]);
            }
          g_ptr_array_add (argv, NULL);
          g_autofree char *key = g_strdup_printf ("%s#%u", svc->name, k);
          g_autofree char *name = g_strdup_printf ("service %s", key);
          PorticoLabProc *p = portico_lab_proc_spawn (name, (const char *const *) argv->pdata, error);
          if (p == NULL)
            return FALSE;
          RunMock *m = g_new0 (RunMock, 1);
          m->proc = p;
          g_hash_table_insert (run->mocks, g_steal_pointer (&key), m);
          const char *addr = portico_lab_proc_wait_value (p, "listening", 0, START_TIMEOUT_MS, error);
          const char *control = addr ? portico_lab_proc_wait_value (p, "control", 0, START_TIMEOUT_MS, error) : NULL;
          if (control == NULL)
            return FALSE;
          m->address = g_strdup (addr);
          m->control = g_strdup (control);
        }
    }
  return TRUE;
}

/* The rendered config, with this run's fixed listen and admin addresses
 * (a TLS listener for a tls node), and the run's TLS applied. */
static char *
node_config_text (Run *run, RunNode *n, JsonNode *config, GError **error)
{
  g_autoptr (JsonNode) with_tls =
    run->pki ? portico_scenario_config_tls (run->sc, n->node, config ? config : n->node->config, run->pki) : NULL;
  g_autofree char *text =
    portico_scenario_render_config (run->sc, n->node, with_tls ? with_tls : config, resolve, run, error);
  if (text == NULL)
    return NULL;
  g_autoptr (JsonNode) root = json_from_string (text, error);
  if (root == NULL)
    return NULL;
  JsonObject *node = json_object_get_object_member (json_node_get_object (root), "node");
  /* The scenario's own token, or one of the run's: the traced request
   * needs it, and nothing else knows it. */
  if (!json_object_has_member (node, "trace_token"))
    {
      g_autofree char *token = g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());
      json_object_set_string_member (node, "trace_token", token);
    }
  g_free (n->trace_token);
  n->trace_token = g_strdup (json_object_get_string_member (node, "trace_token"));
  JsonArray *listen = json_array_new ();
  if (n->node->tls)
    {
      JsonObject *entry = json_object_new ();
      json_object_set_string_member (entry, "address", n->listen);
      json_object_set_boolean_member (entry, "ssl", TRUE);
      json_array_add_object_element (listen, entry);
    }
  else
    json_array_add_string_element (listen, n->listen);
  json_object_set_array_member (node, "listen", listen);
  json_object_set_string_member (node, "admin_listen", n->admin);
  return json_to_string (root, TRUE);
}

static gboolean
node_spawn (Run *run, RunNode *n, GError **error)
{
  const char *argv[] = { NULL, "serve", "-c", n->config_path, NULL };
  g_autofree char *name = g_strdup_printf ("node %s", n->node->name);
  n->proc = portico_lab_proc_spawn (name, argv, error);
  if (n->proc == NULL)
    return FALSE;
  if (portico_lab_proc_wait_value (n->proc, "admin", 0, START_TIMEOUT_MS, error) == NULL)
    {
      g_prefix_error (error, "(its log is above) ");
      return FALSE;
    }
  if (n->sampler == NULL)
    n->sampler = portico_node_sampler_new (n->admin, SAMPLE_MS);
  /* Where to poke it while the scenario runs (curl, portico top). */
  run_say (run, "node %s: proxy %s, admin %s", n->node->name, n->listen, n->admin);
  return TRUE;
}

static gboolean
start_nodes (Run *run, GError **error)
{
  guint started = 0, total = run->nodes->len;
  while (started < total)
    {
      guint before = started;
      for (guint i = 0; i < total; i++)
        {
          RunNode *n = g_ptr_array_index (run->nodes, i);
          if (n->proc != NULL)
            continue;
          g_autoptr (GError) later = NULL;
          g_autofree char *text = node_config_text (run, n, NULL, &later);
          if (text == NULL)
            continue; /* it names a node not started yet: next round */
          if (!g_file_set_contents (n->config_path, text, -1, error) || !node_spawn (run, n, error))
            return FALSE;
          started++;
        }
      if (started == before)
        {
          RunNode *n = NULL;
          for (guint i = 0; i < total && n == NULL; i++)
            if (((RunNode *) g_ptr_array_index (run->nodes, i))->proc == NULL)
              n = g_ptr_array_index (run->nodes, i);
          return node_config_text (run, n, NULL, error) != NULL; /* sets why */
        }
    }
  return TRUE;
}

/* ---- traffic ---- */

static void
traffic_done (PorticoTraffic *t, gpointer data)
{
  Run *run = data;
  for (guint i = 0; i < run->traffic->len; i++)
    {
      RunTraffic *rt = g_ptr_array_index (run->traffic, i);
      if (rt->traffic == t && !rt->done)
        {
          rt->done = TRUE;
          run->traffic_left--;
        }
    }
  if (run->traffic_left == 0 && run->time_up)
    g_main_loop_quit (run->main_loop);
}

static gboolean
traffic_start (gpointer data)
{
  RunTraffic *rt = data;
  rt->start_timer = 0;
  portico_traffic_start (rt->traffic);
  return G_SOURCE_REMOVE;
}

/* Where a traffic entry's requests go: its node, or the link in front. */
static const char *
traffic_address (Run *run, const PorticoScenarioTraffic *spec, GError **error)
{
  RunNode *n = find_node (run, spec->to);
  const PorticoScenarioLink *link =
    spec->consumer ? portico_scenario_link_between (run->sc, PORTICO_PARTY_CONSUMER, spec->consumer,
                                                    PORTICO_PARTY_NODE, spec->to)
                   : NULL;
  if (link == NULL)
    return n->listen;
  g_autofree char *key = g_strdup_printf ("node:%s", spec->to);
  return link_address (run, link, key, n->listen, error);
}

static gboolean
prepare_traffic (Run *run, GError **error)
{
  for (guint i = 0; i < run->sc->traffic->len; i++)
    {
      const PorticoScenarioTraffic *st = g_ptr_array_index (run->sc->traffic, i);
      const char *address = traffic_address (run, st, error);
      if (address == NULL)
        return FALSE;
      PorticoTrafficSpec spec = {
        .address = (char *) address,
        .method = st->method,
        .path = st->path,
        .body = st->body,
        .concurrency = st->concurrency,
        .rate = st->rate,
        .duration_ms = (guint) (st->duration_s * 1000),
        .count = st->count,
        .keepalive = st->keepalive,
        .timeout_ms = st->timeout_ms,
        .count_headers = run->sc->count_headers,
        .tls = find_node (run, st->to)->node->tls ? run->tls_client : NULL,
        .tls_no_resume = !st->tls_resume,
      };
      g_autoptr (GPtrArray) headers = g_ptr_array_new_with_free_func (g_free);
      for (guint h = 0; h < st->headers->len; h++)
        {
          const PorticoScenarioHeader *sh = g_ptr_array_index (st->headers, h);
          PorticoTrafficHeader *th = g_new (PorticoTrafficHeader, 1);
          th->name = sh->name;
          th->value = sh->value;
          g_ptr_array_add (headers, th);
        }
      spec.headers = headers;
      RunTraffic *rt = g_new0 (RunTraffic, 1);
      rt->spec = st;
      rt->traffic = portico_traffic_new (run->loop, &spec, error);
      if (rt->traffic == NULL)
        {
          g_free (rt);
          g_prefix_error (error, "%s: ", st->name);
          return FALSE;
        }
      portico_traffic_set_done_func (rt->traffic, traffic_done, run);
      g_ptr_array_add (run->traffic, rt);
      run->traffic_left++;
    }
  return TRUE;
}

/* ---- events and narration ---- */

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
  RunNode *n = find_node (run, e->node);
  PorticoScenarioTraffic fake = { .to = (char *) e->node, .consumer = e->consumer };
  g_autoptr (GError) error = NULL;
  const char *address = n ? traffic_address (run, &fake, &error) : NULL;
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

static gboolean
apply_event (gpointer data)
{
  EventCall *call = data;
  Run *run = call->run;
  const PorticoScenarioEvent *e = call->event;
  g_autofree char *what = portico_scenario_event_describe (e);
  g_autoptr (GString) detail = g_string_new (NULL);
  gboolean ok = TRUE;
  RunNode *n = e->node ? find_node (run, e->node) : NULL;
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
        ok = n && n->proc == NULL && node_spawn (run, n, &error);
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
        g_autofree char *text = n ? node_config_text (run, n, e->config, &error) : NULL;
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
  run_say (run, "event: %s%s%s%s", what, detail->len ? " (" : "", detail->str, detail->len ? ")" : "");
  portico_variant_results_add_event (run->out, run_elapsed (run), what, ok, detail->len ? detail->str : NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
say_narration (gpointer data)
{
  EventCall *call = data;
  const PorticoScenarioNarration *line = (const PorticoScenarioNarration *) call->event;
  if (!call->run->options->quiet)
    g_print ("%s[%5.1fs] >> %s\n", call->run->options->progress ? "\r\033[K" : "", run_elapsed (call->run),
             line->say);
  portico_variant_results_add_narration (call->run->out, run_elapsed (call->run), line->say);
  return G_SOURCE_REMOVE;
}

static gboolean
give_up (gpointer data)
{
  Run *run = data;
  run_say (run, "traffic still in flight %.0f s after the end: stopping anyway", run_elapsed (run) - run->sc->duration_s);
  g_main_loop_quit (run->main_loop);
  return G_SOURCE_REMOVE;
}

static gboolean
time_up (gpointer data)
{
  Run *run = data;
  run->time_up = TRUE;
  for (guint i = 0; i < run->traffic->len; i++)
    {
      RunTraffic *rt = g_ptr_array_index (run->traffic, i);
      if (rt->start_timer != 0)
        {
          /* It was to start after the end: it never runs. */
          g_source_remove (rt->start_timer);
          rt->start_timer = 0;
          rt->done = TRUE;
          run->traffic_left--;
          continue;
        }
      portico_traffic_stop (rt->traffic);
    }
  if (run->traffic_left == 0)
    g_main_loop_quit (run->main_loop);
  else
    {
      guint id = g_timeout_add (30000, give_up, run);
      g_array_append_val (run->timers, id);
    }
  return G_SOURCE_REMOVE;
}

static gboolean
progress (gpointer data)
{
  Run *run = data;
  guint64 done = 0, errors = 0, last = 0;
  for (guint i = 0; i < run->traffic->len; i++)
    {
      guint64 d, e, l;
      portico_traffic_progress (((RunTraffic *) g_ptr_array_index (run->traffic, i))->traffic, &d, &e, &l);
      done += d, errors += e, last += l;
    }
  g_print ("\r\033[K  %5.1fs  %" G_GUINT64_FORMAT " req/s  %" G_GUINT64_FORMAT " done  %" G_GUINT64_FORMAT " errors",
           run_elapsed (run), last, done, errors);
  return G_SOURCE_CONTINUE;
}

static void
schedule (Run *run, double at_s, GSourceFunc func, gconstpointer item)
{
  EventCall *call = g_new (EventCall, 1);
  *call = (EventCall) { run, item };
  guint id = g_timeout_add_full (G_PRIORITY_DEFAULT, (guint) (at_s * 1000), func, call, g_free);
  g_array_append_val (run->timers, id);
}

/* ---- figures ---- */

static PorticoResultSecond
result_second (const PorticoTrafficSecond *s)
{
  PorticoResultSecond out = { .started = s->started, .completed = s->completed,
                              .errors = portico_traffic_errors_total (s->errors),
                              .p50_ms = portico_traffic_second_percentile_ms (s, 50),
                              .p99_ms = portico_traffic_second_percentile_ms (s, 99) };
  memcpy (out.status, s->status, sizeof out.status);
  return out;
}

/* Adds @s into @sum: counts and latency histograms add up. */
static void
add_second (PorticoTrafficSecond *sum, const PorticoTrafficSecond *s)
{
  sum->started += s->started;
  sum->not_started += s->not_started;
  sum->completed += s->completed;
  for (guint i = 0; i < G_N_ELEMENTS (s->status); i++)
    sum->status[i] += s->status[i];
  for (guint i = 0; i < PORTICO_TRAFFIC_N_ERRORS; i++)
    sum->errors[i] += s->errors[i];
  for (guint i = 0; i < PORTICO_TRAFFIC_LATENCY_BUCKETS; i++)
    sum->latency_hist[i] += s->latency_hist[i];
}

static void
copy_traffic_figures (PorticoTrafficFigures *f, const PorticoTrafficResult *r)
{
  f->requests = r->started;
  f->completed = r->completed;
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, r->status);
  while (g_hash_table_iter_next (&it, &key, &value))
    portico_traffic_figures_add_status (f, GPOINTER_TO_UINT (key), *(guint64 *) value);
  for (int e = 0; e < PORTICO_TRAFFIC_N_ERRORS; e++)
    f->errors[e] = r->errors[e];
  f->connections_opened = r->connections_opened;
  memcpy (f->tls_handshakes, r->tls_handshakes, sizeof f->tls_handshakes);
  f->duration_s = r->duration_s;
  f->rps = r->duration_s > 0 ? (double) r->completed / r->duration_s : NAN;
  gboolean any = r->completed > 0;
  f->p50_ms = any ? r->p50_ms : NAN;
  f->p90_ms = any ? r->p90_ms : NAN;
  f->p99_ms = any ? r->p99_ms : NAN;
  f->p999_ms = any ? r->p999_ms : NAN;
  f->max_ms = any ? r->max_ms : NAN;
  if (r->headers_seen != NULL)
    {
      g_hash_table_iter_init (&it, r->headers_seen);
      while (g_hash_table_iter_next (&it, &key, &value))
        portico_traffic_figures_add_header (f, key, *(guint64 *) value);
    }
  for (guint i = 0; i < r->seconds->len; i++)
    {
      PorticoResultSecond out = result_second (&g_array_index (r->seconds, PorticoTrafficSecond, i));
      g_array_append_val (f->seconds, out);
    }
}

/* The overall figures: counts add up; a percentile of all the entries
 * together cannot be made from theirs, so the worst entry's is taken (it
 * is exact with one entry). */
static void
add_overall (PorticoTrafficFigures *all, const PorticoTrafficFigures *f)
{
  all->requests += f->requests;
  all->completed += f->completed;
  for (guint i = 0; i < f->status->len; i++)
    {
      const PorticoStatusCount *c = &g_array_index (f->status, PorticoStatusCount, i);
      portico_traffic_figures_add_status (all, c->code, c->count);
    }
  for (int e = 0; e < PORTICO_TRAFFIC_N_ERRORS; e++)
    all->errors[e] += f->errors[e];
  all->connections_opened += f->connections_opened;
  for (int k = 0; k < PORTICO_TRAFFIC_TLS_KINDS; k++)
    all->tls_handshakes[k] += f->tls_handshakes[k];
  all->duration_s = MAX (all->duration_s, f->duration_s);
  all->rps = all->duration_s > 0 ? (double) all->completed / all->duration_s : NAN;
#define WORST(field) all->field = isnan (all->field) || f->field > all->field ? f->field : all->field
  WORST (p50_ms);
  WORST (p90_ms);
  WORST (p99_ms);
  WORST (p999_ms);
  WORST (max_ms);
#undef WORST
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, f->headers_seen);
  while (g_hash_table_iter_next (&it, &key, &value))
    portico_traffic_figures_add_header (all, key, *(guint64 *) value);
}

/* What each mock instance received, from its control API ("requests":
 * not counting the /__mock/ paths, so health probes aimed there do not
 * count). Read before the runner's own probes. */
static void
collect_service_requests (Run *run)
{
  GHashTableIter it;
  gpointer key, value;
  g_hash_table_iter_init (&it, run->mocks);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      RunMock *m = value;
      const char *hash = strrchr (key, '#');
      if (hash == NULL || m->control == NULL)
        continue;
      g_autofree char *service = g_strndup (key, (gsize) (hash - (const char *) key));
      g_autofree char *uri = g_strdup_printf ("http://%s/state", m->control);
      g_autoptr (SoupMessage) msg = soup_message_new ("GET", uri);
      g_autoptr (GBytes) body = soup_session_send_and_read (run->session, msg, NULL, NULL);
      g_autoptr (JsonNode) state = body && soup_message_get_status (msg) == SOUP_STATUS_OK
                                     ? portico_json_from_bytes (body, NULL)
                                     : NULL;
      if (state == NULL || !JSON_NODE_HOLDS_OBJECT (state) ||
          !json_object_has_member (json_node_get_object (state), "requests"))
        continue;
      portico_variant_results_set_service_requests (
        run->out, service, (guint) g_ascii_strtoull (hash + 1, NULL, 10),
        json_object_get_int_member (json_node_get_object (state), "requests"));
    }
}

static void
collect (Run *run)
{
  PorticoVariantResults *v = run->out;
  v->overall->p50_ms = v->overall->p90_ms = v->overall->p99_ms = v->overall->p999_ms = v->overall->max_ms = NAN;
  /* Every entry's seconds on the run's clock (an entry counts from its
   * own start, to the whole second), added up, histograms too. */
  g_autoptr (GArray) all = g_array_new (FALSE, TRUE, sizeof (PorticoTrafficSecond));
  for (guint i = 0; i < run->traffic->len; i++)
    {
      RunTraffic *rt = g_ptr_array_index (run->traffic, i);
      const PorticoTrafficResult *r = portico_traffic_result (rt->traffic);
      PorticoTrafficFigures *f = portico_variant_results_add_traffic (v, rt->spec->name);
      copy_traffic_figures (f, r);
      add_overall (v->overall, f);
      guint offset = (guint) rt->spec->start_s;
      if (all->len < offset + r->seconds->len)
        g_array_set_size (all, offset + r->seconds->len);
      for (guint s = 0; s < r->seconds->len; s++)
        add_second (&g_array_index (all, PorticoTrafficSecond, offset + s),
                    &g_array_index (r->seconds, PorticoTrafficSecond, s));
    }
  for (guint s = 0; s < all->len; s++)
    {
      PorticoResultSecond out = result_second (&g_array_index (all, PorticoTrafficSecond, s));
      g_array_append_val (v->overall->seconds, out);
    }
  for (guint i = 0; i < run->nodes->len; i++)
    {
      RunNode *n = g_ptr_array_index (run->nodes, i);
      PorticoNodeFigures *f = portico_variant_results_add_node (v, n->node->name);
      if (n->sampler == NULL)
        continue;
      portico_node_sampler_flush (n->sampler, 2000);
      const PorticoNodeSample *s = portico_node_sampler_figures (n->sampler);
      if (s->samples == 0)
        continue;
      f->workers_respawned = (gint64) s->respawns;
      f->reloads = (gint64) s->reloads;
      f->reload_failures = (gint64) s->reload_failures;
      f->timers_pending_max = s->timers_pending_max;
      f->loop_lag_max_ms = s->loop_lag_max_ms;
      f->upstream_connects = (gint64) s->upstream_connects;
      f->upstream_reuses = (gint64) s->upstream_reuses;
      f->upstream_failures = (gint64) s->upstream_failures;
      f->requests = (gint64) s->requests;
      for (guint side = 0; side < PORTICO_NODE_TLS_SIDES; side++)
        for (guint kind = 0; kind < PORTICO_TRAFFIC_TLS_KINDS; kind++)
          f->tls_handshakes[side][kind] = (gint64) s->tls_handshakes[side][kind];
      GHashTableIter it;
      gpointer key, value;
      g_hash_table_iter_init (&it, s->timers_by_owner_max);
      while (g_hash_table_iter_next (&it, &key, &value))
        portico_node_figures_set_owner_max (f, key, GPOINTER_TO_UINT (value));
    }
}

/* ---- after the traffic: one traced request, and what the services received ----
 *
 * Sent once the gateway's figures are collected, so that they never count
 * in them, through the same links as the traffic. The relays run on this
 * process's loop: the requests are asynchronous and the loop turns while
 * they wait (bounded by the session's timeout). */

typedef struct {
  GMainLoop *loop;
  GBytes *body;
  GError *error;
} Waiter;

static void
on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  Waiter *w = data;
  w->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &w->error);
  g_main_loop_quit (w->loop);
}

static GBytes *
send_and_wait (Run *run, SoupMessage *msg, GError **error)
{
  Waiter w = { .loop = g_main_loop_new (NULL, FALSE) };
  soup_session_send_and_read_async (run->session, msg, G_PRIORITY_DEFAULT, NULL, on_sent, &w);
  g_main_loop_run (w.loop);
  g_main_loop_unref (w.loop);
  if (w.error != NULL)
    g_propagate_error (error, w.error);
  return w.body;
}

/* One request shaped like @st's, sent where @st's requests go. */
static SoupMessage *
probe_message (Run *run, const PorticoScenarioTraffic *st, GError **error)
{
  const char *address = traffic_address (run, st, error);
  if (address == NULL)
    return NULL;
  g_autofree char *uri =
    g_strdup_printf ("%s://%s%s", find_node (run, st->to)->node->tls ? "https" : "http", address, st->path);
  SoupMessage *msg = soup_message_new (st->method, uri);
  if (msg == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "cannot send %s %s", st->method, uri);
      return NULL;
    }
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  for (guint i = 0; i < st->headers->len; i++)
    {
      const PorticoScenarioHeader *h = g_ptr_array_index (st->headers, i);
      soup_message_headers_append (headers, h->name, h->value);
    }
  if (st->body != NULL)
    soup_message_set_request_body_from_bytes (msg, NULL, st->body);
  return msg;
}

static const char *
span_category (const char *kind)
{
  return g_strcmp0 (kind, "phase") == 0 || g_strcmp0 (kind, "module") == 0 ? kind : "upstream";
}

/* GET /traces/ID from @n's admin API; the worker files the trace after
 * the log phase, which may end a moment after the client has its answer. */
static JsonNode *
fetch_trace (Run *run, RunNode *n, const char *id, GError **error)
{
  g_autofree char *uri = g_strdup_printf ("http://%s/traces/%s", n->admin, id);
  for (guint attempt = 0;; attempt++)
    {
      g_autoptr (SoupMessage) msg = soup_message_new ("GET", uri);
      g_autoptr (GBytes) body = send_and_wait (run, msg, error);
      if (body == NULL)
        return NULL;
      guint status = soup_message_get_status (msg);
      if (status == SOUP_STATUS_OK)
        return portico_json_from_bytes (body, error);
      if (status != SOUP_STATUS_NOT_FOUND || attempt >= 50)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "GET /traces/%s answered %u", id, status);
          return NULL;
        }
      g_usleep (20000);
    }
}

static void
take_trace (Run *run, RunNode *n, JsonObject *trace, gint64 sent_us)
{
  PorticoVariantResults *v = run->out;
  JsonArray *phases = json_object_get_array_member (trace, "phases");
  JsonArray *spans = json_object_get_array_member (trace, "spans");
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  for (guint i = 0; phases != NULL && i < json_array_get_length (phases); i++)
    g_strv_builder_add (names, json_array_get_string_element (phases, i));
  g_strfreev (v->phases);
  v->phases = g_strv_builder_end (names);
  for (guint i = 0; spans != NULL && i < json_array_get_length (spans); i++)
    {
      JsonObject *s = json_array_get_object_element (spans, i);
      const char *kind = json_object_get_string_member_with_default (s, "kind", "");
      gboolean module = g_str_equal (kind, "module");
      const char *name = json_object_get_string_member_with_default (s, "name", "");
      g_autofree char *label = g_str_equal (kind, "upstream") ? g_strdup_printf ("upstream %s", name)
                                                               : g_strdup (name);
      gint64 start = json_object_get_int_member_with_default (s, "start_us", sent_us);
      gint64 duration = json_object_get_int_member_with_default (s, "duration_us", 0);
      portico_variant_results_add_span (
        v, label, span_category (kind), n->node->name,
        module ? json_object_get_string_member_with_default (s, "phase", NULL) : NULL,
        g_str_equal (kind, "phase") ? NULL : json_object_get_string_member_with_default (s, "result", NULL),
        (double) (start - sent_us) / 1000.0, (double) duration / 1000.0);
    }
}

/* One request shaped like the first traffic entry's, traced by its node:
 * the phase order and the spans of the report, `--trace` and `--html`. */
static void
trace_one_request (Run *run)
{
  PorticoVariantResults *v = run->out;
  if (run->sc->traffic->len == 0)
    return;
  const PorticoScenarioTraffic *st = g_ptr_array_index (run->sc->traffic, 0);
  RunNode *n = find_node (run, st->to);
  if (n == NULL || n->proc == NULL)
    {
      run_say (run, "no traced request: node %s is stopped", st->to);
      return;
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (SoupMessage) msg = probe_message (run, st, &error);
  if (msg == NULL)
    {
      run_say (run, "no traced request: %s", error->message);
      return;
    }
  soup_message_headers_replace (soup_message_get_request_headers (msg), PORTICO_TRACE_HEADER, n->trace_token);
  gint64 sent_us = g_get_monotonic_time ();
  v->trace_at_s = run_elapsed (run);
  g_autoptr (GBytes) body = send_and_wait (run, msg, &error);
  gint64 done_us = g_get_monotonic_time ();
  if (body == NULL)
    {
      run_say (run, "the traced request got no answer: %s", error->message);
      return;
    }
  v->trace_status = soup_message_get_status (msg);
  portico_variant_results_add_span (v, "request", "client", NULL, NULL, NULL, 0,
                                    (double) (done_us - sent_us) / 1000.0);
  const char *id = soup_message_headers_get_one (soup_message_get_response_headers (msg), PORTICO_TRACE_ID_HEADER);
  if (id == NULL)
    {
      run_say (run, "the traced request's answer (%u) has no %s", v->trace_status, PORTICO_TRACE_ID_HEADER);
      return;
    }
  v->trace_id = g_strdup (id);
  g_autoptr (JsonNode) trace = fetch_trace (run, n, id, &error);
  if (trace == NULL || !JSON_NODE_HOLDS_OBJECT (trace))
    {
      run_say (run, "trace %s: %s", id, error ? error->message : "not an object");
      return;
    }
  take_trace (run, n, json_node_get_object (trace), sent_us);
}

/* The traffic entries an upstream_received expectation reads (the first
 * entry when it names none). */
static gboolean
echo_wanted (Run *run, const PorticoScenarioTraffic *st, guint index)
{
  for (guint i = 0; i < run->sc->expect->len; i++)
    {
      const PorticoExpect *e = g_ptr_array_index (run->sc->expect, i);
      if (g_strcmp0 (e->kind, "upstream_received") == 0 &&
          (e->traffic != NULL ? g_str_equal (e->traffic, st->name) : index == 0))
        return TRUE;
    }
  return FALSE;
}

/* What the service received for one request of each entry that an
 * expectation asks about: the mock's echo of it (docs/mock.md). */
static void
probe_echoes (Run *run)
{
  for (guint i = 0; i < run->sc->traffic->len; i++)
    {
      const PorticoScenarioTraffic *st = g_ptr_array_index (run->sc->traffic, i);
      if (!echo_wanted (run, st, i))
        continue;
      g_autoptr (GError) error = NULL;
      g_autoptr (SoupMessage) msg = probe_message (run, st, &error);
      g_autoptr (GBytes) body = msg ? (soup_message_headers_replace (soup_message_get_request_headers (msg),
                                                                     "X-Mock-Echo", "1"),
                                       send_and_wait (run, msg, &error))
                                    : NULL;
      g_autoptr (JsonNode) echo = body ? portico_json_from_bytes (body, &error) : NULL;
      if (echo == NULL || !JSON_NODE_HOLDS_OBJECT (echo) ||
          !json_object_has_member (json_node_get_object (echo), "headers"))
        {
          run_say (run, "%s: no echo from the service (%s)", st->name,
                   error ? error->message : msg ? soup_message_get_reason_phrase (msg) : "?");
          continue;
        }
      portico_variant_results_set_received (run->out, st->name, g_steal_pointer (&echo));
    }
}

/* ---- one variant ---- */

static void
run_clear (Run *run)
{
  /* Events past the end have not fired: their sources are still there. */
  for (guint i = 0; i < run->timers->len; i++)
    {
      GSource *source = g_main_context_find_source_by_id (NULL, g_array_index (run->timers, guint, i));
      if (source != NULL)
        g_source_destroy (source);
    }
  if (run->progress_timer)
    g_source_remove (run->progress_timer);
  for (guint i = 0; i < run->traffic->len; i++)
    {
      RunTraffic *rt = g_ptr_array_index (run->traffic, i);
      if (rt->start_timer)
        g_source_remove (rt->start_timer);
      portico_traffic_free (rt->traffic);
      g_free (rt);
    }
  for (guint i = 0; i < run->idle_fds->len; i++)
    close (g_array_index (run->idle_fds, int, i));
  for (guint i = 0; i < run->nodes->len; i++)
    {
      RunNode *n = g_ptr_array_index (run->nodes, i);
      portico_node_sampler_free (n->sampler);
      if (n->proc)
        {
          portico_lab_proc_stop (n->proc, SIGTERM, 5000);
          portico_lab_proc_free (n->proc);
        }
      g_unlink (n->config_path);
      g_free (n->config_path);
      g_free (n->trace_token);
      g_free (n->listen);
      g_free (n->admin);
      g_free (n);
    }
  for (guint i = 0; i < run->links->len; i++)
    {
      RunLink *l = g_ptr_array_index (run->links, i);
      portico_link_free (l->relay);
      g_free (l->target_key);
      g_free (l);
    }
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, run->mocks);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      RunMock *m = value;
      portico_lab_proc_free (m->proc);
      g_free (m->address);
      g_free (m->control);
      g_free (m);
    }
  g_hash_table_destroy (run->mocks);
  g_ptr_array_free (run->links, TRUE);
  g_ptr_array_free (run->nodes, TRUE);
  g_ptr_array_free (run->traffic, TRUE);
  g_array_free (run->timers, TRUE);
  g_array_free (run->idle_fds, TRUE);
  if (run->tls_client != NULL)
    portico_tls_client_free (run->tls_client);
  portico_lab_pki_free (run->pki);
  g_rmdir (run->dir);
  g_free (run->dir);
  g_object_unref (run->session);
  g_main_loop_unref (run->main_loop);
  portico_loop_free (run->loop);
}

/* The run's certificates, the traffic's client context, and the probes'
 * trust in the run's CA. */
static gboolean
tls_setup (Run *run, GError **error)
{
  if ((run->pki = portico_lab_pki_new (run->dir, error)) == NULL)
    return FALSE;
  PorticoTlsClientOptions options = { .verify = TRUE, .ca_pem = run->pki->ca_pem };
  if ((run->tls_client = portico_tls_client_new (&options, error)) == NULL)
    return FALSE;
  g_autoptr (GTlsDatabase) database = g_tls_file_database_new (run->pki->ca_path, error);
  if (database == NULL)
    return FALSE;
  soup_session_set_tls_database (run->session, database);
  return TRUE;
}

static gboolean
run_variant (const PorticoScenario *sc, const PorticoRunOptions *options, PorticoVariantResults *out,
             GError **error)
{
  Run run = {
    .sc = sc,
    .options = options,
    .out = out,
    .loop = portico_loop_new (NULL, PORTICO_EVENT_BACKEND_EPOLL),
    .main_loop = g_main_loop_new (NULL, FALSE),
    .session = soup_session_new_with_options ("timeout", 5, NULL),
    .dir = g_dir_make_tmp ("portico-run-XXXXXX", error),
    .mocks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    .links = g_ptr_array_new (),
    .nodes = g_ptr_array_new (),
    .traffic = g_ptr_array_new (),
    .timers = g_array_new (FALSE, FALSE, sizeof (guint)),
    .idle_fds = g_array_new (FALSE, FALSE, sizeof (int)),
  };
  /* The probes send what the traffic sends: no Accept-Encoding of libsoup's own. */
  soup_session_remove_feature_by_type (run.session, SOUP_TYPE_CONTENT_DECODER);
  gboolean ok = run.dir != NULL && (!portico_scenario_uses_tls (sc) || tls_setup (&run, error));
  for (guint i = 0; ok && i < sc->nodes->len; i++)
    {
      RunNode *n = g_new0 (RunNode, 1);
      n->node = g_ptr_array_index (sc->nodes, i);
      n->listen = free_port_address ();
      n->admin = i == 0 && options->dashboard_port != 0
                   ? g_strdup_printf ("127.0.0.1:%u", options->dashboard_port)
                   : free_port_address ();
      n->config_path = g_strdup_printf ("%s/%s.json", run.dir, n->node->name);
      g_ptr_array_add (run.nodes, n);
      ok = n->listen && n->admin;
    }
  run.start_us = g_get_monotonic_time ();
  ok = ok && start_mocks (&run, error) && start_nodes (&run, error) && prepare_traffic (&run, error);
  /* Each sampler's first answer is its baseline (counts are read as
   * growth from it): have it before any traffic, or what the traffic
   * does in its first moments (the upstream connects of a keep-alive
   * pool, all of them) is counted in the baseline and never seen. */
  for (guint i = 0; ok && i < run.nodes->len; i++)
    {
      RunNode *n = g_ptr_array_index (run.nodes, i);
      if (n->sampler != NULL)
        portico_node_sampler_flush (n->sampler, 2000);
    }
  if (ok)
    {
      /* The clock of the scenario starts now: everything is listening. */
      run.start_us = g_get_monotonic_time ();
      for (guint i = 0; i < run.traffic->len; i++)
        {
          RunTraffic *rt = g_ptr_array_index (run.traffic, i);
          rt->start_timer = g_timeout_add ((guint) (rt->spec->start_s * 1000), traffic_start, rt);
        }
      for (guint i = 0; i < sc->events->len; i++)
        {
          const PorticoScenarioEvent *e = g_ptr_array_index (sc->events, i);
          schedule (&run, e->at_s, apply_event, e);
        }
      for (guint i = 0; i < sc->narration->len; i++)
        {
          const PorticoScenarioNarration *line = g_ptr_array_index (sc->narration, i);
          schedule (&run, line->at_s, say_narration, line);
        }
      guint end = g_timeout_add ((guint) (sc->duration_s * 1000), time_up, &run);
      g_array_append_val (run.timers, end);
      if (options->progress && !options->quiet)
        run.progress_timer = g_timeout_add (250, progress, &run);
      g_main_loop_run (run.main_loop);
      if (options->progress && !options->quiet)
        g_print ("\r\033[K");
      out->duration_s = run_elapsed (&run);
      collect (&run);
      collect_service_requests (&run);
      if (run.progress_timer)
        {
          g_source_remove (run.progress_timer);
          run.progress_timer = 0;
        }
      trace_one_request (&run);
      probe_echoes (&run);
    }
  run_clear (&run);
  return ok;
}

gboolean
portico_runner_run (const PorticoScenario *scenario, const PorticoRunOptions *options, PorticoResults *results,
                    GError **error)
{
  g_auto (GStrv) names = portico_scenario_run_names (scenario);
  for (char **name = names; *name; name++)
    {
      g_autoptr (PorticoScenario) variant = NULL;
      const PorticoScenario *sc = scenario;
      if (scenario->variants->len > 0)
        {
          g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
          variant = portico_scenario_load_variant (scenario, *name, errors, error);
          if (variant == NULL)
            return FALSE;
          sc = variant;
          if (!options->quiet)
            g_print ("== variant %s\n", *name);
        }
      PorticoVariantResults *out = portico_results_add_variant (results, *name);
      if (!run_variant (sc, options, out, error))
        {
          g_prefix_error (error, "variant %s: ", *name);
          return FALSE;
        }
    }
  return TRUE;
}
