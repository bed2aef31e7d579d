/* master.c: fork, watch, resurrect, reload, stop. */
#include "node/master.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <glib-unix.h>

#include "net/sock.h"
#include "net/tls.h"
#include "node/signals.h"
#include "node/worker.h"
#include "pdk/module-loader.h"

#define QUICK_DEATH_US (1 * G_USEC_PER_SEC) /* a child dying sooner is crash-looping */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 10000
#define FAST_STOP_MS 1000
#define SHDICT_CAPACITY 65536

typedef struct _Generation Generation;

typedef enum {
  CHILD_WORKER,
  CHILD_ADMIN,
} ChildKind;

typedef struct _Master Master;

typedef struct {
  Master *master;
  ChildKind kind;
  Generation *gen;
  pid_t pid;       /* 0 while not running */
  guint slot;      /* workers: their shared-memory slot */
  guint index;     /* workers: 0 .. workers-1 within the generation */
  gint64 started_us;
  guint quick_deaths;
  guint respawn_source;
  int control_fd;  /* admin: the read end of its control pipe */
  guint control_source;
} Child;

struct _Generation {
  guint id;
  PorticoConfig *config;
  PorticoModuleSet *modules; /* opened here, before any fork */
  PorticoTlsContexts *tls;   /* built here, before any fork: config's listeners and services point in */
  GPtrArray *listeners; /* PorticoListener*: shared by all workers */
  GPtrArray *per_worker; /* reuseport: one GPtrArray of listeners per worker */
  gboolean retiring;    /* told to drain: its children are not resurrected */
  guint live;           /* children running */
};

typedef enum {
  MASTER_RUNNING,
  MASTER_STOPPING, /* graceful */
  MASTER_STOPPING_FAST,
} MasterState;

struct _Master {
  const PorticoMasterOptions *options;
  char *config_path;    /* what HUP re-reads */
  GMainLoop *loop;
  PorticoShm *shm;
  guint n_slots;
  gboolean *slot_used;
  Generation *current;
  GPtrArray *generations; /* every generation with live children, current included */
  GPtrArray *children;    /* Child* */
  int admin_fd;           /* the admin listener, kept across reloads */
  /* Made once: every generation seals and opens session tickets with them,
   * so a ticket outlives a worker's respawn and a reload. */
  PorticoTlsTicketKeys ticket_keys;
  char *runtime_dir;
  MasterState state;
  guint stop_source;
  int exit_code;
  pid_t pid;
};

/* --- generations --- */

/* The listening socket an older generation has on the address @listen was
 * configured with, or NULL. */
static PorticoListener *
inherited_listener (Generation *old, const PorticoListen *listen)
{
  if (old == NULL)
    return NULL;
  for (guint i = 0; i < old->listeners->len; i++)
    {
      PorticoListener *l = g_ptr_array_index (old->listeners, i);
      if (g_strcmp0 (l->listen->address.text, listen->address.text) == 0)
        return l;
    }
  return NULL;
}

/* Opens @config's listeners. An address the previous generation already
 * listens on is not bound again (it could not be: the port is taken): the
 * new generation shares that socket (a dup), and with reuseport binds
 * beside it on the same port. */
static GPtrArray *
open_listeners (PorticoConfig *config, Generation *old, gboolean reuseport, GError **error)
{
  GPtrArray *listeners = g_ptr_array_new ();
  for (guint i = 0; i < config->node.listen->len; i++)
    {
      PorticoListen *listen = g_ptr_array_index (config->node.listen, i);
      PorticoListener *before = inherited_listener (old, listen);
      int fd;
      if (before != NULL)
        {
          listen->address.port = before->listen->address.port;
          memcpy (&listen->address.addr, &before->listen->address.addr, before->listen->address.addr_len);
          listen->address.addr_len = before->listen->address.addr_len;
        }
      if (before != NULL && !reuseport)
        fd = fcntl (before->fd, F_DUPFD_CLOEXEC, 0);
      else
        fd = portico_sock_listen (&listen->address, reuseport || listen->reuseport, 4096, error);
      if (fd < 0)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", listen->address.text,
                         g_strerror (errno));
          portico_listeners_close (listeners);
          return NULL;
        }
      PorticoListener *l = g_new0 (PorticoListener, 1);
      l->fd = fd;
      l->listen = listen;
      g_ptr_array_add (listeners, l);
    }
  return listeners;
}

