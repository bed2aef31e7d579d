/* pdk-worker.c: the parts of the module API that belong to the worker
 * process rather than to a request: timers, the shared dictionary,
 * metrics, logs, and the configuration's consumers. A worker is one
 * process, so its one binding is process state, set once after the fork. */
#include "pdk/phases.h"

#include <string.h>
#include <glib-unix.h>
#include "node/shm.h"
#include "node/timers.h"

static struct {
  PorticoTimers *timers;
  PorticoShm *shm;
  guint id;
  guint count;
  const PorticoConfig *config;
} worker;

void
portico_pdk_bind_worker (PorticoTimers *timers, PorticoShm *shm, guint id, guint count)
{
  worker.timers = timers;
  worker.shm = shm;
  worker.id = id;
  worker.count = count;
}

void
portico_pdk_bind_gateway (const PorticoConfig *config)
{
  worker.config = config;
}

guint
portico_worker_get_id (void)
{
  return worker.id;
}

guint
portico_worker_get_count (void)
{
  return worker.count;
}

/* ---- timers ---- */

typedef struct {
  PorticoTimerFunc callback;
  gpointer data;
  GDestroyNotify destroy;
  const PorticoModule *module;
} ModuleTimer;

static gboolean
module_timer_fire (gpointer data)
{
  ModuleTimer *t = data;
  const PorticoModule *outer = portico_pdk_current_module ();
  portico_pdk_set_current_module (t->module);
  gboolean again = t->callback (t->data);
  portico_pdk_set_current_module (outer);
  return again;
}

static void
module_timer_free (gpointer data)
{
  ModuleTimer *t = data;
  if (t->destroy)
    t->destroy (t->data);
  g_free (t);
}

PorticoTimerEntry *
portico_timer_add (const char *name, guint delay_ms, guint interval_ms, PorticoTimerFunc callback,
                   gpointer data, GDestroyNotify destroy)
{
  const PorticoModule *module = portico_pdk_current_module ();
  if (worker.timers == NULL || callback == NULL)
    {
      g_warning ("portico_timer_add (%s): %s", name ? name : "?",
                 callback ? "no worker timer service here" : "NULL callback");
      if (destroy && data)
        destroy (data);
      return NULL;
    }
  ModuleTimer *t = g_new (ModuleTimer, 1);
  *t = (ModuleTimer) { callback, data, destroy, module };
  g_autoptr (GError) error = NULL;
  PorticoTimerEntry *e = portico_timers_add (worker.timers, module ? module->name : "module",
                                             name ? name : "timer", delay_ms, interval_ms, module_timer_fire,
                                             t, module_timer_free, &error);
  if (e == NULL)
    {
      g_warning ("portico_timer_add (%s): %s", name ? name : "timer", error->message);
      module_timer_free (t); /* destroys @data: the caller gave it away either way */
    }
  return e;
}

void
portico_timer_cancel (PorticoTimerEntry *entry)
{
  if (worker.timers != NULL && entry != NULL)
    portico_timers_cancel (worker.timers, entry);
}

/* ---- file descriptors ---- */

typedef struct {
  PorticoFdFunc callback;
  gpointer data;
  GDestroyNotify destroy;
  const PorticoModule *module;
} ModuleWatch;

static gboolean
module_watch_fire (int fd, GIOCondition condition, gpointer data)
{
  ModuleWatch *w = data;
  const PorticoModule *outer = portico_pdk_current_module ();
  portico_pdk_set_current_module (w->module);
  gboolean again = w->callback (fd, condition, w->data);
  portico_pdk_set_current_module (outer);
  return again;
}

static void
module_watch_free (gpointer data)
{
  ModuleWatch *w = data;
  if (w->destroy)
    w->destroy (w->data);
  g_free (w);
}

guint
portico_fd_watch (int fd, GIOCondition condition, PorticoFdFunc callback, gpointer data, GDestroyNotify destroy)
{
  if (fd < 0 || callback == NULL)
    return 0;
  ModuleWatch *w = g_new (ModuleWatch, 1);
  *w = (ModuleWatch) { callback, data, destroy, portico_pdk_current_module () };
  /* The worker's loop runs its own context (the thread-default one). */
  GSource *source = g_unix_fd_source_new (fd, condition);
  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) module_watch_fire, w, module_watch_free);
  guint id = g_source_attach (source, g_main_context_get_thread_default ());
  g_source_unref (source);
  return id;
}

void
portico_fd_unwatch (guint id)
{
  GMainContext *context = g_main_context_get_thread_default ();
  GSource *source = id ? g_main_context_find_source_by_id (context, id) : NULL;
  if (source != NULL)
    g_source_destroy (source);
}

