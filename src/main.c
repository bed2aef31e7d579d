/* main.c: the portico command line. */
#include <glib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "lab/demo.h"
#include "lab/lab.h"
#include "node/signals.h"
#include "node/worker.h"

static void
print_config_errors (const char *path, GPtrArray *errors, GError *error)
{
  for (guint i = 0; i < errors->len; i++)
    g_printerr ("%s: %s\n", path, (const char *) g_ptr_array_index (errors, i));
  if (errors->len == 0 && error != NULL)
    g_printerr ("%s\n", error->message);
}

static PorticoConfig *
load_config (const char *path)
{
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  PorticoConfig *config = portico_config_load_file (path, errors, &error);
  if (config == NULL)
    print_config_errors (path, errors, error);
  return config;
}

static int
cmd_check (int argc, char **argv)
{
  if (argc < 2)
    {
      g_printerr ("usage: portico check FILE...\n");
      return 2;
    }
  int status = 0;
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (PorticoConfig) config = load_config (argv[i]);
      if (config == NULL)
        status = 1;
      else
        g_print ("%s: ok\n", argv[i]);
    }
  return status;
}

typedef struct {
  PorticoWorker *worker;
  gboolean graceful;
} StopRequest;

static void
on_stop_signal (int signum, gpointer data)
{
  StopRequest *req = data;
  portico_worker_stop (req->worker, req->graceful);
}

static int
cmd_serve (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "The configuration file", "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- run the gateway in the foreground");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("portico serve: %s\n", error->message);
      return 2;
    }
  if (config_path == NULL)
    {
      g_printerr ("portico serve: -c FILE is required\n");
      return 2;
    }
  g_autoptr (PorticoConfig) config = load_config (config_path);
  if (config == NULL)
    return 1;

  GPtrArray *listeners = portico_listeners_open (config, &error);
  if (listeners == NULL)
    {
      g_printerr ("portico serve: %s\n", error->message);
      return 1;
    }
  PorticoWorker *worker = portico_worker_new (config, listeners, 0);
  for (guint i = 0; i < listeners->len; i++)
    {
      PorticoListener *l = g_ptr_array_index (listeners, i);
      const PorticoAddress *a = &l->listen->address;
      gboolean v6 = strchr (a->host, ':') != NULL;
      printf ("listening %s%s%s:%u\n", v6 ? "[" : "", a->host, v6 ? "]" : "", a->port);
    }
  fflush (stdout);

  StopRequest fast = { worker, FALSE }, graceful = { worker, TRUE };
  guint s1 = portico_signal_add (SIGTERM, on_stop_signal, &fast);
  guint s2 = portico_signal_add (SIGINT, on_stop_signal, &fast);
  guint s3 = portico_signal_add (SIGQUIT, on_stop_signal, &graceful);
  portico_worker_run (worker);
  portico_signal_remove (s1);
  portico_signal_remove (s2);
  portico_signal_remove (s3);
  portico_worker_free (worker);
  portico_listeners_close (listeners);
  return 0;
}

static void
usage (void)
{
  g_printerr ("usage: portico COMMAND [ARGS]\n"
              "\n"
              "  serve -c FILE   run the gateway in the foreground\n"
              "  check FILE...   validate configuration files\n"
              "  run             start a demo upstream and the gateway, and proxy a request\n"
              "  mock [OPTIONS]  run a mock upstream service (see portico mock --help)\n"
              "  version         print the version\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  signal (SIGPIPE, SIG_IGN);
  if (argc < 2)
    {
      usage ();
      return 2;
    }
  const char *cmd = argv[1];
  argc--, argv++;
  if (strcmp (cmd, "serve") == 0)
    return cmd_serve (argc, argv);
  if (strcmp (cmd, "check") == 0)
    return cmd_check (argc, argv);
  if (strcmp (cmd, "run") == 0)
    return portico_demo_main (argc, argv);
  if (strcmp (cmd, "mock") == 0)
    return portico_mock_main (argc, argv);
  if (strcmp (cmd, "version") == 0 || strcmp (cmd, "--version") == 0)
    {
      g_print ("portico %s\n", PORTICO_VERSION);
      return 0;
    }
  if (strcmp (cmd, "help") == 0 || strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0)
    {
      usage ();
      return 0;
    }
  g_printerr ("portico: unknown command '%s'\n", cmd);
  usage ();
  return 2;
}
