/* rate-limiting-logic.c: windows, identifiers, verdicts and counters (see
 * rate-limiting-logic.h). Nothing here touches a request or a socket. */
#include "rate-limiting-logic.h"

#include <string.h>
#include <gio/gio.h>
#include <openssl/sha.h>

const char *const rate_limiting_period_names[RATE_LIMITING_N_PERIODS] = {
  "second", "minute", "hour", "day",
};

const char *const rate_limiting_limit_headers[RATE_LIMITING_N_PERIODS] = {
  "X-RateLimit-Limit-Second", "X-RateLimit-Limit-Minute", "X-RateLimit-Limit-Hour", "X-RateLimit-Limit-Day",
};

const char *const rate_limiting_remaining_headers[RATE_LIMITING_N_PERIODS] = {
  "X-RateLimit-Remaining-Second", "X-RateLimit-Remaining-Minute", "X-RateLimit-Remaining-Hour",
  "X-RateLimit-Remaining-Day",
};

const char *const rate_limiting_limit_by_names[] = {
  "consumer", "credential", "ip", "service", "header", "path", NULL,
};

static const gint64 period_seconds[RATE_LIMITING_N_PERIODS] = { 1, 60, 3600, 86400 };

gint64
rate_limiting_period_seconds (RateLimitingPeriod period)
{
  return period_seconds[period];
}

gint64
rate_limiting_window_start (gint64 now_ms, RateLimitingPeriod period)
{
  /* The epoch starts at UTC midnight, so truncating Unix time to a day
   * gives UTC days, as Kong's timestamps do. */
  gint64 now_s = now_ms / 1000;
  return now_s - now_s % period_seconds[period];
}

gint64
rate_limiting_reset (gint64 now_ms, RateLimitingPeriod period)
{
  gint64 elapsed_s = (now_ms - rate_limiting_window_start (now_ms, period) * 1000) / 1000;
  return MAX (1, period_seconds[period] - elapsed_s);
}

guint
rate_limiting_window_left_ms (gint64 now_ms, RateLimitingPeriod period)
{
  gint64 end_ms = (rate_limiting_window_start (now_ms, period) + period_seconds[period]) * 1000;
  return (guint) MAX (1, end_ms - now_ms);
}

gboolean
rate_limiting_check_limits (const gint64 limits[RATE_LIMITING_N_PERIODS], GError **error)
{
  gboolean any = FALSE;
  for (int lower = 0; lower < RATE_LIMITING_N_PERIODS; lower++)
    {
      if (limits[lower] <= 0)
        continue;
      any = TRUE;
      for (int upper = lower + 1; upper < RATE_LIMITING_N_PERIODS; upper++)
        if (limits[upper] > 0 && limits[upper] < limits[lower])
          {
            g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                         "The limit for %s(%" G_GINT64_FORMAT ") cannot be lower than the limit for %s(%"
                         G_GINT64_FORMAT ")",
                         rate_limiting_period_names[upper], limits[upper], rate_limiting_period_names[lower],
                         limits[lower]);
            return FALSE;
          }
    }
  if (!any)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "at least one of these fields must be non-empty: 'second', 'minute', 'hour', 'day'");
      return FALSE;
    }
  return TRUE;
}

gboolean
rate_limiting_limit_by_parse (const char *name, RateLimitingLimitBy *out)
{
  for (int i = 0; name != NULL && rate_limiting_limit_by_names[i] != NULL; i++)
    if (strcmp (name, rate_limiting_limit_by_names[i]) == 0)
      {
        *out = (RateLimitingLimitBy) i;
        return TRUE;
      }
  return FALSE;
}

const char *
rate_limiting_identifier (RateLimitingLimitBy by, const char *conf_path, const RateLimitingFacts *facts)
{
  const char *id = NULL;
  switch (by)
    {
    case RATE_LIMITING_BY_CONSUMER:
      id = facts->consumer_id != NULL ? facts->consumer_id : facts->credential;
      break;
    case RATE_LIMITING_BY_CREDENTIAL:
      id = facts->credential;
      break;
    case RATE_LIMITING_BY_SERVICE:
      id = facts->service;
      break;
    case RATE_LIMITING_BY_HEADER:
      id = facts->header_value;
      break;
    case RATE_LIMITING_BY_PATH:
      if (facts->path != NULL && conf_path != NULL && strcmp (facts->path, conf_path) == 0)
        id = facts->path;
      break;
    case RATE_LIMITING_BY_IP:
    default:
      break;
    }
  return id != NULL ? id : facts->client_ip;
}

void
rate_limiting_evaluate (const gint64 limits[RATE_LIMITING_N_PERIODS], const gint64 usage[RATE_LIMITING_N_PERIODS],
                        gint64 now_ms, RateLimitingVerdict *out)
{
  out->stop = -1;
  out->chosen = -1;
  out->limit = out->left = out->reset = 0;
  for (int p = 0; p < RATE_LIMITING_N_PERIODS; p++)
    {
      out->remaining[p] = 0;
      if (limits[p] > 0 && limits[p] - usage[p] <= 0)
        out->stop = p;
    }
  /* Ascending periods: on equal remaining counts the later (longer) one
   * wins, as Kong prefers the longer window. */
  for (int p = 0; p < RATE_LIMITING_N_PERIODS; p++)
    {
      if (limits[p] <= 0)
        continue;
      gint64 remaining = limits[p] - usage[p];
      /* This request uses one more, unless another period refuses it. */
      if (out->stop < 0 || out->stop == p)
        remaining--;
      remaining = MAX (0, remaining);
      out->remaining[p] = remaining;
      if (out->chosen < 0 || remaining <= out->left)
        {
          out->chosen = p;
          out->limit = limits[p];
          out->left = remaining;
          out->reset = rate_limiting_reset (now_ms, (RateLimitingPeriod) p);
        }
    }
}

