/* tests/integration/harness-proc.c - see harness.h: child processes (the
 * gateway, mocks, one-shot commands), their stdout lines and their exit.
 */
#include "harness-private.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>

#define PROC_STOP_TIMEOUT_MS 5000
#define PROC_MAX_LINES 10000

struct _PorticoProc
{
  GSubprocess *subprocess;
  char *label;
  char *config_path;
  int out_fd;
  GThread *reader;
  gint stopping;                /* atomic */
  GMutex lock;
  GCond cond;
  GPtrArray *lines;
  GPtrArray *addresses;
  gboolean eof;
  gboolean exited;
  int status;
};

/* The test process may die on a failed assertion: its children must not
 * outlive it and keep ports busy. */
static void
child_setup (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static int
subprocess_status (GSubprocess *subprocess)
{
  if (g_subprocess_get_if_exited (subprocess))
    return g_subprocess_get_exit_status (subprocess);
  if (g_subprocess_get_if_signaled (subprocess))
    return 128 + g_subprocess_get_term_sig (subprocess);
  return -1;
}

typedef struct
{
  gboolean done;
  gboolean ok;
  GBytes *out;
  GBytes *err;
} PorticoWaitState;

static void
on_waited (GObject *source, GAsyncResult *result, gpointer data)
{
  PorticoWaitState *state = data;

  state->ok = g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  state->done = TRUE;
}

static void
on_communicated (GObject *source, GAsyncResult *result, gpointer data)
{
  PorticoWaitState *state = data;

  state->ok = g_subprocess_communicate_finish (G_SUBPROCESS (source), result,
                                               &state->out, &state->err, NULL);
  state->done = TRUE;
}

static gboolean
on_wait_timeout (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs an async subprocess operation on a private context until it
 * completes or @timeout_ms passes; on timeout it is cancelled and finished. */
static gboolean
subprocess_run_bounded (GSubprocess *subprocess, gboolean communicate, int timeout_ms,
                        PorticoWaitState *state)
{
  GMainContext *context = g_main_context_new ();
  GCancellable *cancellable = g_cancellable_new ();
  GSource *timer = g_timeout_source_new (MAX (timeout_ms, 0));
  gboolean timed_out = FALSE;

  g_main_context_push_thread_default (context);
  if (communicate)
    g_subprocess_communicate_async (subprocess, NULL, cancellable, on_communicated, state);
  else
    g_subprocess_wait_async (subprocess, cancellable, on_waited, state);
  g_source_set_callback (timer, on_wait_timeout, &timed_out, NULL);
  g_source_attach (timer, context);

  while (!state->done && !timed_out)
    g_main_context_iteration (context, TRUE);
  if (!state->done)
    {
      g_cancellable_cancel (cancellable);
      while (!state->done)
        g_main_context_iteration (context, TRUE);
    }

  g_source_destroy (timer);
  g_source_unref (timer);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  g_object_unref (cancellable);
  return state->ok;
}

static void
proc_add_line (PorticoProc *proc, const char *line)
{
  g_mutex_lock (&proc->lock);
  if (proc->lines->len < PROC_MAX_LINES)
    g_ptr_array_add (proc->lines, g_strdup (line));
  if (g_str_has_prefix (line, "listening "))
    g_ptr_array_add (proc->addresses, g_strstrip (g_strdup (line + strlen ("listening "))));
  g_cond_broadcast (&proc->cond);
  g_mutex_unlock (&proc->lock);
  fprintf (stderr, "[%s stdout] %s\n", proc->label, line);
}

static gpointer
proc_reader (gpointer data)
{
  PorticoProc *proc = data;
  GString *partial = g_string_new (NULL);
  char buf[4096];

  while (!g_atomic_int_get (&proc->stopping))
    {
      struct pollfd pfd = { .fd = proc->out_fd, .events = POLLIN };
      int ready = poll (&pfd, 1, POLL_SLICE_MS);
      ssize_t n;
      char *nl;

      if (ready < 0 && errno != EINTR)
        break;
      if (ready <= 0)
        continue;
      n = read (proc->out_fd, buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (n <= 0)
        break;
      g_string_append_len (partial, buf, n);
      while ((nl = memchr (partial->str, '\n', partial->len)) != NULL)
        {
          *nl = '\0';
          proc_add_line (proc, partial->str);
          g_string_erase (partial, 0, nl - partial->str + 1);
        }
    }
  if (partial->len > 0)
    proc_add_line (proc, partial->str);
  g_string_free (partial, TRUE);

  g_mutex_lock (&proc->lock);
  proc->eof = TRUE;
  g_cond_broadcast (&proc->cond);
  g_mutex_unlock (&proc->lock);
  return NULL;
}

PorticoProc *
portico_proc_spawn (const char *const *argv, GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree char *base = NULL;
  GSubprocess *subprocess;
  PorticoProc *proc;
  int status;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  subprocess = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (subprocess == NULL)
    return NULL;

  base = g_path_get_basename (argv[0]);
  proc = g_new0 (PorticoProc, 1);
  proc->subprocess = subprocess;
  proc->label = g_strdup_printf ("%s%s%s", base, argv[1] ? " " : "", argv[1] ? argv[1] : "");
  g_mutex_init (&proc->lock);
  g_cond_init (&proc->cond);
  proc->lines = g_ptr_array_new_with_free_func (g_free);
  proc->addresses = g_ptr_array_new_with_free_func (g_free);
  proc->status = -1;
  proc->out_fd = g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (g_subprocess_get_stdout_pipe (subprocess)));
  proc->reader = g_thread_new ("portico-proc-stdout", proc_reader, proc);

  if (portico_proc_address (proc, 0) != NULL)
    return proc;

  status = portico_proc_wait (proc, 1000);
  if (status >= 0)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                 "%s exited with status %d before printing \"listening\"", proc->label, status);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                 "%s printed no \"listening\" line within %d ms", proc->label,
                 PORTICO_TEST_LISTEN_TIMEOUT_MS);
  portico_proc_free (proc);
  return NULL;
}

