/* rate-limiting-logic.h: the socket-free part of the rate-limiting module:
 * fixed windows on the clock, who a request counts against, Kong's header
 * values, the per-worker counter table and the shared dictionary's keys.
 * The unit tests drive these directly; rate-limiting.c wires them to the
 * PDK. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  RATE_LIMITING_SECOND = 0,
  RATE_LIMITING_MINUTE,
  RATE_LIMITING_HOUR,
  RATE_LIMITING_DAY,
  RATE_LIMITING_N_PERIODS,
} RateLimitingPeriod;

/* "second", "minute", ... (the config keys). */
extern const char *const rate_limiting_period_names[RATE_LIMITING_N_PERIODS];
/* X-RateLimit-Limit-Second, ... and X-RateLimit-Remaining-Second, ... */
extern const char *const rate_limiting_limit_headers[RATE_LIMITING_N_PERIODS];
extern const char *const rate_limiting_remaining_headers[RATE_LIMITING_N_PERIODS];

gint64 rate_limiting_period_seconds (RateLimitingPeriod period);
/* The start (Unix seconds) of the window holding @now_ms: @now truncated to
 * the period, so windows are aligned on the UTC clock as Kong's are. */
gint64 rate_limiting_window_start (gint64 now_ms, RateLimitingPeriod period);
/* Whole seconds until that window ends, at least 1 (Kong's RateLimit-Reset). */
gint64 rate_limiting_reset (gint64 now_ms, RateLimitingPeriod period);
/* Milliseconds until that window ends, at least 1 (a shared key's ttl). */
guint rate_limiting_window_left_ms (gint64 now_ms, RateLimitingPeriod period);

/* Checks Kong's rules on a set of limits (0: period not configured): at
 * least one, and a longer period never allows fewer requests than a
 * shorter one. */
gboolean rate_limiting_check_limits (const gint64 limits[RATE_LIMITING_N_PERIODS], GError **error);

typedef enum {
  RATE_LIMITING_BY_CONSUMER = 0,
  RATE_LIMITING_BY_CREDENTIAL,
  RATE_LIMITING_BY_IP,
  RATE_LIMITING_BY_SERVICE,
  RATE_LIMITING_BY_HEADER,
  RATE_LIMITING_BY_PATH,
} RateLimitingLimitBy;

/* The config's limit_by values, in the enum's order, NULL-terminated. */
extern const char *const rate_limiting_limit_by_names[];
/* FALSE for an unknown name. */
gboolean rate_limiting_limit_by_parse (const char *name, RateLimitingLimitBy *out);

/* What the request says about its sender; NULL where it says nothing. */
typedef struct {
  const char *consumer_id;
  const char *credential;
  const char *service;
  const char *header_value; /* the config's header_name */
  const char *path;         /* the request's normalized path */
  const char *client_ip;
} RateLimitingFacts;

/* Who the request counts against. Like Kong, a missing consumer,
 * credential, service or header, or a path other than @conf_path, falls
 * back to the client's IP. */
const char *rate_limiting_identifier (RateLimitingLimitBy by, const char *conf_path, const RateLimitingFacts *facts);

/* What to answer, from each period's count before this request. */
typedef struct {
  gint64 remaining[RATE_LIMITING_N_PERIODS]; /* X-RateLimit-Remaining-* */
  int stop;                                  /* the period that refuses it, -1: none */
  int chosen;                                /* the period of RateLimit-*, -1: no limits */
  gint64 limit, left, reset;                 /* RateLimit-Limit, -Remaining, -Reset */
} RateLimitingVerdict;

/* Kong's rules: a period refuses once its count reached its limit; each
 * remaining count includes this request unless another period refuses
 * it; RateLimit-* describe the period with the fewest left (the longer on
 * a tie). @limits[p] == 0: not configured. */
void rate_limiting_evaluate (const gint64 limits[RATE_LIMITING_N_PERIODS],
                             const gint64 usage[RATE_LIMITING_N_PERIODS], gint64 now_ms,
                             RateLimitingVerdict *out);

/* One worker's counters ("local" policy): for each identifier, a count
 * per period in the current window. An identifier whose windows have all
 * ended is dropped by the next sweep. */
typedef struct _RateLimitingCounters RateLimitingCounters;

/* At most @max_entries identifiers at once. */
RateLimitingCounters *rate_limiting_counters_new (guint max_entries);
void rate_limiting_counters_free (RateLimitingCounters *counters);
/* Adds @delta to @ident's count of each configured period (in the window
 * holding @now_ms; a new window starts at 0) and stores the counts after
 * in @usage. FALSE when the table is full of live identifiers. */
gboolean rate_limiting_counters_add (RateLimitingCounters *counters, const char *ident,
                                     const gint64 limits[RATE_LIMITING_N_PERIODS], gint64 now_ms,
                                     gint64 delta, gint64 usage[RATE_LIMITING_N_PERIODS]);
/* Drops the identifiers whose windows have all ended by @now_ms. */
void rate_limiting_counters_expire (RateLimitingCounters *counters, gint64 now_ms);
guint rate_limiting_counters_size (RateLimitingCounters *counters);

/* The shared dictionary's key bound (portico_shared_incr: at most 95 bytes). */
#define RATE_LIMITING_KEY_SIZE 96

/* The key of @ident's counter for @period's window starting at
 * @window_start, for the plugin instance @instance, in @buf
 * (RATE_LIMITING_KEY_SIZE bytes). An identifier over 40 bytes (or with
 * bytes outside printable ASCII) is replaced by a hex digest of its
 * SHA-256, so any identifier fits. */
void rate_limiting_shared_key (char buf[RATE_LIMITING_KEY_SIZE], guint instance, RateLimitingPeriod period,
                               gint64 window_start, const char *ident);

G_END_DECLS
