/* test-top.c: `portico top` against a real node: as a plain command (stdout
 * not a terminal: one frame) and in a real terminal, a tmux pane, where it
 * redraws in place, follows a worker that is killed and respawned, and
 * quits on `q`, Ctrl-C or SIGTERM leaving the terminal as it found it.
 *
 * Each terminal test runs in a subprocess on a tmux server of its own
 * (-L SOCKET, a config of ours); the parent kills that server whatever the
 * subprocess did, so no pane outlives a failed test. */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "harness-gateway.h"

#define WAIT_STEP_US 100000
#define WAIT_STEPS 150 /* 15 s */
#define TMUX_TIMEOUT_MS 10000
#define TRAFFIC_MAX_S 120
#define SESSION "top"
#define SOCKET_ENV "PORTICO_TEST_TMUX_SOCKET"
#define DIR_ENV "PORTICO_TEST_TMUX_DIR"

/* Two workers, and an upstream whose one target is the mock. */
static const char config_json[] =
  "{'_format_version':'1',"
  " 'node':{'listen':['127.0.0.1:0'],'admin_listen':'127.0.0.1:0','workers':2},"
  " 'services':[{'name':'orders','host':'orders.internal','port':80,'path':'/echo',"
  "   'routes':[{'name':'orders','paths':['/orders']}]}],"
  " 'upstreams':[{'name':'orders.internal','targets':[{'target':'@UPSTREAM@'}]}]}";

/* ------------------------------------------------------------------------ */
/* A node with traffic */

typedef struct {
  const char *addr;
  gint stop;
  GThread *thread;
} Traffic;

/* Requests one after the other until told to stop (or TRAFFIC_MAX_S):
 * some fail while a worker is killed, which is fine. */
static gpointer
traffic_run (gpointer data)
{
  Traffic *t = data;
  gint64 end = g_get_monotonic_time () + TRAFFIC_MAX_S * G_USEC_PER_SEC;
  while (!g_atomic_int_get (&t->stop) && g_get_monotonic_time () < end)
    {
      PorticoTestResponse *resp =
        portico_test_request (t->addr, "GET /orders/1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
      if (resp != NULL)
        portico_test_response_free (resp);
      g_usleep (2000);
    }
  return NULL;
}

static Traffic *
traffic_start (const char *addr)
{
  Traffic *t = g_new0 (Traffic, 1);
  t->addr = addr;
  t->thread = g_thread_new ("traffic", traffic_run, t);
  return t;
}

static void
traffic_stop (Traffic *t)
{
  g_atomic_int_set (&t->stop, 1);
  g_thread_join (t->thread);
  g_free (t);
}

/* The pids of the serving workers, by slot; empty until @n serve. */
static GArray *
serving_pids (PorticoTestGateway *g, guint n)
{
  g_autoptr (JsonNode) root = portico_test_gateway_admin_json (g, "/workers");
  JsonArray *workers = json_node_get_array (root);
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (guint i = 0; i < json_array_get_length (workers); i++)
    {
      JsonObject *w = json_array_get_object_element (workers, i);
      if (!g_str_equal (json_object_get_string_member (w, "state"), "serving"))
        continue;
      gint64 pid = json_object_get_int_member (w, "pid");
      g_array_append_val (pids, pid);
    }
  if (pids->len != n)
    g_array_set_size (pids, 0);
  return pids;
}

static GArray *
wait_serving (PorticoTestGateway *g, guint n)
{
  GArray *pids = NULL;
  for (int i = 0; i < WAIT_STEPS; i++)
    {
      if (pids != NULL)
        g_array_unref (pids);
      pids = serving_pids (g, n);
      if (pids->len == n)
        break;
      g_usleep (WAIT_STEP_US);
    }
  g_assert_cmpuint (pids->len, ==, n);
  return pids;
}

/* A loopback port that is bound but not listening: connections to it are
 * refused. */
static int
closed_port (char **addr)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof sa;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sa, &len), ==, 0);
  *addr = g_strdup_printf ("127.0.0.1:%u", ntohs (sa.sin_port));
  return fd;
}

