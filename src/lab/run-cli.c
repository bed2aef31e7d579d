/* run-cli.c: `portico run`: load scenarios, run them, report, and say by
 * the exit status whether every expectation held. */
#include "lab/runner.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <glib-unix.h>

#include "lab/demo.h"
#include "lab/lab-proc.h"
#include "lab/report-html.h"
#include "lab/report-trace.h"

/* Where the bundled scenarios are: $PORTICO_SCENARIOS, the source tree of
 * a binary in build/src/, or the installed data directory. */
static char *
scenarios_dir (void)
{
  const char *env = g_getenv ("PORTICO_SCENARIOS");
  if (env != NULL)
    return g_strdup (env);
  g_autofree char *bin_dir = g_path_get_dirname (portico_lab_self_binary ());
  const char *candidates[] = { "../../scenarios", "../share/portico/scenarios", NULL };
  for (const char **c = candidates; *c; c++)
    {
      g_autofree char *dir = g_build_filename (bin_dir, *c, NULL);
      if (g_file_test (dir, G_FILE_TEST_IS_DIR))
        return g_canonicalize_filename (dir, NULL);
    }
  return g_strdup ("scenarios");
}

/* ---- --dashboard ---- */

#define DASHBOARD_DEFAULT_PORT 8001 /* the admin API's default, as Kong's */

static guint dashboard_port;

/* `--dashboard` or `--dashboard=PORT`. */
static gboolean
parse_dashboard (const char *name, const char *value, gpointer data, GError **error)
{
  guint64 port = DASHBOARD_DEFAULT_PORT;

  if (value != NULL && (!g_ascii_string_to_unsigned (value, 10, 1, 65535, &port, NULL)))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--dashboard=%s: expected a port number (1 to 65535)", value);
      return FALSE;
    }
  dashboard_port = (guint) port;
  return TRUE;
}

/* The port must be free before anything starts: a node that cannot bind
 * its admin would fail the first variant with a less helpful message. */
static gboolean
dashboard_port_free (guint port)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons ((guint16) port),
                             .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  gboolean free_port = fd >= 0 && setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
                       bind (fd, (struct sockaddr *) &sin, sizeof sin) == 0;
  if (fd >= 0)
    close (fd);
  return free_port;
}

/* Says where the dashboard is, opens it in a browser when there is a
 * display to open it on, and on a terminal waits for Enter, so that the
 * room can look at the page before the scenario starts. */
static void
announce_dashboard (guint port)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/", port);
  g_autofree char *opener = g_find_program_in_path ("xdg-open");

  g_print ("dashboard: %s (it follows every variant: the page reconnects to each node)\n", url);
  if (opener != NULL && (g_getenv ("DISPLAY") != NULL || g_getenv ("WAYLAND_DISPLAY") != NULL))
    {
      const char *argv[] = { opener, url, NULL };
      g_spawn_async (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                     NULL, NULL, NULL);
    }
  if (isatty (STDIN_FILENO) && isatty (STDOUT_FILENO))
    {
      char line[64];
      g_print ("press Enter to start (the first node's page answers once it runs) ");
      if (fgets (line, sizeof line, stdin) == NULL)
        g_print ("\n");
    }
}

/* g_ptr_array_sort hands the comparison pointers to the elements. */
static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

