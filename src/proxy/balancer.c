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

#include <math.h>
#include <string.h>

/* A point of the consistent-hashing ring. */
typedef struct {
  guint32 hash;
  guint target;
} RingPoint;

typedef struct {
  guint n;
  gint *current;      /* smooth weighted round-robin state, one per target */
  guint *active;      /* tries in flight, one per target */
  double *ewma_us;    /* time to the response head; 0: no sample yet */
  gint64 *ewma_at;    /* when it was last updated (monotonic us) */
  guint next;         /* least-connections: where a tie starts looking */
  RingPoint *ring;    /* consistent hashing, sorted by hash; NULL until needed */
  guint ring_len;
} PorticoBalancer;

static void
balancer_free (gpointer data)
{
  PorticoBalancer *b = data;
  g_free (b->current);
  g_free (b->active);
  g_free (b->ewma_us);
  g_free (b->ewma_at);
  g_free (b->ring);
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
      b->ewma_at = g_new0 (gint64, b->n);
      g_hash_table_insert (proxy->balancers, (gpointer) upstream, b);
    }
  return b;
}

/* The proxy whose pick is running: allowed() asks it about health. */
static PorticoProxy *picking;

/* Whether target @i may take this try: it has weight, it is healthy, and
 * it is not the one that just failed (unless it is the only one). */
static gboolean
allowed (const PorticoUpstream *upstream, guint i, const PorticoAddress *avoid)
{
  const PorticoTarget *t = g_ptr_array_index (upstream->targets, i);
  return t->weight > 0 && !(avoid == &t->address && upstream->targets->len > 1) &&
         (picking == NULL || portico_health_cached_up (picking, upstream, i));
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
      if (!allowed (upstream, i, avoid))
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

/* A target's latency as it stands now: the EWMA fades towards 0 while no
 * answer refreshes it (half of it every 10 s), so a target that was slow
 * gets tried again after a while instead of never. */
#define EWMA_HALF_LIFE_US (10 * G_USEC_PER_SEC)

static double
ewma_now (const PorticoBalancer *b, guint i, gint64 now)
{
  if (b->ewma_us[i] == 0)
    return 0;
  return b->ewma_us[i] * exp2 (-(double) (now - b->ewma_at[i]) / EWMA_HALF_LIFE_US);
}

/* The target with the lowest cost, (tries in flight + 1) / weight, times
 * its latency when @by_latency (the expected wait; a target never measured
 * costs 0 and goes first). A target of weight 200 takes twice the load of
 * one of 100. Ties go round from after the last pick. */
static gint
pick_lowest (PorticoBalancer *b, const PorticoUpstream *upstream, const PorticoAddress *avoid, gboolean by_latency)
{
  gint64 now = by_latency ? g_get_monotonic_time () : 0;
  gint best = -1;
  double best_cost = 0;
  for (guint k = 0; k < b->n; k++)
    {
      guint i = (b->next + k) % b->n;
      if (!allowed (upstream, i, avoid))
        continue;
      const PorticoTarget *t = g_ptr_array_index (upstream->targets, i);
      double cost = (double) (b->active[i] + 1) / (double) t->weight;
      if (by_latency)
        cost *= ewma_now (b, i, now);
      if (best < 0 || cost < best_cost)
        best = (gint) i, best_cost = cost;
    }
  if (best >= 0)
    b->next = (guint) best + 1;
  return best;
}

/* 64-bit FNV-1a, then a finalizer that spreads every bit: the ring needs
 * points and keys spread evenly, which plain FNV does badly on short keys. */
static guint32
hash_bytes (const char *data, gsize len, guint64 seed)
{
  guint64 h = 0xcbf29ce484222325ull ^ seed;
  for (gsize i = 0; i < len; i++)
    h = (h ^ (guchar) data[i]) * 0x100000001b3ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return (guint32) h;
}

static gint
compare_points (gconstpointer a, gconstpointer b)
{
  const RingPoint *pa = a, *pb = b;
  if (pa->hash != pb->hash)
    return pa->hash < pb->hash ? -1 : 1;
  return (gint) pa->target - (gint) pb->target;
}

/* The ring: each target gets points in proportion to its weight, `slots`
 * in all, placed by hashing "TARGET#k". Taking a target out moves only the
 * keys that landed on its points. */
static void
build_ring (PorticoBalancer *b, const PorticoUpstream *upstream)
{
  guint total = 0;
  for (guint i = 0; i < b->n; i++)
    total += ((const PorticoTarget *) g_ptr_array_index (upstream->targets, i))->weight;
  GArray *points = g_array_new (FALSE, FALSE, sizeof (RingPoint));
  for (guint i = 0; i < b->n && total > 0; i++)
    {
      const PorticoTarget *t = g_ptr_array_index (upstream->targets, i);
      if (t->weight == 0)
        continue;
      guint count = MAX (1, (guint) ((guint64) upstream->slots * t->weight / total));
      for (guint k = 0; k < count; k++)
        {
          char name[128];
          int len = g_snprintf (name, sizeof name, "%s#%u", t->target, k);
          RingPoint p = { hash_bytes (name, (gsize) MIN (len, (int) sizeof name - 1), 0), i };
          g_array_append_val (points, p);
        }
    }
  g_array_sort (points, compare_points);
  b->ring_len = points->len;
  b->ring = (RingPoint *) g_array_free (points, FALSE);
}

/* The first allowed target at or after @hash on the ring. */
static gint
ring_lookup (PorticoBalancer *b, const PorticoUpstream *upstream, guint32 hash, const PorticoAddress *avoid)
{
  if (b->ring == NULL)
    build_ring (b, upstream);
  if (b->ring_len == 0)
    return -1;
  guint lo = 0, hi = b->ring_len;
  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;
      if (b->ring[mid].hash < hash)
        lo = mid + 1;
      else
        hi = mid;
    }
  for (guint k = 0; k < b->ring_len; k++)
    {
      guint t = b->ring[(lo + k) % b->ring_len].target;
      if (allowed (upstream, t, avoid))
        return (gint) t;
    }
  return -1;
}