/* ------------------------------------------------------------------------ */
/* Plain: stdout is a pipe */

/* Whether @out shows a worker line for each of @pids. */
static gboolean
shows_pids (const char *out, GArray *pids)
{
  for (guint i = 0; i < pids->len; i++)
    {
      g_autofree char *pid = g_strdup_printf (" %" G_GINT64_FORMAT "  serving", g_array_index (pids, gint64, i));
      if (strstr (out, pid) == NULL)
        return FALSE;
    }
  return TRUE;
}

static void
test_plain_frame (void)
{
  g_test_summary ("With stdout not a terminal, `portico top ADMIN` prints one frame as plain text (no "
                  "escape, no cursor move) with both workers' pids, and exits 0.");
  g_autoptr (PorticoTestGateway) g = portico_test_gateway_new (config_json, NULL, NULL);
  g_autoptr (GArray) pids = wait_serving (g, 2);
  const char *argv[] = { portico_test_binary (), "top", portico_test_gateway_admin (g), NULL };
  g_autofree char *out = NULL;
  /* The admin samples the workers four times a second: the first frames
   * may be from before they served. */
  for (int i = 0; i < WAIT_STEPS && (out == NULL || !shows_pids (out, pids)); i++)
    {
      g_autofree char *err = NULL;
      g_autoptr (GError) error = NULL;
      if (out != NULL)
        g_usleep (WAIT_STEP_US);
      g_free (out);
      out = NULL;
      int status = portico_run_sync (argv, TMUX_TIMEOUT_MS, &out, &err, &error);
      g_assert_no_error (error);
      g_assert_cmpint (status, ==, 0);
      g_assert_cmpstr (err, ==, "");
    }
  g_test_message ("stdout:\n%s", out);
  g_assert_true (shows_pids (out, pids));
  g_assert_null (strchr (out, '\033'));
  g_assert_true (g_str_has_prefix (out, "portico  master "));
  g_assert_nonnull (strstr (out, "HEALTHCHECKS_OFF"));
  g_assert_null (strstr (out, "frame:"));
}

static const char token_config_json[] =
  "{'_format_version':'1',"
  " 'node':{'listen':['127.0.0.1:0'],'admin_listen':'127.0.0.1:0','workers':1,'admin_token':'s3cret'}}";

/* Runs `env NAME=VALUE portico top ARG VALUE ADMIN` (without
 * $PORTICO_ADMIN_TOKEN when @env is NULL; without ARG when it is NULL):
 * the exit status, and the first line of stdout (else of stderr) in
 * *@line. */
static int
run_top (PorticoTestGateway *g, const char *env, const char *arg, const char *value, char **line)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, "env");
  if (env != NULL)
    g_ptr_array_add (argv, (gpointer) env);
  else
    {
      g_ptr_array_add (argv, "-u");
      g_ptr_array_add (argv, "PORTICO_ADMIN_TOKEN");
    }
  g_ptr_array_add (argv, (gpointer) portico_test_binary ());
  g_ptr_array_add (argv, "top");
  if (arg != NULL)
    {
      g_ptr_array_add (argv, (gpointer) arg);
      g_ptr_array_add (argv, (gpointer) value);
    }
  g_ptr_array_add (argv, (gpointer) portico_test_gateway_admin (g));
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  int status = portico_run_sync ((const char *const *) argv->pdata, TMUX_TIMEOUT_MS, &out, &err, &error);
  g_assert_no_error (error);
  const char *text = *out != '\0' ? out : err;
  *line = g_strndup (text, strcspn (text, "\n"));
  g_test_message ("%s %s %s: %d: %s", env ? env : "", arg ? arg : "", value ? value : "", status, *line);
  return status;
}