static int
list_scenarios (void)
{
  g_autofree char *dir = scenarios_dir ();
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    {
      g_printerr ("portico run: no scenarios in %s\n", dir);
      return 1;
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *entry;
  while ((entry = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (entry, ".json"))
      g_ptr_array_add (names, g_strdup (entry));
  g_ptr_array_sort (names, compare_names);
  int status = 0;
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (PorticoScenario) sc = portico_scenario_load_file (path, NULL, &error);
      if (sc == NULL)
        {
          g_print ("%-24s (invalid: %s)\n", (char *) g_ptr_array_index (names, i), error->message);
          status = 1;
          continue;
        }
      g_print ("%-24s %s\n", sc->name, sc->teaches);
    }
  return status;
}

static char *
ms (double v)
{
  return isnan (v) ? g_strdup ("-") : g_strdup_printf ("%.1f", v);
}

/* "4 full, 2496 resumed, 0 failed"; NULL when there were none (or unknown). */
static char *
handshakes_text (gint64 full, gint64 resumed, gint64 failed)
{
  if (full <= 0 && resumed <= 0 && failed <= 0)
    return NULL;
  return g_strdup_printf ("%" G_GINT64_FORMAT " full, %" G_GINT64_FORMAT " resumed, %" G_GINT64_FORMAT " failed",
                          full, resumed, failed);
}

/* The TLS handshakes of a variant, when it had any: the client's, then
 * each node's by side. */
static void
print_handshakes (const PorticoVariantResults *v)
{
  const guint64 *c = v->overall->tls_handshakes;
  g_autofree char *client = handshakes_text ((gint64) c[PORTICO_TRAFFIC_TLS_FULL], (gint64) c[PORTICO_TRAFFIC_TLS_RESUMED],
                                             (gint64) c[PORTICO_TRAFFIC_TLS_FAILED]);
  if (client != NULL)
    g_print ("%-12s tls handshakes, client: %s\n", v->variant, client);
  for (guint n = 0; n < v->nodes->len; n++)
    {
      const PorticoNodeFigures *f = g_ptr_array_index (v->nodes, n);
      for (guint side = 0; side < PORTICO_NODE_TLS_SIDES; side++)
        {
          const gint64 *k = f->tls_handshakes[side];
          g_autofree char *text = handshakes_text (k[PORTICO_TRAFFIC_TLS_FULL], k[PORTICO_TRAFFIC_TLS_RESUMED],
                                                   k[PORTICO_TRAFFIC_TLS_FAILED]);
          if (text != NULL)
            g_print ("%-12s tls handshakes, node %s %s: %s\n", v->variant, f->node, portico_node_tls_side_name (side),
                     text);
        }
    }
}

static void
print_report (const PorticoScenario *sc, const PorticoResults *results, GPtrArray *outcomes, gboolean all_ok)
{
  g_print ("\n== %s: %s\n", sc->name, sc->teaches);
  g_print ("%-12s %-18s %9s %9s %9s %8s %8s %8s %7s\n", "variant", "traffic", "requests", "done", "req/s",
           "p50 ms", "p99 ms", "max ms", "errors");
  for (guint i = 0; i < results->variants->len; i++)
    {
      const PorticoVariantResults *v = g_ptr_array_index (results->variants, i);
      for (guint t = 0; t <= v->traffic->len; t++)
        {
          const PorticoTrafficFigures *f = t < v->traffic->len ? g_ptr_array_index (v->traffic, t) : v->overall;
          if (t == v->traffic->len && v->traffic->len == 1)
            break; /* one entry: overall says the same */
          g_autofree char *p50 = ms (f->p50_ms), *p99 = ms (f->p99_ms), *max = ms (f->max_ms);
          g_print ("%-12s %-18s %9" G_GUINT64_FORMAT " %9" G_GUINT64_FORMAT " %9.0f %8s %8s %8s %7" G_GUINT64_FORMAT "\n",
                   v->variant, f->name, f->requests, f->completed, isnan (f->rps) ? 0.0 : f->rps, p50, p99, max,
                   portico_traffic_figures_errors (f));
        }
      for (guint n = 0; n < v->nodes->len; n++)
        {
          const PorticoNodeFigures *f = g_ptr_array_index (v->nodes, n);
          g_print ("%-12s node %-13s served %" G_GINT64_FORMAT ", respawns %" G_GINT64_FORMAT ", reloads %" G_GINT64_FORMAT
                   ", upstream connects %" G_GINT64_FORMAT ", timers max %" G_GINT64_FORMAT ", loop lag max %.1f ms\n",
                   v->variant, f->node, f->requests, f->workers_respawned, f->reloads, f->upstream_connects,
                   f->timers_pending_max, f->loop_lag_max_ms);
        }
      print_handshakes (v);
      for (guint e = 0; e < v->events->len; e++)
        {
          const PorticoEventRecord *r = g_ptr_array_index (v->events, e);
          g_print ("%-12s event at %.1fs: %s%s%s%s%s\n", v->variant, r->at_s, r->what, r->detail ? " (" : "",
                   r->detail ? r->detail : "", r->detail ? ")" : "", r->ok ? "" : "  FAILED");
        }
    }
  g_print ("expectations:\n");
  for (guint i = 0; i < outcomes->len; i++)
    {
      const PorticoExpectOutcome *o = g_ptr_array_index (outcomes, i);
      g_print ("  %s %s: %s\n", o->ok ? "[held]  " : "[FAILED]", o->expect->json_path, o->text);
    }
  g_print ("%s: %s\n", sc->name, all_ok ? "every expectation held" : "SOME EXPECTATIONS FAILED");
}

static gboolean
on_interrupt (gpointer data)
{
  portico_lab_procs_kill_all ();
  g_printerr ("\nportico run: interrupted; every process it started is stopped\n");
  _exit (130);
  return G_SOURCE_REMOVE;
}

/* Where the reports go, and what they gather over several scenarios. */
typedef struct {
  const char *json_path;
  JsonArray *json_all;
  const char *html_path;
  GPtrArray *html_pages; /* one page per scenario */
  GPtrArray *html_names; /* its scenario's name */
  const char *trace_path;
  JsonArray *trace_events;
  guint trace_pid;
} Reports;

/* "out/report.html" and "tour" -> "out/report-tour.html". */
static char *
html_page_path (const char *path, const char *scenario)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  const char *dot = strrchr (base, '.');
  g_autofree char *stem = dot != NULL && dot != base ? g_strndup (base, dot - base) : g_strdup (base);
  g_autofree char *name = g_strdup_printf ("%s-%s%s", stem, scenario, dot != NULL && dot != base ? dot : "");
  return g_build_filename (dir, name, NULL);
}