/* The value of cookie @name in the request's Cookie fields, or NULL. */
static const char *
find_cookie (PorticoRequest *r, const char *name, gsize *len)
{
  gsize name_len = strlen (name);
  for (int at = portico_header_table_find (&r->req_headers, "cookie", 6, 0); at >= 0;
       at = portico_header_table_find (&r->req_headers, "cookie", 6, (guint) at + 1))
    {
      const char *p = r->req_headers.v[at].value, *end = p + r->req_headers.v[at].value_len;
      while (p < end)
        {
          while (p < end && (*p == ' ' || *p == ';'))
            p++;
          const char *pair_end = memchr (p, ';', (gsize) (end - p));
          if (pair_end == NULL)
            pair_end = end;
          const char *eq = memchr (p, '=', (gsize) (pair_end - p));
          if (eq != NULL && (gsize) (eq - p) == name_len && memcmp (p, name, name_len) == 0)
            {
              *len = (gsize) (pair_end - eq - 1);
              return eq + 1;
            }
          p = pair_end;
        }
    }
  return NULL;
}

/* What @on hashes for @x; NULL when the request has no such value. */
static const char *
hash_input (PorticoExchange *x, PorticoHashOn on, const char *header, gsize *len)
{
  PorticoRequest *r = &x->pdk;
  const PorticoUpstream *upstream = x->service->upstream;
  int at;
  switch (on)
    {
    case PORTICO_HASH_CONSUMER:
      if (r->consumer == NULL)
        return NULL;
      {
        const char *id = r->consumer->username != NULL ? r->consumer->username : r->consumer->custom_id;
        *len = id != NULL ? strlen (id) : 0;
        return id;
      }
    case PORTICO_HASH_IP:
      *len = strlen (x->client->peer_ip);
      return x->client->peer_ip;
    case PORTICO_HASH_HEADER:
      at = portico_header_table_find (&r->req_headers, header, strlen (header), 0);
      if (at < 0)
        return NULL;
      *len = r->req_headers.v[at].value_len;
      return r->req_headers.v[at].value;
    case PORTICO_HASH_COOKIE:
      {
        const char *value = find_cookie (r, upstream->hash_on_cookie, len);
        if (value != NULL)
          return value;
        /* No cookie yet: the gateway makes one up and sets it in the
         * answer, so the client's next requests land on the same target. */
        if (x->hash_cookie[0] == '\0') /* a retry keeps the first */
          g_snprintf (x->hash_cookie, sizeof x->hash_cookie, "%08x%08x%08x%08x", g_random_int (),
                      g_random_int (), g_random_int (), g_random_int ());
        *len = strlen (x->hash_cookie);
        return x->hash_cookie;
      }
    case PORTICO_HASH_PATH:
      *len = x->path_len;
      return x->path;
    case PORTICO_HASH_NONE:
    default:
      return NULL;
    }
}

