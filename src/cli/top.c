/* top.c: `portico top`: fetches dashboard frames and owns the terminal;
 * top-draw.c turns a frame into lines. */
#include "cli/top.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <glib-unix.h>
#include <libsoup/soup.h>

#include "cli/top-draw.h"
#include "cli/top-frame.h"

#define DEFAULT_ADMIN "127.0.0.1:8001"
#define SNAPSHOT_PATH "/dashboard/snapshot"
/* Seconds a request may take (libsoup's timeout); one at a time. */
#define FETCH_TIMEOUT_S 5
/* When stdout is not a terminal and $COLUMNS is not set. */
#define PLAIN_WIDTH 120
#define CANCEL_WAIT_STEPS 100 /* of 10 ms */

#define ESC_HIDE_CURSOR "\033[?25l"
#define ESC_SHOW_CURSOR "\033[?25h"
#define ESC_RESET "\033[0m"
#define SGR_TROUBLE "33" /* yellow */
#define SGR_DIM "2"

/* ------------------------------------------------------------------------ */
/* The terminal */

/* The terminal as it was found. Static because atexit() and the handler of
 * a fatal signal restore it, and they can be handed nothing. */
static struct termios saved_termios;
static volatile sig_atomic_t termios_saved;
static volatile sig_atomic_t cursor_hidden;

static void
write_all (int fd, const char *data, gsize len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      data += n;
      len -= (gsize) n;
    }
}

/* Async-signal-safe: tcsetattr() and write() only. */
static void
terminal_restore (void)
{
  if (termios_saved)
    tcsetattr (STDIN_FILENO, TCSANOW, &saved_termios);
  if (cursor_hidden)
    write_all (STDOUT_FILENO, ESC_RESET ESC_SHOW_CURSOR "\n", strlen (ESC_RESET ESC_SHOW_CURSOR "\n"));
  termios_saved = cursor_hidden = 0;
}

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
static struct sigaction fatal_previous[G_N_ELEMENTS (fatal_signals)];

/* A crash must not leave the terminal without echo or cursor: restore it,
 * then hand the signal to whoever had it before (the default: a core; or
 * a sanitizer's report), once this handler returns. */
static void
on_fatal_signal (int signum)
{
  terminal_restore ();
  for (guint i = 0; i < G_N_ELEMENTS (fatal_signals); i++)
    if (fatal_signals[i] == signum)
      sigaction (signum, &fatal_previous[i], NULL);
  raise (signum);
}

/* Keys one at a time without echo (and Ctrl-C as a key, not a signal, so
 * it is read like `q`), the cursor hidden, the screen cleared once. */
static void
terminal_enter (gboolean keys)
{
  struct sigaction sa = { .sa_handler = on_fatal_signal };
  sigemptyset (&sa.sa_mask);
  for (guint i = 0; i < G_N_ELEMENTS (fatal_signals); i++)
    sigaction (fatal_signals[i], &sa, &fatal_previous[i]);
  atexit (terminal_restore);

  if (keys && tcgetattr (STDIN_FILENO, &saved_termios) == 0)
    {
      struct termios raw = saved_termios;
      raw.c_lflag &= ~(tcflag_t) (ICANON | ECHO | ISIG);
      raw.c_cc[VMIN] = 1;
      raw.c_cc[VTIME] = 0;
      termios_saved = 1;
      tcsetattr (STDIN_FILENO, TCSANOW, &raw);
    }
  cursor_hidden = 1;
  write_all (STDOUT_FILENO, ESC_HIDE_CURSOR "\033[2J\033[H", strlen (ESC_HIDE_CURSOR "\033[2J\033[H"));
}

/* ------------------------------------------------------------------------ */
/* The command */

typedef struct {
  const char *addr;  /* as given, for messages */
  char *url;
  char *token;
  guint interval_ms;
  gboolean tty;      /* stdout: redraw in place; else one frame, plain */
  gboolean colour;
  guint width, height;
  SoupSession *session;
  GCancellable *cancel;
  gboolean in_flight;
  GBytes *frame;     /* the last snapshot read */
  char *trouble;     /* why there is no current frame, or NULL */
  GMainLoop *loop;
  guint key_source;  /* while stdin is read */
  int status;
} Top;

static void
top_measure (Top *top)
{
  struct winsize ws;
  if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0)
    {
      top->width = ws.ws_col;
      top->height = ws.ws_row;
    }
}

static void
add_text (Top *top, GPtrArray *lines, const char *sgr, const char *text)
{
  g_ptr_array_add (lines, portico_top_line (sgr, text, top->width, top->colour));
}

/* The whole screen in one write: from the top left, each line cleared
 * then drawn, and what is below the last one cleared. */