/* ---- the shared dictionary and metrics ---- */

gboolean
portico_shared_incr (const char *key, gint64 delta, guint ttl_ms, gint64 *value)
{
  gint64 ignored;
  return worker.shm != NULL &&
         portico_shdict_incr (worker.shm, key, delta, ttl_ms, value ? value : &ignored) == PORTICO_SHDICT_OK;
}

gboolean
portico_shared_set (const char *key, gint64 value, guint ttl_ms)
{
  return worker.shm != NULL && portico_shdict_set (worker.shm, key, value, ttl_ms) == PORTICO_SHDICT_OK;
}

gboolean
portico_shared_get (const char *key, gint64 *value, gint64 *ttl_left_ms)
{
  gint64 v, ttl;
  if (worker.shm == NULL || !portico_shdict_get (worker.shm, key, &v, &ttl))
    return FALSE;
  if (value)
    *value = v;
  if (ttl_left_ms)
    *ttl_left_ms = ttl;
  return TRUE;
}

gboolean
portico_shared_delete (const char *key)
{
  return worker.shm != NULL && portico_shdict_delete (worker.shm, key);
}

#define METRIC_SERIES_MAX 150

gboolean
portico_metric_add (const char *type, const char *series, gint64 delta)
{
  char t;
  if (g_strcmp0 (type, "counter") == 0)
    t = 'c';
  else if (g_strcmp0 (type, "gauge") == 0)
    t = 'g';
  else if (g_strcmp0 (type, "histogram") == 0)
    t = 'h';
  else
    {
      g_warning ("portico_metric_add: type \"%s\" is not counter, gauge or histogram", type ? type : "");
      return FALSE;
    }
  /* portico_* families are the core's own on /metrics. */
  if (series == NULL || strlen (series) > METRIC_SERIES_MAX || g_str_has_prefix (series, "portico_"))
    return FALSE;
  char key[PORTICO_SHDICT_KEY_MAX];
  g_snprintf (key, sizeof key, "m|%c|%s", t, series);
  gint64 ignored;
  return worker.shm != NULL && portico_shdict_incr (worker.shm, key, delta, 0, &ignored) == PORTICO_SHDICT_OK;
}

/* ---- logs ---- */

void
portico_log (PorticoRequest *r, GLogLevelFlags level, const char *format, ...)
{
  const PorticoModule *m = portico_pdk_current_module ();
  va_list args;
  va_start (args, format);
  g_autofree char *text = g_strdup_vprintf (format, args);
  va_end (args);
  if (r != NULL)
    g_log ("portico", level, "[%s] request %" G_GUINT64_FORMAT ": %s", m ? m->name : "module",
           portico_request_get_id (r), text);
  else
    g_log ("portico", level, "[%s] %s", m ? m->name : "module", text);
}

/* ---- the configuration's consumers ---- */

const PorticoGateway *
portico_request_get_gateway (PorticoRequest *r)
{
  return (const PorticoGateway *) worker.config;
}

guint
portico_gateway_n_consumers (const PorticoGateway *gw)
{
  const PorticoConfig *config = (const PorticoConfig *) gw;
  return config ? config->consumers->len : 0;
}

const PorticoConsumer *
portico_gateway_consumer (const PorticoGateway *gw, guint index)
{
  const PorticoConfig *config = (const PorticoConfig *) gw;
  if (config == NULL || index >= config->consumers->len)
    return NULL;
  return g_ptr_array_index (config->consumers, index);
}

const PorticoConsumer *
portico_gateway_find_consumer (const PorticoGateway *gw, const char *username_or_custom_id)
{
  const PorticoConfig *config = (const PorticoConfig *) gw;
  if (config == NULL || username_or_custom_id == NULL)
    return NULL;
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < config->consumers->len; i++)
      {
        const PorticoConsumer *c = g_ptr_array_index (config->consumers, i);
        if (g_strcmp0 (pass == 0 ? c->username : c->custom_id, username_or_custom_id) == 0)
          return c;
      }
  return NULL;
}

const char *
portico_consumer_get_username (const PorticoConsumer *consumer)
{
  return consumer->username;
}

const char *
portico_consumer_get_custom_id (const PorticoConsumer *consumer)
{
  return consumer->custom_id;
}

const char *
portico_consumer_get_id (const PorticoConsumer *consumer)
{
  return consumer->username ? consumer->username : consumer->custom_id;
}

JsonObject *
portico_consumer_get_entry (const PorticoConsumer *consumer)
{
  return json_node_get_object (consumer->node);
}
