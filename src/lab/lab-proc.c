/* lab-proc.c: children of `portico run` (see lab-proc.h). */
#include "lab/lab-proc.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

struct _PorticoLabProc {
  char *name;
  GSubprocess *sub;
  GDataInputStream *out;
  GCancellable *cancel;
  GPtrArray *lines;
  GPid pid;
  gboolean exited;
  gboolean reading;
  int status;
};

/* Live children, for kill_all. */
static GPtrArray *live;

const char *
portico_lab_self_binary (void)
{
  static char *self;
  if (self == NULL)
    self = g_file_read_link ("/proc/self/exe", NULL);
  return self;
}

static void
child_setup (gpointer data)
{
  /* Die with the runner, whatever kills it. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void read_next (PorticoLabProc *p);

static void
on_line (GObject *source, GAsyncResult *res, gpointer data)
{
  PorticoLabProc *p = data;
  g_autoptr (GError) error = NULL;
  gsize len;
  char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), res, &len, &error);
  if (line == NULL)
    {
      /* EOF or cancelled: the child is going. */
      p->reading = FALSE;
      g_object_unref (p->cancel);
      p->cancel = NULL;
      return;
    }
  g_ptr_array_add (p->lines, line);
  read_next (p);
}

static void
read_next (PorticoLabProc *p)
{
  p->reading = TRUE;
  g_data_input_stream_read_line_async (p->out, G_PRIORITY_DEFAULT, p->cancel, on_line, p);
}

static void
on_child_exit (GObject *source, GAsyncResult *res, gpointer data)
{
  PorticoLabProc *p = data;
  if (!g_subprocess_wait_finish (G_SUBPROCESS (source), res, NULL))
    return; /* cancelled: p may be gone */
  p->exited = TRUE;
  if (g_subprocess_get_if_signaled (p->sub))
    p->status = 128 + g_subprocess_get_term_sig (p->sub);
  else
    p->status = g_subprocess_get_exit_status (p->sub);
  if (live)
    g_ptr_array_remove (live, p);
}

PorticoLabProc *
portico_lab_proc_spawn (const char *name, const char *const *argv, GError **error)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, (gpointer) (argv[0] ? argv[0] : portico_lab_self_binary ()));
  for (guint i = 1; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);

  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  GSubprocess *sub = g_subprocess_launcher_spawnv (launcher, (const char *const *) args->pdata, error);
  if (sub == NULL)
    {
      g_prefix_error (error, "%s: ", name);
      return NULL;
    }
  PorticoLabProc *p = g_new0 (PorticoLabProc, 1);
  p->name = g_strdup (name);
  p->sub = sub;
  p->lines = g_ptr_array_new_with_free_func (g_free);
  p->pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (sub), NULL, 10);
  p->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (sub));
  p->cancel = g_cancellable_new ();
  if (live == NULL)
    live = g_ptr_array_new ();
  g_ptr_array_add (live, p);
  g_subprocess_wait_async (sub, NULL, on_child_exit, p);
  read_next (p);
  return p;
}

static const char *
find_value (PorticoLabProc *p, const char *prefix, guint index)
{
  gsize plen = strlen (prefix);
  guint seen = 0;
  for (guint i = 0; i < p->lines->len; i++)
    {
      const char *line = g_ptr_array_index (p->lines, i);
      if (strncmp (line, prefix, plen) == 0 && line[plen] == ' ' && seen++ == index)
        return line + plen + 1;
    }
  return NULL;
}

static gboolean
on_deadline (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

const char *
portico_lab_proc_wait_value (PorticoLabProc *p, const char *prefix, guint index, guint timeout_ms, GError **error)
{
  gboolean late = FALSE;
  guint timer = g_timeout_add (timeout_ms, on_deadline, &late);
  const char *value;
  while ((value = find_value (p, prefix, index)) == NULL && !late && !(p->exited && !p->reading))
    g_main_context_iteration (NULL, TRUE);
  if (!late)
    g_source_remove (timer);
  if (value == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s before it printed \"%s\"", p->name,
                 p->exited ? "exited" : "stayed silent", prefix);
  return value;
}

GPid
portico_lab_proc_pid (PorticoLabProc *p)
{
  return p->pid;
}

void
portico_lab_proc_signal (PorticoLabProc *p, int signum)
{
  if (!p->exited)
    kill (p->pid, signum);
}

gboolean
portico_lab_proc_exited (PorticoLabProc *p, int *status)
{
  if (p->exited && status)
    *status = p->status;
  return p->exited;
}

int
portico_lab_proc_stop (PorticoLabProc *p, int signum, guint grace_ms)
{
  if (p->exited)
    return p->status;
  portico_lab_proc_signal (p, signum ? signum : SIGTERM);
  gboolean late = FALSE;
  guint timer = g_timeout_add (grace_ms, on_deadline, &late);
  while (!p->exited && !late)
    g_main_context_iteration (NULL, TRUE);
  if (!late)
    g_source_remove (timer);
  if (!p->exited)
    {
      portico_lab_proc_signal (p, SIGKILL);
      while (!p->exited)
        g_main_context_iteration (NULL, TRUE);
    }
  return p->status;
}

void
portico_lab_proc_free (PorticoLabProc *p)
{
  if (p == NULL)
    return;
  portico_lab_proc_stop (p, SIGTERM, 5000);
  /* Let the reader see EOF (or cancel it) before the stream goes. */
  if (p->cancel)
    g_cancellable_cancel (p->cancel);
  while (p->reading)
    g_main_context_iteration (NULL, TRUE);
  g_object_unref (p->out);
  g_object_unref (p->sub);
  g_ptr_array_free (p->lines, TRUE);
  g_free (p->name);
  g_free (p);
}

void
portico_lab_procs_kill_all (void)
{
  for (guint i = 0; live != NULL && i < live->len; i++)
    {
      PorticoLabProc *p = g_ptr_array_index (live, i);
      kill (p->pid, SIGKILL);
    }
}