static void
test_plain_token (void)
{
  g_test_summary ("With node.admin_token, `portico top` sends --token, else $PORTICO_ADMIN_TOKEN, as a "
                  "bearer token; without one, or with a wrong one, it says which.");
  g_autoptr (PorticoTestGateway) g = portico_test_gateway_new (token_config_json, NULL, NULL);
  g_autofree char *none = NULL, *wrong = NULL, *given = NULL, *from_env = NULL, *both = NULL;
  g_autofree char *expected = g_strdup_printf ("portico top: admin %s: HTTP 401 Unauthorized",
                                               portico_test_gateway_admin (g));

  g_assert_cmpint (run_top (g, NULL, NULL, NULL, &none), ==, 1);
  g_assert_true (g_str_has_prefix (none, expected));
  g_assert_true (g_str_has_suffix (none, " (the admin wants a token: --token or $PORTICO_ADMIN_TOKEN)"));
  g_assert_cmpint (run_top (g, NULL, "--token", "wrong", &wrong), ==, 1);
  g_assert_true (g_str_has_prefix (wrong, expected));
  g_assert_true (g_str_has_suffix (wrong, " (the token was refused)"));
  g_assert_cmpint (run_top (g, NULL, "--token", "s3cret", &given), ==, 0);
  g_assert_true (g_str_has_prefix (given, "portico  master "));
  g_assert_cmpint (run_top (g, "PORTICO_ADMIN_TOKEN=s3cret", NULL, NULL, &from_env), ==, 0);
  g_assert_true (g_str_has_prefix (from_env, "portico  master "));
  /* --token wins over the environment. */
  g_assert_cmpint (run_top (g, "PORTICO_ADMIN_TOKEN=s3cret", "--token", "wrong", &both), ==, 1);
  g_assert_true (g_str_has_suffix (both, " (the token was refused)"));
}

static void
test_plain_unreachable (void)
{
  g_test_summary ("With stdout not a terminal and the admin refusing connections, `portico top` says "
                  "so on stderr and exits 1; bad arguments exit 2.");
  g_autofree char *addr = NULL;
  int fd = closed_port (&addr);
  const char *argv[] = { portico_test_binary (), "top", addr, NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (portico_run_sync (argv, TMUX_TIMEOUT_MS, &out, &err, &error), ==, 1);
  g_assert_no_error (error);
  g_autofree char *expected = g_strdup_printf ("portico top: admin %s: unreachable (", addr);
  g_test_message ("%s", err);
  g_assert_true (g_str_has_prefix (err, expected));
  g_assert_cmpstr (out, ==, "");
  close (fd);

  static const struct { const char *a, *b, *c; const char *message; } bad[] = {
    { "--interval", "0", NULL, "portico top: --interval: expected seconds from 0.1 to 3600\n" },
    { "127.0.0.1:1", "127.0.0.1:2", NULL, "portico top: one admin address at most (see portico top --help)\n" },
    { "127.0.0.1:x", NULL, NULL,
      "portico top: 127.0.0.1:x: expected an admin address, HOST:PORT or http://HOST:PORT\n" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const char *bad_argv[] = { portico_test_binary (), "top", bad[i].a, bad[i].b, bad[i].c, NULL };
      g_autofree char *bad_out = NULL, *bad_err = NULL;
      g_assert_cmpint (portico_run_sync (bad_argv, TMUX_TIMEOUT_MS, &bad_out, &bad_err, &error), ==, 2);
      g_assert_cmpstr (bad_err, ==, bad[i].message);
    }
}

/* ------------------------------------------------------------------------ */
/* In a tmux pane */

typedef struct {
  const char *socket;
  const char *dir;
  char *conf;
  char *result; /* what the pane's shell writes once top has exited */
  char *pid_file; /* top's pid */
} Term;

/* Runs tmux on our server with @args (NULL-terminated); its stdout, or
 * NULL (and a test message) when it fails. */
static char *
tmux_v (Term *t, const char *first, va_list ap)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, "tmux");
  g_ptr_array_add (argv, "-L");
  g_ptr_array_add (argv, (gpointer) t->socket);
  g_ptr_array_add (argv, "-f");
  g_ptr_array_add (argv, t->conf);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr (GError) error = NULL;
  int status = portico_run_sync ((const char *const *) argv->pdata, TMUX_TIMEOUT_MS, &out, &err, &error);
  if (status != 0)
    {
      g_test_message ("tmux %s: status %d: %s%s", first, status, err ? err : "", error ? error->message : "");
      return NULL;
    }
  return g_steal_pointer (&out);
}

