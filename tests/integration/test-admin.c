/* tests/integration/test-admin.c - the admin process over real HTTP.
 *
 * Each test builds a shared-memory zone with known figures, opens a
 * listening socket on 127.0.0.1:0 and a control pipe, forks a child that
 * runs portico_admin_run() on them, and talks to it with the harness's raw
 * client. The child dies with the test process (PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "admin/admin.h"
#include "exposition-check.h"
#include "harness.h"

#define STARTED_US G_GINT64_CONSTANT (1700000000123456) /* 2023-11-14T22:13:20.123Z */
#define MASTER_PID 4000

static const char base_config[] =
  "{\"_format_version\": \"1\","
  " \"node\": {\"listen\": [\"127.0.0.1:0\"], \"admin_listen\": \"127.0.0.1:0\", \"workers\": 2}}";

static const char token_config[] =
  "{\"_format_version\": \"1\","
  " \"node\": {\"listen\": [\"127.0.0.1:0\"], \"admin_listen\": \"127.0.0.1:0\", \"workers\": 2,"
  "          \"admin_token\": \"s3cret-token\"}}";

/* ------------------------------------------------------------------------ */
/* An admin process on a known zone */

typedef struct {
  PorticoShm *shm;
  PorticoConfig *config;
  char *runtime_dir;
  char *addr;     /* "127.0.0.1:PORT" */
  int control_rd; /* the master's end of the control pipe */
  pid_t pid;
} AdminRun;

static void
set_owner (PorticoShmSlot *s, guint i, const char *name, guint32 pending, guint64 fired, guint64 run_us,
           guint64 max_late_us)
{
  g_strlcpy (s->owners[i].name, name, sizeof s->owners[i].name);
  s->owners[i].pending = pending;
  s->owners[i].running = 0;
  s->owners[i].fired = fired;
  s->owners[i].run_us = run_us;
  s->owners[i].max_late_us = max_late_us;
}

/* Slot 0 serving (everything set), slot 1 free, slot 2 draining, slot 3
 * exited. */
static void
fill_zone (PorticoShm *shm)
{
  portico_shm_set_master (shm, MASTER_PID, STARTED_US);
  portico_shm_set_generation (shm, 3);
  portico_shm_count_reload (shm, TRUE, NULL);
  portico_shm_count_reload (shm, TRUE, NULL);
  portico_shm_count_reload (shm, FALSE, "services[0].host: cannot resolve");
  portico_shm_count_respawn (shm);
  gint64 v = 0;
  g_assert_cmpint (portico_shdict_incr (shm, "rl:alice", 1, 0, &v), ==, PORTICO_SHDICT_OK);
  g_assert_cmpint (portico_shdict_incr (shm, "rl:bob", 5, 0, &v), ==, PORTICO_SHDICT_OK);

  PorticoShmSlot *s = portico_shm_slot (shm, 0);
  portico_shm_slot_write_begin (s);
  s->pid = 4242;
  s->generation = 3;
  s->state = PORTICO_WORKER_SERVING;
  s->started_us = STARTED_US + 1000000;
  s->updated_us = STARTED_US + 5000000;
  for (guint i = 0; i < PORTICO_SHM_N_CONN_STATES; i++)
    s->connections[i] = i + 1; /* reading 1 ... keepalive 5 */
  s->upstream_idle = 6;
  s->upstream_busy = 2;
  s->accepted = 40;
  s->requests = 100;
  s->responses[1] = 1;
  s->responses[2] = 90;
  s->responses[3] = 0;
  s->responses[4] = 6;
  s->responses[5] = 3;
  s->bytes_in = 12345;
  s->bytes_out = 678901;
  s->upstream_connects = 11;
  s->upstream_reuses = 89;
  s->upstream_failures = 2;
  s->upstream_timeouts = 1;
  s->latency_hist[0] = 50;  /* <= 100 us */
  s->latency_hist[3] = 30;  /* <= 800 us */
  s->latency_hist[PORTICO_SHM_N_BUCKETS - 1] = 20; /* beyond every bound */
  s->phase_hist[3][1] = 7;  /* access, <= 200 us */
  s->loop_lag_us = 1500;
  s->loop_lag_max_us = 9000;
  s->timers_pending = 3;
  s->timers_running = 1;
  s->timers_fired = 17;
  set_owner (s, 0, "core", 2, 10, 2500, 700);
  set_owner (s, 1, "rate-limiting", 1, 7, 400, 50);
  portico_shm_slot_write_end (s);

  s = portico_shm_slot (shm, 2);
  portico_shm_slot_write_begin (s);
  s->pid = 4343;
  s->generation = 2;
  s->state = PORTICO_WORKER_DRAINING;
  s->started_us = STARTED_US + 2000000;
  s->connections[1] = 4; /* active */
  s->requests = 5;
  s->responses[2] = 5;
  set_owner (s, 0, "core", 1, 1, 10, 0);
  portico_shm_slot_write_end (s);

  s = portico_shm_slot (shm, 3);
  portico_shm_slot_write_begin (s);
  s->pid = 4444;
  s->generation = 1;
  s->state = PORTICO_WORKER_EXITED;
  s->requests = 7;
  portico_shm_slot_write_end (s);
}

static int
listen_loopback (char **addr)
{
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof sin;

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  g_assert_cmpint (listen (fd, 64), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sin, &len), ==, 0);
  *addr = g_strdup_printf ("127.0.0.1:%u", ntohs (sin.sin_port));
  return fd;
}