/* Takes @config and @modules. */
static Generation *
generation_new (Master *m, PorticoConfig *config, PorticoModuleSet *modules, Generation *old, GError **error)
{
  /* The TLS contexts first: building them is what may fail, and every
   * worker of the generation must be born with them. */
  PorticoTlsContexts *tls = portico_tls_contexts_new (config, &m->ticket_keys, error);
  if (tls == NULL)
    return NULL;
  Generation *g = g_new0 (Generation, 1);
  g->config = config;
  g->modules = modules;
  g->tls = tls;
  if (config->node.reuseport)
    {
      /* nginx's way: a socket per worker, each SO_REUSEPORT on the same
       * address; the kernel spreads connections across them. The first
       * socket fixes the port when the config says 0. */
      g->per_worker = g_ptr_array_new ();
      for (guint w = 0; w < config->node.workers; w++)
        {
          GPtrArray *l = open_listeners (config, w == 0 ? old : g, TRUE, error);
          if (l == NULL)
            goto fail;
          g_ptr_array_add (g->per_worker, l);
          if (w == 0)
            g->listeners = l;
        }
    }
  else
    {
      g->listeners = open_listeners (config, old, FALSE, error);
      if (g->listeners == NULL)
        goto fail;
    }
  return g;

fail:
  if (g->per_worker != NULL)
    {
      for (guint i = 0; i < g->per_worker->len; i++)
        portico_listeners_close (g_ptr_array_index (g->per_worker, i));
      g_ptr_array_free (g->per_worker, TRUE);
    }
  portico_tls_contexts_free (g->tls);
  g_free (g);
  return NULL;
}

static void
generation_free (Generation *g)
{
  if (g->per_worker != NULL)
    {
      for (guint i = 0; i < g->per_worker->len; i++)
        portico_listeners_close (g_ptr_array_index (g->per_worker, i));
      g_ptr_array_free (g->per_worker, TRUE);
    }
  else
    portico_listeners_close (g->listeners);
  portico_module_set_free (g->modules);
  portico_tls_contexts_free (g->tls);
  portico_config_free (g->config);
  g_free (g);
}

static GPtrArray *
listeners_for (Generation *g, guint index)
{
  return g->per_worker ? g_ptr_array_index (g->per_worker, index) : g->listeners;
}

/* --- children --- */

static void spawn (Master *m, Child *c);
static void maybe_finish (Master *m);
static void on_control (Master *m, Child *c);

static const char *
child_name (const Child *c, char *buf, gsize size)
{
  if (c->kind == CHILD_ADMIN)
    g_snprintf (buf, size, "admin process (generation %u)", c->gen->id);
  else
    g_snprintf (buf, size, "worker %u (generation %u, slot %u)", c->index, c->gen->id, c->slot);
  return buf;
}

static guint
slot_take (Master *m)
{
  for (guint i = 0; i < m->n_slots; i++)
    if (!m->slot_used[i])
      {
        m->slot_used[i] = TRUE;
        return i;
      }
  return G_MAXUINT;
}

static gboolean
listener_kept (GPtrArray *keep, int fd)
{
  for (guint i = 0; keep != NULL && i < keep->len; i++)
    if (((PorticoListener *) g_ptr_array_index (keep, i))->fd == fd)
      return TRUE;
  return FALSE;
}

static void
close_listener_array (GPtrArray *listeners, GPtrArray *keep)
{
  for (guint k = 0; k < listeners->len; k++)
    {
      int fd = ((PorticoListener *) g_ptr_array_index (listeners, k))->fd;
      if (!listener_kept (keep, fd))
        close (fd);
    }
}

/* In a new child: a worker keeps only its own listening sockets (the others
 * belong to other workers or generations), the admin process none. */
