/* test-correlation-id.c: the generators' shapes, uniqueness and seeding. */
#include <string.h>
#include <unistd.h>

#include "correlation-id-logic.h"

static gboolean
is_uuid4 (const char *s)
{
  return g_regex_match_simple ("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", s, 0, 0);
}

static void
test_generator_names (void)
{
  CorrelationIdGenerator g;
  g_assert_true (correlation_id_generator_from_string ("uuid", &g));
  g_assert_cmpint (g, ==, CORRELATION_ID_UUID);
  g_assert_true (correlation_id_generator_from_string ("uuid#counter", &g));
  g_assert_cmpint (g, ==, CORRELATION_ID_UUID_COUNTER);
  g_assert_true (correlation_id_generator_from_string ("tracker", &g));
  g_assert_cmpint (g, ==, CORRELATION_ID_TRACKER);
  g_assert_false (correlation_id_generator_from_string ("UUID", &g));
  g_assert_false (correlation_id_generator_from_string ("", &g));
  g_assert_false (correlation_id_generator_from_string (NULL, &g));
}

static void
test_uuid_shape_and_uniqueness (void)
{
  g_test_summary ("uuid: 36 lowercase characters, version 4, variant 10xx, and 100000 in a row "
                  "are all different.");
  CorrelationIdState state = { 0 };
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  char id[CORRELATION_ID_MAX];
  for (int i = 0; i < 100000; i++)
    {
      gsize len = correlation_id_next (&state, CORRELATION_ID_UUID, NULL, id);
      g_assert_cmpuint (len, ==, 36);
      g_assert_cmpuint (strlen (id), ==, 36);
      if (i < 1000)
        g_assert_true (is_uuid4 (id));
      g_assert_true (g_hash_table_add (seen, g_strdup (id)));
    }
  g_assert_true (state.seeded);
}

static void
test_uuid_bits_spread (void)
{
  g_test_summary ("Every random hex digit of a uuid takes all 16 values over a few thousand ids: "
                  "no digit is stuck.");
  CorrelationIdState state = { 0 };
  correlation_id_state_seed_with (&state, 0);
  guint16 seen[36] = { 0 };
  char id[37];
  for (int i = 0; i < 4000; i++)
    {
      correlation_id_uuid (&state, id);
      for (int c = 0; c < 36; c++)
        if (id[c] != '-')
          seen[c] |= 1u << g_ascii_xdigit_value (id[c]);
    }
  for (int c = 0; c < 36; c++)
    {
      if (c == 8 || c == 13 || c == 18 || c == 23)
        g_assert_cmphex (seen[c], ==, 0);
      else if (c == 14) /* the version */
        g_assert_cmphex (seen[c], ==, 1u << 4);
      else if (c == 19) /* the variant: 8, 9, a, b */
        g_assert_cmphex (seen[c], ==, 0x0f00);
      else
        g_assert_cmphex (seen[c], ==, 0xffff);
    }
}

static void
test_uuid_counter (void)
{
  g_test_summary ("uuid#counter: the worker's uuid, \"#\", and a counter that starts at 1 and goes "
                  "up by one; reseeding (a new worker) gives another uuid and starts over.");
  CorrelationIdState state = { 0 };
  correlation_id_state_seed (&state);
  g_assert_true (is_uuid4 (state.worker_uuid));
  char id[CORRELATION_ID_MAX];
  for (guint64 i = 1; i <= 1000; i++)
    {
      gsize len = correlation_id_next (&state, CORRELATION_ID_UUID_COUNTER, NULL, id);
      g_autofree char *want = g_strdup_printf ("%s#%" G_GUINT64_FORMAT, state.worker_uuid, i);
      g_assert_cmpstr (id, ==, want);
      g_assert_cmpuint (len, ==, strlen (want));
    }
  char first_uuid[37];
  memcpy (first_uuid, state.worker_uuid, sizeof first_uuid);
  correlation_id_state_seed (&state);
  g_assert_cmpstr (state.worker_uuid, !=, first_uuid);
  correlation_id_next (&state, CORRELATION_ID_UUID_COUNTER, NULL, id);
  g_assert_true (g_str_has_suffix (id, "#1"));

  g_test_message ("the largest counter still fits");
  state.counter = G_MAXUINT64 - 1;
  gsize len = correlation_id_next (&state, CORRELATION_ID_UUID_COUNTER, NULL, id);
  g_assert_cmpuint (len, ==, 36 + 1 + 20);
  g_assert_true (g_str_has_suffix (id, "#18446744073709551615"));
}