static gint
pick_hashed (PorticoBalancer *b, PorticoExchange *x, const PorticoAddress *avoid)
{
  const PorticoUpstream *upstream = x->service->upstream;
  gsize len = 0;
  const char *key = hash_input (x, upstream->hash_on, upstream->hash_on_header, &len);
  if (key == NULL && upstream->hash_fallback != PORTICO_HASH_NONE)
    key = hash_input (x, upstream->hash_fallback, upstream->hash_fallback_header, &len);
  if (key == NULL)
    return pick_round_robin (b, upstream, avoid);
  return ring_lookup (b, upstream, hash_bytes (key, len, 0), avoid);
}

const PorticoAddress *
portico_balancer_pick (PorticoProxy *proxy, PorticoExchange *x, const PorticoAddress *avoid)
{
  const PorticoUpstream *upstream = x->service->upstream;
  if (upstream == NULL)
    return &x->service->address;
  PorticoBalancer *b = balancer_for (proxy, upstream);
  gint best;
  portico_health_refresh (proxy, upstream); /* once per pick: allowed() reads the cache */
  picking = proxy;
  switch (upstream->lb)
    {
    case PORTICO_LB_LEAST_CONNECTIONS:
      best = pick_lowest (b, upstream, avoid, FALSE);
      break;
    case PORTICO_LB_CONSISTENT_HASHING:
      best = pick_hashed (b, x, avoid);
      break;
    case PORTICO_LB_LATENCY:
      best = pick_lowest (b, upstream, avoid, TRUE);
      break;
    case PORTICO_LB_ROUND_ROBIN:
    default:
      best = pick_round_robin (b, upstream, avoid);
      break;
    }
  picking = NULL;
  x->target_index = best;
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
  x->try_timed_out = FALSE;
  if (upstream == NULL)
    return;
  gint i = x->target_index; /* set by the pick of this try */
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
  gint i = x->target_index; /* set by the pick of this try */
  if (i < 0)
    return;
  PorticoBalancer *b = balancer_for (proxy, upstream);
  gint64 now = g_get_monotonic_time ();
  double sample = (double) (now - x->try_start_us), before = ewma_now (b, (guint) i, now);
  b->ewma_us[i] = before == 0 ? sample : before + EWMA_ALPHA * (sample - before);
  b->ewma_at[i] = now;
  portico_health_report (upstream, (guint) i, FALSE, PORTICO_HEALTH_ANSWERED, (guint) x->resp.status);
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
  gint i = x->target_index; /* set by the pick of this try */
  if (i < 0)
    return;
  PorticoBalancer *b = balancer_for (proxy, upstream);
  if (b->active[i] > 0)
    b->active[i]--;
  if (failed)
    portico_health_report (upstream, (guint) i, FALSE,
                           x->try_timed_out ? PORTICO_HEALTH_TIMEOUT : PORTICO_HEALTH_TCP_FAILURE, 0);
}