static void
close_listeners_except (Master *m, GPtrArray *keep)
{
  for (guint i = 0; i < m->generations->len; i++)
    {
      Generation *g = g_ptr_array_index (m->generations, i);
      if (g->per_worker == NULL)
        close_listener_array (g->listeners, keep);
      else
        for (guint w = 0; w < g->per_worker->len; w++)
          close_listener_array (g_ptr_array_index (g->per_worker, w), keep);
    }
}

static gboolean
control_ready (gint fd, GIOCondition cond, gpointer data)
{
  Child *c = data;
  on_control (c->master, c);
  return G_SOURCE_CONTINUE;
}

static void
spawn (Master *m, Child *c)
{
  int control[2] = { -1, -1 };
  /* Both ways: the admin asks for reloads, the master hands it the new
   * generation's configuration. */
  if (c->kind == CHILD_ADMIN && socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, control) < 0)
    {
      g_warning ("cannot create the admin control pipe: %s", g_strerror (errno));
      return;
    }
  m->pid = getpid ();
  pid_t pid = fork ();
  if (pid < 0)
    {
      g_warning ("fork: %s", g_strerror (errno));
      return;
    }
  if (pid == 0)
    {
      /* A child outliving its master would serve on with nobody to
       * resurrect, reload or stop it: it goes when the master goes. */
      prctl (PR_SET_PDEATHSIG, SIGTERM);
      if (getppid () != m->pid)
        _exit (1);
      int code;
      if (c->kind == CHILD_WORKER)
        {
          if (m->admin_fd >= 0)
            close (m->admin_fd);
          close_listeners_except (m, listeners_for (c->gen, c->index));
          code = portico_worker_main (c->gen->config, c->gen->modules, listeners_for (c->gen, c->index),
                                      m->shm, c->slot, c->gen->id);
        }
      else
        {
          close (control[0]);
          close_listeners_except (m, NULL);
          GMainContext *context = g_main_context_new ();
          g_main_context_push_thread_default (context);
          portico_signals_reset ();
          code = m->options->admin (m->shm, c->gen->config, m->admin_fd, control[1], m->runtime_dir);
        }
      fflush (stdout);
      _exit (code);
    }
  c->pid = pid;
  c->started_us = g_get_monotonic_time ();
  c->gen->live++;
  if (c->kind == CHILD_ADMIN)
    {
      close (control[1]);
      c->control_fd = control[0];
      g_unix_set_fd_nonblocking (c->control_fd, TRUE, NULL);
      c->control_source = g_unix_fd_add (c->control_fd, G_IO_IN | G_IO_HUP, control_ready, c);
    }
  char name[96];
  g_message ("started %s: pid %d", child_name (c, name, sizeof name), (int) pid);
}

static Child *
child_new (Master *m, ChildKind kind, Generation *g, guint index)
{
  Child *c = g_new0 (Child, 1);
  c->master = m;
  c->kind = kind;
  c->gen = g;
  c->index = index;
  c->control_fd = -1;
  c->slot = kind == CHILD_WORKER ? slot_take (m) : G_MAXUINT;
  g_ptr_array_add (m->children, c);
  return c;
}

static void
child_forget (Master *m, Child *c)
{
  if (c->respawn_source != 0)
    g_source_remove (c->respawn_source);
  if (c->control_source != 0)
    g_source_remove (c->control_source);
  if (c->control_fd >= 0)
    close (c->control_fd);
  if (c->slot != G_MAXUINT)
    m->slot_used[c->slot] = FALSE;
  g_ptr_array_remove (m->children, c);
  g_free (c);
}

static gboolean
respawn_later (gpointer data)
{
  Child *c = data;
  c->respawn_source = 0;
  Master *m = c->master;
  if (m->state == MASTER_RUNNING && !c->gen->retiring)
    spawn (m, c);
  return G_SOURCE_REMOVE;
}

static void
describe_status (int status, char *buf, gsize size)
{
  if (WIFSIGNALED (status))
    g_snprintf (buf, size, "killed by signal %d (%s)%s", WTERMSIG (status), g_strsignal (WTERMSIG (status)),
                WCOREDUMP (status) ? ", core dumped" : "");
  else
    g_snprintf (buf, size, "exited with status %d", WEXITSTATUS (status));
}