static AdminRun *
admin_start (const char *config_json)
{
  AdminRun *run = g_new0 (AdminRun, 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  int pipe_fds[2];

  run->shm = portico_shm_new (4, 64, &error);
  g_assert_no_error (error);
  fill_zone (run->shm);
  run->config = portico_config_load_data (config_json, -1, "<test>", errors, &error);
  g_assert_no_error (error);
  g_assert_nonnull (run->config);
  run->runtime_dir = g_dir_make_tmp ("portico-admin-XXXXXX", &error);
  g_assert_no_error (error);
  int listen_fd = listen_loopback (&run->addr);
  g_assert_cmpint (pipe2 (pipe_fds, O_CLOEXEC), ==, 0);
  run->control_rd = pipe_fds[0];

  pid_t parent = getpid ();
  run->pid = fork ();
  g_assert_cmpint (run->pid, >=, 0);
  if (run->pid == 0)
    {
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (getppid () != parent)
        _exit (99);
      close (pipe_fds[0]);
      /* g_test_init() made warnings fatal; the admin process warns about a
       * master that is gone, and must live on. */
      g_log_set_always_fatal (G_LOG_FATAL_MASK);
      PorticoAdminContext ctx = {
        .shm = run->shm,
        .config = run->config,
        .listen_fd = listen_fd,
        .control_fd = pipe_fds[1],
        .runtime_dir = run->runtime_dir,
      };
      _exit (portico_admin_run (&ctx));
    }
  close (listen_fd);
  close (pipe_fds[1]);
  return run;
}

/* Signals the child and returns its exit status (128 + N for signal N, -1
 * if it had to be killed). */
static int
admin_signal_wait (AdminRun *run, int signum)
{
  int status = 0;

  kill (run->pid, signum);
  for (int i = 0; i < 500; i++)
    {
      pid_t r = waitpid (run->pid, &status, WNOHANG);
      if (r == run->pid)
        {
          run->pid = 0;
          return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
        }
      g_usleep (10000);
    }
  kill (run->pid, SIGKILL);
  waitpid (run->pid, &status, 0);
  run->pid = 0;
  return -1;
}

static void
admin_free (AdminRun *run)
{
  if (run->pid > 0)
    admin_signal_wait (run, SIGTERM);
  if (run->control_rd >= 0)
    close (run->control_rd);
  g_autoptr (GDir) dir = g_dir_open (run->runtime_dir, 0, NULL);
  const char *name;
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (run->runtime_dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (run->runtime_dir);
  g_free (run->runtime_dir);
  g_free (run->addr);
  portico_config_free (run->config);
  portico_shm_free (run->shm);
  g_free (run);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AdminRun, admin_free)

static guint
count_files (const char *dir_path)
{
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* Reads what arrives on the control pipe within @timeout_ms ("" if nothing). */
static char *
read_control (AdminRun *run, int timeout_ms)
{
  struct pollfd pfd = { .fd = run->control_rd, .events = POLLIN };
  char buf[4096];

  if (poll (&pfd, 1, timeout_ms) <= 0)
    return g_strdup ("");
  ssize_t n = read (run->control_rd, buf, sizeof buf - 1);
  g_assert_cmpint (n, >=, 0);
  buf[n] = '\0';
  return g_strdup (buf);
}

/* ------------------------------------------------------------------------ */
/* Requests */

static PorticoTestResponse *
request (AdminRun *run, const char *method, const char *path, const char *headers, const char *body)
{
  g_autofree char *text = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n"
                                           "%sContent-Length: %zu\r\n\r\n%s",
                                           method, path, headers != NULL ? headers : "",
                                           body != NULL ? strlen (body) : 0, body != NULL ? body : "");
  PorticoTestResponse *resp = portico_test_request (run->addr, text);

  g_assert_nonnull (resp);
  return resp;
}

static JsonNode *
parse_json (const PorticoTestResponse *resp)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *text = portico_test_response_body_string (resp);

  g_assert_cmpstr (portico_test_response_header (resp, "Content-Type"), ==, "application/json");
  json_parser_load_from_data (parser, text, -1, &error);
  g_assert_no_error (error);
  return json_node_copy (json_parser_get_root (parser));
}

/* GETs @path and checks for 200 and a JSON body. */
static JsonNode *
get_json (AdminRun *run, const char *path, const char *headers)
{
  g_autoptr (PorticoTestResponse) resp = request (run, "GET", path, headers, NULL);

  g_assert_cmpint (resp->status, ==, 200);
  return parse_json (resp);
}

/* The "message" of an error answer with @status. */
static char *
error_message (PorticoTestResponse *resp, int status)
{
  g_assert_cmpint (resp->status, ==, status);
  g_autoptr (JsonNode) root = parse_json (resp);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  const char *message = json_object_get_string_member (json_node_get_object (root), "message");
  g_assert_nonnull (message);
  return g_strdup (message);
}

static gint64
path_int (JsonNode *root, const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) result = json_path_query (path, root, &error);

  g_assert_no_error (error);
  JsonArray *matches = json_node_get_array (result);
  if (json_array_get_length (matches) != 1)
    g_error ("%s: %u matches", path, json_array_get_length (matches));
  return json_array_get_int_element (matches, 0);
}

static double
path_double (JsonNode *root, const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) result = json_path_query (path, root, &error);

  g_assert_no_error (error);
  JsonArray *matches = json_node_get_array (result);
  g_assert_cmpuint (json_array_get_length (matches), ==, 1);
  return json_array_get_double_element (matches, 0);
}

static char *
path_string (JsonNode *root, const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) result = json_path_query (path, root, &error);

  g_assert_no_error (error);
  JsonArray *matches = json_node_get_array (result);
  g_assert_cmpuint (json_array_get_length (matches), ==, 1);
  JsonNode *node = json_array_get_element (matches, 0);
  return JSON_NODE_HOLDS_NULL (node) ? NULL : g_strdup (json_node_get_string (node));
}

/* ------------------------------------------------------------------------ */
/* GET /status, /workers, /timers, /config */

