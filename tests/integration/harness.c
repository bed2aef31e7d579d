/* tests/integration/harness.c - see harness.h.
 *
 * The HTTP reading here is deliberately separate from src/http: the tests
 * judge the gateway's parser, so they must not share its code.  It is simple
 * and strict (CRLF line ends, one response at a time) and never reads past
 * the response it was asked for: heads and chunk lines are found with
 * MSG_PEEK and then consumed exactly.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>

#define PROC_STOP_TIMEOUT_MS 5000
#define PROC_MAX_LINES 10000
#define SOCKET_TIMEOUT_S 5
#define HEAD_MAX (64 * 1024)
#define LINE_MAX_BYTES 4096
#define RAW_HEAD_TIMEOUT_MS 5000
#define RAW_DRAIN_TIMEOUT_MS 1000
#define POLL_SLICE_MS 100

static gint64
deadline_after (int timeout_ms)
{
  return g_get_monotonic_time () + (gint64) MAX (timeout_ms, 0) * 1000;
}

static int
remaining_ms (gint64 deadline)
{
  gint64 left = deadline - g_get_monotonic_time ();

  return left <= 0 ? 0 : (int) MIN ((left + 999) / 1000, G_MAXINT);
}

/* ------------------------------------------------------------------------ */
/* Processes */

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
  gint64 deadline = g_get_monotonic_time () + (gint64) PORTICO_TEST_LISTEN_TIMEOUT_MS * 1000;
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
  gint64 deadline = g_get_monotonic_time () + (gint64) MAX (timeout_ms, 0) * 1000;
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

/* ------------------------------------------------------------------------ */
/* Socket reading */

typedef enum
{
  READ_OK,
  READ_EOF,
  READ_TIMEOUT,
  READ_TOO_LONG,
  READ_ERROR,
} PorticoReadResult;

static const char *
read_result_name (PorticoReadResult result)
{
  switch (result)
    {
    case READ_OK: return "ok";
    case READ_EOF: return "connection closed";
    case READ_TIMEOUT: return "timed out";
    case READ_TOO_LONG: return "line or head too long";
    case READ_ERROR: default: return "socket error";
    }
}

/* Waits until @fd is readable.  @cancel (optional) is checked every
 * POLL_SLICE_MS so a server thread can be stopped while it waits. */
static gboolean
wait_readable (int fd, gint64 deadline, const gint *cancel)
{
  for (;;)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      int left = remaining_ms (deadline);
      int ready;

      if (cancel && g_atomic_int_get (cancel))
        return FALSE;
      ready = poll (&pfd, 1, cancel ? MIN (left, POLL_SLICE_MS) : left);
      if (ready > 0)
        return TRUE;
      if (ready < 0 && errno != EINTR)
        return FALSE;
      if (ready == 0 && left == 0)
        return FALSE;
    }
}

/* One recv after waiting: >0 bytes, or a result. */
static gssize
recv_some (int fd, void *buf, gsize len, int flags, gint64 deadline, const gint *cancel,
           PorticoReadResult *result)
{
  for (;;)
    {
      gssize n;

      if (!wait_readable (fd, deadline, cancel))
        {
          *result = READ_TIMEOUT;
          return -1;
        }
      n = recv (fd, buf, len, flags);
      if (n > 0)
        return n;
      if (n == 0 || errno == ECONNRESET)
        {
          *result = READ_EOF;
          return -1;
        }
      if (errno != EINTR && errno != EAGAIN)
        {
          *result = READ_ERROR;
          return -1;
        }
    }
}

/* Reads up to and including @term, never past it. */
static PorticoReadResult
read_until (int fd, const char *term, gsize max, GString *out, gint64 deadline,
            const gint *cancel)
{
  gsize term_len = strlen (term);
  char buf[16384];

  for (;;)
    {
      PorticoReadResult result = READ_OK;
      gsize start = out->len, from, take;
      gssize n = recv_some (fd, buf, sizeof buf, MSG_PEEK, deadline, cancel, &result);
      const char *hit;

      if (n < 0)
        return result;
      g_string_append_len (out, buf, n);
      from = start >= term_len - 1 ? start - (term_len - 1) : 0;
      hit = memmem (out->str + from, out->len - from, term, term_len);
      take = hit ? (gsize) (hit + term_len - out->str) - start : (gsize) n;
      g_string_truncate (out, start + take);

      /* The peeked bytes are in the socket buffer: this takes exactly them. */
      while (take > 0)
        {
          gssize got = recv (fd, buf, MIN (take, sizeof buf), 0);

          if (got <= 0 && errno != EINTR)
            return READ_ERROR;
          if (got > 0)
            take -= got;
        }
      if (hit)
        return READ_OK;
      if (out->len > max)
        return READ_TOO_LONG;
    }
}