/* ---- the local counters ------------------------------------------------------ */

typedef struct {
  gint64 start[RATE_LIMITING_N_PERIODS]; /* the window each count is for (Unix s) */
  gint64 count[RATE_LIMITING_N_PERIODS];
  gint64 end_ms; /* when the last of its windows ends */
  char ident[];  /* the table's key */
} Entry;

struct _RateLimitingCounters {
  GHashTable *entries; /* ident (in the Entry) -> Entry, owned */
  guint max_entries;
  gint64 next_sweep_ms;
};

/* Sweeping costs a walk of the table: at most once a second, or when full. */
#define SWEEP_INTERVAL_MS 1000

RateLimitingCounters *
rate_limiting_counters_new (guint max_entries)
{
  RateLimitingCounters *c = g_new0 (RateLimitingCounters, 1);
  c->entries = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  c->max_entries = max_entries;
  return c;
}

void
rate_limiting_counters_free (RateLimitingCounters *counters)
{
  if (counters == NULL)
    return;
  g_hash_table_destroy (counters->entries);
  g_free (counters);
}

static gboolean
entry_ended (gpointer key, gpointer value, gpointer now_ms)
{
  return ((Entry *) value)->end_ms <= *(gint64 *) now_ms;
}

void
rate_limiting_counters_expire (RateLimitingCounters *counters, gint64 now_ms)
{
  g_hash_table_foreach_remove (counters->entries, entry_ended, &now_ms);
  counters->next_sweep_ms = now_ms + SWEEP_INTERVAL_MS;
}

guint
rate_limiting_counters_size (RateLimitingCounters *counters)
{
  return g_hash_table_size (counters->entries);
}

gboolean
rate_limiting_counters_add (RateLimitingCounters *counters, const char *ident,
                            const gint64 limits[RATE_LIMITING_N_PERIODS], gint64 now_ms, gint64 delta,
                            gint64 usage[RATE_LIMITING_N_PERIODS])
{
  if (now_ms >= counters->next_sweep_ms)
    rate_limiting_counters_expire (counters, now_ms);
  Entry *e = g_hash_table_lookup (counters->entries, ident);
  if (e == NULL)
    {
      if (g_hash_table_size (counters->entries) >= counters->max_entries)
        {
          rate_limiting_counters_expire (counters, now_ms);
          if (g_hash_table_size (counters->entries) >= counters->max_entries)
            return FALSE;
        }
      gsize len = strlen (ident);
      e = g_malloc0 (sizeof (Entry) + len + 1);
      memcpy (e->ident, ident, len + 1);
      g_hash_table_insert (counters->entries, e->ident, e);
    }
  for (int p = 0; p < RATE_LIMITING_N_PERIODS; p++)
    {
      usage[p] = 0;
      if (limits[p] <= 0)
        continue;
      gint64 start = rate_limiting_window_start (now_ms, (RateLimitingPeriod) p);
      if (e->start[p] != start)
        {
          e->start[p] = start;
          e->count[p] = 0;
        }
      e->count[p] += delta;
      usage[p] = e->count[p];
      e->end_ms = MAX (e->end_ms, (start + period_seconds[p]) * 1000);
    }
  return TRUE;
}

/* ---- the shared dictionary's keys --------------------------------------------- */

/* Longer identifiers (header values, consumer ids) become a digest. */
#define RAW_IDENT_MAX 40
#define DIGEST_BYTES 16

static gboolean
ident_is_raw (const char *ident)
{
  gsize i = 0;
  for (; ident[i] != '\0'; i++)
    if (i >= RAW_IDENT_MAX || ident[i] <= ' ' || ident[i] > '~')
      return FALSE;
  return TRUE;
}

void
rate_limiting_shared_key (char buf[RATE_LIMITING_KEY_SIZE], guint instance, RateLimitingPeriod period,
                          gint64 window_start, const char *ident)
{
  int n = g_snprintf (buf, RATE_LIMITING_KEY_SIZE, "rl:%u:%c:%" G_GINT64_FORMAT ":", instance,
                      rate_limiting_period_names[period][0], window_start);
  if (ident_is_raw (ident))
    {
      /* '=' and '#' keep a raw identifier apart from a digest. */
      g_snprintf (buf + n, RATE_LIMITING_KEY_SIZE - n, "=%s", ident);
      return;
    }
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256 ((const unsigned char *) ident, strlen (ident), md);
  char *out = buf + n;
  *out++ = '#';
  for (int i = 0; i < DIGEST_BYTES; i++)
    {
      *out++ = "0123456789abcdef"[md[i] >> 4];
      *out++ = "0123456789abcdef"[md[i] & 15];
    }
  *out = '\0';
}
