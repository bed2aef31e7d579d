/* test-rate-limiting.c: the rate-limiting module's logic without a gateway:
 * windows, Kong's config checks, who a request counts against, the header
 * values, the per-worker counter table and the shared keys. */
#include <string.h>

#include "rate-limiting-logic.h"

/* 2024-01-01T00:00:00Z, a UTC midnight. */
#define MIDNIGHT_MS G_GINT64_CONSTANT (1704067200000)
#define N RATE_LIMITING_N_PERIODS

static void
test_window_start (void)
{
  g_test_summary ("Windows are the clock truncated to the period: UTC seconds, minutes, hours, days.");
  gint64 now = MIDNIGHT_MS + ((5 * 3600 + 7 * 60 + 42) * 1000) + 750; /* 05:07:42.750 */
  g_assert_cmpint (rate_limiting_window_start (now, RATE_LIMITING_SECOND), ==, MIDNIGHT_MS / 1000 + 5 * 3600 + 7 * 60 + 42);
  g_assert_cmpint (rate_limiting_window_start (now, RATE_LIMITING_MINUTE), ==, MIDNIGHT_MS / 1000 + 5 * 3600 + 7 * 60);
  g_assert_cmpint (rate_limiting_window_start (now, RATE_LIMITING_HOUR), ==, MIDNIGHT_MS / 1000 + 5 * 3600);
  g_assert_cmpint (rate_limiting_window_start (now, RATE_LIMITING_DAY), ==, MIDNIGHT_MS / 1000);
  /* The last millisecond of a day is still in it; the next is a new one. */
  g_assert_cmpint (rate_limiting_window_start (MIDNIGHT_MS - 1, RATE_LIMITING_DAY), ==, MIDNIGHT_MS / 1000 - 86400);
  g_assert_cmpint (rate_limiting_window_start (MIDNIGHT_MS, RATE_LIMITING_DAY), ==, MIDNIGHT_MS / 1000);
}

static void
test_reset (void)
{
  g_test_summary ("RateLimit-Reset is the whole seconds left in the window, at least 1; a shared "
                  "key lives exactly until its window ends.");
  gint64 now = MIDNIGHT_MS + 10500; /* 00:00:10.500 */
  g_assert_cmpint (rate_limiting_reset (now, RATE_LIMITING_SECOND), ==, 1);
  g_assert_cmpint (rate_limiting_reset (now, RATE_LIMITING_MINUTE), ==, 50);
  g_assert_cmpint (rate_limiting_reset (now, RATE_LIMITING_HOUR), ==, 3590);
  g_assert_cmpint (rate_limiting_reset (now, RATE_LIMITING_DAY), ==, 86390);
  g_assert_cmpint (rate_limiting_reset (MIDNIGHT_MS + 59999, RATE_LIMITING_MINUTE), ==, 1);
  g_assert_cmpint (rate_limiting_reset (MIDNIGHT_MS, RATE_LIMITING_MINUTE), ==, 60);

  g_assert_cmpuint (rate_limiting_window_left_ms (now, RATE_LIMITING_SECOND), ==, 500);
  g_assert_cmpuint (rate_limiting_window_left_ms (now, RATE_LIMITING_MINUTE), ==, 49500);
  g_assert_cmpuint (rate_limiting_window_left_ms (MIDNIGHT_MS, RATE_LIMITING_DAY), ==, 86400000);
}

static void
test_check_limits (void)
{
  g_test_summary ("Kong's config rules: at least one limit, and a longer period never allows fewer "
                  "requests than a shorter one (equal is fine).");
  gint64 none[N] = { 0 };
  gint64 ok[N] = { 5, 5, 100, 0 };
  gint64 bad[N] = { 10, 5, 0, 0 };
  gint64 bad_far[N] = { 0, 100, 0, 50 };
  g_autoptr (GError) e1 = NULL, e2 = NULL, e3 = NULL;

  g_assert_true (rate_limiting_check_limits (ok, NULL));
  g_assert_false (rate_limiting_check_limits (none, &e1));
  g_assert_cmpstr (e1->message, ==, "at least one of these fields must be non-empty: 'second', 'minute', 'hour', 'day'");
  g_assert_false (rate_limiting_check_limits (bad, &e2));
  g_assert_cmpstr (e2->message, ==, "The limit for minute(5) cannot be lower than the limit for second(10)");
  g_assert_false (rate_limiting_check_limits (bad_far, &e3));
  g_assert_cmpstr (e3->message, ==, "The limit for day(50) cannot be lower than the limit for minute(100)");
}