typedef struct
{
  GByteArray *data;             /* NULL when discarding */
  GChecksum *sha256;
  guint64 length;
} PorticoBodySink;

static void
sink_add (PorticoBodySink *sink, const void *data, gsize n)
{
  if (sink->data)
    g_byte_array_append (sink->data, data, n);
  g_checksum_update (sink->sha256, data, n);
  sink->length += n;
}

/* Reads exactly @n bytes (or, with @n == G_MAXUINT64, until the peer
 * closes, which then counts as READ_OK). */
static PorticoReadResult
read_body (int fd, guint64 n, PorticoBodySink *sink, gint64 deadline)
{
  char buf[65536];

  while (n > 0)
    {
      PorticoReadResult result = READ_OK;
      gssize got = recv_some (fd, buf, MIN (n, sizeof buf), 0, deadline, NULL, &result);

      if (got < 0)
        return n == G_MAXUINT64 && result == READ_EOF ? READ_OK : result;
      sink_add (sink, buf, got);
      if (n != G_MAXUINT64)
        n -= got;
    }
  return READ_OK;
}

static gboolean
parse_field (const char *line, GPtrArray *into)
{
  const char *colon = strchr (line, ':');
  PorticoTestHeader *header;

  if (colon == NULL || colon == line)
    return FALSE;
  header = g_new0 (PorticoTestHeader, 1);
  header->name = g_strndup (line, colon - line);
  header->value = g_strstrip (g_strdup (colon + 1));
  g_ptr_array_add (into, header);
  return TRUE;
}

static void
header_free (gpointer data)
{
  PorticoTestHeader *header = data;

  g_free (header->name);
  g_free (header->value);
  g_free (header);
}

static gboolean
parse_head (PorticoTestResponse *resp)
{
  g_auto(GStrv) lines = NULL;
  const char *status_line;
  guint i;

  /* Without the final empty line: "...\r\n\r\n" splits into two "". */
  lines = g_strsplit (resp->raw_head->str, "\r\n", -1);
  status_line = lines[0];
  if (!g_str_has_prefix (status_line, "HTTP/1.") || !g_ascii_isdigit (status_line[7]) ||
      status_line[8] != ' ' || !g_ascii_isdigit (status_line[9]) ||
      !g_ascii_isdigit (status_line[10]) || !g_ascii_isdigit (status_line[11]) ||
      (status_line[12] != ' ' && status_line[12] != '\0'))
    {
      g_test_message ("bad status line: \"%s\"", status_line);
      return FALSE;
    }
  resp->minor_version = status_line[7] - '0';
  resp->status = (int) g_ascii_strtoll (status_line + 9, NULL, 10);
  resp->reason = g_strdup (status_line[12] ? status_line + 13 : "");

  for (i = 1; lines[i] && lines[i][0]; i++)
    if (!parse_field (lines[i], resp->headers))
      {
        g_test_message ("bad header line: \"%s\"", lines[i]);
        return FALSE;
      }
  return TRUE;
}

static PorticoReadResult
read_chunked (int fd, PorticoTestResponse *resp, PorticoBodySink *sink, gint64 deadline)
{
  g_autoptr(GString) line = g_string_new (NULL);

  for (;;)
    {
      PorticoReadResult result;
      guint64 size;
      char *end = NULL;

      g_string_truncate (line, 0);
      result = read_until (fd, "\r\n", LINE_MAX_BYTES, line, deadline, NULL);
      if (result != READ_OK)
        return result;
      size = g_ascii_strtoull (line->str, &end, 16);
      if (end == line->str || (*end != '\r' && *end != ';' && *end != ' ' && *end != '\t'))
        {
          g_test_message ("bad chunk size line: \"%s\"", line->str);
          return READ_ERROR;
        }
      if (size == 0)
        break;
      result = read_body (fd, size, sink, deadline);
      if (result != READ_OK)
        return result;
      resp->n_chunks++;
      g_string_truncate (line, 0);
      result = read_until (fd, "\r\n", LINE_MAX_BYTES, line, deadline, NULL);
      if (result != READ_OK)
        return result;
      if (line->len != 2)
        {
          g_test_message ("chunk data not followed by CRLF");
          return READ_ERROR;
        }
    }

  for (;;)
    {
      PorticoReadResult result;

      g_string_truncate (line, 0);
      result = read_until (fd, "\r\n", HEAD_MAX, line, deadline, NULL);
      if (result != READ_OK)
        return result;
      if (line->len == 2)
        return READ_OK;
      g_string_truncate (line, line->len - 2);
      if (!parse_field (line->str, resp->trailers))
        {
          g_test_message ("bad trailer line: \"%s\"", line->str);
          return READ_ERROR;
        }
    }
}

