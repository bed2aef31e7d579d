/* test-lab-procs.c: the lab's children and what it learns from a node's
 * admin API, with a real gateway and a real mock. */
#include <glib/gstdio.h>
#include <signal.h>
#include <unistd.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "harness.h"
#include "lab/lab-proc.h"
#include "lab/node-sampler.h"

static const char config_template[] =
  "{\"_format_version\":\"1\",\"node\":{\"listen\":[\"127.0.0.1:0\"],\"admin_listen\":\"127.0.0.1:0\","
  "\"workers\":2},\"services\":[{\"name\":\"s\",\"url\":\"http://%s\",\"routes\":[{\"paths\":[\"/\"]}]}]}";

static void
wait_until (gboolean (*done) (gpointer), gpointer data, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (!done (data) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE), g_usleep (10000);
}

static gboolean
has_two_workers (gpointer data)
{
  PorticoNodeSampler *s = data;
  return portico_node_sampler_worker_pid (s, 0) != 0 && portico_node_sampler_worker_pid (s, 1) != 0;
}

static gboolean
seen_seven (gpointer data)
{
  return portico_node_sampler_figures (data)->requests >= 7;
}

static gboolean
respawned (gpointer data)
{
  PorticoNodeSampler *s = data;
  return portico_node_sampler_figures (s)->respawns >= 1 && has_two_workers (s);
}