static char * G_GNUC_NULL_TERMINATED
tmux (Term *t, const char *first, ...)
{
  va_list ap;
  va_start (ap, first);
  char *out = tmux_v (t, first, ap);
  va_end (ap);
  return out;
}

/* A tmux format of the pane (e.g. "#{pane_dead}"), without its newline. */
static char *
pane_format (Term *t, const char *format)
{
  char *out = tmux (t, "display-message", "-p", "-t", SESSION, format, NULL);
  if (out != NULL)
    g_strchomp (out);
  return out;
}

static char *
capture (Term *t)
{
  return tmux (t, "capture-pane", "-p", "-t", SESSION, NULL);
}

/* Starts `portico top ARGS` in a 160x40 pane; once it exits, the pane's
 * shell writes "exit=STATUS" and `stty -a` to t->result, then stays a
 * while: tmux forgets a dead pane's cursor mode. */
static void
term_start (Term *t, const char *const *args)
{
  GString *cmd = g_string_new (NULL);
  g_autofree char *bin = g_shell_quote (portico_test_binary ());
  g_autofree char *pid_file = g_shell_quote (t->pid_file);
  g_autofree char *result = g_shell_quote (t->result);
  g_string_append_printf (cmd, "sh -c 'ulimit -c 0; echo $$ > %s; exec %s top", pid_file, bin);
  for (const char *const *a = args; *a != NULL; a++)
    g_string_append_printf (cmd, " %s", *a); /* no quotes in them */
  g_string_append_printf (cmd, "'; echo exit=$? > %s.new; stty -a >> %s.new; mv %s.new %s; sleep 60", result,
                          result, result, result);
  g_test_message ("pane: %s", cmd->str);
  g_autofree char *out = tmux (t, "new-session", "-d", "-x", "160", "-y", "40", "-s", SESSION, cmd->str, NULL);
  g_string_free (cmd, TRUE);
  g_assert_nonnull (out);
}

/* top's pid, once the pane's shell has written it. */
static GPid
term_pid (Term *t)
{
  for (int i = 0; i < WAIT_STEPS; i++)
    {
      g_autofree char *text = NULL;
      if (g_file_get_contents (t->pid_file, &text, NULL, NULL) && g_ascii_strtoll (text, NULL, 10) > 0)
        return (GPid) g_ascii_strtoll (text, NULL, 10);
      g_usleep (WAIT_STEP_US);
    }
  g_assert_not_reached ();
}

typedef gboolean (*ScreenCheck) (const char *screen, gpointer data);

/* Captures the pane until @check holds; fails the test with the last
 * screen otherwise. */
static void
wait_screen (Term *t, const char *what, ScreenCheck check, gpointer data)
{
  g_autofree char *screen = NULL;
  for (int i = 0; i < WAIT_STEPS; i++)
    {
      g_free (screen);
      screen = capture (t);
      if (screen != NULL && check (screen, data))
        {
          g_test_message ("%s:\n%s", what, screen);
          return;
        }
      g_usleep (WAIT_STEP_US);
    }
  /* On stderr: the parent shows a subprocess's stderr, not its messages. */
  g_printerr ("never %s; the pane shows:\n%s\n", what, screen ? screen : "(nothing)");
  g_assert_not_reached ();
}

/* The pid and state at the start of each worker line, into @pids. */
static void
screen_workers (const char *screen, GArray *pids)
{
  g_autoptr (GRegex) re = g_regex_new ("^\\s*(?:#\\d+\\s+)?(\\d+)\\s+(serving|starting|draining|exited)\\b",
                                       G_REGEX_MULTILINE, 0, NULL);
  g_autoptr (GMatchInfo) m = NULL;
  g_array_set_size (pids, 0);
  for (g_regex_match (re, screen, 0, &m); g_match_info_matches (m); g_match_info_next (m, NULL))
    {
      g_autofree char *pid = g_match_info_fetch (m, 1);
      gint64 v = g_ascii_strtoll (pid, NULL, 10);
      g_array_append_val (pids, v);
    }
}