static void
check_worker0 (JsonNode *w)
{
  g_autofree char *state = path_string (w, "$.state");
  g_autofree char *started = path_string (w, "$.started");

  g_assert_cmpint (path_int (w, "$.slot"), ==, 0);
  g_assert_cmpint (path_int (w, "$.pid"), ==, 4242);
  g_assert_cmpint (path_int (w, "$.generation"), ==, 3);
  g_assert_cmpstr (state, ==, "serving");
  g_assert_cmpstr (started, ==, "2023-11-14T22:13:21.123Z");
  g_assert_cmpint (path_int (w, "$.connections.reading"), ==, 1);
  g_assert_cmpint (path_int (w, "$.connections.active"), ==, 2);
  g_assert_cmpint (path_int (w, "$.connections.waiting"), ==, 3);
  g_assert_cmpint (path_int (w, "$.connections.writing"), ==, 4);
  g_assert_cmpint (path_int (w, "$.connections.keepalive"), ==, 5);
  g_assert_cmpint (path_int (w, "$.connections.total"), ==, 15);
  g_assert_cmpint (path_int (w, "$.requests"), ==, 100);
  g_assert_cmpint (path_int (w, "$.responses.1xx"), ==, 1);
  g_assert_cmpint (path_int (w, "$.responses.2xx"), ==, 90);
  g_assert_cmpint (path_int (w, "$.responses.3xx"), ==, 0);
  g_assert_cmpint (path_int (w, "$.responses.4xx"), ==, 6);
  g_assert_cmpint (path_int (w, "$.responses.5xx"), ==, 3);
  g_assert_cmpint (path_int (w, "$.bytes_in"), ==, 12345);
  g_assert_cmpint (path_int (w, "$.bytes_out"), ==, 678901);
  g_assert_cmpint (path_int (w, "$.upstream.connects"), ==, 11);
  g_assert_cmpint (path_int (w, "$.upstream.reuses"), ==, 89);
  g_assert_cmpint (path_int (w, "$.upstream.failures"), ==, 2);
  g_assert_cmpint (path_int (w, "$.upstream.timeouts"), ==, 1);
  g_assert_cmpint (path_int (w, "$.upstream.idle"), ==, 6);
  g_assert_cmpint (path_int (w, "$.upstream.busy"), ==, 2);
  g_assert_cmpfloat_with_epsilon (path_double (w, "$.loop_lag_ms"), 1.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (path_double (w, "$.loop_lag_max_ms"), 9.0, 1e-9);
  g_assert_cmpint (path_int (w, "$.timers.pending"), ==, 3);
  g_assert_cmpint (path_int (w, "$.timers.running"), ==, 1);
  g_assert_cmpint (path_int (w, "$.timers.fired"), ==, 17);
}

static void
test_status (void)
{
  g_autoptr (AdminRun) run = admin_start (base_config);
  g_autoptr (JsonNode) root = get_json (run, "/status", NULL);

  g_test_summary ("GET /status shows the node header and every slot that is not free, with the "
                  "figures the workers wrote, and totals over them.");

  g_assert_cmpint (path_int (root, "$.node.master_pid"), ==, MASTER_PID);
  g_assert_cmpint (path_int (root, "$.node.generation"), ==, 3);
  g_autofree char *started = path_string (root, "$.node.started");
  g_assert_cmpstr (started, ==, "2023-11-14T22:13:20.123Z");
  g_assert_cmpint (path_int (root, "$.node.uptime_s"), >, 0);
  g_assert_cmpint (path_int (root, "$.node.reloads"), ==, 3);
  g_assert_cmpint (path_int (root, "$.node.reload_failures"), ==, 1);
  g_autofree char *last_error = path_string (root, "$.node.last_reload_error");
  g_assert_cmpstr (last_error, ==, "services[0].host: cannot resolve");
  g_assert_cmpint (path_int (root, "$.node.respawns"), ==, 1);
  g_assert_cmpint (path_int (root, "$.node.workers_configured"), ==, 2);
  g_assert_cmpint (path_int (root, "$.node.shdict.entries"), ==, 2);
  g_assert_cmpint (path_int (root, "$.node.shdict.capacity"), >=, 64);

  JsonArray *workers = json_object_get_array_member (json_node_get_object (root), "workers");
  g_assert_cmpuint (json_array_get_length (workers), ==, 3);
  check_worker0 (json_array_get_element (workers, 0));
  JsonNode *w2 = json_array_get_element (workers, 1);
  g_autofree char *state2 = path_string (w2, "$.state");
  g_assert_cmpint (path_int (w2, "$.slot"), ==, 2);
  g_assert_cmpstr (state2, ==, "draining");
  g_assert_cmpint (path_int (w2, "$.connections.total"), ==, 4);
  JsonNode *w3 = json_array_get_element (workers, 2);
  g_autofree char *state3 = path_string (w3, "$.state");
  g_autofree char *started3 = path_string (w3, "$.started");
  g_assert_cmpint (path_int (w3, "$.slot"), ==, 3);
  g_assert_cmpstr (state3, ==, "exited");
  g_assert_null (started3);

  g_assert_cmpint (path_int (root, "$.totals.requests"), ==, 112);
  g_assert_cmpint (path_int (root, "$.totals.responses.2xx"), ==, 95);
  g_assert_cmpint (path_int (root, "$.totals.connections.active"), ==, 6);
  g_assert_cmpint (path_int (root, "$.totals.connections.total"), ==, 19);
}

static void
test_status_no_reload_error (void)
{
  g_autoptr (AdminRun) run = admin_start (base_config);

  g_test_summary ("After a good reload, last_reload_error is null.");
  portico_shm_count_reload (run->shm, TRUE, NULL);
  g_autoptr (JsonNode) root = get_json (run, "/status", NULL);
  g_autofree char *last_error = path_string (root, "$.node.last_reload_error");
  g_assert_null (last_error);
  g_assert_cmpint (path_int (root, "$.node.reloads"), ==, 4);
}

static void
test_workers (void)
{
  g_autoptr (AdminRun) run = admin_start (base_config);
  g_autoptr (JsonNode) status = get_json (run, "/status", NULL);
  g_autoptr (JsonNode) workers = get_json (run, "/workers", NULL);

  g_test_summary ("GET /workers is the workers array of /status alone.");
  g_assert_true (JSON_NODE_HOLDS_ARRAY (workers));
  JsonNode *expected = json_object_get_member (json_node_get_object (status), "workers");
  g_assert_true (json_node_equal (expected, workers));
  check_worker0 (json_array_get_element (json_node_get_array (workers), 0));
}

static void
test_timers (void)
{
  g_autoptr (AdminRun) run = admin_start (base_config);
  g_autoptr (JsonNode) root = get_json (run, "/timers", NULL);

  g_test_summary ("GET /timers lists each worker's timers, split by the owner that created them.");
  g_assert_true (JSON_NODE_HOLDS_ARRAY (root));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (root)), ==, 3);
  g_assert_cmpint (path_int (root, "$[0].slot"), ==, 0);
  g_assert_cmpint (path_int (root, "$[0].pending"), ==, 3);
  g_assert_cmpint (path_int (root, "$[0].running"), ==, 1);
  g_assert_cmpint (path_int (root, "$[0].fired"), ==, 17);
  JsonObject *w0 = json_array_get_object_element (json_node_get_array (root), 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (w0, "owners")), ==, 2);
  g_autofree char *core = path_string (root, "$[0].owners[0].name");
  g_autofree char *rl = path_string (root, "$[0].owners[1].name");
  g_assert_cmpstr (core, ==, "core");
  g_assert_cmpstr (rl, ==, "rate-limiting");
  g_assert_cmpint (path_int (root, "$[0].owners[0].pending"), ==, 2);
  g_assert_cmpint (path_int (root, "$[0].owners[0].running"), ==, 0);
  g_assert_cmpint (path_int (root, "$[0].owners[0].fired"), ==, 10);
  g_assert_cmpfloat_with_epsilon (path_double (root, "$[0].owners[0].run_ms"), 2.5, 1e-9);
  g_assert_cmpfloat_with_epsilon (path_double (root, "$[0].owners[0].max_late_ms"), 0.7, 1e-9);
  g_assert_cmpint (path_int (root, "$[0].owners[1].fired"), ==, 7);
  g_assert_cmpint (path_int (root, "$[1].slot"), ==, 2);
  g_assert_cmpint (path_int (root, "$[1].owners[0].pending"), ==, 1);
  g_assert_cmpint (path_int (root, "$[2].slot"), ==, 3);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                      json_array_get_object_element (json_node_get_array (root), 2), "owners")), ==, 0);
}

