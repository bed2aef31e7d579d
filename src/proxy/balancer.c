/* balancer.c: which target of an upstream gets a request, per worker.
 *
 * Each upstream has its balancer state in the worker: the smooth weighted
 * round-robin counters, the requests in flight to each target, and each
 * target's latency (an exponentially weighted moving average of the time
 * to the response head). The exchange tells the balancer when a try
 * starts (begin), when its answer's head comes (observe) and when it ends
 * (end), so every algorithm sees the same facts.
 */
#include "proxy/proxy-private.h"

typedef struct {
  guint n;
  gint *current;    /* smooth weighted round-robin state, one per target */
  guint *active;    /* tries in flight, one per target */
  double *ewma_us;  /* time to the response head; 0: no sample yet */
} PorticoBalancer;

static void
balancer_free (gpointer data)
{
  PorticoBalancer *b = data;
  g_free (b->current);
  g_free (b->active);
  g_free (b->ewma_us);
  g_free (b);
}

void
portico_balancers_free (PorticoProxy *proxy)
{
  g_clear_pointer (&proxy->balancers, g_hash_table_destroy);
}

static PorticoBalancer *
balancer_for (PorticoProxy *proxy, const PorticoUpstream *upstream)
{
  if (proxy->balancers == NULL)
    proxy->balancers = g_hash_table_new_full (NULL, NULL, NULL, balancer_free);
  PorticoBalancer *b = g_hash_table_lookup (proxy->balancers, upstream);
  if (b == NULL)
    {
      b = g_new0 (PorticoBalancer, 1);
      b->n = upstream->targets->len;
      b->current = g_new0 (gint, b->n);
      b->active = g_new0 (guint, b->n);
      b->ewma_us = g_new0 (double, b->n);
      g_hash_table_insert (proxy->balancers, (gpointer) upstream, b);
    }
  return b;
}

/* Smooth weighted round-robin: every pick adds each target's weight to its
 * counter, takes the largest, and takes the total off the winner. Weights
 * 5:1:1 give a a b a c a a, spread rather than bunched. */
static gint
pick_round_robin (PorticoBalancer *b, const PorticoUpstream *upstream, const PorticoAddress *avoid)
{
  gint total = 0;
  gint best = -1;
  for (guint i = 0; i < b->n; i++)
    {
      const PorticoTarget *t = g_ptr_array_index (upstream->targets, i);
      if (t->weight == 0)
        continue;
      if (avoid == &t->address && b->n > 1)
        continue;
      b->current[i] += (gint) t->weight;
      total += (gint) t->weight;
      if (best < 0 || b->current[i] > b->current[best])
        best = (gint) i;
    }
  if (best >= 0)
    b->current[best] -= total;
  return best;
}

/* The target of @upstream whose address is @address, or -1. */
static gint
target_index (const PorticoUpstream *upstream, const PorticoAddress *address)
{
  for (guint i = 0; address != NULL && i < upstream->targets->len; i++)
    if (&((const PorticoTarget *) g_ptr_array_index (upstream->targets, i))->address == address)
      return (gint) i;
  return -1;
}

const PorticoAddress *
portico_balancer_pick (PorticoProxy *proxy, PorticoExchange *x, const PorticoAddress *avoid)
{
  const PorticoUpstream *upstream = x->service->upstream;
  if (upstream == NULL)
    return &x->service->address;
  PorticoBalancer *b = balancer_for (proxy, upstream);
  gint best = pick_round_robin (b, upstream, avoid);
  if (best < 0)
    return NULL;
  const PorticoTarget *t = g_ptr_array_index (upstream->targets, (guint) best);
  return &t->address;
}

void
portico_balancer_begin (PorticoProxy *proxy, PorticoExchange *x)
{
  const PorticoUpstream *upstream = x->service->upstream;
  x->try_start_us = g_get_monotonic_time ();
  x->balanced = TRUE;
  if (upstream == NULL)
    return;
  gint i = target_index (upstream, x->target);
  if (i >= 0)
    balancer_for (proxy, upstream)->active[i]++;
}

/* Weight of the newest sample: about the last ten answers count. */
#define EWMA_ALPHA 0.1

void
portico_balancer_observe (PorticoProxy *proxy, PorticoExchange *x)
{
  const PorticoUpstream *upstream = x->service->upstream;
  if (upstream == NULL || !x->balanced)
    return;
  gint i = target_index (upstream, x->target);
  if (i < 0)
    return;
  PorticoBalancer *b = balancer_for (proxy, upstream);
  double sample = (double) (g_get_monotonic_time () - x->try_start_us);
  b->ewma_us[i] = b->ewma_us[i] == 0 ? sample : b->ewma_us[i] + EWMA_ALPHA * (sample - b->ewma_us[i]);
}

void
portico_balancer_end (PorticoProxy *proxy, PorticoExchange *x, gboolean failed)
{
  const PorticoUpstream *upstream = x->service != NULL ? x->service->upstream : NULL;
  if (!x->balanced)
    return;
  x->balanced = FALSE;
  if (upstream == NULL)
    return;
  gint i = target_index (upstream, x->target);
  if (i < 0)
    return;
  PorticoBalancer *b = balancer_for (proxy, upstream);
  if (b->active[i] > 0)
    b->active[i]--;
}