static gboolean
screen_has_pid (GArray *on_screen, gint64 pid)
{
  for (guint i = 0; i < on_screen->len; i++)
    if (g_array_index (on_screen, gint64, i) == pid)
      return TRUE;
  return FALSE;
}

/* The total requests per second on the screen, -1 if there is no total. */
static double
screen_rps (const char *screen)
{
  g_autoptr (GRegex) re = g_regex_new ("^total\\s+([0-9]+\\.[0-9]) rps", G_REGEX_MULTILINE, 0, NULL);
  g_autoptr (GMatchInfo) m = NULL;
  if (!g_regex_match (re, screen, 0, &m))
    return -1;
  g_autofree char *rps = g_match_info_fetch (m, 1);
  return g_ascii_strtod (rps, NULL);
}

/* Exactly the pids of @data on the screen, and traffic counted. */
static gboolean
shows_workers_and_rps (const char *screen, gpointer data)
{
  GArray *pids = data;
  g_autoptr (GArray) on_screen = g_array_new (FALSE, FALSE, sizeof (gint64));
  screen_workers (screen, on_screen);
  if (on_screen->len != pids->len)
    return FALSE;
  for (guint i = 0; i < pids->len; i++)
    if (!screen_has_pid (on_screen, g_array_index (pids, gint64, i)))
      return FALSE;
  return screen_rps (screen) > 0;
}

static gboolean
shows_text (const char *screen, gpointer data)
{
  return strstr (screen, data) != NULL;
}

/* `stty -a` output (of the pane's terminal) says @setting is on: the word
 * without a leading '-'. */
static gboolean
stty_on (const char *stty, const char *setting)
{
  g_autofree char *pattern = g_strdup_printf ("(^|\\s)%s(\\s|$)", setting);
  return g_regex_match_simple (pattern, stty, G_REGEX_MULTILINE, 0);
}

static gboolean
stty_off (const char *stty, const char *setting)
{
  g_autofree char *pattern = g_strdup_printf ("(^|\\s)-%s(\\s|$)", setting);
  return g_regex_match_simple (pattern, stty, G_REGEX_MULTILINE, 0);
}

/* While top runs: the cursor hidden, the terminal without echo or
 * canonical mode (read from outside, through the pane's tty). */
static void
assert_terminal_taken (Term *t)
{
  g_autofree char *cursor = pane_format (t, "#{cursor_flag}");
  g_autofree char *tty = pane_format (t, "#{pane_tty}");
  g_assert_cmpstr (cursor, ==, "0");
  g_assert_nonnull (tty);
  const char *argv[] = { "stty", "-a", "-F", tty, NULL };
  g_autofree char *out = NULL;
  g_assert_cmpint (portico_run_sync (argv, TMUX_TIMEOUT_MS, &out, NULL, NULL), ==, 0);
  g_test_message ("stty while top runs: %s", out);
  g_assert_true (stty_off (out, "icanon"));
  g_assert_true (stty_off (out, "echo"));
}

/* After top: it exited with @status (and is gone), the pane's shell found
 * echo and canonical mode back, and the cursor is shown. */
static void
assert_terminal_restored (Term *t, GPid pid, int status)
{
  /* Under AddressSanitizer the handler top hands a crash back to is
   * ASan's, which reports it and aborts (abort_on_error=1). */
  if (status == 128 + SIGSEGV && g_strcmp0 (g_getenv ("PORTICO_SANITIZED"), "1") == 0)
    status = 128 + SIGABRT;
  g_autofree char *exit_line = g_strdup_printf ("exit=%d\n", status);
  g_autofree char *result = NULL;
  for (int i = 0; i < WAIT_STEPS && !g_file_get_contents (t->result, &result, NULL, NULL); i++)
    g_usleep (WAIT_STEP_US);
  g_assert_nonnull (result);
  g_test_message ("after top:\n%s", result);
  g_assert_cmpint (kill (pid, 0), ==, -1);
  g_assert_true (g_str_has_prefix (result, exit_line));
  g_assert_true (stty_on (result, "icanon"));
  g_assert_true (stty_on (result, "echo"));
  g_assert_true (stty_on (result, "isig"));
  g_autofree char *cursor = pane_format (t, "#{cursor_flag}");
  g_assert_cmpstr (cursor, ==, "1");
}