static void
test_get_config (void)
{
  g_autoptr (AdminRun) run = admin_start (base_config);
  g_autoptr (JsonNode) root = get_json (run, "/config", NULL);

  g_test_summary ("GET /config returns the running configuration's document as it was written.");
  g_assert_true (json_node_equal (root, run->config->root));
}

/* ------------------------------------------------------------------------ */
/* GET /metrics */

static double
metric (PorticoExposition *e, const char *key)
{
  return portico_exposition_sample (e, key);
}

static void
test_metrics (void)
{
  g_autoptr (AdminRun) run = admin_start (base_config);
  g_autoptr (PorticoTestResponse) resp = request (run, "GET", "/metrics", NULL, NULL);

  g_test_summary ("GET /metrics is valid Prometheus text (every line checked against the 0.0.4 "
                  "grammar, histograms cumulative) and carries the zone's figures.");
  g_assert_cmpint (resp->status, ==, 200);
  g_assert_true (g_str_has_prefix (portico_test_response_header (resp, "Content-Type"),
                                   "text/plain; version=0.0.4"));
  g_autofree char *text = portico_test_response_body_string (resp);
  g_autoptr (PorticoExposition) e = portico_exposition_parse (text);

  g_assert_cmpstr (portico_exposition_type (e, "portico_requests_total"), ==, "counter");
  g_assert_cmpstr (portico_exposition_type (e, "portico_connections"), ==, "gauge");
  g_assert_cmpstr (portico_exposition_type (e, "portico_request_duration_seconds"), ==, "histogram");

  g_assert_cmpfloat (metric (e, "portico_generation"), ==, 3);
  g_assert_true (strstr (text, "\nportico_start_time_seconds 1700000000.123456\n") != NULL);
  g_assert_true (strstr (text, "\nportico_loop_lag_seconds{worker=\"0\"} 0.0015\n") != NULL);
  g_assert_cmpfloat (metric (e, "portico_worker_respawns_total"), ==, 1);
  g_assert_cmpfloat (metric (e, "portico_reloads_total{result=\"ok\"}"), ==, 2);
  g_assert_cmpfloat (metric (e, "portico_reloads_total{result=\"failed\"}"), ==, 1);
  g_assert_cmpfloat (metric (e, "portico_shdict_entries"), ==, 2);
  g_assert_cmpfloat (metric (e, "portico_workers{state=\"serving\"}"), ==, 1);
  g_assert_cmpfloat (metric (e, "portico_workers{state=\"draining\"}"), ==, 1);

  g_assert_cmpfloat (metric (e, "portico_requests_total{worker=\"0\"}"), ==, 100);
  g_assert_cmpfloat (metric (e, "portico_requests_total{worker=\"2\"}"), ==, 5);
  g_assert_cmpfloat (metric (e, "portico_requests_total{worker=\"3\"}"), ==, 7);
  g_assert_false (portico_exposition_has (e, "portico_requests_total{worker=\"1\"}"));
  g_assert_cmpfloat (metric (e, "portico_responses_total{worker=\"0\",class=\"2xx\"}"), ==, 90);
  g_assert_cmpfloat (metric (e, "portico_responses_total{worker=\"0\",class=\"5xx\"}"), ==, 3);
  g_assert_cmpfloat (metric (e, "portico_connections{worker=\"0\",state=\"reading\"}"), ==, 1);
  g_assert_cmpfloat (metric (e, "portico_connections{worker=\"0\",state=\"keepalive\"}"), ==, 5);
  g_assert_cmpfloat (metric (e, "portico_connections{worker=\"2\",state=\"active\"}"), ==, 4);

  /* 50 at <= 100 us, 30 at <= 800 us, 20 past every bound. */
#define LATENCY_BUCKET(le) "portico_request_duration_seconds_bucket{worker=\"0\",le=\"" le "\"}"
  g_assert_cmpfloat (metric (e, LATENCY_BUCKET ("0.0001")), ==, 50);
  g_assert_cmpfloat (metric (e, LATENCY_BUCKET ("0.0004")), ==, 50);
  g_assert_cmpfloat (metric (e, LATENCY_BUCKET ("0.0008")), ==, 80);
  g_assert_cmpfloat (metric (e, LATENCY_BUCKET ("+Inf")), ==, 100);
#undef LATENCY_BUCKET
  g_assert_cmpfloat (metric (e, "portico_request_duration_seconds_count{worker=\"0\"}"), ==, 100);
  /* The estimate: 50 x 50 us + 30 x 600 us + 20 x 1.6384 s (the last bound). */
  g_assert_cmpfloat_with_epsilon (metric (e, "portico_request_duration_seconds_sum{worker=\"0\"}"),
                                  50 * 50e-6 + 30 * 600e-6 + 20 * 1.6384, 1e-6);
  g_assert_cmpfloat (metric (e, "portico_phase_duration_seconds_count{worker=\"0\",phase=\"access\"}"),
                     ==, 7);

  g_assert_cmpfloat (metric (e, "portico_upstream_connects_total{worker=\"0\"}"), ==, 11);
  g_assert_cmpfloat (metric (e, "portico_upstream_reuses_total{worker=\"0\"}"), ==, 89);
  g_assert_cmpfloat (metric (e, "portico_upstream_failures_total{worker=\"0\"}"), ==, 2);
  g_assert_cmpfloat (metric (e, "portico_upstream_timeouts_total{worker=\"0\"}"), ==, 1);
  g_assert_cmpfloat (metric (e, "portico_upstream_connections{worker=\"0\",state=\"idle\"}"), ==, 6);
  g_assert_cmpfloat (metric (e, "portico_timers_pending{worker=\"0\",owner=\"core\"}"), ==, 2);
  g_assert_cmpfloat (metric (e, "portico_timers_pending{worker=\"0\",owner=\"rate-limiting\"}"), ==, 1);
  g_assert_cmpfloat (metric (e, "portico_timers_fired_total{worker=\"0\",owner=\"rate-limiting\"}"), ==, 7);
  g_assert_cmpfloat_with_epsilon (metric (e, "portico_loop_lag_seconds{worker=\"0\"}"), 0.0015, 1e-12);
  g_assert_cmpfloat_with_epsilon (metric (e, "portico_loop_lag_max_seconds{worker=\"0\"}"), 0.009, 1e-12);
}