static int
run_file (const char *path, const PorticoRunOptions *options, Reports *reports)
{
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (PorticoScenario) sc = portico_scenario_load_file (path, errors, &error);
  if (sc == NULL)
    {
      for (guint i = 0; i < errors->len; i++)
        g_printerr ("%s: %s\n", path, (const char *) g_ptr_array_index (errors, i));
      g_printerr ("portico run: %s\n", error->message);
      return 2;
    }
  if (!options->quiet)
    g_print ("== %s: %s\n", sc->name, sc->teaches);
  g_autoptr (PorticoResults) results = portico_results_new (sc->name);
  if (!portico_runner_run (sc, options, results, &error))
    {
      g_printerr ("portico run: %s: %s\n", path, error->message);
      return 1;
    }
  gboolean all_ok = FALSE;
  g_autoptr (GPtrArray) outcomes = portico_expect_check_all (sc->expect, results, &all_ok);
  print_report (sc, results, outcomes, all_ok);
  if (reports->json_path != NULL)
    json_array_add_element (reports->json_all, portico_results_to_json (results, outcomes));
  if (reports->html_path != NULL)
    {
      g_ptr_array_add (reports->html_pages, portico_report_html (sc, results, outcomes));
      g_ptr_array_add (reports->html_names, g_strdup (sc->name));
    }
  if (reports->trace_path != NULL)
    reports->trace_pid = portico_trace_events_add (reports->trace_events, results, reports->trace_pid);
  return all_ok ? 0 : 1;
}