static void
test_node (void)
{
  g_test_summary ("A node started as a lab child says where it listens; its sampler sees its workers, "
                  "counts the requests sent during the run, and counts a killed worker's resurrection.");
  const char *mock_argv[] = { portico_test_binary (), "mock", "--listen", "127.0.0.1:0", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (PorticoLabProc) mock = portico_lab_proc_spawn ("mock", mock_argv, &error);
  g_assert_no_error (error);
  const char *up = portico_lab_proc_wait_value (mock, "listening", 0, 10000, &error);
  g_assert_no_error (error);

  g_autofree char *json = g_strdup_printf (config_template, up);
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("portico-lab-XXXXXX.json", &path, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));
  const char *node_argv[] = { portico_test_binary (), "serve", "-c", path, NULL };
  g_autoptr (PorticoLabProc) node = portico_lab_proc_spawn ("gw", node_argv, &error);
  g_assert_no_error (error);
  const char *addr = portico_lab_proc_wait_value (node, "listening", 0, 10000, &error);
  g_assert_no_error (error);
  const char *admin = portico_lab_proc_wait_value (node, "admin", 0, 10000, &error);
  g_assert_no_error (error);

  PorticoNodeSampler *s = portico_node_sampler_new (admin, 50);
  wait_until (has_two_workers, s, 10000);
  g_assert_true (has_two_workers (s));

  for (int i = 0; i < 7; i++)
    {
      g_autoptr (PorticoTestResponse) resp =
        portico_test_request (addr, "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
      g_assert_nonnull (resp);
      g_assert_cmpint (resp->status, ==, 200);
    }
  /* Workers publish their figures ten times a second: wait until seen. */
  wait_until (seen_seven, s, 10000);
  g_assert_cmpuint (portico_node_sampler_figures (s)->requests, ==, 7);
  GPid victim = portico_node_sampler_worker_pid (s, 0);
  g_assert_cmpint (victim, >, 0);
  kill (victim, SIGKILL);
  wait_until (respawned, s, 10000);
  portico_node_sampler_flush (s, 5000);
  const PorticoNodeSample *f = portico_node_sampler_figures (s);
  g_assert_cmpuint (f->respawns, ==, 1);
  g_assert_cmpuint (f->requests, ==, 7); /* a respawned worker starts from 0: nothing counted twice */
  g_assert_cmpint (portico_node_sampler_worker_pid (s, 0), !=, victim);
  g_assert_cmpuint (g_hash_table_size (f->timers_by_owner_max), >=, 1); /* the core's own timers */
  portico_node_sampler_free (s);

  g_assert_cmpint (portico_lab_proc_stop (node, SIGTERM, 5000), ==, 0);
  g_unlink (path);
}

static void
test_silent_child (void)
{
  g_test_summary ("A child that exits before saying where it listens is an error naming it.");
  const char *argv[] = { portico_test_binary (), "check", "/nonexistent.json", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (PorticoLabProc) p = portico_lab_proc_spawn ("checker", argv, &error);
  g_assert_no_error (error);
  g_assert_null (portico_lab_proc_wait_value (p, "listening", 0, 10000, &error));
  g_assert_nonnull (error);
  g_assert_cmpstr (error->message, ==, "checker: exited before it printed \"listening\"");
  int status = -1;
  g_assert_true (portico_lab_proc_exited (p, &status));
  g_assert_cmpint (status, !=, 0);
}

/* ---- portico run --dashboard ---- */

/* The master pid that the admin API on @addr reports, or 0 when nothing
 * answers there. */
static gint64
master_pid (const char *addr)
{
  g_autoptr (PorticoTestResponse) resp =
    portico_test_request (addr, "GET /status HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  if (resp == NULL || resp->status != 200)
    return 0;
  g_autofree char *body = portico_test_response_body_string (resp);
  g_autoptr (JsonNode) root = json_from_string (body, NULL);
  if (root == NULL)
    return 0;
  JsonObject *node = json_object_get_object_member (json_node_get_object (root), "node");
  return node ? json_object_get_int_member_with_default (node, "master_pid", 0) : 0;
}

static void
test_run_dashboard (void)
{
  g_test_summary ("`portico run --dashboard=PORT` gives the first node its admin API, dashboard page "
                  "included, on 127.0.0.1:PORT in every variant (two variants, two masters, one port), "
                  "and refuses a port that is in use before starting anything.");
  guint port = portico_test_free_port ();
  g_autofree char *addr = g_strdup_printf ("127.0.0.1:%u", port);
  g_autofree char *option = g_strdup_printf ("--dashboard=%u", port);
  g_autofree char *scenario = g_build_filename (g_getenv ("G_TEST_SRCDIR"), "..", "scenarios", "keepalive.json", NULL);
  const char *argv[] = { portico_test_binary (), "run", "--quiet", option, scenario, NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) run =
    g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
  g_assert_no_error (error);

  /* Two variants of about 5 s each: poll until the run ends (bounded). */
  gint64 first = 0, second = 0;
  gboolean page = FALSE;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline && g_subprocess_get_identifier (run) != NULL)
    {
      gint64 pid = master_pid (addr);
      if (pid != 0 && first == 0)
        first = pid;
      else if (pid != 0 && pid != first)
        second = pid;
      if (pid != 0 && !page)
        {
          g_autoptr (PorticoTestResponse) resp =
            portico_test_request (addr, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
          page = resp != NULL && resp->status == 200 &&
                 g_str_has_prefix (portico_test_response_header (resp, "Content-Type"), "text/html");
        }
      g_usleep (200 * 1000);
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_true (g_subprocess_wait (run, NULL, &error));
  g_assert_true (g_subprocess_get_if_exited (run)); /* not killed by a signal (a sanitizer's abort) */
  /* 0, or 1 when the scenario's own expectations (ratios) do not hold, as
   * under the sanitizers' slowness: scenario-keepalive checks those; 2
   * would mean the run could not start. */
  g_assert_cmpint (g_subprocess_get_exit_status (run), <=, 1);
  g_assert_cmpint (first, >, 0);
  g_assert_cmpint (second, >, 0);
  g_assert_true (page);

  /* A port in use: a clear refusal, exit status 2, nothing started. */
  int fd = socket (AF_INET, SOCK_STREAM, 0), one = 1;
  g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), ==, 0); /* past TIME_WAIT */
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons ((guint16) port),
                             .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  g_assert_cmpint (listen (fd, 1), ==, 0);
  g_autofree char *err = NULL;
  int status = portico_run_sync (argv, 20000, NULL, &err, &error);
  close (fd);
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 2);
  g_assert_nonnull (strstr (err, "is in use"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/lab/procs/node", test_node);
  g_test_add_func ("/lab/procs/silent-child", test_silent_child);
  g_test_add_func ("/lab/run/dashboard", test_run_dashboard);
  return g_test_run ();
}