static void
set_metric_key (PorticoShm *shm, const char *key, gint64 value)
{
  g_assert_cmpint (portico_shdict_set (shm, key, value, 0), ==, PORTICO_SHDICT_OK);
}

static void
test_metrics_modules (void)
{
  g_autoptr (AdminRun) run = admin_start (base_config);
  PorticoShm *shm = run->shm; /* shared with the admin child: keys set now are seen there */

  g_test_summary ("Module metrics (\"m|T|SERIES\" keys that portico_metric_add leaves in the shared "
                  "dictionary) follow Portico's families on /metrics: one HELP and TYPE per family, "
                  "families sorted, escaped label values kept, histogram buckets summed up in le order "
                  "with +Inf equal to _count (also when the stored _count lags), and whatever would "
                  "make the exposition invalid left out.");
  set_metric_key (shm, "m|c|kong_http_requests_total{service=\"a\",route=\"r\",code=\"200\",source=\"service\","
                       "consumer=\"\"}", 5);
  set_metric_key (shm, "m|c|kong_http_requests_total{service=\"a\",route=\"r\",code=\"500\",source=\"kong\","
                       "consumer=\"\"}", 2);
  set_metric_key (shm, "m|c|kong_bandwidth_bytes{service=\"q\\\"uote\\\\back\\nline\",direction=\"egress\"}", 100);
  set_metric_key (shm, "m|g|zz_gauge", -3);
  set_metric_key (shm, "m|h|lat_ms_bucket{service=\"a\",le=\"100\"}", 3);
  set_metric_key (shm, "m|h|lat_ms_bucket{service=\"a\",le=\"10\"}", 2);
  set_metric_key (shm, "m|h|lat_ms_bucket{service=\"a\",le=\"+Inf\"}", 1);
  set_metric_key (shm, "m|h|lat_ms_sum{service=\"a\"}", 250);
  set_metric_key (shm, "m|h|lat_ms_count{service=\"a\"}", 6);
  /* A scrape between a module's additions: _count says 9, the buckets 4. */
  set_metric_key (shm, "m|h|lat_ms_bucket{service=\"b\",le=\"10\"}", 4);
  set_metric_key (shm, "m|h|lat_ms_count{service=\"b\"}", 9);
  /* Two types for one family: the counter stands. */
  set_metric_key (shm, "m|c|two_types", 1);
  set_metric_key (shm, "m|g|two_types{a=\"1\"}", 2);
  /* None of these may reach the text. */
  static const char *const bad[] = {
    "m|x|bad_type", "m|c|1bad", "m|c|bad_label{a=b}", "m|c|bad_escape{a=\"\\t\"}", "m|c|trailing{a=\"1\"}x",
    "m|h|no_suffix", "m|h|no_le_bucket{a=\"1\"}", "m|c|portico_requests_total", "m|c|lat_ms_count",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    set_metric_key (shm, bad[i], 1);

  g_autoptr (PorticoTestResponse) resp = request (run, "GET", "/metrics", NULL, NULL);
  g_assert_cmpint (resp->status, ==, 200);
  g_autofree char *text = portico_test_response_body_string (resp);
  g_autoptr (PorticoExposition) e = portico_exposition_parse (text);

  g_assert_cmpstr (portico_exposition_type (e, "kong_http_requests_total"), ==, "counter");
  g_assert_cmpstr (portico_exposition_type (e, "zz_gauge"), ==, "gauge");
  g_assert_cmpstr (portico_exposition_type (e, "lat_ms"), ==, "histogram");
  g_assert_cmpstr (portico_exposition_type (e, "two_types"), ==, "counter");
  g_assert_cmpfloat (metric (e, "kong_http_requests_total{service=\"a\",route=\"r\",code=\"200\",source=\"service\","
                                "consumer=\"\"}"), ==, 5);
  g_assert_cmpfloat (metric (e, "kong_http_requests_total{service=\"a\",route=\"r\",code=\"500\",source=\"kong\","
                                "consumer=\"\"}"), ==, 2);
  g_assert_cmpfloat (metric (e, "kong_bandwidth_bytes{service=\"q\\\"uote\\\\back\\nline\",direction=\"egress\"}"),
                     ==, 100);
  g_assert_cmpfloat (metric (e, "zz_gauge"), ==, -3);
  g_assert_cmpfloat (metric (e, "lat_ms_bucket{service=\"a\",le=\"10\"}"), ==, 2);
  g_assert_cmpfloat (metric (e, "lat_ms_bucket{service=\"a\",le=\"100\"}"), ==, 5);
  g_assert_cmpfloat (metric (e, "lat_ms_bucket{service=\"a\",le=\"+Inf\"}"), ==, 6);
  g_assert_cmpfloat (metric (e, "lat_ms_sum{service=\"a\"}"), ==, 250);
  g_assert_cmpfloat (metric (e, "lat_ms_count{service=\"a\"}"), ==, 6);
  g_assert_cmpfloat (metric (e, "lat_ms_bucket{service=\"b\",le=\"+Inf\"}"), ==, 4);
  g_assert_cmpfloat (metric (e, "lat_ms_count{service=\"b\"}"), ==, 4);
  g_assert_cmpfloat (metric (e, "lat_ms_sum{service=\"b\"}"), ==, 0);
  g_assert_cmpfloat (metric (e, "two_types"), ==, 1);
  g_assert_false (portico_exposition_has (e, "two_types{a=\"1\"}"));
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *line = g_strdup_printf ("\n%s 1\n", bad[i] + 4);
      g_assert_null (strstr (text, line));
    }
  g_assert_null (strstr (text, "# TYPE bad_"));
  g_assert_null (strstr (text, "# TYPE no_"));

  /* Sorted, after the node's own families. */
  const char *order[] = { "# TYPE portico_", "# TYPE kong_bandwidth_bytes ", "# TYPE kong_http_requests_total ",
                          "# TYPE lat_ms ", "# TYPE two_types ", "# TYPE zz_gauge " };
  const char *last = text;
  for (gsize i = 0; i < G_N_ELEMENTS (order); i++)
    {
      const char *at = strstr (text, order[i]);
      g_assert_nonnull (at);
      g_assert_true (at >= last);
      last = at;
    }
}