static void
test_limit_by_parse (void)
{
  RateLimitingLimitBy by;
  g_assert_true (rate_limiting_limit_by_parse ("header", &by));
  g_assert_cmpint (by, ==, RATE_LIMITING_BY_HEADER);
  g_assert_true (rate_limiting_limit_by_parse ("consumer", &by));
  g_assert_cmpint (by, ==, RATE_LIMITING_BY_CONSUMER);
  g_assert_false (rate_limiting_limit_by_parse ("cluster", &by));
  g_assert_false (rate_limiting_limit_by_parse (NULL, &by));
}

static void
test_identifier (void)
{
  g_test_summary ("Who a request counts against, and Kong's fallback to the client IP when the "
                  "consumer, credential, service or header is missing or the path differs.");
  RateLimitingFacts all = { .consumer_id = "alice", .credential = "key-1", .service = "orders",
                            .header_value = "tenant-7", .path = "/orders", .client_ip = "10.0.0.1" };
  RateLimitingFacts bare = { .path = "/other", .client_ip = "10.0.0.2" };
  RateLimitingFacts credential_only = { .credential = "key-2", .client_ip = "10.0.0.3" };

  g_assert_cmpstr (rate_limiting_identifier (RATE_LIMITING_BY_CONSUMER, NULL, &all), ==, "alice");
  g_assert_cmpstr (rate_limiting_identifier (RATE_LIMITING_BY_CONSUMER, NULL, &credential_only), ==, "key-2");
  g_assert_cmpstr (rate_limiting_identifier (RATE_LIMITING_BY_CONSUMER, NULL, &bare), ==, "10.0.0.2");
  g_assert_cmpstr (rate_limiting_identifier (RATE_LIMITING_BY_CREDENTIAL, NULL, &all), ==, "key-1");
  g_assert_cmpstr (rate_limiting_identifier (RATE_LIMITING_BY_CREDENTIAL, NULL, &bare), ==, "10.0.0.2");
  g_assert_cmpstr (rate_limiting_identifier (RATE_LIMITING_BY_IP, NULL, &all), ==, "10.0.0.1");
  g_assert_cmpstr (rate_limiting_identifier (RATE_LIMITING_BY_SERVICE, NULL, &all), ==, "orders");
  g_assert_cmpstr (rate_limiting_identifier (RATE_LIMITING_BY_SERVICE, NULL, &bare), ==, "10.0.0.2");
  g_assert_cmpstr (rate_limiting_identifier (RATE_LIMITING_BY_HEADER, NULL, &all), ==, "tenant-7");
  g_assert_cmpstr (rate_limiting_identifier (RATE_LIMITING_BY_HEADER, NULL, &bare), ==, "10.0.0.2");
  g_assert_cmpstr (rate_limiting_identifier (RATE_LIMITING_BY_PATH, "/orders", &all), ==, "/orders");
  g_assert_cmpstr (rate_limiting_identifier (RATE_LIMITING_BY_PATH, "/orders", &bare), ==, "10.0.0.2");
  /* Exactly the path: a longer one is another path. */
  RateLimitingFacts longer = { .path = "/orders/1", .client_ip = "10.0.0.4" };
  g_assert_cmpstr (rate_limiting_identifier (RATE_LIMITING_BY_PATH, "/orders", &longer), ==, "10.0.0.4");
}