static void
reaped (Master *m, Child *c, int status)
{
  char name[96], how[96];
  child_name (c, name, sizeof name);
  describe_status (status, how, sizeof how);
  Generation *g = c->gen;
  g->live--;
  c->pid = 0;
  if (c->control_source != 0)
    {
      g_source_remove (c->control_source);
      c->control_source = 0;
      close (c->control_fd);
      c->control_fd = -1;
    }

  gboolean expected = m->state != MASTER_RUNNING || g->retiring;
  if (expected)
    {
      g_info ("%s %s", name, how);
      child_forget (m, c);
      if (g->retiring && g->live == 0 && g != m->current)
        {
          g_message ("generation %u is gone", g->id);
          g_ptr_array_remove (m->generations, g);
          generation_free (g);
        }
      maybe_finish (m);
      return;
    }

  /* Resurrect it, at once the first time; a child that keeps dying young
   * is crash-looping, and respawning it in a tight loop would only burn the
   * machine: wait longer each time. */
  gint64 lived = g_get_monotonic_time () - c->started_us;
  c->quick_deaths = lived < QUICK_DEATH_US ? c->quick_deaths + 1 : 0;
  portico_shm_count_respawn (m->shm);
  if (c->quick_deaths <= 1)
    {
      g_warning ("%s %s: respawning", name, how);
      spawn (m, c);
      return;
    }
  guint delay = BACKOFF_FIRST_MS << MIN (c->quick_deaths - 2, 10u);
  delay = MIN (delay, BACKOFF_MAX_MS);
  g_warning ("%s %s after %" G_GINT64_FORMAT " ms, %u times in a row: respawning in %u ms", name, how,
             lived / 1000, c->quick_deaths, delay);
  c->respawn_source = g_timeout_add (delay, respawn_later, c);
}

static void
on_sigchld (int signum, gpointer data)
{
  Master *m = data;
  for (;;)
    {
      int status;
      pid_t pid = waitpid (-1, &status, WNOHANG);
      if (pid <= 0)
        break;
      for (guint i = 0; i < m->children->len; i++)
        {
          Child *c = g_ptr_array_index (m->children, i);
          if (c->pid == pid)
            {
              reaped (m, c, status);
              break;
            }
        }
    }
}

static void
signal_generation (Master *m, Generation *g, int signum)
{
  for (guint i = 0; i < m->children->len; i++)
    {
      Child *c = g_ptr_array_index (m->children, i);
      if (c->gen == g && c->pid > 0)
        kill (c->pid, c->kind == CHILD_ADMIN && signum == SIGQUIT ? SIGTERM : signum);
    }
}

static void
signal_all (Master *m, int signum)
{
  for (guint i = 0; i < m->generations->len; i++)
    signal_generation (m, g_ptr_array_index (m->generations, i), signum);
}

static guint
live_children (Master *m)
{
  guint n = 0;
  for (guint i = 0; i < m->children->len; i++)
    n += ((Child *) g_ptr_array_index (m->children, i))->pid > 0;
  return n;
}

static void
maybe_finish (Master *m)
{
  if (m->state != MASTER_RUNNING && live_children (m) == 0)
    g_main_loop_quit (m->loop);
}

static gboolean
kill_stragglers (gpointer data)
{
  Master *m = data;
  m->stop_source = 0;
  if (live_children (m) > 0)
    {
      g_warning ("%u children still running: killing them", live_children (m));
      signal_all (m, SIGKILL);
    }
  return G_SOURCE_REMOVE;
}