/* Text the checker must refuse: each case runs in a subprocess that must fail. */
static const char *const bad_expositions[] = {
  "# HELP x a\nx 1\n",                                        /* no TYPE */
  "# HELP x a\n# TYPE x gauge\nx{a=b} 1\n",                  /* unquoted label */
  "# HELP x a\n# TYPE x gauge\nx one\n",                     /* not a number */
  "# HELP x a\n# TYPE x gauge\n# HELP y a\n# TYPE y gauge\nx 1\ny 1\nx{a=\"1\"} 2\n", /* split */
  "# HELP h a\n# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 4\nh_sum 1\nh_count 4\n",
  "# HELP h a\n# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 5\nh_sum 1\nh_count 6\n",
  "# HELP x a\n# TYPE x countr\nx 1\n",                       /* no such type */
};

static void
test_metrics_checker_accepts (void)
{
  g_test_summary ("The exposition checker takes what the format allows beyond what Portico writes: "
                  "comments, empty lines, escaped label values, timestamps, a trailing comma.");
  g_autoptr (PorticoExposition) e = portico_exposition_parse (
    "# a comment\n\n# HELP x a\n# TYPE x gauge\nx{a=\"q\\\"\\\\\\n\",} -1.5e3 1700000000000\nx{a=\"2\"} NaN\n");
  g_assert_cmpfloat (portico_exposition_sample (e, "x{a=\"q\\\"\\\\\\n\",}"), ==, -1500);
  g_assert_true (portico_exposition_has (e, "x{a=\"2\"}"));
}