/* Whether the last transfer coding listed is chunked. */
static gboolean
coding_is_chunked (const char *te)
{
  const char *last = strrchr (te, ',');

  last = last ? last + 1 : te;
  last += strspn (last, " \t");
  return g_ascii_strncasecmp (last, "chunked", 7) == 0 &&
         (last[7] == '\0' || last[7] == ' ' || last[7] == '\t');
}

PorticoTestResponse *
portico_test_read_response_flags (int fd, PorticoTestReadFlags flags, int timeout_ms)
{
  gint64 deadline = deadline_after (timeout_ms);
  PorticoTestResponse *resp = g_new0 (PorticoTestResponse, 1);
  PorticoBodySink sink = { 0 };
  PorticoReadResult result;
  const char *te, *cl;
  guint64 length = 0;

  resp->headers = g_ptr_array_new_with_free_func (header_free);
  resp->trailers = g_ptr_array_new_with_free_func (header_free);
  resp->raw_head = g_string_new (NULL);

  result = read_until (fd, "\r\n\r\n", HEAD_MAX, resp->raw_head, deadline, NULL);
  if (result != READ_OK)
    {
      g_test_message ("no response head (%s) after %zu bytes: \"%s\"", read_result_name (result),
                      resp->raw_head->len, resp->raw_head->str);
      portico_test_response_free (resp);
      return NULL;
    }
  if (!parse_head (resp))
    {
      portico_test_response_free (resp);
      return NULL;
    }

  sink.data = (flags & PORTICO_TEST_READ_DISCARD_BODY) ? NULL : g_byte_array_new ();
  sink.sha256 = g_checksum_new (G_CHECKSUM_SHA256);
  te = portico_test_response_header (resp, "Transfer-Encoding");
  cl = portico_test_response_header (resp, "Content-Length");
  resp->complete = TRUE;

  if ((flags & PORTICO_TEST_READ_HEAD_REQUEST) || (resp->status >= 100 && resp->status < 200) ||
      resp->status == 204 || resp->status == 304)
    result = READ_OK;
  else if (te && coding_is_chunked (te))
    {
      resp->chunked = TRUE;
      result = read_chunked (fd, resp, &sink, deadline);
    }
  else if (te == NULL && cl != NULL)
    {
      if (!g_ascii_string_to_unsigned (cl, 10, 0, G_MAXINT64, &length, NULL))
        {
          g_test_message ("bad Content-Length: \"%s\"", cl);
          result = READ_ERROR;
        }
      else
        result = read_body (fd, length, &sink, deadline);
    }
  else
    {
      result = read_body (fd, G_MAXUINT64, &sink, deadline);
      resp->closed = result == READ_OK;
    }

  if (result != READ_OK)
    {
      resp->complete = FALSE;
      resp->closed = result == READ_EOF;
      g_test_message ("response body incomplete (%s) after %" G_GUINT64_FORMAT " bytes",
                      read_result_name (result), sink.length);
    }
  resp->body = sink.data ? g_byte_array_free_to_bytes (sink.data) : NULL;
  resp->body_length = sink.length;
  resp->body_sha256 = g_strdup (g_checksum_get_string (sink.sha256));
  g_checksum_free (sink.sha256);
  return resp;
}

PorticoTestResponse *
portico_test_read_response (int fd, gboolean head_request, int timeout_ms)
{
  return portico_test_read_response_flags (fd, head_request ? PORTICO_TEST_READ_HEAD_REQUEST
                                                            : PORTICO_TEST_READ_DEFAULT,
                                           timeout_ms);
}

const char *
portico_test_response_header (const PorticoTestResponse *resp, const char *name)
{
  guint i;

  for (i = 0; i < resp->headers->len; i++)
    {
      PorticoTestHeader *header = g_ptr_array_index (resp->headers, i);

      if (g_ascii_strcasecmp (header->name, name) == 0)
        return header->value;
    }
  return NULL;
}

