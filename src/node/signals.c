/* signals.c: a self-pipe turns signals into main-loop events. */
#include "node/signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

typedef struct {
  guint id;
  int signum;
  PorticoSignalFunc func;
  gpointer data;
} Handler;

static int pipe_fds[2] = { -1, -1 };
static GPtrArray *handlers;
static GSource *pipe_source;
static guint next_id = 1;

static void
on_signal (int signum)
{
  int saved = errno;
  unsigned char b = (unsigned char) signum;
  (void) !write (pipe_fds[1], &b, 1);
  errno = saved;
}

static gboolean
on_pipe (gint fd, GIOCondition cond, gpointer user_data)
{
  unsigned char buf[64];
  ssize_t n;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    for (ssize_t i = 0; i < n; i++)
      for (guint h = 0; h < handlers->len; h++)
        {
          Handler *handler = g_ptr_array_index (handlers, h);
          if (handler->signum == buf[i])
            handler->func (buf[i], handler->data);
        }
  return G_SOURCE_CONTINUE;
}

guint
portico_signal_add (int signum, PorticoSignalFunc func, gpointer data)
{
  if (pipe_fds[0] < 0)
    {
      if (pipe2 (pipe_fds, O_CLOEXEC | O_NONBLOCK) < 0)
        g_error ("cannot create the signal pipe: %s", g_strerror (errno));
      handlers = g_ptr_array_new_with_free_func (g_free);
      pipe_source = g_unix_fd_source_new (pipe_fds[0], G_IO_IN);
      g_source_set_callback (pipe_source, G_SOURCE_FUNC (on_pipe), NULL, NULL);
      g_source_attach (pipe_source, g_main_context_get_thread_default ());
    }
  Handler *h = g_new0 (Handler, 1);
  h->id = next_id++;
  h->signum = signum;
  h->func = func;
  h->data = data;
  g_ptr_array_add (handlers, h);
  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset (&sa.sa_mask);
  sigaction (signum, &sa, NULL);
  return h->id;
}

void
portico_signal_remove (guint id)
{
  for (guint i = 0; handlers != NULL && i < handlers->len; i++)
    {
      Handler *h = g_ptr_array_index (handlers, i);
      if (h->id != id)
        continue;
      int signum = h->signum;
      g_ptr_array_remove_index (handlers, i);
      gboolean still = FALSE;
      for (guint j = 0; j < handlers->len; j++)
        still |= ((Handler *) g_ptr_array_index (handlers, j))->signum == signum;
      if (!still)
        signal (signum, SIG_DFL);
      return;
    }
}

void
portico_signals_reset (void)
{
  if (handlers != NULL)
    {
      for (guint i = 0; i < handlers->len; i++)
        signal (((Handler *) g_ptr_array_index (handlers, i))->signum, SIG_DFL);
      g_ptr_array_free (handlers, TRUE);
      handlers = NULL;
    }
  if (pipe_source != NULL)
    {
      g_source_destroy (pipe_source);
      g_source_unref (pipe_source);
      pipe_source = NULL;
    }
  if (pipe_fds[0] >= 0)
    {
      close (pipe_fds[0]);
      close (pipe_fds[1]);
      pipe_fds[0] = pipe_fds[1] = -1;
    }
}