static void
test_metrics_checker (gconstpointer data)
{
  g_test_summary ("The exposition checker itself refuses what the format does not allow.");
  if (g_test_subprocess ())
    {
      g_autoptr (PorticoExposition) e = portico_exposition_parse (data);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
}

/* ------------------------------------------------------------------------ */
/* Errors, methods, HEAD */

static void
test_not_found_and_methods (void)
{
  g_autoptr (AdminRun) run = admin_start (base_config);

  g_test_summary ("An unknown path is 404, a known one with a method it does not take is 405 with "
                  "Allow, both as JSON; HEAD is answered like GET, without the body.");

  g_autoptr (PorticoTestResponse) nf = request (run, "GET", "/nope", NULL, NULL);
  g_autofree char *nf_message = error_message (nf, 404);
  g_autoptr (PorticoTestResponse) nf2 = request (run, "GET", "/status/", NULL, NULL);
  g_assert_cmpint (nf2->status, ==, 404);

  g_autoptr (PorticoTestResponse) del = request (run, "DELETE", "/status", NULL, NULL);
  g_autofree char *del_message = error_message (del, 405);
  g_assert_cmpstr (del_message, ==, "method not allowed");
  g_assert_cmpstr (portico_test_response_header (del, "Allow"), ==, "GET, HEAD");

  g_autoptr (PorticoTestResponse) post = request (run, "POST", "/metrics", NULL, "x");
  g_assert_cmpint (post->status, ==, 405);
  g_autoptr (PorticoTestResponse) put = request (run, "PUT", "/config", NULL, "{}");
  g_autofree char *put_message = error_message (put, 405);
  g_assert_cmpstr (portico_test_response_header (put, "Allow"), ==, "GET, HEAD, POST");

  g_autoptr (PorticoTestResponse) head = request (run, "HEAD", "/status", NULL, NULL);
  g_assert_cmpint (head->status, ==, 200);
  g_assert_cmpuint (head->body_length, ==, 0);
  g_assert_cmpstr (portico_test_response_header (head, "Content-Type"), ==, "application/json");

  /* Nothing of that reached the master. */
  g_autofree char *line = read_control (run, 100);
  g_assert_cmpstr (line, ==, "");
}

/* ------------------------------------------------------------------------ */
/* POST /config */

static void
test_post_valid (void)
{
  g_autoptr (AdminRun) run = admin_start (base_config);
  const char *body = "{\"_format_version\": \"1\","
                     " \"node\": {\"workers\": 3, \"admin_listen\": \"127.0.0.1:0\"},"
                     " \"services\": [{\"name\": \"a\", \"url\": \"http://127.0.0.1:9\","
                     "                 \"routes\": [{\"paths\": [\"/a\"]}]}]}";

  g_test_summary ("A valid POST /config is stored in the runtime directory, announced to the master "
                  "as one \"reload PATH\" line, and answered 202 with the current generation.");

  g_autoptr (PorticoTestResponse) resp = request (run, "POST", "/config",
                                                  "Content-Type: application/json\r\n", body);
  g_assert_cmpint (resp->status, ==, 202);
  g_autoptr (JsonNode) root = parse_json (resp);
  g_autofree char *message = path_string (root, "$.message");
  g_assert_cmpstr (message, ==, "configuration accepted, reloading");
  g_assert_cmpint (path_int (root, "$.generation"), ==, 3);

  g_autofree char *line = read_control (run, 5000);
  g_autofree char *expected_path = g_build_filename (run->runtime_dir, "config-1.json", NULL);
  g_autofree char *expected_line = g_strdup_printf ("reload %s\n", expected_path);
  g_assert_cmpstr (line, ==, expected_line);

  g_autofree char *stored = NULL;
  g_assert_true (g_file_get_contents (expected_path, &stored, NULL, NULL));
  g_assert_cmpstr (stored, ==, body);
  g_autoptr (GError) error = NULL;
  g_autoptr (PorticoConfig) loaded = portico_config_load_file (expected_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (loaded->node.workers, ==, 3);
  g_assert_cmpuint (loaded->services->len, ==, 1);

  /* The next one gets the next file. */
  g_autoptr (PorticoTestResponse) again = request (run, "POST", "/config", NULL, body);
  g_assert_cmpint (again->status, ==, 202);
  g_autofree char *line2 = read_control (run, 5000);
  g_assert_true (g_str_has_suffix (line2, "/config-2.json\n"));
}

static void
test_post_invalid (void)
{
  g_autoptr (AdminRun) run = admin_start (base_config);

  g_test_summary ("An invalid POST /config is 400 with every error found, and nothing else "
                  "happens: no file, nothing on the control pipe.");

  g_autoptr (PorticoTestResponse) resp =
    request (run, "POST", "/config", NULL,
             "{\"_format_version\": \"1\", \"node\": {\"wrokers\": 2, \"keepalive_timeout\": -1}}");
  g_autofree char *message = error_message (resp, 400);
  g_assert_cmpstr (message, ==, "invalid configuration");
  g_autoptr (JsonNode) root = parse_json (resp);
  JsonArray *errors = json_object_get_array_member (json_node_get_object (root), "errors");
  g_assert_nonnull (errors);
  g_assert_cmpuint (json_array_get_length (errors), ==, 2);
  g_assert_true (g_str_has_prefix (json_array_get_string_element (errors, 0), "node.wrokers: "));
  g_assert_true (g_str_has_prefix (json_array_get_string_element (errors, 1), "node.keepalive_timeout: "));

  /* Not even JSON; and no body at all. */
  g_autoptr (PorticoTestResponse) syntax = request (run, "POST", "/config", NULL, "{\"_format_version\": ");
  g_autofree char *syntax_message = error_message (syntax, 400);
  g_autoptr (JsonNode) syntax_root = parse_json (syntax);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (syntax_root),
                                                                         "errors")), >=, 1);
  g_autoptr (PorticoTestResponse) empty = request (run, "POST", "/config", NULL, NULL);
  g_assert_cmpint (empty->status, ==, 400);

  g_autofree char *line = read_control (run, 300);
  g_assert_cmpstr (line, ==, "");
  g_assert_cmpuint (count_files (run->runtime_dir), ==, 0);
}

static void
test_post_too_large (void)
{
  g_autoptr (AdminRun) run = admin_start (base_config);

  g_test_summary ("A body over 8 MiB is 413: refused from its Content-Length before it is sent "
                  "(Expect: 100-continue), or counted as a chunked body arrives.");

  g_autofree char *head = g_strdup_printf ("POST /config HTTP/1.1\r\nHost: admin\r\n"
                                           "Content-Length: %d\r\nExpect: 100-continue\r\n\r\n",
                                           PORTICO_ADMIN_MAX_BODY + 1);
  g_autoptr (PorticoTestResponse) early = portico_test_request (run->addr, head);
  g_assert_nonnull (early);
  g_autofree char *early_message = error_message (early, 413);

  /* 9 chunks of 1 MiB, sent whole; the answer comes once they are read. */
  int fd = portico_test_connect (run->addr);
  g_assert_cmpint (fd, >=, 0);
  g_assert_true (portico_test_send_all (fd, "POST /config HTTP/1.1\r\nHost: admin\r\n"
                                            "Transfer-Encoding: chunked\r\n\r\n", -1));
  g_autofree char *chunk = g_malloc (1024 * 1024);
  memset (chunk, ' ', 1024 * 1024);
  for (int i = 0; i < 9; i++)
    {
      g_assert_true (portico_test_send_all (fd, "100000\r\n", -1));
      g_assert_true (portico_test_send_all (fd, chunk, 1024 * 1024));
      g_assert_true (portico_test_send_all (fd, "\r\n", -1));
    }
  g_assert_true (portico_test_send_all (fd, "0\r\n\r\n", -1));
  g_autoptr (PorticoTestResponse) chunked = portico_test_read_response (fd, FALSE, 20000);
  close (fd);
  g_assert_nonnull (chunked);
  g_autofree char *chunked_message = error_message (chunked, 413);

  g_autofree char *line = read_control (run, 100);
  g_assert_cmpstr (line, ==, "");
  g_assert_cmpuint (count_files (run->runtime_dir), ==, 0);
}