int
portico_run_main (int argc, char **argv)
{
  gboolean list = FALSE, quiet = FALSE, demo = FALSE;
  g_autofree char *json_path = NULL, *html_path = NULL, *trace_path = NULL;
  GOptionEntry entries[] = {
    { "list", 'l', 0, G_OPTION_ARG_NONE, &list, "List the bundled scenarios and what each teaches", NULL },
    { "json", 0, 0, G_OPTION_ARG_FILENAME, &json_path, "Write the results as JSON", "FILE" },
    { "html", 0, 0, G_OPTION_ARG_FILENAME, &html_path, "Write a self-contained HTML report with charts", "FILE" },
    { "trace", 0, 0, G_OPTION_ARG_FILENAME, &trace_path,
      "Write the traced requests as Chrome trace-event JSON (open in ui.perfetto.dev)", "FILE" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Only the report", NULL },
    { "demo", 0, 0, G_OPTION_ARG_NONE, &demo, "One request through a mock and a gateway, shown", NULL },
    { "dashboard", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, parse_dashboard,
      "Serve the first node's admin API, and its dashboard, on 127.0.0.1:PORT (default 8001) in every variant",
      "PORT" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("[FILE...] - run scenarios (default: the tour)");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("portico run: %s\n", error->message);
      return 2;
    }
  if (list)
    return list_scenarios ();
  if (demo)
    return portico_demo_main (1, (char *[]) { "run", NULL });

  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (files, g_strdup (argv[i]));
  if (files->len == 0)
    {
      g_autofree char *dir = scenarios_dir ();
      g_autofree char *tour = g_build_filename (dir, "tour.json", NULL);
      if (!g_file_test (tour, G_FILE_TEST_IS_REGULAR))
        {
          /* No tour yet (or not installed): the one-request demo. */
          return portico_demo_main (1, (char *[]) { "run", NULL });
        }
      g_ptr_array_add (files, g_steal_pointer (&tour));
    }

  /* Idle connections and many clients need many descriptors, here and
   * in the nodes (children inherit the limit): as many as we may have. */
  struct rlimit lim;
  if (getrlimit (RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max)
    {
      lim.rlim_cur = lim.rlim_max;
      setrlimit (RLIMIT_NOFILE, &lim);
    }
  g_unix_signal_add (SIGINT, on_interrupt, NULL);
  g_unix_signal_add (SIGTERM, on_interrupt, NULL);
  if (dashboard_port != 0)
    {
      if (!dashboard_port_free (dashboard_port))
        {
          g_printerr ("portico run: --dashboard: 127.0.0.1:%u is in use (another node's admin API?); "
                      "choose another with --dashboard=PORT\n", dashboard_port);
          return 2;
        }
      announce_dashboard (dashboard_port);
    }
  PorticoRunOptions options = { .quiet = quiet, .progress = isatty (STDOUT_FILENO),
                                .dashboard_port = dashboard_port };
  g_autoptr (JsonArray) json_all = json_array_new ();
  g_autoptr (GPtrArray) html_pages = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) html_names = g_ptr_array_new_with_free_func (g_free);
  Reports reports = { .json_path = json_path, .json_all = json_all, .html_path = html_path,
                      .html_pages = html_pages, .html_names = html_names, .trace_path = trace_path,
                      .trace_events = json_array_new (), .trace_pid = 1 };
  int status = 0;
  for (guint i = 0; i < files->len; i++)
    {
      int one = run_file (g_ptr_array_index (files, i), &options, &reports);
      status = MAX (status, one); /* MAX evaluates its arguments twice */
    }
  g_autoptr (JsonNode) trace_root = portico_trace_document (reports.trace_events);
  g_autofree char *json_text = NULL, *trace_text = NULL;
  if (json_path != NULL)
    {
      /* One scenario: its results object (docs/scenarios.md); several: an array of them. */
      g_autoptr (JsonNode) root = json_array_get_length (json_all) == 1
                                    ? json_node_copy (json_array_get_element (json_all, 0))
                                    : json_node_init_array (json_node_alloc (), json_all);
      json_text = json_to_string (root, TRUE);
    }
  if (trace_path != NULL)
    trace_text = json_to_string (trace_root, FALSE);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) texts = g_ptr_array_new ();
  if (json_path != NULL)
    g_ptr_array_add (paths, g_strdup (json_path)), g_ptr_array_add (texts, json_text);
  if (trace_path != NULL)
    g_ptr_array_add (paths, g_strdup (trace_path)), g_ptr_array_add (texts, trace_text);
  for (guint i = 0; i < html_pages->len; i++)
    {
      /* Several scenarios: a page each, report.html -> report-NAME.html. */
      g_ptr_array_add (paths, html_pages->len == 1 ? g_strdup (html_path)
                                                    : html_page_path (html_path, g_ptr_array_index (html_names, i)));
      g_ptr_array_add (texts, g_ptr_array_index (html_pages, i));
    }
  for (guint i = 0; i < paths->len; i++)
    {
      g_autoptr (GError) write_error = NULL;
      if (!g_file_set_contents (g_ptr_array_index (paths, i), g_ptr_array_index (texts, i), -1, &write_error))
        {
          g_printerr ("portico run: %s\n", write_error->message);
          status = MAX (status, 1);
        }
      else if (!quiet && (g_ptr_array_index (paths, i) != json_path))
        g_print ("wrote %s\n", (char *) g_ptr_array_index (paths, i));
    }
  return status;
}