static void
top_paint (Top *top, GPtrArray *lines)
{
  guint n = MIN (lines->len, top->height);
  GString *out = g_string_new ("\033[H");
  for (guint i = 0; i < n; i++)
    {
      g_string_append (out, "\033[K");
      if (i == n - 1 && lines->len > n)
        {
          g_autofree char *more = g_strdup_printf ("… %u more lines: a taller terminal shows them",
                                                   lines->len - n + 1);
          g_autofree char *last = portico_top_line (SGR_DIM, more, top->width, top->colour);
          g_string_append (out, last);
        }
      else
        g_string_append (out, g_ptr_array_index (lines, i));
      if (i + 1 < n)
        g_string_append_c (out, '\n');
    }
  g_string_append (out, "\033[J");
  write_all (STDOUT_FILENO, out->str, out->len);
  g_string_free (out, TRUE);
}

static void
top_draw (Top *top)
{
  g_autoptr (GPtrArray) lines = NULL;
  if (top->trouble != NULL || top->frame == NULL)
    {
      lines = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *text = g_strdup_printf ("admin %s: %s", top->addr,
                                               top->trouble ? top->trouble : "connecting");
      add_text (top, lines, SGR_TROUBLE, text);
    }
  else
    lines = portico_top_draw_data (g_bytes_get_data (top->frame, NULL), (gssize) g_bytes_get_size (top->frame),
                                   top->width, top->colour);
  if (!top->tty)
    {
      for (guint i = 0; i < lines->len; i++)
        printf ("%s\n", (const char *) g_ptr_array_index (lines, i));
      fflush (stdout);
      return;
    }
  g_autofree char *footer = g_strdup_printf ("%s every %g s; q quits", top->addr, top->interval_ms / 1000.0);
  g_ptr_array_add (lines, g_strdup (""));
  add_text (top, lines, SGR_DIM, footer);
  top_paint (top, lines);
}

/* Why an answer is no frame, with a hint where one helps. */
static char *
http_trouble (guint status, const char *reason, gboolean token_sent)
{
  const char *hint = "";
  if ((status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN) && token_sent)
    hint = " (the token was refused)";
  else if (status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN)
    hint = " (the admin wants a token: --token or $PORTICO_ADMIN_TOKEN)";
  else if (status == SOUP_STATUS_NOT_FOUND)
    hint = " (no " SNAPSHOT_PATH ": is this a portico admin listener?)";
  g_autofree char *clean_reason = portico_top_clean (reason ? reason : "");
  return g_strdup_printf ("HTTP %u %s%s", status, clean_reason, hint);
}

static void
on_answer (GObject *source, GAsyncResult *res, gpointer data)
{
  Top *top = data;
  SoupSession *session = SOUP_SESSION (source);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) body = soup_session_send_and_read_finish (session, res, &error);
  top->in_flight = FALSE;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  SoupMessage *msg = soup_session_get_async_result_message (session, res);
  g_clear_pointer (&top->trouble, g_free);
  if (body == NULL)
    {
      g_autofree char *reason = portico_top_clean (error->message);
      top->trouble = g_strdup_printf ("unreachable (%s)", reason);
    }
  else if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    top->trouble = http_trouble (soup_message_get_status (msg), soup_message_get_reason_phrase (msg),
                                 top->token != NULL);
  else
    {
      g_clear_pointer (&top->frame, g_bytes_unref);
      top->frame = g_steal_pointer (&body);
    }

  if (!top->tty)
    {
      if (top->trouble != NULL)
        {
          g_printerr ("portico top: admin %s: %s\n", top->addr, top->trouble);
          top->status = 1;
        }
      else
        top_draw (top);
      g_main_loop_quit (top->loop);
      return;
    }
  if (top->trouble != NULL)
    {
      char *retrying = g_strconcat (top->trouble, ", retrying", NULL);
      g_free (top->trouble);
      top->trouble = retrying;
    }
  top_draw (top);
}

static gboolean
on_tick (gpointer data)
{
  Top *top = data;
  if (top->in_flight) /* a slow admin is not asked twice at once */
    return G_SOURCE_CONTINUE;
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", top->url);
  if (top->token != NULL)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", top->token, NULL);
      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", bearer);
    }
  top->in_flight = TRUE;
  soup_session_send_and_read_async (top->session, msg, G_PRIORITY_DEFAULT, top->cancel, on_answer, top);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_quit_signal (gpointer data)
{
  g_main_loop_quit (((Top *) data)->loop);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_resize (gpointer data)
{
  Top *top = data;
  top_measure (top);
  top_draw (top);
  return G_SOURCE_CONTINUE;
}

/* `q`, `Q` and Ctrl-C quit; stdin at its end is left alone. */
static gboolean
on_key (int fd, GIOCondition condition, gpointer data)
{
  Top *top = data;
  char keys[64];
  ssize_t n = read (fd, keys, sizeof keys);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return G_SOURCE_CONTINUE;
  if (n <= 0)
    {
      top->key_source = 0;
      return G_SOURCE_REMOVE;
    }
  for (ssize_t i = 0; i < n; i++)
    if (keys[i] == 'q' || keys[i] == 'Q' || keys[i] == 0x03)
      g_main_loop_quit (top->loop);
  return G_SOURCE_CONTINUE;
}

/* "HOST:PORT" or "http[s]://HOST:PORT[/]" to the snapshot's URL. */
static char *
snapshot_url (const char *addr)
{
  g_autofree char *base = strstr (addr, "://") != NULL ? g_strdup (addr) : g_strconcat ("http://", addr, NULL);
  gsize len = strlen (base);
  while (len > 0 && base[len - 1] == '/')
    base[--len] = '\0';
  g_autofree char *url = g_strconcat (base, SNAPSHOT_PATH, NULL);
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0' ||
      (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 && g_strcmp0 (g_uri_get_scheme (uri), "https") != 0) ||
      strcmp (g_uri_get_path (uri), SNAPSHOT_PATH) != 0)
    return NULL;
  return g_steal_pointer (&url);
}

