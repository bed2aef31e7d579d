/* run-cli.c: `portico run`: load scenarios, run them, report, and say by
 * the exit status whether every expectation held. */
#include "lab/runner.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <glib-unix.h>

#include "lab/demo.h"
#include "lab/lab-proc.h"

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

static int
run_file (const char *path, const PorticoRunOptions *options, const char *json_path, JsonArray *json_all)
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
  if (json_path != NULL)
    json_array_add_element (json_all, portico_results_to_json (results, outcomes));
  return all_ok ? 0 : 1;
}

int
portico_run_main (int argc, char **argv)
{
  gboolean list = FALSE, quiet = FALSE, demo = FALSE;
  g_autofree char *json_path = NULL;
  GOptionEntry entries[] = {
    { "list", 'l', 0, G_OPTION_ARG_NONE, &list, "List the bundled scenarios and what each teaches", NULL },
    { "json", 0, 0, G_OPTION_ARG_FILENAME, &json_path, "Write the results as JSON", "FILE" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Only the report", NULL },
    { "demo", 0, 0, G_OPTION_ARG_NONE, &demo, "One request through a mock and a gateway, shown", NULL },
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

  g_unix_signal_add (SIGINT, on_interrupt, NULL);
  g_unix_signal_add (SIGTERM, on_interrupt, NULL);
  PorticoRunOptions options = { .quiet = quiet, .progress = isatty (STDOUT_FILENO) };
  g_autoptr (JsonArray) json_all = json_array_new ();
  int status = 0;
  for (guint i = 0; i < files->len; i++)
    {
      int one = run_file (g_ptr_array_index (files, i), &options, json_path, json_all);
      status = MAX (status, one); /* MAX evaluates its arguments twice */
    }
  if (json_path != NULL)
    {
      /* One scenario: its results object (docs/scenarios.md); several: an array of them. */
      g_autoptr (JsonNode) root = json_array_get_length (json_all) == 1
                                    ? json_node_copy (json_array_get_element (json_all, 0))
                                    : json_node_init_array (json_node_alloc (), json_all);
      g_autofree char *text = json_to_string (root, TRUE);
      if (!g_file_set_contents (json_path, text, -1, &error))
        {
          g_printerr ("portico run: %s\n", error->message);
          status = MAX (status, 1);
        }
    }
  return status;
}
