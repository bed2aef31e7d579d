/* histogram.h: the latency buckets every histogram in Portico shares.
 *
 * Bucket i counts durations of at most 2^i * 100 us; the last bucket counts
 * everything longer. Fixed bounds let a worker count with one increment and
 * let the admin process add up workers bucket by bucket.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PORTICO_HISTOGRAM_N_BUCKETS 16
#define PORTICO_HISTOGRAM_BASE_US 100

/* Which bucket a duration of @us microseconds falls in. */
static inline guint
portico_histogram_bucket (guint64 us)
{
  if (us <= PORTICO_HISTOGRAM_BASE_US)
    return 0;
  /* The smallest i with 2^i >= ceil(us / 100). */
  guint64 q = us / PORTICO_HISTOGRAM_BASE_US + (us % PORTICO_HISTOGRAM_BASE_US != 0);
  guint i = 64 - (guint) __builtin_clzll (q - 1);
  return MIN (i, PORTICO_HISTOGRAM_N_BUCKETS - 1);
}

/* The upper bound of bucket @i in microseconds (G_MAXUINT64 for the last). */
static inline guint64
portico_histogram_bound (guint i)
{
  if (i >= PORTICO_HISTOGRAM_N_BUCKETS - 1)
    return G_MAXUINT64;
  return (guint64) PORTICO_HISTOGRAM_BASE_US << i;
}

G_END_DECLS
