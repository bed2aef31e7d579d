/* trace.c: tracing one request through the data path (core/trace.h).
 *
 * An exchange that is traced carries a PorticoTraceState; the data path
 * marks where each phase starts and ends (a phase that yields stays open
 * until its handler finally goes on), each upstream try, and at the end of
 * the log phase the module handler calls the PDK timed are added and the
 * record goes to the worker's ring. Untraced exchanges pay one pointer
 * test per mark.
 */
#include "proxy/proxy-private.h"

#include <string.h>

struct _PorticoTraceState {
  PorticoTraceRecord rec;
  gint64 open[PORTICO_N_PHASES]; /* when each open phase started; 0: closed */
  gint64 upstream_open;
  const char *upstream_target;
  char id[32];
};

static gboolean
token_matches (const char *token, const char *value, gsize len)
{
  gsize n = strlen (token);
  if (len != n)
    return FALSE;
  /* The token guards a debugging door: compare in constant time. */
  guchar diff = 0;
  for (gsize i = 0; i < n; i++)
    diff |= (guchar) token[i] ^ (guchar) value[i];
  return diff == 0;
}

void
portico_trace_start (PorticoExchange *x)
{
  PorticoProxy *proxy = x->client->proxy;
  const PorticoNodeConfig *node = &proxy->config->node;
  PorticoRequest *r = &x->pdk;
  if (proxy->tracer.put == NULL)
    return;
  gboolean requested = FALSE;
  if (node->trace_token != NULL)
    {
      int at = portico_header_table_find (&r->req_headers, PORTICO_TRACE_HEADER, sizeof PORTICO_TRACE_HEADER - 1, 0);
      if (at >= 0)
        {
          const PorticoHttpHeader *h = &r->req_headers.v[at];
          requested = token_matches (node->trace_token, h->value, h->value_len);
          /* The upstream never sees the token, right or wrong. */
          portico_header_table_set (r, &r->req_headers, PORTICO_EDIT_REMOVE, PORTICO_TRACE_HEADER, NULL);
        }
    }
  if (!requested && (node->trace_sample == 0 || ++proxy->trace_seen % node->trace_sample != 0))
    return;

  /* Everything but the spans starts at zero; a span is written before
   * n_spans counts it. */
  PorticoTraceState *t = g_steal_pointer (&proxy->spare_trace);
  if (t == NULL)
    t = g_new (PorticoTraceState, 1);
  memset (&t->rec, 0, G_STRUCT_OFFSET (PorticoTraceRecord, spans));
  memset (t->open, 0, sizeof *t - G_STRUCT_OFFSET (PorticoTraceState, open));
  PorticoTraceRecord *rec = &t->rec;
  rec->id = ++proxy->tracer.last_id;
  rec->slot = proxy->tracer.slot;
  rec->requested = requested;
  rec->wall_us = g_get_real_time ();
  rec->start_us = x->start_us;
  gsize method_len = MIN (sizeof rec->method - 1, x->req.method_len);
  memcpy (rec->method, x->req.method, method_len);
  g_strlcpy (rec->path, x->path, sizeof rec->path);
  portico_trace_id_format (t->id, sizeof t->id, rec->slot, rec->id);
  x->trace = t;
}

const char *
portico_trace_requested_id (const PorticoExchange *x)
{
  return x->trace != NULL && x->trace->rec.requested ? x->trace->id : NULL;
}

static void
add_span (PorticoTraceState *t, PorticoTraceKind kind, PorticoPhase phase, const char *name, gint64 start,
          gint64 end, int result)
{
  PorticoTraceRecord *rec = &t->rec;
  if (rec->n_spans >= PORTICO_TRACE_SPANS)
    {
      rec->spans_dropped++;
      return;
    }
  PorticoTraceSpanRecord *s = &rec->spans[rec->n_spans++];
  s->kind = kind;
  s->phase = phase;
  s->result = (gint8) result;
  s->start_us = start;
  s->duration_us = MAX (end - start, 0);
  g_strlcpy (s->name, name != NULL ? name : "", sizeof s->name);
}

void
portico_trace_enter (PorticoExchange *x, PorticoPhase phase)
{
  if (x->trace->open[phase] == 0)
    x->trace->open[phase] = g_get_monotonic_time ();
}

void
portico_trace_leave (PorticoExchange *x, PorticoPhase phase)
{
  PorticoTraceState *t = x->trace;
  if (t->open[phase] == 0)
    return;
  add_span (t, PORTICO_TRACE_PHASE, phase, NULL, t->open[phase], g_get_monotonic_time (), 0);
  t->open[phase] = 0;
}

void
portico_trace_upstream_begin (PorticoExchange *x)
{
  x->trace->upstream_open = g_get_monotonic_time ();
  x->trace->upstream_target = x->target != NULL ? x->target->text : NULL;
}

void
portico_trace_upstream_end (PorticoExchange *x, gboolean failed)
{
  PorticoTraceState *t = x->trace;
  if (t->upstream_open == 0)
    return;
  add_span (t, PORTICO_TRACE_UPSTREAM, PORTICO_PHASE_BALANCER, t->upstream_target, t->upstream_open,
            g_get_monotonic_time (), failed ? 1 : 0);
  t->upstream_open = 0;
}

void
portico_trace_finish (PorticoExchange *x)
{
  PorticoTraceState *t = x->trace;
  PorticoRequest *r = &x->pdk;
  PorticoProxy *proxy = x->client->proxy;
  PorticoTraceRecord *rec = &t->rec;

  /* What is still open ends here: log, or all of it after an abort. */
  if (t->upstream_open != 0)
    portico_trace_upstream_end (x, TRUE);
  for (guint p = 0; p < PORTICO_N_PHASES; p++)
    if (t->open[p] != 0)
      portico_trace_leave (x, (PorticoPhase) p);
  gint64 now = g_get_monotonic_time (); /* after every window closed: they end within the trace */
  for (guint i = 0; i < r->n_spans; i++)
    {
      const PorticoSpan *s = &r->spans[i];
      add_span (t, PORTICO_TRACE_MODULE, s->phase, s->module, s->start_us, s->start_us + s->duration_us,
                s->result);
    }
  rec->status = (guint16) x->status;
  rec->duration_us = now - rec->start_us;
  if (r->route != NULL && r->route->name != NULL)
    g_strlcpy (rec->route, r->route->name, sizeof rec->route);
  if (r->service != NULL && r->service->name != NULL)
    g_strlcpy (rec->service, r->service->name, sizeof rec->service);
  if (r->consumer != NULL)
    g_strlcpy (rec->consumer, r->consumer->username ? r->consumer->username : r->consumer->custom_id ? r->consumer->custom_id : "",
               sizeof rec->consumer);
  proxy->tracer.put (rec, proxy->tracer.data);
  portico_trace_discard (proxy, x);
}

void
portico_trace_discard (PorticoProxy *proxy, PorticoExchange *x)
{
  if (x->trace == NULL)
    return;
  if (proxy->spare_trace == NULL)
    proxy->spare_trace = g_steal_pointer (&x->trace);
  else
    g_clear_pointer (&x->trace, g_free);
}