static Term
term_from_env (void)
{
  Term t = { g_getenv (SOCKET_ENV), g_getenv (DIR_ENV) };
  g_assert_nonnull (t.socket);
  g_assert_nonnull (t.dir);
  t.conf = g_build_filename (t.dir, "tmux.conf", NULL);
  t.result = g_build_filename (t.dir, "result", NULL);
  t.pid_file = g_build_filename (t.dir, "top.pid", NULL);
  return t;
}

static void
term_clear (Term *t)
{
  g_free (t->conf);
  g_free (t->result);
  g_free (t->pid_file);
}

/* A terminal test: its body runs in a subprocess (in_terminal()). */
typedef struct _TermTest TermTest;
struct _TermTest {
  void (*body) (const TermTest *test);
  const char *summary;
  /* unreachable(): how top is made to end, and the exit status it makes */
  const char *key;
  int signum;
  int status;
};

/* top against a node with traffic: both workers, then a worker killed and
 * its successor; `q` quits. */
static void
live (const TermTest *test)
{
  Term t = term_from_env ();
  g_autoptr (PorticoTestGateway) g = portico_test_gateway_new (config_json, NULL, NULL);
  g_autoptr (GArray) pids = wait_serving (g, 2);
  Traffic *traffic = traffic_start (g->addr);
  const char *args[] = { "--interval", "0.25", portico_test_gateway_admin (g), NULL };
  term_start (&t, args);

  wait_screen (&t, "both workers and requests per second", shows_workers_and_rps, pids);
  assert_terminal_taken (&t);

  gint64 victim = g_array_index (pids, gint64, 0);
  g_assert_cmpint (kill ((pid_t) victim, SIGKILL), ==, 0);
  g_autoptr (GArray) now = NULL;
  for (int i = 0; i < WAIT_STEPS; i++)
    {
      if (now != NULL)
        g_array_unref (now);
      now = serving_pids (g, 2);
      if (now->len == 2 && !screen_has_pid (now, victim))
        break;
      g_usleep (WAIT_STEP_US);
    }
  g_assert_cmpuint (now->len, ==, 2);
  g_assert_false (screen_has_pid (now, victim));
  g_test_message ("worker %" G_GINT64_FORMAT " killed; serving: %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT,
                  victim, g_array_index (now, gint64, 0), g_array_index (now, gint64, 1));
  wait_screen (&t, "the respawned worker", shows_workers_and_rps, now);

  GPid pid = term_pid (&t);
  g_autofree char *out = tmux (&t, "send-keys", "-t", SESSION, "q", NULL);
  g_assert_nonnull (out);
  assert_terminal_restored (&t, pid, 0);
  traffic_stop (traffic);
  term_clear (&t);
}

/* top against an admin that refuses connections: the reason on the
 * screen, retried; then @test->key pressed, or @test->signum sent
 * (SIGTERM: a quit; SIGSEGV: a crash), and the terminal restored all the
 * same. */
static void
unreachable (const TermTest *test)
{
  Term t = term_from_env ();
  g_autofree char *addr = NULL;
  int fd = closed_port (&addr);
  const char *args[] = { "--interval", "0.2", addr, NULL };
  term_start (&t, args);
  g_autofree char *line = g_strdup_printf ("admin %s: unreachable (", addr);
  wait_screen (&t, "the admin unreachable", shows_text, line);
  wait_screen (&t, "retrying", shows_text, "), retrying");
  assert_terminal_taken (&t);
  GPid pid = term_pid (&t);
  if (test->key != NULL)
    {
      g_autofree char *out = tmux (&t, "send-keys", "-t", SESSION, test->key, NULL);
      g_assert_nonnull (out);
    }
  else
    g_assert_cmpint (kill (pid, test->signum), ==, 0);
  assert_terminal_restored (&t, pid, test->status);
  close (fd);
  term_clear (&t);
}