guint
portico_test_response_header_count (const PorticoTestResponse *resp, const char *name)
{
  guint i, count = 0;

  for (i = 0; i < resp->headers->len; i++)
    if (g_ascii_strcasecmp (((PorticoTestHeader *) g_ptr_array_index (resp->headers, i))->name,
                            name) == 0)
      count++;
  return count;
}

char *
portico_test_response_body_string (const PorticoTestResponse *resp)
{
  gsize size = 0;
  const char *data = resp->body ? g_bytes_get_data (resp->body, &size) : NULL;

  return g_strndup (data ? data : "", size);
}

void
portico_test_response_free (PorticoTestResponse *resp)
{
  if (resp == NULL)
    return;
  g_free (resp->reason);
  g_ptr_array_unref (resp->headers);
  g_ptr_array_unref (resp->trailers);
  g_clear_pointer (&resp->body, g_bytes_unref);
  g_free (resp->body_sha256);
  g_string_free (resp->raw_head, TRUE);
  g_free (resp);
}

/* ------------------------------------------------------------------------ */
/* Raw client */

static gboolean
parse_address (const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
  const char *colon = strrchr (addr, ':');
  g_autofree char *host = NULL;
  guint64 port;

  memset (ss, 0, sizeof *ss);
  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL))
    return FALSE;
  host = g_strndup (addr, colon - addr);
  if (host[0] == '[' && host[strlen (host) - 1] == ']')
    {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

      host[strlen (host) - 1] = '\0';
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons ((guint16) port);
      *len = sizeof *sin6;
      return inet_pton (AF_INET6, host + 1, &sin6->sin6_addr) == 1;
    }
  else
    {
      struct sockaddr_in *sin = (struct sockaddr_in *) ss;

      sin->sin_family = AF_INET;
      sin->sin_port = htons ((guint16) port);
      *len = sizeof *sin;
      return inet_pton (AF_INET, host, &sin->sin_addr) == 1;
    }
}

int
portico_test_connect (const char *addr)
{
  struct sockaddr_storage ss;
  socklen_t len = 0;
  struct timeval tv = { .tv_sec = SOCKET_TIMEOUT_S };
  int one = 1;
  int fd;

  if (addr == NULL || !parse_address (addr, &ss, &len))
    {
      g_test_message ("connect: bad address \"%s\"", addr ? addr : "(null)");
      return -1;
    }
  fd = socket (ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      g_test_message ("socket: %s", g_strerror (errno));
      return -1;
    }
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect (fd, (struct sockaddr *) &ss, len) < 0)
    {
      g_test_message ("connect %s: %s", addr, g_strerror (errno));
      close (fd);
      return -1;
    }
  return fd;
}

