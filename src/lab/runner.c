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
 *
 * The timed events and the narration are runner-events.c's; what the run
 * gathers once the traffic ends, runner-collect.c's.
 */
#include "lab/runner-private.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "lab/link.h"

#define START_TIMEOUT_MS 15000
#define SAMPLE_MS 200

double
portico_runner_elapsed (Run *run)
{
  return (double) (g_get_monotonic_time () - run->start_us) / 1e6;
}

void
portico_runner_say (Run *run, const char *fmt, ...)
{
  if (run->options->quiet)
    return;
  va_list args;
  va_start (args, fmt);
  g_autofree char *text = g_strdup_vprintf (fmt, args);
  va_end (args);
  g_print ("%s[%5.1fs] %s\n", run->options->progress ? "\r\033[K" : "", portico_runner_elapsed (run), text);
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

RunNode *
portico_runner_find_node (Run *run, const char *name)
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
      RunNode *n = portico_runner_find_node (run, name);
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
char *
portico_runner_node_config_text (Run *run, RunNode *n, JsonNode *config, GError **error)
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

gboolean
portico_runner_node_spawn (Run *run, RunNode *n, GError **error)
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
  portico_runner_say (run, "node %s: proxy %s, admin %s", n->node->name, n->listen, n->admin);
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
          g_autofree char *text = portico_runner_node_config_text (run, n, NULL, &later);
          if (text == NULL)
            continue; /* it names a node not started yet: next round */
          if (!g_file_set_contents (n->config_path, text, -1, error) || !portico_runner_node_spawn (run, n, error))
            return FALSE;
          started++;
        }
      if (started == before)
        {
          RunNode *n = NULL;
          for (guint i = 0; i < total && n == NULL; i++)
            if (((RunNode *) g_ptr_array_index (run->nodes, i))->proc == NULL)
              n = g_ptr_array_index (run->nodes, i);
          return portico_runner_node_config_text (run, n, NULL, error) != NULL; /* sets why */
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

const char *
portico_runner_traffic_address (Run *run, const PorticoScenarioTraffic *spec, GError **error)
{
  RunNode *n = portico_runner_find_node (run, spec->to);
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
      const char *address = portico_runner_traffic_address (run, st, error);
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
        .tls = portico_runner_find_node (run, st->to)->node->tls ? run->tls_client : NULL,
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

/* ---- the run's clock ---- */

static gboolean
give_up (gpointer data)
{
  Run *run = data;
  portico_runner_say (run, "traffic still in flight %.0f s after the end: stopping anyway",
                      portico_runner_elapsed (run) - run->sc->duration_s);
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
           portico_runner_elapsed (run), last, done, errors);
  return G_SOURCE_CONTINUE;
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
          portico_runner_schedule (&run, e->at_s, portico_runner_apply_event, e);
        }
      for (guint i = 0; i < sc->narration->len; i++)
        {
          const PorticoScenarioNarration *line = g_ptr_array_index (sc->narration, i);
          portico_runner_schedule (&run, line->at_s, portico_runner_say_narration, line);
        }
      guint end = g_timeout_add ((guint) (sc->duration_s * 1000), time_up, &run);
      g_array_append_val (run.timers, end);
      if (options->progress && !options->quiet)
        run.progress_timer = g_timeout_add (250, progress, &run);
      g_main_loop_run (run.main_loop);
      if (options->progress && !options->quiet)
        g_print ("\r\033[K");
      out->duration_s = portico_runner_elapsed (&run);
      portico_runner_collect (&run);
      portico_runner_collect_service_requests (&run);
      if (run.progress_timer)
        {
          g_source_remove (run.progress_timer);
          run.progress_timer = 0;
        }
      portico_runner_trace_one_request (&run);
      portico_runner_probe_echoes (&run);
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