static void
test_verdict_headers (void)
{
  g_test_summary ("Header values as Kong computes them: each period's remaining count after this "
                  "request, RateLimit-* for the period with the fewest left, and the refusal once a "
                  "period's count reached its limit.");
  gint64 now = MIDNIGHT_MS + 10500;
  gint64 limits[N] = { 0, 5, 100, 0 };
  RateLimitingVerdict v;

  /* First request of both windows. */
  gint64 first[N] = { 0, 0, 0, 0 };
  rate_limiting_evaluate (limits, first, now, &v);
  g_assert_cmpint (v.stop, ==, -1);
  g_assert_cmpint (v.remaining[RATE_LIMITING_MINUTE], ==, 4);
  g_assert_cmpint (v.remaining[RATE_LIMITING_HOUR], ==, 99);
  g_assert_cmpint (v.chosen, ==, RATE_LIMITING_MINUTE);
  g_assert_cmpint (v.limit, ==, 5);
  g_assert_cmpint (v.left, ==, 4);
  g_assert_cmpint (v.reset, ==, 50);

  /* The fifth: allowed, nothing left. */
  gint64 fifth[N] = { 0, 4, 4, 0 };
  rate_limiting_evaluate (limits, fifth, now, &v);
  g_assert_cmpint (v.stop, ==, -1);
  g_assert_cmpint (v.remaining[RATE_LIMITING_MINUTE], ==, 0);
  g_assert_cmpint (v.left, ==, 0);

  /* The sixth: refused by the minute; the hour does not count it. */
  gint64 sixth[N] = { 0, 5, 5, 0 };
  rate_limiting_evaluate (limits, sixth, now, &v);
  g_assert_cmpint (v.stop, ==, RATE_LIMITING_MINUTE);
  g_assert_cmpint (v.remaining[RATE_LIMITING_MINUTE], ==, 0);
  g_assert_cmpint (v.remaining[RATE_LIMITING_HOUR], ==, 95);
  g_assert_cmpint (v.chosen, ==, RATE_LIMITING_MINUTE);
  g_assert_cmpint (v.reset, ==, 50);

  /* A tie goes to the longer window (its Reset is the longer wait). */
  gint64 tied_limits[N] = { 3, 3, 0, 0 };
  gint64 tied[N] = { 3, 3, 0, 0 };
  rate_limiting_evaluate (tied_limits, tied, now, &v);
  g_assert_cmpint (v.stop, >=, 0);
  g_assert_cmpint (v.chosen, ==, RATE_LIMITING_MINUTE);
  g_assert_cmpint (v.limit, ==, 3);
  g_assert_cmpint (v.left, ==, 0);
  g_assert_cmpint (v.reset, ==, 50);
}

static void
test_counters_windows (void)
{
  g_test_summary ("The local counter table counts per identifier and period, starts a new window "
                  "at 0, and takes a delta back (a refused request is not counted).");
  RateLimitingCounters *c = rate_limiting_counters_new (16);
  gint64 limits[N] = { 2, 10, 0, 0 };
  gint64 usage[N];
  gint64 now = MIDNIGHT_MS + 500;

  for (int i = 1; i <= 3; i++)
    {
      g_assert_true (rate_limiting_counters_add (c, "10.0.0.1", limits, now, 1, usage));
      g_assert_cmpint (usage[RATE_LIMITING_SECOND], ==, i);
      g_assert_cmpint (usage[RATE_LIMITING_MINUTE], ==, i);
      g_assert_cmpint (usage[RATE_LIMITING_HOUR], ==, 0);
    }
  g_assert_true (rate_limiting_counters_add (c, "10.0.0.1", limits, now, -1, usage));
  g_assert_cmpint (usage[RATE_LIMITING_SECOND], ==, 2);
  /* Another identifier has its own counts. */
  g_assert_true (rate_limiting_counters_add (c, "10.0.0.2", limits, now, 1, usage));
  g_assert_cmpint (usage[RATE_LIMITING_SECOND], ==, 1);
  /* The next second: the second's count starts over, the minute's goes on. */
  g_assert_true (rate_limiting_counters_add (c, "10.0.0.1", limits, now + 1000, 1, usage));
  g_assert_cmpint (usage[RATE_LIMITING_SECOND], ==, 1);
  g_assert_cmpint (usage[RATE_LIMITING_MINUTE], ==, 3);
  g_assert_cmpuint (rate_limiting_counters_size (c), ==, 2);
  rate_limiting_counters_free (c);
}

static void
test_counters_expiry (void)
{
  g_test_summary ("Identifiers whose windows have all ended are dropped, and a full table makes "
                  "room from ended windows before it refuses a new identifier.");
  RateLimitingCounters *c = rate_limiting_counters_new (2);
  gint64 limits[N] = { 1, 5, 0, 0 };
  gint64 usage[N];
  gint64 now = MIDNIGHT_MS + 100;

  g_assert_true (rate_limiting_counters_add (c, "a", limits, now, 1, usage));
  g_assert_true (rate_limiting_counters_add (c, "b", limits, now + 30000, 1, usage));
  /* Full of live identifiers: refused. */
  g_assert_false (rate_limiting_counters_add (c, "c", limits, now + 30000, 1, usage));
  g_assert_cmpuint (rate_limiting_counters_size (c), ==, 2);
  /* The minute ended: both go; a sweep happens by itself when full. */
  rate_limiting_counters_expire (c, MIDNIGHT_MS + 59999);
  g_assert_cmpuint (rate_limiting_counters_size (c), ==, 2);
  g_assert_true (rate_limiting_counters_add (c, "c", limits, MIDNIGHT_MS + 60000, 1, usage));
  g_assert_cmpuint (rate_limiting_counters_size (c), ==, 1);
  g_assert_cmpint (usage[RATE_LIMITING_MINUTE], ==, 1);
  rate_limiting_counters_free (c);
}