/* @path: the file @g's configuration was read from. */
static void
start_generation (Master *m, Generation *g, const char *path)
{
  g->id = portico_shm_generation (m->shm) + 1;
  portico_shm_set_generation (m->shm, g->id);
  g_ptr_array_add (m->generations, g);
  m->current = g;
  for (guint w = 0; w < g->config->node.workers; w++)
    {
      Child *c = child_new (m, CHILD_WORKER, g, w);
      if (c->slot == G_MAXUINT)
        {
          g_warning ("no free worker slot for worker %u of generation %u", w, g->id);
          child_forget (m, c);
          continue;
        }
      spawn (m, c);
    }
  if (m->options->admin == NULL || m->admin_fd < 0)
    return;
  /* One admin process for the node's life: a reload hands it the new
   * configuration instead of replacing it, so no admin request is lost. */
  for (guint i = 0; i < m->children->len; i++)
    {
      Child *c = g_ptr_array_index (m->children, i);
      if (c->kind != CHILD_ADMIN)
        continue;
      if (c->pid > 0)
        {
          c->gen->live--;
          g->live++;
        }
      c->gen = g;
      if (c->pid > 0 && c->control_fd >= 0)
        {
          g_autofree char *line = g_strdup_printf ("config %s\n", path);
          if (write (c->control_fd, line, strlen (line)) < 0)
            g_warning ("cannot hand the new configuration to the admin process: %s", g_strerror (errno));
        }
      return;
    }
  spawn (m, child_new (m, CHILD_ADMIN, g, 0));
}

typedef struct {
  Master *master;
  guint generation;
} RetireCheck;

/* drain_timeout is over: what is left of that generation is killed. */
static gboolean
retire_timeout (gpointer data)
{
  RetireCheck *rc = data;
  for (guint i = 0; i < rc->master->generations->len; i++)
    {
      Generation *g = g_ptr_array_index (rc->master->generations, i);
      if (g->id == rc->generation && g->live > 0)
        {
          g_warning ("generation %u did not drain in time: killing %u children", g->id, g->live);
          signal_generation (rc->master, g, SIGKILL);
        }
    }
  return G_SOURCE_REMOVE;
}

/* "HEADLINE\nerror\nerror..." for the log and /status. */
static char *
join_errors (const char *headline, GPtrArray *errors)
{
  GString *why = g_string_new (headline);
  for (guint i = 0; i < errors->len; i++)
    g_string_append_printf (why, "\n%s", (const char *) g_ptr_array_index (errors, i));
  return g_string_free (why, FALSE);
}

/* A new generation first, then the old one drains: the listening sockets
 * are shared, so the new workers take the connections the old ones stop
 * accepting, and no request is refused in between. */
static gboolean
reload (Master *m, const char *path)
{
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  PorticoConfig *config = portico_config_load_file (path, errors, &error);
  if (config == NULL)
    {
      g_autofree char *why = join_errors (error ? error->message : path, errors);
      g_warning ("reload refused, still serving generation %u: %s", m->current->id, why);
      portico_shm_count_reload (m->shm, FALSE, why);
      return FALSE;
    }
  if (config->node.workers == 0)
    config->node.workers = (guint) g_get_num_processors ();
  PorticoModuleSet *modules = portico_modules_load (config, errors);
  if (modules == NULL)
    {
      g_autofree char *why = join_errors (path, errors);
      g_warning ("reload refused, still serving generation %u: %s", m->current->id, why);
      portico_shm_count_reload (m->shm, FALSE, why);
      portico_config_free (config);
      return FALSE;
    }
  Generation *g = generation_new (m, config, modules, m->current, &error);
  if (g == NULL)
    {
      g_warning ("reload refused, still serving generation %u: %s", m->current->id, error->message);
      portico_shm_count_reload (m->shm, FALSE, error->message);
      portico_module_set_free (modules);
      portico_config_free (config);
      return FALSE;
    }
  Generation *old = m->current;
  /* Counted first: whoever sees the new generation sees the reload too. */
  portico_shm_count_reload (m->shm, TRUE, NULL);
  start_generation (m, g, path);
  old->retiring = TRUE;
  signal_generation (m, old, SIGQUIT);
  RetireCheck *rc = g_new (RetireCheck, 1);
  rc->master = m;
  rc->generation = old->id;
  g_timeout_add_full (G_PRIORITY_DEFAULT, old->config->node.drain_timeout + 1000, retire_timeout, rc, g_free);
  g_message ("reloaded from %s: generation %u serving, generation %u draining", path, g->id, old->id);
  return TRUE;
}