static int
top_run (Top *top)
{
  gboolean keys = top->tty && isatty (STDIN_FILENO);
  guint sources[5] = { 0 };
  guint n_sources = 0;
  top->session = soup_session_new_with_options ("timeout", FETCH_TIMEOUT_S, NULL);
  top->cancel = g_cancellable_new ();
  top->loop = g_main_loop_new (NULL, FALSE);
  if (top->tty)
    {
      top_measure (top);
      terminal_enter (keys);
      if (keys)
        top->key_source = g_unix_fd_add (STDIN_FILENO, G_IO_IN, on_key, top);
      sources[n_sources++] = g_unix_signal_add (SIGWINCH, on_resize, top);
      sources[n_sources++] = g_unix_signal_add (SIGINT, on_quit_signal, top);
      sources[n_sources++] = g_unix_signal_add (SIGTERM, on_quit_signal, top);
      sources[n_sources++] = g_unix_signal_add (SIGHUP, on_quit_signal, top);
      sources[n_sources++] = g_timeout_add (top->interval_ms, on_tick, top);
      top_draw (top);
    }
  on_tick (top);
  g_main_loop_run (top->loop);

  for (guint i = 0; i < n_sources; i++)
    g_source_remove (sources[i]);
  if (top->key_source != 0)
    g_source_remove (top->key_source);
  /* The answer in flight must come back (cancelled) before top goes. */
  g_cancellable_cancel (top->cancel);
  for (guint i = 0; top->in_flight && i < CANCEL_WAIT_STEPS; i++)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (10000);
  terminal_restore ();
  g_clear_object (&top->session);
  g_clear_object (&top->cancel);
  g_clear_pointer (&top->loop, g_main_loop_unref);
  return top->status;
}

int
portico_top_main (int argc, char **argv)
{
  g_autofree char *token = NULL;
  double interval = 1.0;
  GOptionEntry entries[] = {
    { "token", 't', 0, G_OPTION_ARG_STRING, &token,
      "The admin API's token (node.admin_token; default: $PORTICO_ADMIN_TOKEN)", "TOKEN" },
    { "interval", 'i', 0, G_OPTION_ARG_DOUBLE, &interval, "Seconds between frames (default 1)", "SECONDS" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("[ADMIN_ADDR] - the node's dashboard in the terminal");
  g_option_context_set_description (ctx,
    "ADMIN_ADDR is the admin listener, HOST:PORT or http://HOST:PORT (default " DEFAULT_ADMIN ").\n"
    "Reads GET " SNAPSHOT_PATH " every interval and redraws in place; q or Ctrl-C quits.\n"
    "When stdout is not a terminal, prints one frame as plain text and exits.\n"
    "See docs/dashboard.md.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("portico top: %s\n", error->message);
      return 2;
    }
  if (argc > 2)
    {
      g_printerr ("portico top: one admin address at most (see portico top --help)\n");
      return 2;
    }
  if (!(interval >= 0.1 && interval <= 3600))
    {
      g_printerr ("portico top: --interval: expected seconds from 0.1 to 3600\n");
      return 2;
    }
  const char *addr = argc == 2 ? argv[1] : DEFAULT_ADMIN;
  g_autofree char *url = snapshot_url (addr);
  if (url == NULL)
    {
      g_printerr ("portico top: %s: expected an admin address, HOST:PORT or http://HOST:PORT\n", addr);
      return 2;
    }
  const char *env_token = g_getenv ("PORTICO_ADMIN_TOKEN");
  if (token == NULL && env_token != NULL && *env_token != '\0')
    token = g_strdup (env_token);
  const char *columns = g_getenv ("COLUMNS");
  const char *no_colour = g_getenv ("NO_COLOR");
  Top top = {
    .addr = addr,
    .url = url,
    .token = token,
    .interval_ms = (guint) (interval * 1000 + 0.5),
    .tty = isatty (STDOUT_FILENO),
    .width = columns != NULL && atoi (columns) > 0 ? (guint) atoi (columns) : PLAIN_WIDTH,
    .height = 24,
  };
  top.colour = top.tty && (no_colour == NULL || *no_colour == '\0');
  int status = top_run (&top);
  g_clear_pointer (&top.frame, g_bytes_unref);
  g_free (top.trouble);
  return status;
}