static void
test_seeding (void)
{
  g_test_summary ("The same seed gives the same sequence (the generator is deterministic); two "
                  "seedings from the system give different ones (two workers never share ids).");
  CorrelationIdState a = { 0 }, b = { 0 };
  char ia[37], ib[37];
  correlation_id_state_seed_with (&a, 42);
  correlation_id_state_seed_with (&b, 42);
  g_assert_cmpstr (a.worker_uuid, ==, b.worker_uuid);
  correlation_id_uuid (&a, ia);
  correlation_id_uuid (&b, ib);
  g_assert_cmpstr (ia, ==, ib);

  correlation_id_state_seed_with (&b, 43);
  g_assert_cmpstr (a.worker_uuid, !=, b.worker_uuid);

  correlation_id_state_seed (&a);
  correlation_id_state_seed (&b);
  g_assert_cmpstr (a.worker_uuid, !=, b.worker_uuid);
  g_assert_cmpuint (a.pid, ==, (guint) getpid ());
}

static void
test_tracker (void)
{
  g_test_summary ("tracker: client address, gateway port, pid, client port, request number and "
                  "the time in seconds with milliseconds, dash-separated.");
  CorrelationIdState state = { 0 };
  char id[CORRELATION_ID_MAX];
  CorrelationIdTracker t = {
    .client_ip = "127.0.0.1", .server_port = 8000, .pid = 4242, .client_port = 51234,
    .request_id = 7, .now_us = G_GINT64_CONSTANT (1700000000123456),
  };
  gsize len = correlation_id_next (&state, CORRELATION_ID_TRACKER, &t, id);
  g_assert_cmpstr (id, ==, "127.0.0.1-8000-4242-51234-7-1700000000.123");
  g_assert_cmpuint (len, ==, strlen (id));

  t.now_us = G_GINT64_CONSTANT (1700000000004999);
  t.client_ip = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
  t.request_id = G_MAXUINT64;
  t.server_port = t.client_port = t.pid = G_MAXUINT;
  len = correlation_id_next (&state, CORRELATION_ID_TRACKER, &t, id);
  g_assert_cmpstr (id, ==, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255-4294967295-4294967295-4294967295-"
                           "18446744073709551615-1700000000.004");
  g_assert_cmpuint (len, ==, strlen (id));
  g_assert_cmpuint (len, <, CORRELATION_ID_MAX);
}

static void
test_perf_uuid (void)
{
  g_test_summary ("How long a uuid takes here and with g_uuid_string_random() (run with -m perf).");
  if (!g_test_perf ())
    {
      g_test_skip ("a measurement: run with -m perf");
      return;
    }
  const int n = 1000000;
  CorrelationIdState state = { 0 };
  char id[37];
  gint64 t0 = g_get_monotonic_time ();
  for (int i = 0; i < n; i++)
    correlation_id_uuid (&state, id);
  gint64 t1 = g_get_monotonic_time ();
  for (int i = 0; i < n; i++)
    g_free (g_uuid_string_random ());
  gint64 t2 = g_get_monotonic_time ();
  g_test_minimized_result ((double) (t1 - t0) * 1000 / n, "correlation_id_uuid: %.1f ns",
                           (double) (t1 - t0) * 1000 / n);
  g_test_message ("g_uuid_string_random: %.1f ns", (double) (t2 - t1) * 1000 / n);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/correlation-id/generator-names", test_generator_names);
  g_test_add_func ("/modules/correlation-id/uuid/shape-unique", test_uuid_shape_and_uniqueness);
  g_test_add_func ("/modules/correlation-id/uuid/bits", test_uuid_bits_spread);
  g_test_add_func ("/modules/correlation-id/uuid-counter", test_uuid_counter);
  g_test_add_func ("/modules/correlation-id/seeding", test_seeding);
  g_test_add_func ("/modules/correlation-id/tracker", test_tracker);
  g_test_add_func ("/modules/correlation-id/perf/uuid", test_perf_uuid);
  return g_test_run ();
}