const char *
portico_proc_address (PorticoProc *proc, guint index)
{
  gint64 deadline = deadline_after (PORTICO_TEST_LISTEN_TIMEOUT_MS);
  const char *address = NULL;

  g_return_val_if_fail (proc != NULL, NULL);

  g_mutex_lock (&proc->lock);
  while (proc->addresses->len <= index && !proc->eof)
    if (!g_cond_wait_until (&proc->cond, &proc->lock, deadline))
      break;
  if (proc->addresses->len > index)
    address = g_ptr_array_index (proc->addresses, index);
  g_mutex_unlock (&proc->lock);
  return address;
}

guint
portico_proc_n_addresses (PorticoProc *proc)
{
  guint n;

  g_mutex_lock (&proc->lock);
  n = proc->addresses->len;
  g_mutex_unlock (&proc->lock);
  return n;
}

char *
portico_proc_wait_line (PorticoProc *proc, const char *prefix, int timeout_ms)
{
  gint64 deadline = deadline_after (timeout_ms);
  char *found = NULL;
  guint i = 0;

  g_mutex_lock (&proc->lock);
  for (;;)
    {
      for (; i < proc->lines->len && found == NULL; i++)
        if (g_str_has_prefix (g_ptr_array_index (proc->lines, i), prefix))
          found = g_strdup (g_ptr_array_index (proc->lines, i));
      if (found || proc->eof || !g_cond_wait_until (&proc->cond, &proc->lock, deadline))
        break;
    }
  if (found == NULL)
    for (; i < proc->lines->len && found == NULL; i++)
      if (g_str_has_prefix (g_ptr_array_index (proc->lines, i), prefix))
        found = g_strdup (g_ptr_array_index (proc->lines, i));
  g_mutex_unlock (&proc->lock);
  return found;
}

GPid
portico_proc_pid (PorticoProc *proc)
{
  const char *id = g_subprocess_get_identifier (proc->subprocess);

  return id ? (GPid) g_ascii_strtoll (id, NULL, 10) : 0;
}

void
portico_proc_signal (PorticoProc *proc, int signum)
{
  if (!proc->exited)
    g_subprocess_send_signal (proc->subprocess, signum);
}

int
portico_proc_wait (PorticoProc *proc, int timeout_ms)
{
  PorticoWaitState state = { 0 };

  if (proc->exited)
    return proc->status;
  if (!subprocess_run_bounded (proc->subprocess, FALSE, timeout_ms, &state))
    return -1;
  proc->exited = TRUE;
  proc->status = subprocess_status (proc->subprocess);
  return proc->status;
}