/* Runs @data's body in a subprocess with a tmux server and a directory of
 * its own, then kills that server and removes the directory whatever
 * happened. */
static void
in_terminal (gconstpointer data)
{
  const TermTest *test = data;
  if (g_test_subprocess ())
    {
      test->body (test);
      return;
    }
  g_test_summary (test->summary);
  g_autofree char *tmux_path = g_find_program_in_path ("tmux");
  if (tmux_path == NULL)
    {
      g_test_skip ("tmux is not installed (Debian: apt-get install tmux)");
      return;
    }
  Term t = term_from_env ();
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (g_mkdir (t.dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (t.conf, "set -g default-shell /bin/sh\nset -g status off\n", -1, &error));
  g_assert_no_error (error);

  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_INHERIT_STDERR);

  const char *kill_argv[] = { "tmux", "-L", t.socket, "kill-server", NULL };
  portico_run_sync (kill_argv, TMUX_TIMEOUT_MS, NULL, NULL, NULL);
  g_autofree char *partial = g_strconcat (t.result, ".new", NULL);
  g_autofree char *socket_dir = g_strdup_printf ("%s/tmux-%u", t.dir, (guint) getuid ());
  g_autofree char *socket_path = g_build_filename (socket_dir, t.socket, NULL);
  const char *const files[] = { t.conf, t.result, partial, t.pid_file, socket_path };
  /* The server may still be going away, its socket with it. */
  for (int i = 0; i < WAIT_STEPS; i++)
    {
      for (guint k = 0; k < G_N_ELEMENTS (files); k++)
        g_remove (files[k]);
      g_rmdir (socket_dir);
      if (g_rmdir (t.dir) == 0)
        break;
      g_usleep (WAIT_STEP_US);
    }
  term_clear (&t);
  g_test_trap_assert_passed ();
}

static const TermTest live_test = {
  live, "In a tmux pane, `portico top` shows both workers' pids and a non-zero rps; a worker killed "
        "with SIGKILL is replaced on the screen by its successor; `q` quits with status 0, the cursor "
        "shown again and the terminal back in canonical mode with echo."
};
static const TermTest unreachable_test = {
  unreachable, "In a tmux pane, an admin that refuses connections is a line in place, retried; Ctrl-C "
               "quits with status 0 and restores the terminal.",
  "C-c", 0, 0
};
static const TermTest terminated_test = {
  unreachable, "In a tmux pane, SIGTERM quits `portico top` with status 0 and restores the terminal.",
  NULL, SIGTERM, 0
};
static const TermTest crashed_test = {
  unreachable, "In a tmux pane, `portico top` dying of SIGSEGV restores the terminal first.",
  NULL, SIGSEGV, 128 + SIGSEGV
};

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The tmux socket and directory (made and removed by each test): named
   * here, before any thread, and inherited by the subprocesses. */
  if (!g_test_subprocess ())
    {
      g_autofree char *socket = g_strdup_printf ("portico-test-top-%d", (int) getpid ());
      g_autofree char *dir = g_build_filename (g_get_tmp_dir (), socket, NULL);
      g_setenv (SOCKET_ENV, socket, TRUE);
      g_setenv (DIR_ENV, dir, TRUE);
      g_setenv ("TMUX_TMPDIR", dir, TRUE); /* the socket too */
      g_unsetenv ("TMUX");
    }
  g_test_add_func ("/top/plain/frame", test_plain_frame);
  g_test_add_func ("/top/plain/unreachable", test_plain_unreachable);
  g_test_add_func ("/top/plain/token", test_plain_token);
  g_test_add_data_func ("/top/tmux/live", &live_test, in_terminal);
  g_test_add_data_func ("/top/tmux/unreachable", &unreachable_test, in_terminal);
  g_test_add_data_func ("/top/tmux/sigterm", &terminated_test, in_terminal);
  g_test_add_data_func ("/top/tmux/crash", &crashed_test, in_terminal);
  return g_test_run ();
}