static gboolean
send_all (int fd, const void *data, gsize len)
{
  const char *p = data;

  while (len > 0)
    {
      gssize n = send (fd, p, len, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      p += n;
      len -= n;
    }
  return TRUE;
}

gboolean
portico_test_send_all (int fd, const void *data, gssize len)
{
  gsize size = len < 0 ? strlen (data) : (gsize) len;

  if (!send_all (fd, data, size))
    {
      g_test_message ("send: %s", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

PorticoTestResponse *
portico_test_request (const char *addr, const char *request)
{
  PorticoTestResponse *resp = NULL;
  int fd = portico_test_connect (addr);

  if (fd < 0)
    return NULL;
  if (portico_test_send_all (fd, request, -1))
    resp = portico_test_read_response (fd, g_str_has_prefix (request, "HEAD "),
                                       PORTICO_TEST_IO_TIMEOUT_MS);
  close (fd);
  return resp;
}

GBytes *
portico_test_read_until_close (int fd, int timeout_ms)
{
  PorticoBodySink sink = { .data = g_byte_array_new (), .sha256 = g_checksum_new (G_CHECKSUM_SHA256) };
  PorticoReadResult result = read_body (fd, G_MAXUINT64, &sink, deadline_after (timeout_ms));

  g_checksum_free (sink.sha256);
  if (result != READ_OK)
    {
      g_test_message ("read until close: %s after %" G_GUINT64_FORMAT " bytes",
                      read_result_name (result), sink.length);
      g_byte_array_unref (sink.data);
      return NULL;
    }
  return g_byte_array_free_to_bytes (sink.data);
}

gboolean
portico_test_is_closed (int fd, int timeout_ms)
{
  char c;
  gssize n;

  if (!wait_readable (fd, deadline_after (timeout_ms), NULL))
    return FALSE;
  n = recv (fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* ------------------------------------------------------------------------ */
/* Raw upstream */

struct _PorticoRawServer
{
  int listen_fd;
  char *address;
  GBytes *response;
  gboolean close_after;
  GThread *thread;
  gint stopping;                /* atomic */
  gint connections;             /* atomic */
  GMutex lock;
  char *last_request;
  GArray *open_fds;             /* the thread's until joined */
};

static void
raw_server_serve (PorticoRawServer *server, int fd)
{
  g_autoptr(GString) head = g_string_new (NULL);
  PorticoReadResult result;
  gsize size = 0;
  const void *data = g_bytes_get_data (server->response, &size);

  result = read_until (fd, "\r\n\r\n", HEAD_MAX, head, deadline_after (RAW_HEAD_TIMEOUT_MS),
                       &server->stopping);
  g_mutex_lock (&server->lock);
  g_free (server->last_request);
  server->last_request = g_strdup (head->str);
  g_mutex_unlock (&server->lock);

  if (result != READ_EOF && result != READ_ERROR)
    send_all (fd, data, size);

  if (!server->close_after)
    {
      g_array_append_val (server->open_fds, fd);
      return;
    }
  /* Lingering close: a request body left unread would make close() send a
   * reset, and the peer could lose the response before reading it. */
  shutdown (fd, SHUT_WR);
  {
    gint64 deadline = deadline_after (RAW_DRAIN_TIMEOUT_MS);
    char buf[4096];

    while (wait_readable (fd, deadline, &server->stopping) && recv (fd, buf, sizeof buf, 0) > 0)
      ;
  }
  close (fd);
}

static gpointer
raw_server_thread (gpointer data)
{
  PorticoRawServer *server = data;

  while (!g_atomic_int_get (&server->stopping))
    {
      struct pollfd pfd = { .fd = server->listen_fd, .events = POLLIN };
      int fd;

      if (poll (&pfd, 1, POLL_SLICE_MS) <= 0)
        continue;
      fd = accept4 (server->listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0)
        continue;
      g_atomic_int_inc (&server->connections);
      raw_server_serve (server, fd);
    }
  return NULL;
}

PorticoRawServer *
portico_raw_server_new_bytes (const void *response, gsize len, gboolean close_after)
{
  PorticoRawServer *server = g_new0 (PorticoRawServer, 1);
  struct sockaddr_in sin = { .sin_family = AF_INET };
  socklen_t sin_len = sizeof sin;
  int one = 1;

  sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  server->listen_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (server->listen_fd, >=, 0);
  setsockopt (server->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  g_assert_cmpint (bind (server->listen_fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  g_assert_cmpint (listen (server->listen_fd, 64), ==, 0);
  g_assert_cmpint (getsockname (server->listen_fd, (struct sockaddr *) &sin, &sin_len), ==, 0);

  server->address = g_strdup_printf ("127.0.0.1:%u", ntohs (sin.sin_port));
  server->response = g_bytes_new (response, len);
  server->close_after = close_after;
  server->open_fds = g_array_new (FALSE, FALSE, sizeof (int));
  g_mutex_init (&server->lock);
  server->thread = g_thread_new ("portico-raw-server", raw_server_thread, server);
  return server;
}

PorticoRawServer *
portico_raw_server_new (const char *response, gboolean close_after)
{
  return portico_raw_server_new_bytes (response, strlen (response), close_after);
}

const char *
portico_raw_server_address (PorticoRawServer *server)
{
  return server->address;
}

guint
portico_raw_server_connections (PorticoRawServer *server)
{
  return (guint) g_atomic_int_get (&server->connections);
}

char *
portico_raw_server_last_request (PorticoRawServer *server)
{
  char *copy;

  g_mutex_lock (&server->lock);
  copy = g_strdup (server->last_request);
  g_mutex_unlock (&server->lock);
  return copy;
}

void
portico_raw_server_free (PorticoRawServer *server)
{
  guint i;

  if (server == NULL)
    return;
  g_atomic_int_set (&server->stopping, 1);
  g_thread_join (server->thread);
  for (i = 0; i < server->open_fds->len; i++)
    close (g_array_index (server->open_fds, int, i));
  g_array_unref (server->open_fds);
  close (server->listen_fd);
  g_bytes_unref (server->response);
  g_free (server->address);
  g_free (server->last_request);
  g_mutex_clear (&server->lock);
  g_free (server);
}