static void
test_post_master_gone (void)
{
  g_autoptr (AdminRun) run = admin_start (base_config);

  g_test_summary ("When the master's end of the control pipe is closed, POST /config is 503 and "
                  "the stored file is removed again; the admin keeps serving.");
  close (run->control_rd);
  run->control_rd = -1;
  g_autoptr (PorticoTestResponse) resp = request (run, "POST", "/config", NULL, base_config);
  g_autofree char *message = error_message (resp, 503);
  g_assert_cmpuint (count_files (run->runtime_dir), ==, 0);
  g_autoptr (JsonNode) status = get_json (run, "/status", NULL);
  g_assert_cmpint (path_int (status, "$.node.generation"), ==, 3);
}

/* ------------------------------------------------------------------------ */
/* Who may ask; how it stops */

static void
test_token (void)
{
  g_autoptr (AdminRun) run = admin_start (token_config);

  g_test_summary ("With node.admin_token every request needs \"Authorization: Bearer TOKEN\": "
                  "without it or with another token the answer is 401 JSON, and a POST is not read.");

  g_autoptr (PorticoTestResponse) none = request (run, "GET", "/status", NULL, NULL);
  g_autofree char *none_message = error_message (none, 401);
  g_assert_nonnull (portico_test_response_header (none, "WWW-Authenticate"));

  const char *const wrong[] = {
    "Authorization: Bearer s3cret-tokem\r\n",
    "Authorization: Bearer s3cret-token-and-more\r\n",
    "Authorization: Bearer s3cret\r\n",
    "Authorization: Bearer \r\n",
    "Authorization: Basic czNjcmV0LXRva2Vu\r\n",
    "Authorization: s3cret-token\r\n",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (wrong); i++)
    {
      g_autoptr (PorticoTestResponse) resp = request (run, "GET", "/metrics", wrong[i], NULL);
      g_assert_cmpint (resp->status, ==, 401);
    }
  g_autoptr (PorticoTestResponse) post = request (run, "POST", "/config", NULL, base_config);
  g_assert_cmpint (post->status, ==, 401);
  g_autofree char *line = read_control (run, 100);
  g_assert_cmpstr (line, ==, "");

  g_autoptr (JsonNode) status = get_json (run, "/status", "Authorization: Bearer s3cret-token\r\n");
  g_assert_cmpint (path_int (status, "$.node.master_pid"), ==, MASTER_PID);
  g_autoptr (JsonNode) workers = get_json (run, "/workers", "authorization: bearer   s3cret-token \r\n");
  g_assert_true (JSON_NODE_HOLDS_ARRAY (workers));
  /* An unknown path is still 404 once authorized, and only then. */
  g_autoptr (PorticoTestResponse) nf = request (run, "GET", "/nope", NULL, NULL);
  g_assert_cmpint (nf->status, ==, 401);
  g_autoptr (PorticoTestResponse) nf2 = request (run, "GET", "/nope",
                                                 "Authorization: Bearer s3cret-token\r\n", NULL);
  g_assert_cmpint (nf2->status, ==, 404);
}

static void
test_signals (void)
{
  const int signals[] = { SIGTERM, SIGINT, SIGQUIT };

  g_test_summary ("SIGTERM, SIGINT and SIGQUIT each stop the admin process with exit code 0.");
  for (gsize i = 0; i < G_N_ELEMENTS (signals); i++)
    {
      g_autoptr (AdminRun) run = admin_start (base_config);
      g_autoptr (JsonNode) status = get_json (run, "/status", NULL);
      g_assert_cmpint (admin_signal_wait (run, signals[i]), ==, 0);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);

  g_test_add_func ("/admin/status/node-and-workers", test_status);
  g_test_add_func ("/admin/status/no-reload-error", test_status_no_reload_error);
  g_test_add_func ("/admin/workers", test_workers);
  g_test_add_func ("/admin/timers", test_timers);
  g_test_add_func ("/admin/config/get", test_get_config);
  g_test_add_func ("/admin/metrics/values", test_metrics);
  g_test_add_func ("/admin/metrics/modules", test_metrics_modules);
  g_test_add_func ("/admin/metrics/checker/accepts", test_metrics_checker_accepts);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_expositions); i++)
    {
      g_autofree char *path = g_strdup_printf ("/admin/metrics/checker/refuses/%zu", i);
      g_test_add_data_func (path, bad_expositions[i], test_metrics_checker);
    }
  g_test_add_func ("/admin/http/not-found-and-methods", test_not_found_and_methods);
  g_test_add_func ("/admin/config/post/valid", test_post_valid);
  g_test_add_func ("/admin/config/post/invalid", test_post_invalid);
  g_test_add_func ("/admin/config/post/too-large", test_post_too_large);
  g_test_add_func ("/admin/config/post/master-gone", test_post_master_gone);
  g_test_add_func ("/admin/auth/token", test_token);
  g_test_add_func ("/admin/process/signals", test_signals);
  return g_test_run ();
}