int
portico_proc_stop (PorticoProc *proc)
{
  int status;

  if (proc->exited)
    return proc->status;
  g_subprocess_send_signal (proc->subprocess, SIGTERM);
  status = portico_proc_wait (proc, PROC_STOP_TIMEOUT_MS);
  if (status >= 0)
    return status;

  g_test_message ("%s did not exit within %d ms of SIGTERM: killing it",
                  proc->label, PROC_STOP_TIMEOUT_MS);
  g_subprocess_force_exit (proc->subprocess);
  return portico_proc_wait (proc, PROC_STOP_TIMEOUT_MS);
}

void
portico_proc_free (PorticoProc *proc)
{
  if (proc == NULL)
    return;
  portico_proc_stop (proc);
  g_atomic_int_set (&proc->stopping, 1);
  g_thread_join (proc->reader);
  if (proc->config_path)
    g_unlink (proc->config_path);
  g_free (proc->config_path);
  g_free (proc->label);
  g_ptr_array_unref (proc->lines);
  g_ptr_array_unref (proc->addresses);
  g_mutex_clear (&proc->lock);
  g_cond_clear (&proc->cond);
  g_object_unref (proc->subprocess);
  g_free (proc);
}

const char *
portico_test_binary (void)
{
  const char *bin = g_getenv ("PORTICO_BIN");

  if (bin == NULL || bin[0] == '\0')
    g_error ("PORTICO_BIN is not set: run the integration tests with `meson test`");
  return bin;
}

PorticoProc *
portico_mock_spawn (const char *first_arg, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  PorticoProc *proc;
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, (gpointer) portico_test_binary ());
  g_ptr_array_add (argv, (gpointer) "mock");
  g_ptr_array_add (argv, (gpointer) "--listen");
  g_ptr_array_add (argv, (gpointer) "127.0.0.1:0");
  va_start (args, first_arg);
  for (arg = first_arg; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  proc = portico_proc_spawn ((const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_assert_nonnull (proc);
  return proc;
}

PorticoProc *
portico_gateway_spawn (const char *config_json, GError **error)
{
  g_autofree char *path = NULL;
  const char *argv[5];
  PorticoProc *proc;
  int fd;

  fd = g_file_open_tmp ("portico-test-XXXXXX.json", &path, error);
  if (fd < 0)
    return NULL;
  close (fd);
  if (!g_file_set_contents (path, config_json, -1, error))
    {
      g_unlink (path);
      return NULL;
    }

  argv[0] = portico_test_binary ();
  argv[1] = "serve";
  argv[2] = "-c";
  argv[3] = path;
  argv[4] = NULL;
  proc = portico_proc_spawn (argv, error);
  if (proc == NULL)
    {
      g_unlink (path);
      return NULL;
    }
  proc->config_path = g_steal_pointer (&path);
  return proc;
}

PorticoProc *
portico_gateway_spawn_with (const char *config_json, ...)
{
  g_autoptr(GString) config = g_string_new (config_json);
  const char *token;
  GError **error;
  va_list args;

  va_start (args, config_json);
  while ((token = va_arg (args, const char *)) != NULL)
    {
      const char *value = va_arg (args, const char *);

      g_string_replace (config, token, value ? value : "", 0);
    }
  error = va_arg (args, GError **);
  va_end (args);

  return portico_gateway_spawn (config->str, error);
}

static char *
bytes_to_string (GBytes *bytes)
{
  gsize size = 0;
  const char *data = bytes ? g_bytes_get_data (bytes, &size) : NULL;

  return data ? g_strndup (data, size) : g_strdup ("");
}

int
portico_run_sync (const char *const *argv, int timeout_ms,
                  char **out_stdout, char **out_stderr, GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) subprocess = NULL;
  PorticoWaitState state = { 0 };
  PorticoWaitState exit_state = { 0 };
  gboolean finished;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  subprocess = g_subprocess_launcher_spawnv (launcher, argv, error);
  if (subprocess == NULL)
    return -1;

  finished = subprocess_run_bounded (subprocess, TRUE, timeout_ms, &state);
  if (!finished)
    g_subprocess_force_exit (subprocess);
  subprocess_run_bounded (subprocess, FALSE, PROC_STOP_TIMEOUT_MS, &exit_state);

  if (out_stdout)
    *out_stdout = bytes_to_string (state.out);
  if (out_stderr)
    *out_stderr = bytes_to_string (state.err);
  g_clear_pointer (&state.out, g_bytes_unref);
  g_clear_pointer (&state.err, g_bytes_unref);

  if (!finished || !exit_state.ok)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "%s did not finish within %d ms", argv[0], timeout_ms);
      return -1;
    }
  return subprocess_status (subprocess);
}