/* The admin process asks for a reload with a line "reload PATH". */
static void
on_control (Master *m, Child *c)
{
  char buf[4096];
  ssize_t n = read (c->control_fd, buf, sizeof buf - 1);
  if (n <= 0)
    {
      if (n == 0 || (errno != EAGAIN && errno != EINTR))
        {
          g_source_remove (c->control_source);
          c->control_source = 0;
        }
      return;
    }
  buf[n] = '\0';
  g_auto (GStrv) lines = g_strsplit (buf, "\n", -1);
  for (char **line = lines; *line != NULL; line++)
    if (g_str_has_prefix (*line, "reload ") && m->state == MASTER_RUNNING)
      {
        /* The posted file becomes what a later HUP re-reads, if it loads. */
        const char *path = *line + strlen ("reload ");
        if (reload (m, path))
          {
            g_free (m->config_path);
            m->config_path = g_strdup (path);
          }
      }
}

static void
on_signal (int signum, gpointer data)
{
  Master *m = data;
  switch (signum)
    {
    case SIGHUP:
      if (m->state == MASTER_RUNNING)
        reload (m, m->config_path);
      break;
    case SIGQUIT:
      if (m->state != MASTER_RUNNING)
        break;
      g_message ("graceful stop: workers finish what they serve (at most %u ms)",
                 m->current->config->node.drain_timeout);
      m->state = MASTER_STOPPING;
      signal_all (m, SIGQUIT);
      m->stop_source = g_timeout_add (m->current->config->node.drain_timeout + 1000, kill_stragglers, m);
      maybe_finish (m);
      break;
    case SIGTERM:
    case SIGINT:
      if (m->state == MASTER_STOPPING_FAST)
        break;
      g_message ("fast stop");
      m->state = MASTER_STOPPING_FAST;
      signal_all (m, SIGTERM);
      if (m->stop_source != 0)
        g_source_remove (m->stop_source);
      m->stop_source = g_timeout_add (FAST_STOP_MS, kill_stragglers, m);
      maybe_finish (m);
      break;
    default:
      break;
    }
}

static void
print_address (const char *what, const PorticoAddress *a)
{
  gboolean v6 = strchr (a->host, ':') != NULL;
  printf ("%s %s%s%s:%u\n", what, v6 ? "[" : "", a->host, v6 ? "]" : "", a->port);
}

static gboolean
write_pid_file (const char *path, GError **error)
{
  g_autofree char *text = g_strdup_printf ("%d\n", (int) getpid ());
  return g_file_set_contents (path, text, -1, error);
}

static void
daemonize (void)
{
  pid_t pid = fork ();
  if (pid < 0)
    g_error ("fork: %s", g_strerror (errno));
  if (pid > 0)
    _exit (0);
  setsid ();
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0)
    {
      dup2 (null, STDIN_FILENO);
      dup2 (null, STDOUT_FILENO);
      dup2 (null, STDERR_FILENO);
      close (null);
    }
}

static void
master_free (Master *m)
{
  while (m->children->len > 0)
    child_forget (m, g_ptr_array_index (m->children, 0));
  g_ptr_array_free (m->children, TRUE);
  for (guint i = 0; i < m->generations->len; i++)
    generation_free (g_ptr_array_index (m->generations, i));
  g_ptr_array_free (m->generations, TRUE);
  if (m->admin_fd >= 0)
    close (m->admin_fd);
  if (m->runtime_dir != NULL)
    {
      g_autoptr (GDir) dir = g_dir_open (m->runtime_dir, 0, NULL);
      const char *name;
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *path = g_build_filename (m->runtime_dir, name, NULL);
          g_unlink (path);
        }
      g_rmdir (m->runtime_dir);
      g_free (m->runtime_dir);
    }
  portico_shm_free (m->shm);
  g_free (m->slot_used);
  g_free (m->config_path);
  g_main_loop_unref (m->loop);
  g_free (m);
}

