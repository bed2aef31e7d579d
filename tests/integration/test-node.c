/* test-node.c: the node layer with real processes: a master, its workers
 * and the admin process; resurrection, reloads, stops. */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include <json-glib/json-glib.h>

#include "harness.h"

static const char node_config[] =
  "{\"_format_version\":\"1\",\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"127.0.0.1:0\","
  "\"workers\":2,\"drain_timeout\":5000},"
  "\"services\":[{\"name\":\"s\",\"url\":\"http://@UPSTREAM@\",\"routes\":[{\"paths\":[\"@PATH@\"]}]}]}";

typedef struct {
  PorticoProc *mock;
  PorticoProc *gw;
  char *config_path; /* the gateway's config file, to rewrite for reloads */
  const char *addr;
  char *admin;
} Node;

static void node_attach (Node *n, PorticoProc *gw);

static void
node_start (Node *n, const char *path)
{
  n->mock = portico_mock_spawn ("--name", "one", NULL);
  g_autoptr (GError) error = NULL;
  n->gw = portico_gateway_spawn_with (node_config, "@UPSTREAM@", portico_proc_address (n->mock, 0), "@PATH@",
                                      path, NULL, &error);
  g_assert_no_error (error);
  node_attach (n, n->gw);
}

static void
node_stop (Node *n)
{
  portico_proc_free (n->gw);
  portico_proc_free (n->mock);
  g_free (n->admin);
}

/* The config file the gateway was started with (its "-c" argument). */
static char *
config_path_of (Node *n)
{
  g_autofree char *cmd_path = g_strdup_printf ("/proc/%d/cmdline", (int) portico_proc_pid (n->gw));
  g_autofree char *cmdline = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (cmd_path, &cmdline, &len, NULL));
  for (const char *p = cmdline; p < cmdline + len; p += strlen (p) + 1)
    if (g_str_equal (p, "-c") && p + 3 < cmdline + len)
      return g_strdup (p + 3);
  g_assert_not_reached ();
}

/* Writes node_config for @upstream into DIR/gateway.json; returns the path. */
static char *
write_node_config (const char *dir, const char *upstream)
{
  char *config_path = g_build_filename (dir, "gateway.json", NULL);
  GString *json = g_string_new (node_config);
  g_string_replace (json, "@UPSTREAM@", upstream, 0);
  g_string_replace (json, "@PATH@", "/", 0);
  g_assert_true (g_file_set_contents (config_path, json->str, -1, NULL));
  g_string_free (json, TRUE);
  return config_path;
}

/* Fills @n for a gateway started some other way than node_start(). */
static void
node_attach (Node *n, PorticoProc *gw)
{
  n->gw = gw;
  n->addr = portico_proc_address (gw, 0);
  g_autofree char *line = portico_proc_wait_line (gw, "admin ", 10000);
  g_assert_nonnull (line);
  n->admin = g_strdup (line + strlen ("admin "));
}

static JsonNode *
admin_get (Node *n, const char *path)
{
  g_autofree char *req = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: admin\r\n\r\n", path);
  /* No retry: the admin process lives through reloads, and must answer. */
  g_autoptr (PorticoTestResponse) r = portico_test_request (n->admin, req);
  g_assert_nonnull (r);
  g_assert_cmpint (r->status, ==, 200);
  g_autofree char *text = portico_test_response_body_string (r);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, text, -1, NULL));
  return json_node_copy (json_parser_get_root (parser));
}

/* Waits (bounded) until /status shows @n_serving serving workers of
 * generation @generation; returns the status. */
static JsonNode *
wait_status (Node *n, guint n_serving, gint64 generation)
{
  JsonNode *status = NULL;
  for (int i = 0; i < 100; i++)
    {
      g_clear_pointer (&status, json_node_unref);
      status = admin_get (n, "/status");
      JsonObject *o = json_node_get_object (status);
      JsonArray *workers = json_object_get_array_member (o, "workers");
      guint serving = 0;
      for (guint w = 0; w < json_array_get_length (workers); w++)
        {
          JsonObject *wo = json_array_get_object_element (workers, w);
          if (g_str_equal (json_object_get_string_member (wo, "state"), "serving") &&
              json_object_get_int_member (wo, "generation") == generation)
            serving++;
        }
      if (serving == n_serving &&
          json_object_get_int_member (json_object_get_object_member (o, "node"), "generation") == generation)
        return status;
      g_usleep (50000);
    }
  return status;
}