static void
test_counters_sweep_interval (void)
{
  g_test_summary ("Adding sweeps ended identifiers at most once a second, so a busy worker does "
                  "not walk its table on every request, and stale ones do not pile up.");
  RateLimitingCounters *c = rate_limiting_counters_new (100);
  gint64 limits[N] = { 1, 0, 0, 0 };
  gint64 usage[N];
  char name[16];
  for (int i = 0; i < 10; i++)
    {
      g_snprintf (name, sizeof name, "ip-%d", i);
      g_assert_true (rate_limiting_counters_add (c, name, limits, MIDNIGHT_MS + i, 1, usage));
    }
  g_assert_cmpuint (rate_limiting_counters_size (c), ==, 10);
  /* Two seconds later: the first add sweeps the ten ended ones. */
  g_assert_true (rate_limiting_counters_add (c, "late", limits, MIDNIGHT_MS + 2000, 1, usage));
  g_assert_cmpuint (rate_limiting_counters_size (c), ==, 1);
  rate_limiting_counters_free (c);
}

static void
test_shared_key (void)
{
  g_test_summary ("Shared keys fit the dictionary (< 96 bytes) whatever the identifier: short "
                  "printable ones as they are, others as a fixed-length digest; every part that "
                  "tells counters apart is in the key.");
  char k1[RATE_LIMITING_KEY_SIZE], k2[RATE_LIMITING_KEY_SIZE], k3[RATE_LIMITING_KEY_SIZE];
  gint64 start = MIDNIGHT_MS / 1000;

  rate_limiting_shared_key (k1, 3, RATE_LIMITING_MINUTE, start, "127.0.0.1");
  g_assert_cmpstr (k1, ==, "rl:3:m:1704067200:=127.0.0.1");

  g_autofree char *long_value = g_strnfill (5000, 'x');
  rate_limiting_shared_key (k2, G_MAXUINT, RATE_LIMITING_DAY, start, long_value);
  g_assert_cmpuint (strlen (k2), <, 96);
  g_assert_true (g_str_has_prefix (k2, "rl:4294967295:d:1704067200:#"));
  g_assert_cmpuint (strlen (strchr (k2, '#') + 1), ==, 32);
  /* One byte more is another digest. */
  long_value[4999] = 'y';
  rate_limiting_shared_key (k3, G_MAXUINT, RATE_LIMITING_DAY, start, long_value);
  g_assert_cmpstr (k2, !=, k3);

  /* Spaces or control bytes are hashed too, and a raw value never looks like a digest. */
  rate_limiting_shared_key (k1, 0, RATE_LIMITING_SECOND, start, "a b");
  g_assert_nonnull (strchr (k1, '#'));
  rate_limiting_shared_key (k1, 0, RATE_LIMITING_SECOND, start, "#abc");
  g_assert_cmpstr (k1, ==, "rl:0:s:1704067200:=#abc");
  /* Other instances, periods and windows are other keys. */
  rate_limiting_shared_key (k2, 1, RATE_LIMITING_SECOND, start, "#abc");
  rate_limiting_shared_key (k3, 0, RATE_LIMITING_SECOND, start + 1, "#abc");
  g_assert_cmpstr (k1, !=, k2);
  g_assert_cmpstr (k1, !=, k3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/rate-limiting/window/start", test_window_start);
  g_test_add_func ("/modules/rate-limiting/window/reset", test_reset);
  g_test_add_func ("/modules/rate-limiting/config/limits", test_check_limits);
  g_test_add_func ("/modules/rate-limiting/config/limit-by", test_limit_by_parse);
  g_test_add_func ("/modules/rate-limiting/identifier", test_identifier);
  g_test_add_func ("/modules/rate-limiting/verdict/headers", test_verdict_headers);
  g_test_add_func ("/modules/rate-limiting/local/windows", test_counters_windows);
  g_test_add_func ("/modules/rate-limiting/local/expiry", test_counters_expiry);
  g_test_add_func ("/modules/rate-limiting/local/sweep-interval", test_counters_sweep_interval);
  g_test_add_func ("/modules/rate-limiting/shared/key", test_shared_key);
  return g_test_run ();
}