int
portico_master_run (const PorticoMasterOptions *options)
{
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  PorticoConfig *config = portico_config_load_file (options->config_path, errors, &error);
  if (config == NULL)
    {
      for (guint i = 0; i < errors->len; i++)
        g_printerr ("%s: %s\n", options->config_path, (const char *) g_ptr_array_index (errors, i));
      if (errors->len == 0)
        g_printerr ("%s\n", error->message);
      return 1;
    }
  if (config->node.workers == 0)
    config->node.workers = (guint) g_get_num_processors ();

  Master *m = g_new0 (Master, 1);
  m->options = options;
  m->config_path = g_strdup (options->config_path);
  m->loop = g_main_loop_new (NULL, FALSE);
  m->children = g_ptr_array_new ();
  m->generations = g_ptr_array_new ();
  m->admin_fd = -1;
  /* Room for a generation draining while two newer ones start. */
  m->n_slots = MIN (PORTICO_SHM_MAX_WORKERS, MAX (config->node.workers, 64) * 3);
  m->slot_used = g_new0 (gboolean, m->n_slots);
  m->shm = portico_shm_new (m->n_slots, SHDICT_CAPACITY, &error);
  if (m->shm == NULL)
    {
      g_printerr ("portico: %s\n", error->message);
      portico_config_free (config);
      master_free (m);
      return 1;
    }
  portico_shm_set_master (m->shm, getpid (), g_get_real_time ());
  if (!portico_tls_ticket_keys_init (&m->ticket_keys, &error))
    {
      g_printerr ("portico: %s\n", error->message);
      portico_config_free (config);
      master_free (m);
      return 1;
    }

  PorticoModuleSet *modules = portico_modules_load (config, errors);
  if (modules == NULL)
    {
      for (guint i = 0; i < errors->len; i++)
        g_printerr ("%s: %s\n", options->config_path, (const char *) g_ptr_array_index (errors, i));
      portico_config_free (config);
      master_free (m);
      return 1;
    }
  Generation *g = generation_new (m, config, modules, NULL, &error);
  if (g == NULL)
    {
      g_printerr ("portico: %s\n", error->message);
      portico_module_set_free (modules);
      portico_config_free (config);
      master_free (m);
      return 1;
    }
  PorticoAddress admin = { 0 };
  if (config->node.admin_listen != NULL && options->admin != NULL)
    {
      if (!portico_address_parse (config->node.admin_listen, 0, &admin, &error) ||
          (m->admin_fd = portico_sock_listen (&admin, FALSE, 128, &error)) < 0)
        {
          g_printerr ("portico: admin: %s\n", error->message);
          portico_address_clear (&admin);
          generation_free (g);
          master_free (m);
          return 1;
        }
      m->runtime_dir = g_dir_make_tmp ("portico-XXXXXX", NULL);
    }

  /* Before the addresses are printed: whoever reads them may signal at
   * once, and must find the handlers there (they survive daemonize's fork:
   * the self-pipe and the sigactions are inherited). */
  guint ids[] = {
    portico_signal_add (SIGCHLD, on_sigchld, m), portico_signal_add (SIGHUP, on_signal, m),
    portico_signal_add (SIGQUIT, on_signal, m),  portico_signal_add (SIGTERM, on_signal, m),
    portico_signal_add (SIGINT, on_signal, m),
  };
  for (guint i = 0; i < g->listeners->len; i++)
    print_address ("listening", &((PorticoListener *) g_ptr_array_index (g->listeners, i))->listen->address);
  if (m->admin_fd >= 0)
    print_address ("admin", &admin);
  portico_address_clear (&admin);
  fflush (stdout);

  if (options->daemonize)
    daemonize ();
  if (options->pid_file != NULL && !write_pid_file (options->pid_file, &error))
    g_warning ("pid file: %s", error->message);

  start_generation (m, g, options->config_path);
  g_main_loop_run (m->loop);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    portico_signal_remove (ids[i]);
  portico_signals_reset ();
  if (options->pid_file != NULL)
    g_unlink (options->pid_file);
  int code = m->exit_code;
  master_free (m);
  return code;
}

gboolean
portico_master_signal (const char *pid_file, int signum, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (pid_file, &text, NULL, error))
    return FALSE;
  gint64 pid = g_ascii_strtoll (text, NULL, 10);
  if (pid <= 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: no pid in it", pid_file);
      return FALSE;
    }
  if (kill ((pid_t) pid, signum) < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: process %" G_GINT64_FORMAT ": %s",
                   pid_file, pid, g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}