static GArray *
serving_pids (JsonNode *status)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (gint64));
  JsonArray *workers = json_object_get_array_member (json_node_get_object (status), "workers");
  for (guint w = 0; w < json_array_get_length (workers); w++)
    {
      JsonObject *wo = json_array_get_object_element (workers, w);
      if (g_str_equal (json_object_get_string_member (wo, "state"), "serving"))
        {
          gint64 pid = json_object_get_int_member (wo, "pid");
          g_array_append_val (pids, pid);
        }
    }
  return pids;
}

static void
test_master_and_workers (void)
{
  g_test_summary ("A master forks node.workers workers (distinct pids, one generation) and an "
                  "admin process; /status shows them serving; requests are served.");
  Node n = { 0 };
  node_start (&n, "/");
  g_autoptr (JsonNode) status = wait_status (&n, 2, 1);
  g_autoptr (GArray) pids = serving_pids (status);
  g_assert_cmpuint (pids->len, ==, 2);
  g_assert_cmpint (g_array_index (pids, gint64, 0), !=, g_array_index (pids, gint64, 1));
  JsonObject *node = json_object_get_object_member (json_node_get_object (status), "node");
  g_assert_cmpint (json_object_get_int_member (node, "master_pid"), ==, portico_proc_pid (n.gw));
  for (guint i = 0; i < pids->len; i++)
    g_assert_cmpint (g_array_index (pids, gint64, i), !=, portico_proc_pid (n.gw));
  for (int i = 0; i < 20; i++)
    {
      g_autoptr (PorticoTestResponse) r = portico_test_request (n.addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      g_assert_cmpint (r->status, ==, 200);
    }
  node_stop (&n);
}

/* A client that runs on its own thread: requests on kept-alive
 * connections, as a browser would: a request that finds its reused
 * connection closed before any byte of an answer is sent again on a new
 * one; anything else that fails is a failure. */
typedef struct {
  const char *addr;
  volatile gint stop;
  gint ok;
  gint failed;
  gint retried;
  GHashTable *bodies; /* body -> count */
  GMutex lock;
} Load;

static gpointer
load_thread (gpointer data)
{
  Load *l = data;
  int fd = -1;
  guint on_this_conn = 0;
  gint64 end = g_get_monotonic_time () + 30 * G_USEC_PER_SEC; /* a hard bound */
  while (!g_atomic_int_get (&l->stop) && g_get_monotonic_time () < end)
    {
      if (fd < 0)
        {
          fd = portico_test_connect (l->addr);
          on_this_conn = 0;
          if (fd < 0)
            {
              g_atomic_int_inc (&l->failed);
              g_usleep (10000);
              continue;
            }
        }
      PorticoTestResponse *r = NULL;
      if (portico_test_send_all (fd, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", -1))
        r = portico_test_read_response (fd, FALSE, 5000);
      if (r == NULL)
        {
          close (fd);
          fd = -1;
          if (on_this_conn > 0)
            g_atomic_int_inc (&l->retried); /* closed while idle: send again */
          else
            g_atomic_int_inc (&l->failed);
          continue;
        }
      on_this_conn++;
      if (r->status == 200)
        {
          g_atomic_int_inc (&l->ok);
          g_autofree char *body = portico_test_response_body_string (r);
          g_mutex_lock (&l->lock);
          g_hash_table_insert (l->bodies, g_strdup (body),
                               GINT_TO_POINTER (GPOINTER_TO_INT (g_hash_table_lookup (l->bodies, body)) + 1));
          g_mutex_unlock (&l->lock);
        }
      else
        g_atomic_int_inc (&l->failed);
      const char *conn = portico_test_response_header (r, "Connection");
      if (conn != NULL && g_ascii_strcasecmp (conn, "close") == 0)
        {
          close (fd);
          fd = -1;
        }
      portico_test_response_free (r);
    }
  if (fd >= 0)
    close (fd);
  return NULL;
}

static void
load_start (Load *load, const char *addr, GThread **threads, guint n)
{
  memset (load, 0, sizeof *load);
  load->addr = addr;
  load->bodies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_mutex_init (&load->lock);
  for (guint i = 0; i < n; i++)
    threads[i] = g_thread_new ("load", load_thread, load);
}

static void
load_stop (Load *load, GThread **threads, guint n)
{
  g_atomic_int_set (&load->stop, 1);
  for (guint i = 0; i < n; i++)
    g_thread_join (threads[i]);
}

static void
load_clear (Load *load)
{
  g_hash_table_destroy (load->bodies);
  g_mutex_clear (&load->lock);
}

static void
test_reload_under_load (void)
{
  g_test_summary ("SIGHUP with a changed configuration under continuous load: zero failed "
                  "requests; a new generation serves the new routes; the old one drains and exits.");
  Node n = { 0 };
  node_start (&n, "/");
  g_autoptr (JsonNode) before = wait_status (&n, 2, 1);
  g_autoptr (GArray) old_pids = serving_pids (before);
  g_autoptr (PorticoProc) two = portico_mock_spawn ("--name", "two", NULL);

  Load load;
  GThread *threads[4];
  load_start (&load, n.addr, threads, G_N_ELEMENTS (threads));
  g_usleep (500000);

  /* The new configuration sends traffic to the second mock. */
  g_autofree char *config_path = config_path_of (&n);
  g_autofree char *json = g_strdup (node_config);
  GString *s = g_string_new (json);
  g_string_replace (s, "@UPSTREAM@", portico_proc_address (two, 0), 0);
  g_string_replace (s, "@PATH@", "/", 0);
  g_assert_true (g_file_set_contents (config_path, s->str, -1, NULL));
  g_string_free (s, TRUE);
  portico_proc_signal (n.gw, SIGHUP);

  g_autoptr (JsonNode) after = wait_status (&n, 2, 2);
  g_usleep (1000000);
  load_stop (&load, threads, G_N_ELEMENTS (threads));

  g_test_message ("ok %d, failed %d, resent after an idle close %d", load.ok, load.failed, load.retried);
  g_assert_cmpint (load.failed, ==, 0);
  g_assert_cmpint (load.ok, >, 100);
  g_assert_nonnull (g_hash_table_lookup (load.bodies, "hello from one\n"));
  g_assert_nonnull (g_hash_table_lookup (load.bodies, "hello from two\n"));
  JsonObject *node = json_object_get_object_member (json_node_get_object (after), "node");
  g_assert_cmpint (json_object_get_int_member (node, "generation"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (node, "reloads"), ==, 1);
  /* The old workers are gone (they drained and exited). */
  for (int i = 0; i < 100; i++)
    {
      gboolean alive = FALSE;
      for (guint k = 0; k < old_pids->len; k++)
        alive |= kill ((pid_t) g_array_index (old_pids, gint64, k), 0) == 0;
      if (!alive)
        break;
      g_usleep (50000);
    }
  for (guint k = 0; k < old_pids->len; k++)
    g_assert_cmpint (kill ((pid_t) g_array_index (old_pids, gint64, k), 0), ==, -1);
  load_clear (&load);
  node_stop (&n);
}

static void
test_invalid_reload (void)
{
  g_test_summary ("An invalid configuration on reload is refused: the old one keeps serving and "
                  "/status says why, with the JSON path.");
  Node n = { 0 };
  node_start (&n, "/");
  g_autoptr (JsonNode) ignored = wait_status (&n, 2, 1);
  g_autofree char *config_path = config_path_of (&n);
  g_assert_true (g_file_set_contents (
    config_path, "{\"_format_version\":\"1\",\"services\":[{\"name\":\"s\",\"url\":\"http://127.0.0.1:1\","
                 "\"routes\":[{\"paths\":[\"nope\"]}]}]}", -1, NULL));
  portico_proc_signal (n.gw, SIGHUP);
  JsonNode *status = NULL;
  const char *why = NULL;
  for (int i = 0; i < 100 && why == NULL; i++)
    {
      g_clear_pointer (&status, json_node_unref);
      g_usleep (50000);
      status = admin_get (&n, "/status");
      JsonObject *node = json_object_get_object_member (json_node_get_object (status), "node");
      if (!json_object_get_null_member (node, "last_reload_error"))
        why = json_object_get_string_member (node, "last_reload_error");
    }
  g_assert_nonnull (why);
  g_assert_nonnull (strstr (why, "services[0].routes[0].paths[0]: must start with \"/\""));
  JsonObject *node = json_object_get_object_member (json_node_get_object (status), "node");
  g_assert_cmpint (json_object_get_int_member (node, "generation"), ==, 1);
  g_autoptr (PorticoTestResponse) r = portico_test_request (n.addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (r->status, ==, 200);
  json_node_unref (status);
  node_stop (&n);
}

static void
test_respawn (void)
{
  g_test_summary ("kill -9 of a worker while traffic flows: the master resurrects it (a new pid "
                  "in the same slot); requests keep being served.");
  Node n = { 0 };
  node_start (&n, "/");
  g_autoptr (JsonNode) before = wait_status (&n, 2, 1);
  g_autoptr (GArray) pids = serving_pids (before);

  Load load;
  GThread *threads[4];
  load_start (&load, n.addr, threads, G_N_ELEMENTS (threads));
  g_usleep (300000);
  gint ok_before_kill = g_atomic_int_get (&load.ok);
  pid_t victim = (pid_t) g_array_index (pids, gint64, 0);
  g_assert_cmpint (kill (victim, SIGKILL), ==, 0);

  JsonNode *status = NULL;
  gboolean back = FALSE;
  for (int i = 0; i < 100 && !back; i++)
    {
      g_usleep (50000);
      g_clear_pointer (&status, json_node_unref);
      status = wait_status (&n, 2, 1);
      g_autoptr (GArray) now = serving_pids (status);
      back = now->len == 2 && g_array_index (now, gint64, 0) != victim && g_array_index (now, gint64, 1) != victim;
    }
  g_usleep (300000);
  load_stop (&load, threads, G_N_ELEMENTS (threads));
  g_assert_true (back);
  JsonObject *node = json_object_get_object_member (json_node_get_object (status), "node");
  g_assert_cmpint (json_object_get_int_member (node, "respawns"), ==, 1);
  g_test_message ("ok %d (%d before the kill), failed %d", load.ok, ok_before_kill, load.failed);
  /* Only what the killed worker had in flight may fail: at most one
   * request per client thread. */
  g_assert_cmpint (load.failed, <=, (gint) G_N_ELEMENTS (threads));
  g_assert_cmpint (load.ok, >, ok_before_kill);
  json_node_unref (status);
  load_clear (&load);
  node_stop (&n);
}

static void
test_stops (void)
{
  g_test_summary ("QUIT: requests in flight complete, then the node exits 0; TERM: the node and "
                  "its children are gone at once.");
  Node n = { 0 };
  node_start (&n, "/");
  g_autoptr (JsonNode) status = wait_status (&n, 2, 1);
  g_autoptr (GArray) pids = serving_pids (status);
  int fds[4];
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      fds[i] = portico_test_connect (n.addr);
      g_assert_true (portico_test_send_all (fds[i], "GET /delay/700 HTTP/1.1\r\nHost: h\r\n\r\n", -1));
    }
  g_usleep (200000);
  portico_proc_signal (n.gw, SIGQUIT);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      g_autoptr (PorticoTestResponse) r = portico_test_read_response (fds[i], FALSE, 5000);
      g_assert_nonnull (r);
      g_assert_cmpint (r->status, ==, 200);
      close (fds[i]);
    }
  g_assert_cmpint (portico_proc_wait (n.gw, 5000), ==, 0);
  for (guint k = 0; k < pids->len; k++)
    g_assert_cmpint (kill ((pid_t) g_array_index (pids, gint64, k), 0), ==, -1);
  node_stop (&n);

  Node f = { 0 };
  node_start (&f, "/");
  g_autoptr (JsonNode) fstatus = wait_status (&f, 2, 1);
  g_autoptr (GArray) fpids = serving_pids (fstatus);
  int fd = portico_test_connect (f.addr);
  g_assert_true (portico_test_send_all (fd, "GET /delay/5000 HTTP/1.1\r\nHost: h\r\n\r\n", -1));
  g_usleep (200000);
  portico_proc_signal (f.gw, SIGTERM);
  g_assert_cmpint (portico_proc_wait (f.gw, 2000), ==, 0);
  for (guint k = 0; k < fpids->len; k++)
    g_assert_cmpint (kill ((pid_t) g_array_index (fpids, gint64, k), 0), ==, -1);
  g_assert_true (portico_test_is_closed (fd, 1000));
  close (fd);
  node_stop (&f);
}

static void
test_reuseport (void)
{
  g_test_summary ("node.reuseport: each worker accepts on its own SO_REUSEPORT socket; new "
                  "connections reach both workers.");
  g_autoptr (PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (PorticoProc) gw = portico_gateway_spawn_with (
    "{\"_format_version\":\"1\",\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"127.0.0.1:0\","
    "\"workers\":2,\"reuseport\":true},"
    "\"services\":[{\"name\":\"s\",\"url\":\"http://@UPSTREAM@\",\"routes\":[{\"paths\":[\"/\"]}]}]}",
    "@UPSTREAM@", portico_proc_address (mock, 0), NULL, &error);
  g_assert_no_error (error);
  Node n = { 0 };
  node_attach (&n, gw);
  g_autoptr (JsonNode) ignored = wait_status (&n, 2, 1);
  for (int i = 0; i < 200; i++)
    {
      g_autoptr (PorticoTestResponse) r = portico_test_request (n.addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      g_assert_cmpint (r->status, ==, 200);
    }
  g_usleep (300000); /* the slots are published every 100 ms */
  g_autoptr (JsonNode) status = admin_get (&n, "/status");
  JsonArray *workers = json_object_get_array_member (json_node_get_object (status), "workers");
  g_assert_cmpuint (json_array_get_length (workers), ==, 2);
  gint64 total = 0;
  for (guint w = 0; w < 2; w++)
    {
      gint64 accepted = json_object_get_int_member (json_array_get_object_element (workers, w), "accepted");
      g_test_message ("worker %u accepted %" G_GINT64_FORMAT, w, accepted);
      g_assert_cmpint (accepted, >, 0);
      total += accepted;
    }
  g_assert_cmpint (total, ==, 200);
  g_free (n.admin);
}

static void
test_pid_file_and_commands (void)
{
  g_test_summary ("serve --pid-file writes the master's pid; portico reload and portico stop "
                  "--graceful signal it through that file; the pid file is gone after the stop.");
  g_autoptr (PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("portico-node-XXXXXX", &error);
  g_autofree char *pid_file = g_build_filename (dir, "portico.pid", NULL);
  g_autofree char *config_path = write_node_config (dir, portico_proc_address (mock, 0));
  const char *argv[] = { portico_test_binary (), "serve", "-c", config_path, "--pid-file", pid_file, NULL };
  g_autoptr (PorticoProc) gw = portico_proc_spawn (argv, &error);
  g_assert_no_error (error);
  Node n = { 0 };
  node_attach (&n, gw);
  g_autoptr (JsonNode) ignored = wait_status (&n, 2, 1);
  g_autofree char *pid_text = NULL;
  g_assert_true (g_file_get_contents (pid_file, &pid_text, NULL, NULL));
  g_assert_cmpint (g_ascii_strtoll (pid_text, NULL, 10), ==, portico_proc_pid (gw));

  const char *reload[] = { portico_test_binary (), "reload", "--pid-file", pid_file, NULL };
  g_assert_cmpint (portico_run_sync (reload, 5000, NULL, NULL, NULL), ==, 0);
  g_autoptr (JsonNode) gen2 = wait_status (&n, 2, 2);
  JsonObject *node = json_object_get_object_member (json_node_get_object (gen2), "node");
  g_assert_cmpint (json_object_get_int_member (node, "generation"), ==, 2);

  const char *stop[] = { portico_test_binary (), "stop", "--graceful", "--pid-file", pid_file, NULL };
  g_assert_cmpint (portico_run_sync (stop, 5000, NULL, NULL, NULL), ==, 0);
  g_assert_cmpint (portico_proc_wait (gw, 10000), ==, 0);
  g_assert_false (g_file_test (pid_file, G_FILE_TEST_EXISTS));
  const char *again[] = { portico_test_binary (), "stop", "--pid-file", pid_file, NULL };
  g_assert_cmpint (portico_run_sync (again, 5000, NULL, NULL, NULL), ==, 1);
  g_unlink (config_path);
  g_rmdir (dir);
  g_free (n.admin);
}

static void
test_admin_on_a_live_node (void)
{
  g_test_summary ("On a live node: /timers shows each worker's core timers; /metrics counts the "
                  "requests served and each worker's init_worker phase; POST /config reloads to a new "
                  "generation.");
  Node n = { 0 };
  node_start (&n, "/");
  g_autoptr (JsonNode) ignored = wait_status (&n, 2, 1);
  for (int i = 0; i < 10; i++)
    {
      g_autoptr (PorticoTestResponse) r = portico_test_request (n.addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
      g_assert_cmpint (r->status, ==, 200);
    }
  g_usleep (300000);
  g_autoptr (JsonNode) timers = admin_get (&n, "/timers");
  JsonArray *per_worker = json_node_get_array (timers);
  g_assert_cmpuint (json_array_get_length (per_worker), ==, 2);
  JsonArray *owners = json_object_get_array_member (json_array_get_object_element (per_worker, 0), "owners");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (owners, 0), "name"), ==, "core");
  JsonObject *core = json_array_get_object_element (owners, 0);
  /* publish-stats is pending, or running (it is what publishes). */
  g_assert_cmpint (json_object_get_int_member (core, "pending") + json_object_get_int_member (core, "running"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (core, "fired"), >=, 2);

  g_autoptr (PorticoTestResponse) m = portico_test_request (n.admin, "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n");
  g_assert_cmpint (m->status, ==, 200);
  g_autofree char *metrics = portico_test_response_body_string (m);
  gint64 requests = 0;
  g_auto (GStrv) lines = g_strsplit (metrics, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix (*l, "portico_requests_total{"))
      requests += g_ascii_strtoll (strrchr (*l, ' ') + 1, NULL, 10);
  g_assert_cmpint (requests, ==, 10);
  /* Each worker timed its init_worker phase once. */
  gint64 init_worker_runs = 0;
  for (char **l = lines; *l != NULL; l++)
    if (g_str_has_prefix (*l, "portico_phase_duration_seconds_count{") && strstr (*l, "phase=\"init_worker\""))
      init_worker_runs += g_ascii_strtoll (strrchr (*l, ' ') + 1, NULL, 10);
  g_assert_cmpint (init_worker_runs, ==, 2);

  g_autofree char *config_path = config_path_of (&n);
  g_autofree char *body = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (config_path, &body, &len, NULL));
  g_autofree char *post = g_strdup_printf ("POST /config HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                                           "Content-Length: %zu\r\n\r\n%s", len, body);
  g_autoptr (PorticoTestResponse) p = portico_test_request (n.admin, post);
  g_assert_cmpint (p->status, ==, 202);
  g_autoptr (JsonNode) gen2 = wait_status (&n, 2, 2);
  JsonObject *node = json_object_get_object_member (json_node_get_object (gen2), "node");
  g_assert_cmpint (json_object_get_int_member (node, "generation"), ==, 2);
  /* The same admin process now shows the posted configuration. */
  g_autoptr (JsonNode) shown = admin_get (&n, "/config");
  g_assert_true (json_object_has_member (json_node_get_object (shown), "services"));
  g_autoptr (PorticoTestResponse) r = portico_test_request (n.addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_cmpint (r->status, ==, 200);
  node_stop (&n);
}

static void
test_crash_loop (void)
{
  g_test_summary ("A worker that dies as it starts (a fixture module aborts in init_worker) is "
                  "respawned with growing delays, so the master does not spin; it keeps answering.");
  g_autoptr (GError) error = NULL;
  g_autofree char *json = g_strdup_printf (
    "{\"_format_version\":\"1\",\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"127.0.0.1:0\","
    "\"workers\":1,\"module_path\":[\"%s\"]},\"plugins\":[{\"name\":\"crash-init-worker\"}]}",
    g_getenv ("PORTICO_TEST_MODULE_DIR"));
  g_autoptr (PorticoProc) gw = portico_gateway_spawn (json, &error);
  g_assert_no_error (error);
  Node n = { 0 };
  node_attach (&n, gw);
  /* Backoff 0, 100, 200, 400, 800, 1600 ms...: about 6 deaths in 2.5 s.
   * Respawning at once each time would make it hundreds. */
  g_usleep (2500000);
  g_autoptr (JsonNode) status = admin_get (&n, "/status");
  JsonObject *node = json_object_get_object_member (json_node_get_object (status), "node");
  gint64 respawns = json_object_get_int_member (node, "respawns");
  g_test_message ("respawns in 2.5 s: %" G_GINT64_FORMAT, respawns);
  g_assert_cmpint (respawns, >=, 3);
  g_assert_cmpint (respawns, <=, 10);
  g_assert_cmpint (portico_proc_stop (gw), ==, 0);
  g_free (n.admin);
}

static void
test_daemon (void)
{
  g_test_summary ("serve --daemon: the command returns once the node listens; the node runs on "
                  "detached, serves, and portico stop ends it.");
  g_autoptr (PorticoProc) mock = portico_mock_spawn (NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("portico-daemon-XXXXXX", &error);
  g_autofree char *pid_file = g_build_filename (dir, "portico.pid", NULL);
  g_autofree char *config_path = write_node_config (dir, portico_proc_address (mock, 0));
  const char *argv[] = { portico_test_binary (), "serve", "-c", config_path, "--daemon", "--pid-file",
                         pid_file, NULL };
  g_autoptr (PorticoProc) launcher = portico_proc_spawn (argv, &error);
  g_assert_no_error (error);
  g_autofree char *addr = g_strdup (portico_proc_address (launcher, 0));
  g_assert_cmpint (portico_proc_wait (launcher, 5000), ==, 0);
  g_autofree char *pid_text = NULL;
  for (int i = 0; i < 100 && !g_file_get_contents (pid_file, &pid_text, NULL, NULL); i++)
    g_usleep (20000);
  g_assert_nonnull (pid_text);
  pid_t master = (pid_t) g_ascii_strtoll (pid_text, NULL, 10);
  g_assert_cmpint (kill (master, 0), ==, 0);
  g_autoptr (PorticoTestResponse) r = portico_test_request (addr, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  g_assert_nonnull (r);
  g_assert_cmpint (r->status, ==, 200);
  const char *stop[] = { portico_test_binary (), "stop", "--pid-file", pid_file, NULL };
  g_assert_cmpint (portico_run_sync (stop, 5000, NULL, NULL, NULL), ==, 0);
  for (int i = 0; i < 100 && kill (master, 0) == 0; i++)
    g_usleep (20000);
  g_assert_cmpint (kill (master, 0), ==, -1);
  g_unlink (config_path);
  g_rmdir (dir);
}

static void
test_cli_modules_and_check (void)
{
  g_test_summary ("portico modules lists what a module path holds (and says which files are not "
                  "modules); portico check refuses a plugin whose module is missing, naming the path.");
  const char *dir = g_getenv ("PORTICO_TEST_MODULE_DIR");
  g_autofree char *out = NULL, *err = NULL;
  const char *list[] = { portico_test_binary (), "modules", dir, NULL };
  g_assert_cmpint (portico_run_sync (list, 10000, &out, &err, NULL), ==, 1);
  g_assert_nonnull (strstr (out, "crash-init-worker"));
  g_assert_nonnull (strstr (out, "init-counter"));
  g_assert_true (strstr (out, "crash-init-worker") < strstr (out, "init-counter"));
  g_assert_nonnull (strstr (err, "bad-abi.so: built for module ABI"));
  g_assert_nonnull (strstr (err, "no-descriptor.so: not a Portico module"));

  g_autoptr (GError) error = NULL;
  g_autofree char *tmp = NULL;
  int fd = g_file_open_tmp ("portico-check-XXXXXX.json", &tmp, &error);
  g_assert_no_error (error);
  close (fd);
  g_autofree char *json = g_strdup_printf (
    "{\"_format_version\":\"1\",\"node\":{\"module_path\":[\"%s\"]},"
    "\"plugins\":[{\"name\":\"init-counter\"},{\"name\":\"missing\"}]}", dir);
  g_assert_true (g_file_set_contents (tmp, json, -1, NULL));
  g_autofree char *out2 = NULL, *err2 = NULL;
  const char *check[] = { portico_test_binary (), "check", tmp, NULL };
  g_assert_cmpint (portico_run_sync (check, 10000, &out2, &err2, NULL), ==, 1);
  g_autofree char *expected = g_strdup_printf ("%s: plugins[1].name: no module \"missing\" in node.module_path (%s)",
                                               tmp, dir);
  g_assert_nonnull (strstr (err2, expected));
  g_unlink (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/node/master/workers-and-admin", test_master_and_workers);
  g_test_add_func ("/node/master/respawn", test_respawn);
  g_test_add_func ("/node/master/crash-loop", test_crash_loop);
  g_test_add_func ("/node/reload/under-load", test_reload_under_load);
  g_test_add_func ("/node/reload/invalid", test_invalid_reload);
  g_test_add_func ("/node/stop/graceful-and-fast", test_stops);
  g_test_add_func ("/node/master/reuseport", test_reuseport);
  g_test_add_func ("/node/master/pid-file-and-commands", test_pid_file_and_commands);
  g_test_add_func ("/node/admin/live-node", test_admin_on_a_live_node);
  g_test_add_func ("/node/cli/modules-and-check", test_cli_modules_and_check);
  g_test_add_func ("/node/cli/daemon", test_daemon);
  return g_test_run ();
}
