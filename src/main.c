/* main.c: the portico command line. */
#include <glib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/top.h"
#include "core/config.h"
#include "lab/demo.h"
#include "lab/lab.h"
#include "lab/runner.h"
#include "lab/traffic.h"
#include "admin/admin.h"
#include "node/master.h"
#include "pdk/module-loader.h"

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

/* `portico modules [-c FILE | DIR...] [--json]`: the modules a module path
 * holds (the config's node.module_path, or the directories given). */
static int
cmd_modules (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Use this config's node.module_path", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("[DIR...] - list the modules found");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("portico modules: %s\n", error->message);
      return 2;
    }
  g_autoptr (PorticoConfig) config = NULL;
  g_autoptr (GPtrArray) dirs = g_ptr_array_new ();
  if (config_path != NULL)
    {
      if ((config = load_config (config_path)) == NULL)
        return 1;
      for (const char *const *d = portico_module_path (config); *d != NULL; d++)
        g_ptr_array_add (dirs, (gpointer) *d);
    }
  for (int i = 1; i < argc; i++)
    g_ptr_array_add (dirs, argv[i]);
  if (dirs->len == 0)
    for (const char *const *d = portico_module_default_path (); *d != NULL; d++)
      g_ptr_array_add (dirs, (gpointer) *d);
  g_ptr_array_add (dirs, NULL);
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) modules = portico_modules_scan ((const char *const *) dirs->pdata, errors);
  for (guint i = 0; i < errors->len; i++)
    g_printerr ("portico modules: %s\n", (const char *) g_ptr_array_index (errors, i));
  g_autofree char *text = portico_modules_describe (modules, json);
  fputs (text, stdout);
  return errors->len > 0 ? 1 : 0;
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
        {
          status = 1;
          continue;
        }
      /* The plugins must name modules that load and accept their config. */
      g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
      PorticoModuleSet *modules = portico_modules_load (config, errors);
      if (modules == NULL)
        {
          print_config_errors (argv[i], errors, NULL);
          status = 1;
          continue;
        }
      portico_module_set_free (modules);
      g_print ("%s: ok\n", argv[i]);
    }
  return status;
}

static int
run_admin (PorticoShm *shm, const PorticoConfig *config, int listen_fd, int control_fd,
           const char *runtime_dir)
{
  PorticoAdminContext ctx = {
    .shm = shm,
    .config = config,
    .listen_fd = listen_fd,
    .control_fd = control_fd,
    .runtime_dir = runtime_dir,
  };
  return portico_admin_run (&ctx);
}

static int
cmd_serve (int argc, char **argv)
{
  g_autofree char *config_path = NULL, *pid_file = NULL;
  gboolean daemon = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "The configuration file", "FILE" },
    { "pid-file", 'p', 0, G_OPTION_ARG_FILENAME, &pid_file, "Write the master's pid there", "FILE" },
    { "daemon", 'd', 0, G_OPTION_ARG_NONE, &daemon, "Detach once listening (default pid file: portico.pid)",
      NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- run a gateway node: a master and its workers");
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
  if (daemon && pid_file == NULL)
    pid_file = g_strdup ("portico.pid");
  PorticoMasterOptions options = {
    .config_path = config_path,
    .pid_file = pid_file,
    .daemonize = daemon,
    .admin = run_admin,
  };
  return portico_master_run (&options);
}

/* portico reload | stop [--graceful]: signal the master in the pid file. */
static int
cmd_signal (int argc, char **argv, gboolean reload)
{
  g_autofree char *pid_file = NULL;
  gboolean graceful = FALSE;
  GOptionEntry entries[] = {
    { "pid-file", 'p', 0, G_OPTION_ARG_FILENAME, &pid_file, "The master's pid file (default: portico.pid)",
      "FILE" },
    { "graceful", 'g', 0, G_OPTION_ARG_NONE, &graceful, "stop: let requests in flight finish", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (reload ? "- reload the configuration"
                                                                : "- stop the node");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("portico: %s\n", error->message);
      return 2;
    }
  int signum = reload ? SIGHUP : graceful ? SIGQUIT : SIGTERM;
  if (!portico_master_signal (pid_file ? pid_file : "portico.pid", signum, &error))
    {
      g_printerr ("portico: %s\n", error->message);
      return 1;
    }
  return 0;
}

static void
usage (void)
{
  g_printerr ("usage: portico COMMAND [ARGS]\n"
              "\n"
              "  serve -c FILE   run a gateway node (master, workers, admin) in the foreground\n"
              "  reload          reload the configuration of the node in portico.pid (-p FILE)\n"
              "  stop            stop that node (--graceful: finish requests in flight first)\n"
              "  check FILE...   validate configuration files (and the modules they name)\n"
              "  modules [-c FILE | DIR...] [--json]  list the modules found and their phases\n"
              "  run [FILE...]   run scenarios (default: the tour; --list, --json FILE, --demo)\n"
              "  mock [OPTIONS]  run a mock upstream service (see portico mock --help)\n"
              "  traffic [OPTIONS] URL  send load with Portico's own client (see portico traffic --help)\n"
              "  top [ADMIN_ADDR] the node's dashboard in the terminal (see portico top --help)\n"
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
  if (strcmp (cmd, "modules") == 0)
    return cmd_modules (argc, argv);
  if (strcmp (cmd, "reload") == 0)
    return cmd_signal (argc, argv, TRUE);
  if (strcmp (cmd, "stop") == 0)
    return cmd_signal (argc, argv, FALSE);
  if (strcmp (cmd, "run") == 0)
    return portico_run_main (argc, argv);
  if (strcmp (cmd, "mock") == 0)
    return portico_mock_main (argc, argv);
  if (strcmp (cmd, "traffic") == 0)
    return portico_traffic_cli_main (argc, argv);
  if (strcmp (cmd, "top") == 0)
    return portico_top_main (argc, argv);
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
