/* test-shm.c: the shared-memory zone across fork(): seqlocked worker slots
 * and header, histogram buckets, and the shared dictionary (exact counts
 * under contention, expiry, tombstones, a process dying with the lock). */
#include <glib.h>
#include <gio/gio.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node/shm.h"
#include "node/shm-private.h"

#define CHILD_TIMEOUT_MS 30000

/* Child exit codes: 0 is success, anything else names what went wrong. */
enum { CHILD_OK = 0, CHILD_BAD_VALUE = 10, CHILD_BAD_RESULT, CHILD_NO_START };

/* Waits for every child, bounded: at the deadline the stragglers are killed
 * (and still reaped). Returns how many exited with status 0; @report logs
 * the others. */
static guint
reap_children_full (const pid_t *pids, guint n, guint timeout_ms, gboolean report)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean *done = g_new0 (gboolean, n);
  guint ok = 0, left = n;
  while (left > 0)
    {
      for (guint i = 0; i < n; i++)
        {
          int status;
          if (done[i] || waitpid (pids[i], &status, WNOHANG) != pids[i])
            continue;
          done[i] = TRUE;
          left--;
          if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
            ok++;
          else if (report)
            g_test_message ("child %d: %s %d", (int) pids[i], WIFEXITED (status) ? "exit" : "signal",
                            WIFEXITED (status) ? WEXITSTATUS (status) : WTERMSIG (status));
        }
      if (left > 0 && g_get_monotonic_time () > end)
        for (guint i = 0; i < n; i++)
          if (!done[i])
            {
              g_test_message ("child %d: killed at the deadline", (int) pids[i]);
              kill (pids[i], SIGKILL);
              waitpid (pids[i], NULL, 0);
              done[i] = TRUE;
              left--;
            }
      if (left > 0)
        g_usleep (1000);
    }
  g_free (done);
  return ok;
}

static guint
reap_children (const pid_t *pids, guint n, guint timeout_ms)
{
  return reap_children_full (pids, n, timeout_ms, TRUE);
}

static pid_t
fork_or_fail (void)
{
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  return pid;
}

/* A pipe as a start line: children block reading it until the parent closes
 * the write end, so they all start hammering at once. */
static gboolean
wait_start (int fds[2])
{
  char c;
  close (fds[1]);
  gboolean ok = read (fds[0], &c, 1) == 0;
  close (fds[0]);
  return ok;
}

/* A small shared page for test control flags (stop, progress). */
static volatile gint *
control_new (void)
{
  void *p = mmap (NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  g_assert_true (p != MAP_FAILED);
  return p;
}

static void
control_free (volatile gint *control)
{
  munmap ((void *) control, 4096);
}

static PorticoShm *
shm_new (guint n_slots, guint capacity)
{
  GError *error = NULL;
  PorticoShm *shm = portico_shm_new (n_slots, capacity, &error);
  g_assert_no_error (error);
  g_assert_nonnull (shm);
  return shm;
}

static void
assert_consistent (PorticoShm *shm, PorticoShdictTestStats *stats)
{
  PorticoShdictTestStats local;
  if (stats == NULL)
    stats = &local;
  portico_shdict_test_stats (shm, stats);
  g_assert_true (stats->consistent);
}

/* --- the zone and its header --- */

static void
test_new (void)
{
  g_test_summary ("The zone is created with its slots and dictionary; impossible sizes are errors.");
  PorticoShm *shm = shm_new (4, 100);
  g_assert_cmpuint (portico_shm_n_slots (shm), ==, 4);
  guint used = 99, capacity = 0;
  portico_shdict_usage (shm, &used, &capacity);
  g_assert_cmpuint (used, ==, 0);
  g_assert_cmpuint (capacity, ==, 100);
  for (guint i = 0; i < 4; i++)
    {
      PorticoShmSlot copy;
      portico_shm_slot_read (shm, i, &copy);
      g_assert_cmpuint (copy.state, ==, PORTICO_WORKER_FREE);
      g_assert_cmpint (copy.pid, ==, 0);
    }
  /* Slots do not overlap each other or the dictionary. */
  PorticoShmSlot *a = portico_shm_slot (shm, 0), *b = portico_shm_slot (shm, 1);
  g_assert_cmpuint ((guintptr) b - (guintptr) a, >=, sizeof (PorticoShmSlot));
  PorticoShmSlot *last = portico_shm_slot (shm, 3);
  memset ((void *) last, 0xff, sizeof *last);
  g_assert_cmpint (portico_shdict_incr (shm, "k", 1, 0, NULL), ==, PORTICO_SHDICT_OK);
  assert_consistent (shm, NULL);
  portico_shm_free (shm);

  GError *error = NULL;
  g_assert_null (portico_shm_new (PORTICO_SHM_MAX_WORKERS + 1, 10, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (portico_shm_new (1, G_MAXUINT, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

static void
test_header_fork (void)
{
  g_test_summary ("Header fields written before fork are seen by the child; those the child writes are "
                  "seen by the parent.");
  PorticoShm *shm = shm_new (2, 16);
  portico_shm_set_master (shm, getpid (), 1234567);
  portico_shm_set_generation (shm, 3);
  portico_shm_count_reload (shm, TRUE, NULL);
  portico_shm_count_reload (shm, FALSE, "services[0].url: not a URL");
  g_assert_cmpuint (portico_shm_reloads (shm), ==, 2);
  g_assert_cmpuint (portico_shm_reload_failures (shm), ==, 1);

  pid_t parent = getpid ();
  pid_t pid = fork_or_fail ();
  if (pid == 0)
    {
      char buf[PORTICO_SHM_ERROR_MAX];
      portico_shm_last_reload_error (shm, buf, sizeof buf);
      if (portico_shm_master_pid (shm) != parent || portico_shm_master_started (shm) != 1234567
          || portico_shm_generation (shm) != 3 || portico_shm_reloads (shm) != 2
          || strcmp (buf, "services[0].url: not a URL") != 0)
        _exit (CHILD_BAD_VALUE);
      /* Now play master: a reload that works, a respawn, a new generation. */
      portico_shm_count_reload (shm, TRUE, NULL);
      portico_shm_count_respawn (shm);
      portico_shm_count_respawn (shm);
      portico_shm_set_generation (shm, 4);
      _exit (CHILD_OK);
    }
  g_assert_cmpuint (reap_children (&pid, 1, CHILD_TIMEOUT_MS), ==, 1);
  g_assert_cmpuint (portico_shm_generation (shm), ==, 4);
  g_assert_cmpuint (portico_shm_reloads (shm), ==, 3);
  g_assert_cmpuint (portico_shm_reload_failures (shm), ==, 1);
  g_assert_cmpuint (portico_shm_respawns (shm), ==, 2);
  char buf[PORTICO_SHM_ERROR_MAX];
  portico_shm_last_reload_error (shm, buf, sizeof buf);
  g_assert_cmpstr (buf, ==, "");
  portico_shm_free (shm);
}

static void
test_header_error_truncate (void)
{
  g_test_summary ("A long reload error is cut at PORTICO_SHM_ERROR_MAX - 1 bytes, never inside a UTF-8 "
                  "character; a small buffer gets a prefix.");
  PorticoShm *shm = shm_new (1, 8);
  GString *long_error = g_string_new ("xy");
  while (long_error->len < 2 * PORTICO_SHM_ERROR_MAX)
    g_string_append (long_error, "\xc3\xa9"); /* é: 2 bytes, at even offsets */
  portico_shm_count_reload (shm, FALSE, long_error->str);
  char buf[PORTICO_SHM_ERROR_MAX];
  portico_shm_last_reload_error (shm, buf, sizeof buf);
  g_assert_cmpuint (strlen (buf), ==, PORTICO_SHM_ERROR_MAX - 2); /* the last é did not fit */
  g_assert_true (g_utf8_validate (buf, -1, NULL));
  g_assert_true (g_str_has_prefix (long_error->str, buf));

  char small[5];
  portico_shm_last_reload_error (shm, small, sizeof small);
  g_assert_cmpstr (small, ==, "xy\xc3\xa9");
  portico_shm_last_reload_error (shm, small, 4);
  g_assert_cmpstr (small, ==, "xy");
  char tiny[1];
  portico_shm_last_reload_error (shm, tiny, sizeof tiny);
  g_assert_cmpstr (tiny, ==, "");
  g_string_free (long_error, TRUE);
  portico_shm_free (shm);
}

/* A reload error made of one repeated letter whose length depends on it, so
 * any mix of two writes shows. */
static void
fill_error (char *buf, guint i)
{
  char c = (char) ('a' + i % 26);
  gsize len = 20 + (i % 26) * 18;
  memset (buf, c, len);
  buf[len] = '\0';
}

static gboolean
error_is_whole (const char *buf)
{
  if (buf[0] == '\0')
    return TRUE;
  char expected[PORTICO_SHM_ERROR_MAX];
  fill_error (expected, (guint) (buf[0] - 'a'));
  return strcmp (buf, expected) == 0;
}

static void
test_header_error_untorn (void)
{
  g_test_summary ("While a forked master rewrites the reload error in a loop, every copy the parent "
                  "takes is one whole message.");
  PorticoShm *shm = shm_new (1, 8);
  volatile gint *control = control_new ();
  pid_t pid = fork_or_fail ();
  if (pid == 0)
    {
      char buf[PORTICO_SHM_ERROR_MAX];
      gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
      for (guint i = 0; !control[0] && g_get_monotonic_time () < end; i++)
        {
          fill_error (buf, i);
          portico_shm_count_reload (shm, FALSE, buf);
          control[1] = 1;
          for (volatile int spin = 0; spin < 200; spin++)
            ;
        }
      _exit (CHILD_OK);
    }
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!control[1] && g_get_monotonic_time () < end)
    g_usleep (100);
  guint torn = 0;
  GHashTable *seen = g_hash_table_new (g_direct_hash, g_direct_equal);
  /* Thousands of reads, and on until the writer got CPU time to move on. */
  end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  for (guint i = 0; i < 20000 || (g_hash_table_size (seen) < 3 && g_get_monotonic_time () < end); i++)
    {
      char buf[PORTICO_SHM_ERROR_MAX];
      portico_shm_last_reload_error (shm, buf, sizeof buf);
      torn += !error_is_whole (buf);
      g_hash_table_add (seen, GINT_TO_POINTER (buf[0]));
    }
  control[0] = 1;
  g_assert_cmpuint (reap_children (&pid, 1, CHILD_TIMEOUT_MS), ==, 1);
  g_assert_cmpuint (torn, ==, 0);
  g_test_message ("%u distinct messages seen", g_hash_table_size (seen));
  g_assert_cmpuint (g_hash_table_size (seen), >, 1);
  g_hash_table_destroy (seen);
  control_free (control);
  portico_shm_free (shm);
}

/* --- worker slots --- */

/* Every counter in the slot gets @v: a copy is whole when they all agree. */
static void
slot_fill (PorticoShmSlot *s, guint64 v)
{
  s->pid = (gint32) v;
  s->generation = (guint32) v;
  s->started_us = (gint64) v;
  s->updated_us = (gint64) v;
  for (guint i = 0; i < PORTICO_SHM_N_CONN_STATES; i++)
    s->connections[i] = (guint32) v;
  s->accepted = s->requests = s->bytes_in = s->bytes_out = v;
  for (guint i = 0; i < G_N_ELEMENTS (s->responses); i++)
    s->responses[i] = v;
  for (guint i = 0; i < PORTICO_SHM_N_BUCKETS; i++)
    s->latency_hist[i] = v;
  for (guint p = 0; p < PORTICO_SHM_N_PHASES; p++)
    for (guint i = 0; i < PORTICO_SHM_N_BUCKETS; i++)
      s->phase_hist[p][i] = v;
  s->timers_fired = v;
  for (guint i = 0; i < PORTICO_SHM_N_OWNERS; i++)
    s->owners[i].fired = s->owners[i].run_us = v;
}

static gboolean
slot_is_whole (const PorticoShmSlot *s)
{
  guint64 v = s->requests;
  gboolean ok = (guint64) s->pid == (guint32) v && s->generation == (guint32) v && (guint64) s->started_us == v
                && (guint64) s->updated_us == v && s->accepted == v && s->bytes_in == v && s->bytes_out == v
                && s->timers_fired == v;
  for (guint i = 0; i < PORTICO_SHM_N_CONN_STATES; i++)
    ok = ok && s->connections[i] == (guint32) v;
  for (guint i = 0; i < G_N_ELEMENTS (s->responses); i++)
    ok = ok && s->responses[i] == v;
  for (guint i = 0; i < PORTICO_SHM_N_BUCKETS; i++)
    ok = ok && s->latency_hist[i] == v;
  for (guint p = 0; p < PORTICO_SHM_N_PHASES; p++)
    for (guint i = 0; i < PORTICO_SHM_N_BUCKETS; i++)
      ok = ok && s->phase_hist[p][i] == v;
  for (guint i = 0; i < PORTICO_SHM_N_OWNERS; i++)
    ok = ok && s->owners[i].fired == v && s->owners[i].run_us == v;
  return ok && !(s->seq & 1);
}

static void
test_slot_fork (void)
{
  g_test_summary ("A forked worker rewrites its slot in a loop with every counter equal; the parent "
                  "reads it thousands of times and never sees a torn copy, nor a neighbour's.");
  PorticoShm *shm = shm_new (3, 8);
  volatile gint *control = control_new ();
  /* The neighbours hold fixed values that must never bleed in. */
  for (guint n = 0; n < 3; n += 2)
    {
      PorticoShmSlot *s = portico_shm_slot (shm, n);
      portico_shm_slot_write_begin (s);
      slot_fill (s, 7);
      portico_shm_slot_write_end (s);
    }
  pid_t pid = fork_or_fail ();
  if (pid == 0)
    {
      PorticoShmSlot *s = portico_shm_slot (shm, 1);
      gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
      for (guint64 v = 1; !control[0] && g_get_monotonic_time () < end; v++)
        {
          portico_shm_slot_write_begin (s);
          slot_fill (s, v);
          portico_shm_slot_write_end (s);
          control[1] = 1;
          /* A worker writes its slot between requests, not back to back. */
          for (volatile int spin = 0; spin < 500; spin++)
            ;
        }
      _exit (CHILD_OK);
    }
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!control[1] && g_get_monotonic_time () < end)
    g_usleep (100);
  guint torn = 0, going_back = 0;
  guint64 first = 0, prev = 0;
  PorticoShmSlot *copy = g_new (PorticoShmSlot, 1);
  /* Thousands of reads, and on until the writer got CPU time to move on. */
  end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  for (guint i = 0; i < 20000 || (prev < first + 100 && g_get_monotonic_time () < end); i++)
    {
      portico_shm_slot_read (shm, 1, copy);
      torn += !slot_is_whole (copy);
      going_back += copy->requests < prev;
      prev = copy->requests;
      if (i == 0)
        first = prev;
      if (i % 1000 == 0)
        for (guint n = 0; n < 3; n += 2)
          {
            portico_shm_slot_read (shm, n, copy);
            torn += !slot_is_whole (copy) || copy->requests != 7;
          }
    }
  control[0] = 1;
  g_assert_cmpuint (reap_children (&pid, 1, CHILD_TIMEOUT_MS), ==, 1);
  g_test_message ("values %" G_GUINT64_FORMAT " .. %" G_GUINT64_FORMAT, first, prev);
  g_assert_cmpuint (torn, ==, 0);
  g_assert_cmpuint (going_back, ==, 0);
  g_assert_cmpuint (prev, >, first);
  g_free (copy);
  control_free (control);
  portico_shm_free (shm);
}

static void
test_slot_dead_writer (void)
{
  g_test_summary ("A worker killed mid-write leaves its sequence odd: reads still return (bounded), and "
                  "the respawned worker's next write makes the slot whole again.");
  PorticoShm *shm = shm_new (1, 8);
  pid_t pid = fork_or_fail ();
  if (pid == 0)
    {
      PorticoShmSlot *s = portico_shm_slot (shm, 0);
      portico_shm_slot_write_begin (s);
      s->requests = 42;
      _exit (CHILD_OK);
    }
  g_assert_cmpuint (reap_children (&pid, 1, CHILD_TIMEOUT_MS), ==, 1);
  PorticoShmSlot copy;
  gint64 start = g_get_monotonic_time ();
  portico_shm_slot_read (shm, 0, &copy);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint (copy.seq & 1, ==, 1);
  g_assert_cmpuint (copy.requests, ==, 42);

  PorticoShmSlot *s = portico_shm_slot (shm, 0);
  guint32 before = s->seq;
  portico_shm_slot_write_begin (s);
  g_assert_cmpuint (s->seq & 1, ==, 1);
  g_assert_cmpuint (s->seq, !=, before);
  slot_fill (s, 5);
  portico_shm_slot_write_end (s);
  portico_shm_slot_read (shm, 0, &copy);
  g_assert_true (slot_is_whole (&copy));
  g_assert_cmpuint (copy.requests, ==, 5);
  portico_shm_free (shm);
}

/* --- histogram --- */

static void
test_buckets (void)
{
  g_test_summary ("Bucket i holds durations up to 2^i * 100 us; the last one everything larger.");
  g_assert_cmpuint (portico_shm_bucket (0), ==, 0);
  g_assert_cmpuint (portico_shm_bucket (100), ==, 0);
  g_assert_cmpuint (portico_shm_bucket (101), ==, 1);
  g_assert_cmpuint (portico_shm_bucket (200), ==, 1);
  g_assert_cmpuint (portico_shm_bucket (201), ==, 2);
  g_assert_cmpuint (portico_shm_bucket (1000), ==, 4); /* 800 < 1000 <= 1600 */
  g_assert_cmpuint (portico_shm_bucket (G_MAXUINT64), ==, PORTICO_SHM_N_BUCKETS - 1);
  g_assert_cmpuint (portico_shm_bucket_bound (0), ==, 100);
  g_assert_cmpuint (portico_shm_bucket_bound (3), ==, 800);
  g_assert_cmpuint (portico_shm_bucket_bound (PORTICO_SHM_N_BUCKETS - 2), ==,
                    100ull << (PORTICO_SHM_N_BUCKETS - 2));
  g_assert_cmpuint (portico_shm_bucket_bound (PORTICO_SHM_N_BUCKETS - 1), ==, G_MAXUINT64);
  g_assert_cmpuint (portico_shm_bucket_bound (1000), ==, G_MAXUINT64);
  /* Every bound lands in its own bucket and one more microsecond in the next. */
  for (guint i = 0; i + 1 < PORTICO_SHM_N_BUCKETS; i++)
    {
      guint64 bound = portico_shm_bucket_bound (i);
      g_assert_cmpuint (portico_shm_bucket (bound), ==, i);
      g_assert_cmpuint (portico_shm_bucket (bound + 1), ==, i + 1);
      g_assert_cmpuint (portico_shm_bucket (bound / 2 + 1), ==, i > 0 ? i : 0);
    }
}

/* --- the dictionary --- */

static void
test_dict_basics (void)
{
  g_test_summary ("incr, get, set and delete on one process, with values and absent keys.");
  PorticoShm *shm = shm_new (1, 64);
  gint64 v = -1, ttl = -1;
  g_assert_false (portico_shdict_get (shm, "a", &v, &ttl));
  g_assert_cmpint (portico_shdict_incr (shm, "a", 5, 0, &v), ==, PORTICO_SHDICT_OK);
  g_assert_cmpint (v, ==, 5);
  g_assert_cmpint (portico_shdict_incr (shm, "a", -7, 0, &v), ==, PORTICO_SHDICT_OK);
  g_assert_cmpint (v, ==, -2);
  g_assert_cmpint (portico_shdict_incr (shm, "a", 0, 0, NULL), ==, PORTICO_SHDICT_OK);
  g_assert_true (portico_shdict_get (shm, "a", &v, &ttl));
  g_assert_cmpint (v, ==, -2);
  g_assert_cmpint (ttl, ==, 0);
  g_assert_true (portico_shdict_get (shm, "a", NULL, NULL));

  g_assert_cmpint (portico_shdict_set (shm, "b", G_MAXINT64, 0), ==, PORTICO_SHDICT_OK);
  g_assert_true (portico_shdict_get (shm, "b", &v, NULL));
  g_assert_cmpint (v, ==, G_MAXINT64);
  g_assert_cmpint (portico_shdict_incr (shm, "b", 1, 0, &v), ==, PORTICO_SHDICT_OK);
  g_assert_cmpint (v, ==, G_MININT64); /* wraps, no undefined behaviour */
  g_assert_cmpint (portico_shdict_set (shm, "b", 9, 0), ==, PORTICO_SHDICT_OK);
  g_assert_true (portico_shdict_get (shm, "b", &v, NULL));
  g_assert_cmpint (v, ==, 9);

  /* Similar keys are distinct keys; the empty key is a key. */
  g_assert_cmpint (portico_shdict_set (shm, "ab", 1, 0), ==, PORTICO_SHDICT_OK);
  g_assert_cmpint (portico_shdict_set (shm, "", 2, 0), ==, PORTICO_SHDICT_OK);
  g_assert_true (portico_shdict_get (shm, "ab", &v, NULL));
  g_assert_cmpint (v, ==, 1);
  g_assert_true (portico_shdict_get (shm, "", &v, NULL));
  g_assert_cmpint (v, ==, 2);

  guint used, capacity;
  portico_shdict_usage (shm, &used, &capacity);
  g_assert_cmpuint (used, ==, 4);
  g_assert_cmpuint (capacity, ==, 64);

  g_assert_true (portico_shdict_delete (shm, "a"));
  g_assert_false (portico_shdict_delete (shm, "a"));
  g_assert_false (portico_shdict_get (shm, "a", &v, NULL));
  g_assert_cmpint (portico_shdict_incr (shm, "a", 1, 0, &v), ==, PORTICO_SHDICT_OK);
  g_assert_cmpint (v, ==, 1); /* a deleted key starts again from 0 */
  portico_shdict_usage (shm, &used, NULL);
  g_assert_cmpuint (used, ==, 4);
  assert_consistent (shm, NULL);
  portico_shm_free (shm);
}

static void
test_dict_ttl (void)
{
  g_test_summary ("A ttl counts down; an expired key is gone and starts again from 0 with a new ttl; "
                  "incr on a live key keeps its expiry; set replaces it.");
  PorticoShm *shm = shm_new (1, 16);
  gint64 v, ttl;
  g_assert_cmpint (portico_shdict_incr (shm, "short", 3, 60, &v), ==, PORTICO_SHDICT_OK);
  g_assert_cmpint (portico_shdict_incr (shm, "long", 1, 60000, &v), ==, PORTICO_SHDICT_OK);
  g_assert_true (portico_shdict_get (shm, "short", &v, &ttl));
  g_assert_cmpint (v, ==, 3);
  g_assert_cmpint (ttl, >, 0);
  g_assert_cmpint (ttl, <=, 60);
  /* incr with another ttl does not move an existing key's expiry */
  g_assert_cmpint (portico_shdict_incr (shm, "long", 1, 5, &v), ==, PORTICO_SHDICT_OK);
  g_assert_true (portico_shdict_get (shm, "long", &v, &ttl));
  g_assert_cmpint (v, ==, 2);
  g_assert_cmpint (ttl, >, 59000);

  g_usleep (150 * 1000);
  g_assert_false (portico_shdict_get (shm, "short", &v, &ttl));
  g_assert_false (portico_shdict_delete (shm, "short")); /* expired counts as missing */
  g_assert_cmpint (portico_shdict_incr (shm, "short", 3, 60, &v), ==, PORTICO_SHDICT_OK);
  g_usleep (150 * 1000);
  guint used;
  portico_shdict_usage (shm, &used, NULL);
  g_assert_cmpuint (used, ==, 1); /* only "long" is live */
  g_assert_cmpint (portico_shdict_incr (shm, "short", 4, 60000, &v), ==, PORTICO_SHDICT_OK);
  g_assert_cmpint (v, ==, 4);
  g_assert_true (portico_shdict_get (shm, "short", NULL, &ttl));
  g_assert_cmpint (ttl, >, 59000);

  /* set replaces the expiry, including with none */
  g_assert_cmpint (portico_shdict_set (shm, "short", 10, 0), ==, PORTICO_SHDICT_OK);
  g_assert_true (portico_shdict_get (shm, "short", &v, &ttl));
  g_assert_cmpint (v, ==, 10);
  g_assert_cmpint (ttl, ==, 0);
  g_assert_cmpint (portico_shdict_set (shm, "short", 11, 40), ==, PORTICO_SHDICT_OK);
  g_assert_true (portico_shdict_get (shm, "short", &v, &ttl));
  g_assert_cmpint (ttl, <=, 40);
  g_usleep (100 * 1000);
  g_assert_false (portico_shdict_get (shm, "short", &v, &ttl));
  assert_consistent (shm, NULL);
  portico_shm_free (shm);
}

static void
test_dict_full (void)
{
  g_test_summary ("With capacity live keys, a new key gets FULL and nothing changes; existing keys "
                  "still count; room comes back by delete or by expiry.");
  enum { CAP = 20 };
  PorticoShm *shm = shm_new (1, CAP);
  char key[32];
  for (guint i = 0; i < CAP; i++)
    {
      g_snprintf (key, sizeof key, "key-%u", i);
      g_assert_cmpint (portico_shdict_incr (shm, key, i, i < 5 ? 50 : 0, NULL), ==, PORTICO_SHDICT_OK);
    }
  gint64 v = 77;
  for (guint i = 0; i < 100; i++)
    {
      g_snprintf (key, sizeof key, "new-%u", i);
      g_assert_cmpint (portico_shdict_incr (shm, key, 1, 0, &v), ==, PORTICO_SHDICT_FULL);
      g_assert_cmpint (portico_shdict_set (shm, key, 1, 0), ==, PORTICO_SHDICT_FULL);
      g_assert_false (portico_shdict_get (shm, key, NULL, NULL));
    }
  g_assert_cmpint (v, ==, 77);
  g_assert_cmpint (portico_shdict_incr (shm, "key-7", 1, 0, &v), ==, PORTICO_SHDICT_OK);
  g_assert_cmpint (v, ==, 8);
  guint used, capacity;
  portico_shdict_usage (shm, &used, &capacity);
  g_assert_cmpuint (used, ==, CAP);
  g_assert_cmpuint (capacity, ==, CAP);
  assert_consistent (shm, NULL);

  g_assert_true (portico_shdict_delete (shm, "key-10"));
  g_assert_cmpint (portico_shdict_incr (shm, "new-0", 1, 0, NULL), ==, PORTICO_SHDICT_OK);
  g_assert_cmpint (portico_shdict_incr (shm, "new-1", 1, 0, NULL), ==, PORTICO_SHDICT_FULL);

  /* key-0 .. key-4 expire: five new keys fit, the sixth does not. */
  g_usleep (120 * 1000);
  for (guint i = 1; i <= 5; i++)
    {
      g_snprintf (key, sizeof key, "new-%u", i);
      g_assert_cmpint (portico_shdict_incr (shm, key, 1, 0, NULL), ==, PORTICO_SHDICT_OK);
    }
  g_assert_cmpint (portico_shdict_incr (shm, "new-6", 1, 0, NULL), ==, PORTICO_SHDICT_FULL);
  for (guint i = 5; i < CAP; i++)
    {
      g_snprintf (key, sizeof key, "key-%u", i);
      g_assert_true (portico_shdict_get (shm, key, &v, NULL) == (i != 10));
      if (i != 10)
        g_assert_cmpint (v, ==, i == 7 ? 8 : i);
    }
  assert_consistent (shm, NULL);
  portico_shm_free (shm);

  /* A dictionary of capacity 0 holds nothing. */
  shm = shm_new (1, 0);
  g_assert_cmpint (portico_shdict_incr (shm, "k", 1, 0, NULL), ==, PORTICO_SHDICT_FULL);
  portico_shm_free (shm);
}

static void
test_dict_too_long (void)
{
  g_test_summary ("Keys up to PORTICO_SHDICT_KEY_MAX - 1 bytes are kept whole; longer ones are refused.");
  PorticoShm *shm = shm_new (1, 8);
  char key[PORTICO_SHDICT_KEY_MAX + 8];
  memset (key, 'k', sizeof key);
  key[PORTICO_SHDICT_KEY_MAX - 1] = '\0';
  g_assert_cmpint (portico_shdict_incr (shm, key, 1, 0, NULL), ==, PORTICO_SHDICT_OK);
  gint64 v;
  g_assert_true (portico_shdict_get (shm, key, &v, NULL));
  g_assert_cmpint (v, ==, 1);
  /* One byte shorter is another key. */
  key[PORTICO_SHDICT_KEY_MAX - 2] = '\0';
  g_assert_false (portico_shdict_get (shm, key, NULL, NULL));
  key[PORTICO_SHDICT_KEY_MAX - 2] = 'k';

  key[PORTICO_SHDICT_KEY_MAX - 1] = 'k';
  key[PORTICO_SHDICT_KEY_MAX] = '\0';
  g_assert_cmpint (portico_shdict_incr (shm, key, 1, 0, &v), ==, PORTICO_SHDICT_TOO_LONG);
  g_assert_cmpint (portico_shdict_set (shm, key, 1, 0), ==, PORTICO_SHDICT_TOO_LONG);
  g_assert_false (portico_shdict_get (shm, key, &v, NULL));
  g_assert_false (portico_shdict_delete (shm, key));
  key[sizeof key - 1] = '\0';
  g_assert_cmpint (portico_shdict_incr (shm, key, 1, 0, &v), ==, PORTICO_SHDICT_TOO_LONG);
  guint used;
  portico_shdict_usage (shm, &used, NULL);
  g_assert_cmpuint (used, ==, 1);
  portico_shm_free (shm);
}

static void
test_dict_tombstones (void)
{
  g_test_summary ("Deleted keys leave tombstones that probes pass and inserts reuse; heavy churn "
                  "triggers in-place rebuilds; every live key stays findable.");
  enum { CAP = 48, ROUNDS = 5000 };
  PorticoShm *shm = shm_new (1, CAP);
  char key[32];
  /* Half full, then churn: delete the oldest key, insert a new one. */
  for (guint i = 0; i < CAP / 2; i++)
    {
      g_snprintf (key, sizeof key, "churn-%u", i);
      g_assert_cmpint (portico_shdict_set (shm, key, i, 0), ==, PORTICO_SHDICT_OK);
    }
  PorticoShdictTestStats stats;
  g_assert_true (portico_shdict_delete (shm, "churn-3"));
  assert_consistent (shm, &stats);
  g_assert_cmpuint (stats.tombstones, ==, 1);
  g_assert_cmpuint (stats.occupied, ==, CAP / 2 - 1);
  /* Reinserting the same key takes a tombstone or empty slot: never two copies. */
  g_assert_cmpint (portico_shdict_set (shm, "churn-3", 3, 0), ==, PORTICO_SHDICT_OK);
  assert_consistent (shm, &stats);
  g_assert_cmpuint (stats.occupied, ==, CAP / 2);

  guint max_tombstones = 0;
  for (guint i = CAP / 2; i < CAP / 2 + ROUNDS; i++)
    {
      g_snprintf (key, sizeof key, "churn-%u", i - CAP / 2);
      g_assert_true (portico_shdict_delete (shm, key));
      g_snprintf (key, sizeof key, "churn-%u", i);
      g_assert_cmpint (portico_shdict_set (shm, key, i, 0), ==, PORTICO_SHDICT_OK);
      if (i % 97 == 0)
        {
          assert_consistent (shm, &stats);
          max_tombstones = MAX (max_tombstones, stats.tombstones);
        }
    }
  assert_consistent (shm, &stats);
  g_test_message ("table %u, rebuilds %" G_GUINT64_FORMAT ", tombstones at most %u", stats.table_size,
                  stats.rebuilds, max_tombstones);
  g_assert_cmpuint (stats.occupied, ==, CAP / 2);
  g_assert_cmpuint (stats.occupied + max_tombstones, <, stats.table_size);
  g_assert_cmpuint (stats.rebuilds, >, 0);
  for (guint i = ROUNDS; i < CAP / 2 + ROUNDS; i++)
    {
      gint64 v;
      g_snprintf (key, sizeof key, "churn-%u", i);
      g_assert_true (portico_shdict_get (shm, key, &v, NULL));
      g_assert_cmpint (v, ==, i);
    }
  portico_shm_free (shm);
}

static void
test_dict_expired_reuse (void)
{
  g_test_summary ("Rate-limit style keys (one per window, short ttl) never fill the table: expired "
                  "entries are reused.");
  enum { CAP = 16 };
  PorticoShm *shm = shm_new (1, CAP);
  char key[48];
  for (guint window = 0; window < 8; window++)
    {
      for (guint c = 0; c < CAP; c++)
        {
          g_snprintf (key, sizeof key, "rl:consumer-%u:%u", c, window);
          gint64 v;
          for (guint n = 0; n < 3; n++)
            g_assert_cmpint (portico_shdict_incr (shm, key, 1, 30, &v), ==, PORTICO_SHDICT_OK);
          g_assert_cmpint (v, ==, 3);
        }
      g_usleep (40 * 1000);
    }
  PorticoShdictTestStats stats;
  assert_consistent (shm, &stats);
  g_assert_cmpuint (stats.occupied, <=, CAP);
  guint used;
  portico_shdict_usage (shm, &used, NULL);
  g_assert_cmpuint (used, ==, 0);
  portico_shm_free (shm);
}

typedef struct {
  GHashTable *seen; /* key -> value, as text */
  PorticoShm *shm;  /* set: the callback uses the dictionary (no lock held) */
} ForeachSeen;

static void
foreach_collect (const char *key, gint64 value, gint64 ttl_left_ms, gpointer data)
{
  ForeachSeen *seen = data;
  g_assert_false (g_hash_table_contains (seen->seen, key));
  g_hash_table_insert (seen->seen, g_strdup (key),
                       g_strdup_printf ("%" G_GINT64_FORMAT " %s", value, ttl_left_ms > 0 ? "ttl" : "none"));
  if (seen->shm != NULL)
    g_assert_cmpint (portico_shdict_incr (seen->shm, key, 1, 0, NULL), ==, PORTICO_SHDICT_OK);
}

static void
test_dict_foreach (void)
{
  g_test_summary ("foreach visits every live, unexpired key under a prefix once, with its value and "
                  "whether it expires; deleted and expired keys are left out; the callback may use the "
                  "dictionary, since it runs after the lock is released.");
  PorticoShm *shm = shm_new (1, 64);
  ForeachSeen seen = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free), NULL };
  char key[PORTICO_SHDICT_KEY_MAX];

  for (guint i = 0; i < 20; i++)
    {
      g_snprintf (key, sizeof key, "m|c|series{n=\"%u\"}", i);
      g_assert_cmpint (portico_shdict_incr (shm, key, i, 0, NULL), ==, PORTICO_SHDICT_OK);
    }
  g_assert_cmpint (portico_shdict_incr (shm, "m|g|ttl", 7, 60000, NULL), ==, PORTICO_SHDICT_OK);
  g_assert_cmpint (portico_shdict_incr (shm, "m|g|short", 1, 30, NULL), ==, PORTICO_SHDICT_OK);
  g_assert_cmpint (portico_shdict_incr (shm, "rl:alice", 1, 0, NULL), ==, PORTICO_SHDICT_OK);
  g_assert_cmpint (portico_shdict_incr (shm, "m|", 2, 0, NULL), ==, PORTICO_SHDICT_OK);
  g_assert_true (portico_shdict_delete (shm, "m|c|series{n=\"3\"}"));
  /* A longest key: its last byte must come through. */
  memset (key, 'k', sizeof key - 1);
  key[0] = 'm';
  key[1] = '|';
  key[sizeof key - 1] = '\0';
  g_assert_cmpint (portico_shdict_incr (shm, key, 5, 0, NULL), ==, PORTICO_SHDICT_OK);
  g_usleep (60 * 1000);

  g_assert_cmpuint (portico_shdict_foreach (shm, "m|", foreach_collect, &seen), ==, 19 + 1 + 1 + 1);
  g_assert_cmpstr (g_hash_table_lookup (seen.seen, "m|c|series{n=\"0\"}"), ==, "0 none");
  g_assert_cmpstr (g_hash_table_lookup (seen.seen, "m|c|series{n=\"19\"}"), ==, "19 none");
  g_assert_null (g_hash_table_lookup (seen.seen, "m|c|series{n=\"3\"}"));
  g_assert_cmpstr (g_hash_table_lookup (seen.seen, "m|g|ttl"), ==, "7 ttl");
  g_assert_null (g_hash_table_lookup (seen.seen, "m|g|short"));
  g_assert_null (g_hash_table_lookup (seen.seen, "rl:alice"));
  g_assert_cmpstr (g_hash_table_lookup (seen.seen, "m|"), ==, "2 none");
  g_assert_cmpstr (g_hash_table_lookup (seen.seen, key), ==, "5 none");

  /* "" is every key; the callback's own increments land (no deadlock). */
  g_hash_table_remove_all (seen.seen);
  seen.shm = shm;
  g_assert_cmpuint (portico_shdict_foreach (shm, "", foreach_collect, &seen), ==, 23);
  gint64 v;
  g_assert_true (portico_shdict_get (shm, "rl:alice", &v, NULL));
  g_assert_cmpint (v, ==, 2);
  g_assert_cmpuint (portico_shdict_foreach (shm, "nothing-here", foreach_collect, &seen), ==, 0);

  assert_consistent (shm, NULL);
  g_hash_table_unref (seen.seen);
  portico_shm_free (shm);
}

static void
test_dict_concurrent (void)
{
  g_test_summary ("8 forked processes increment one key 20000 times each (and keys of their own and "
                  "shared in pairs) at once: every total is exact.");
  enum { N = 8, ROUNDS = 20000 };
  PorticoShm *shm = shm_new (N, 256);
  int fds[2];
  g_assert_cmpint (pipe (fds), ==, 0);
  pid_t pids[N];
  for (guint c = 0; c < N; c++)
    {
      pids[c] = fork_or_fail ();
      if (pids[c] == 0)
        {
          if (!wait_start (fds))
            _exit (CHILD_NO_START);
          char own[32], pair[32];
          g_snprintf (own, sizeof own, "child-%u", c);
          g_snprintf (pair, sizeof pair, "pair-%u", c / 2);
          gint64 last = 0, v;
          for (guint i = 0; i < ROUNDS; i++)
            {
              if (portico_shdict_incr (shm, "shared", 1, 0, &v) != PORTICO_SHDICT_OK)
                _exit (CHILD_BAD_RESULT);
              if (v <= last) /* the count this process sees only goes up */
                _exit (CHILD_BAD_VALUE);
              last = v;
              if (i % 4 == 0 && portico_shdict_incr (shm, own, 1, 0, NULL) != PORTICO_SHDICT_OK)
                _exit (CHILD_BAD_RESULT);
              if (i % 2 == 0 && portico_shdict_incr (shm, pair, 3, 600000, NULL) != PORTICO_SHDICT_OK)
                _exit (CHILD_BAD_RESULT);
            }
          _exit (CHILD_OK);
        }
    }
  close (fds[0]);
  close (fds[1]);
  gint64 start = g_get_monotonic_time ();
  g_assert_cmpuint (reap_children (pids, N, CHILD_TIMEOUT_MS), ==, N);
  g_test_message ("%d incr in %.1f ms", N * (ROUNDS + ROUNDS / 4 + ROUNDS / 2),
                  (g_get_monotonic_time () - start) / 1000.0);
  gint64 v;
  g_assert_true (portico_shdict_get (shm, "shared", &v, NULL));
  g_assert_cmpint (v, ==, N * ROUNDS);
  for (guint c = 0; c < N; c++)
    {
      char key[32];
      g_snprintf (key, sizeof key, "child-%u", c);
      g_assert_true (portico_shdict_get (shm, key, &v, NULL));
      g_assert_cmpint (v, ==, ROUNDS / 4);
      if (c % 2 == 0)
        {
          g_snprintf (key, sizeof key, "pair-%u", c / 2);
          g_assert_true (portico_shdict_get (shm, key, &v, NULL));
          g_assert_cmpint (v, ==, 2 * 3 * ROUNDS / 2);
        }
    }
  guint used;
  portico_shdict_usage (shm, &used, NULL);
  g_assert_cmpuint (used, ==, 1 + N + N / 2);
  assert_consistent (shm, NULL);
  portico_shm_free (shm);
}

/* Runs @body in a subprocess (the parent only checks how it went), so the
 * warnings a recovery logs are captured instead of being fatal here. */
static void
run_in_subprocess (void (*body) (void), const char *stderr_pattern)
{
  if (g_test_subprocess ())
    {
      g_log_set_always_fatal (G_LOG_FATAL_MASK);
      body ();
      return;
    }
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  if (stderr_pattern != NULL)
    g_test_trap_assert_stderr (stderr_pattern);
}

static void
owner_dead (void)
{
  PorticoShm *shm = shm_new (1, 32);
  g_assert_cmpint (portico_shdict_set (shm, "kept", 41, 0), ==, PORTICO_SHDICT_OK);
  g_assert_cmpint (portico_shdict_set (shm, "gone", 1, 0), ==, PORTICO_SHDICT_OK);
  g_assert_true (portico_shdict_delete (shm, "gone"));
  for (guint round = 1; round <= 2; round++)
    {
      pid_t pid = fork_or_fail ();
      if (pid == 0)
        {
          portico_shdict_test_lock (shm);
          _exit (CHILD_OK);
        }
      g_assert_cmpuint (reap_children (&pid, 1, CHILD_TIMEOUT_MS), ==, 1);
      gint64 v;
      g_assert_cmpint (portico_shdict_incr (shm, "kept", 1, 0, &v), ==, PORTICO_SHDICT_OK);
      g_assert_cmpint (v, ==, 41 + round);
      g_assert_false (portico_shdict_get (shm, "gone", NULL, NULL));
      PorticoShdictTestStats stats;
      assert_consistent (shm, &stats);
      g_assert_cmpuint (stats.repairs, ==, round);
      g_assert_cmpuint (stats.tombstones, ==, 0); /* the repair rebuilt the table */
    }
  portico_shm_free (shm);
}

static void
test_dict_owner_dead (void)
{
  g_test_summary ("A child takes the dictionary lock and dies holding it: the parent's next incr "
                  "recovers the lock (robust mutex), says so, and every value is intact.");
  run_in_subprocess (owner_dead, "*died holding its lock*");
}

static void
killed_workers (void)
{
  enum { N = 3, ROUNDS = 12, CAP = 40 };
  PorticoShm *shm = shm_new (1, CAP);
  GRand *rand = g_rand_new_with_seed (7);
  guint64 repairs = 0;
  for (guint round = 0; round < ROUNDS; round++)
    {
      pid_t pids[N];
      for (guint c = 0; c < N; c++)
        {
          guint32 seed = g_rand_int (rand);
          pids[c] = fork_or_fail ();
          if (pids[c] == 0)
            {
              GRand *r = g_rand_new_with_seed (seed);
              char key[32];
              gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
              while (g_get_monotonic_time () < end)
                {
                  g_snprintf (key, sizeof key, "k%u", g_rand_int_range (r, 0, 3 * CAP));
                  switch (g_rand_int_range (r, 0, 4))
                    {
                    case 0: portico_shdict_delete (shm, key); break;
                    case 1: portico_shdict_set (shm, key, 1, g_rand_int_range (r, 0, 3)); break;
                    default: portico_shdict_incr (shm, key, 1, 0, NULL); break;
                    }
                }
              _exit (CHILD_OK);
            }
        }
      g_usleep (g_rand_int_range (rand, 2, 30) * 1000);
      for (guint c = 0; c < N; c++)
        kill (pids[c], SIGKILL);
      reap_children_full (pids, N, CHILD_TIMEOUT_MS, FALSE);
      PorticoShdictTestStats stats;
      assert_consistent (shm, &stats);
      repairs = stats.repairs;
      g_assert_cmpint (portico_shdict_incr (shm, "after", 1, 0, NULL), ==, PORTICO_SHDICT_OK);
    }
  g_test_message ("%" G_GUINT64_FORMAT " repairs in %d rounds", repairs, ROUNDS);
  g_rand_free (rand);
  portico_shm_free (shm);
}

static void
test_dict_killed_workers (void)
{
  g_test_summary ("Children churning the dictionary (incr, set, delete, ttl, FULL, rebuilds) are "
                  "SIGKILLed at random moments, often inside the lock: the node never wedges and "
                  "the table stays consistent.");
  run_in_subprocess (killed_workers, NULL);
}

/* --- traced requests --- */

/* A record whose every field follows from @id, so a mix of two shows. */
static void
trace_fill (PorticoTraceRecord *rec, guint64 id)
{
  memset (rec, 0, sizeof *rec);
  rec->id = id;
  rec->slot = (guint32) (id % 3);
  rec->status = (guint16) (100 + id % 500);
  rec->requested = id % 2;
  rec->n_spans = (guint8) (id % PORTICO_TRACE_SPANS + 1);
  rec->spans_dropped = (guint32) (id % 5);
  rec->wall_us = (gint64) id * 1000;
  rec->start_us = (gint64) id * 7;
  rec->duration_us = (gint64) id;
  g_snprintf (rec->method, sizeof rec->method, "M%" G_GUINT64_FORMAT, id);
  g_snprintf (rec->path, sizeof rec->path, "/orders/%" G_GUINT64_FORMAT, id);
  g_snprintf (rec->route, sizeof rec->route, "route-%" G_GUINT64_FORMAT, id);
  g_snprintf (rec->service, sizeof rec->service, "service-%" G_GUINT64_FORMAT, id);
  g_snprintf (rec->consumer, sizeof rec->consumer, "consumer-%" G_GUINT64_FORMAT, id);
  for (guint i = 0; i < rec->n_spans; i++)
    {
      PorticoTraceSpanRecord *sp = &rec->spans[i];
      g_snprintf (sp->name, sizeof sp->name, "span-%" G_GUINT64_FORMAT "-%u", id, i);
      sp->kind = (guint8) (i % 3);
      sp->phase = (guint8) (i % PORTICO_SHM_N_PHASES);
      sp->result = (gint8) (i % 4);
      sp->start_us = rec->start_us + i;
      sp->duration_us = (gint64) id;
    }
}

static gboolean
trace_is (const PorticoTraceRecord *rec, guint64 id)
{
  PorticoTraceRecord expected;
  trace_fill (&expected, id);
  return memcmp (rec, &expected, sizeof expected) == 0;
}

static void
test_trace_empty (void)
{
  g_test_summary ("A new zone has no traces: every entry of every ring reads FALSE, last_id is 0.");
  PorticoShm *shm = shm_new (3, 8);
  PorticoTraceRecord rec;
  for (guint slot = 0; slot < 3; slot++)
    {
      g_assert_cmpuint (portico_shm_trace_last_id (shm, slot), ==, 0);
      for (guint i = 0; i < PORTICO_SHM_TRACES; i++)
        g_assert_false (portico_shm_trace_read (shm, slot, i, &rec));
    }
  portico_shm_free (shm);
}

static void
test_trace_round_trip (void)
{
  g_test_summary ("A record put in a slot's ring reads back byte for byte from entry 0, in a forked "
                  "reader too; the other entries and the other slots stay empty.");
  PorticoShm *shm = shm_new (2, 8);
  PorticoTraceRecord rec, copy;
  trace_fill (&rec, 1);
  portico_shm_trace_put (shm, 1, &rec);
  g_assert_cmpuint (portico_shm_trace_last_id (shm, 1), ==, 1);
  g_assert_cmpuint (portico_shm_trace_last_id (shm, 0), ==, 0);
  g_assert_true (portico_shm_trace_read (shm, 1, 0, &copy));
  g_assert_true (trace_is (&copy, 1));
  for (guint i = 1; i < PORTICO_SHM_TRACES; i++)
    g_assert_false (portico_shm_trace_read (shm, 1, i, &copy));
  for (guint i = 0; i < PORTICO_SHM_TRACES; i++)
    g_assert_false (portico_shm_trace_read (shm, 0, i, &copy));

  pid_t pid = fork_or_fail ();
  if (pid == 0)
    _exit (portico_shm_trace_read (shm, 1, 0, &copy) && trace_is (&copy, 1) ? CHILD_OK : CHILD_BAD_VALUE);
  g_assert_cmpuint (reap_children (&pid, 1, CHILD_TIMEOUT_MS), ==, 1);
  portico_shm_free (shm);
}

static void
test_trace_ring (void)
{
  g_test_summary ("Id N lands at entry (N - 1) % 8 and last_id follows: after 20 puts the ring holds "
                  "13..20; an older id put later does not lower last_id.");
  PorticoShm *shm = shm_new (1, 8);
  PorticoTraceRecord rec, copy;
  for (guint64 id = 1; id <= 20; id++)
    {
      trace_fill (&rec, id);
      portico_shm_trace_put (shm, 0, &rec);
      g_assert_cmpuint (portico_shm_trace_last_id (shm, 0), ==, id);
      g_assert_true (portico_shm_trace_read (shm, 0, (guint) ((id - 1) % PORTICO_SHM_TRACES), &copy));
      g_assert_cmpuint (copy.id, ==, id);
    }
  for (guint i = 0; i < PORTICO_SHM_TRACES; i++)
    {
      g_assert_true (portico_shm_trace_read (shm, 0, i, &copy));
      g_assert_cmpuint (copy.id, >=, 13);
      g_assert_cmpuint ((copy.id - 1) % PORTICO_SHM_TRACES, ==, i);
      g_assert_true (trace_is (&copy, copy.id));
    }
  trace_fill (&rec, 3);
  portico_shm_trace_put (shm, 0, &rec);
  g_assert_cmpuint (portico_shm_trace_last_id (shm, 0), ==, 20);
  portico_shm_free (shm);
}

static void
test_trace_unterminated (void)
{
  g_test_summary ("The zone is written by other processes, so a read never trusts it: strings that "
                  "fill their field without a NUL come back cut and NUL-terminated, and n_spans over "
                  "48 (255, or 'A' = 65) comes back as 48.");
  PorticoShm *shm = shm_new (1, 8);
  PorticoTraceRecord rec, copy;
  memset (&rec, 'A', sizeof rec);
  rec.id = 1;
  portico_shm_trace_put (shm, 0, &rec);
  g_assert_true (portico_shm_trace_read (shm, 0, 0, &copy));
  g_assert_cmpuint (copy.n_spans, ==, PORTICO_TRACE_SPANS);
  g_assert_cmpuint (strlen (copy.method), ==, sizeof copy.method - 1);
  g_assert_cmpuint (strlen (copy.path), ==, PORTICO_TRACE_PATH - 1);
  g_assert_cmpuint (strlen (copy.route), ==, PORTICO_TRACE_NAME - 1);
  g_assert_cmpuint (strlen (copy.service), ==, PORTICO_TRACE_NAME - 1);
  g_assert_cmpuint (strlen (copy.consumer), ==, PORTICO_TRACE_NAME - 1);
  for (guint i = 0; i < copy.n_spans; i++)
    g_assert_cmpuint (strlen (copy.spans[i].name), ==, PORTICO_TRACE_NAME - 1);

  static const guint8 counts[][2] = { { 255, PORTICO_TRACE_SPANS }, { PORTICO_TRACE_SPANS + 1, PORTICO_TRACE_SPANS },
                                      { PORTICO_TRACE_SPANS, PORTICO_TRACE_SPANS }, { 0, 0 } };
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    {
      trace_fill (&rec, 2);
      rec.n_spans = counts[i][0];
      portico_shm_trace_put (shm, 0, &rec);
      g_assert_true (portico_shm_trace_read (shm, 0, 1, &copy));
      g_assert_cmpuint (copy.n_spans, ==, counts[i][1]);
    }
  portico_shm_free (shm);
}

static void
test_trace_untorn (void)
{
  g_test_summary ("While a forked worker puts ids 1, 9, 17, ... into the same entry in a loop, every "
                  "copy the parent reads is one whole record, and last_id never goes back.");
  PorticoShm *shm = shm_new (1, 8);
  volatile gint *control = control_new ();
  pid_t pid = fork_or_fail ();
  if (pid == 0)
    {
      PorticoTraceRecord rec;
      gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
      for (guint64 id = 1; !control[0] && g_get_monotonic_time () < end; id += PORTICO_SHM_TRACES)
        {
          trace_fill (&rec, id);
          portico_shm_trace_put (shm, 0, &rec);
          control[1] = 1;
          for (volatile int spin = 0; spin < 200; spin++)
            ;
        }
      _exit (CHILD_OK);
    }
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!control[1] && g_get_monotonic_time () < end)
    g_usleep (100);
  guint torn = 0, whole = 0, busy = 0, went_back = 0;
  guint64 first = 0, last_id = 0, last_seen = 0;
  PorticoTraceRecord copy;
  /* Thousands of reads, and on until the writer got CPU time to move on. */
  end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  for (guint i = 0; i < 20000 || (last_seen == first && g_get_monotonic_time () < end); i++)
    {
      guint64 now = portico_shm_trace_last_id (shm, 0);
      went_back += now < last_id;
      last_id = now;
      if (!portico_shm_trace_read (shm, 0, 0, &copy))
        {
          busy++;
          continue;
        }
      if (!trace_is (&copy, copy.id) || (copy.id - 1) % PORTICO_SHM_TRACES != 0)
        torn++;
      else
        whole++;
      if (first == 0)
        first = copy.id;
      last_seen = copy.id;
    }
  control[0] = 1;
  g_assert_cmpuint (reap_children (&pid, 1, CHILD_TIMEOUT_MS), ==, 1);
  g_test_message ("%u whole, %u torn, %u busy; ids %" G_GUINT64_FORMAT " .. %" G_GUINT64_FORMAT, whole, torn,
                  busy, first, last_seen);
  g_assert_cmpuint (torn, ==, 0);
  g_assert_cmpuint (went_back, ==, 0);
  g_assert_cmpuint (whole, >, 0);
  g_assert_cmpuint (last_seen, >, first);
  control_free (control);
  portico_shm_free (shm);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/node/shm/new", test_new);
  g_test_add_func ("/node/shm/header/fork", test_header_fork);
  g_test_add_func ("/node/shm/header/error-truncate", test_header_error_truncate);
  g_test_add_func ("/node/shm/header/error-untorn", test_header_error_untorn);
  g_test_add_func ("/node/shm/slot/fork", test_slot_fork);
  g_test_add_func ("/node/shm/slot/dead-writer", test_slot_dead_writer);
  g_test_add_func ("/node/shm/histogram/buckets", test_buckets);
  g_test_add_func ("/node/shm/dict/basics", test_dict_basics);
  g_test_add_func ("/node/shm/dict/ttl", test_dict_ttl);
  g_test_add_func ("/node/shm/dict/full", test_dict_full);
  g_test_add_func ("/node/shm/dict/too-long", test_dict_too_long);
  g_test_add_func ("/node/shm/dict/tombstones", test_dict_tombstones);
  g_test_add_func ("/node/shm/dict/expired-reuse", test_dict_expired_reuse);
  g_test_add_func ("/node/shm/dict/foreach", test_dict_foreach);
  g_test_add_func ("/node/shm/dict/concurrent", test_dict_concurrent);
  g_test_add_func ("/node/shm/dict/owner-dead", test_dict_owner_dead);
  g_test_add_func ("/node/shm/dict/killed-workers", test_dict_killed_workers);
  g_test_add_func ("/node/shm/trace/empty", test_trace_empty);
  g_test_add_func ("/node/shm/trace/round-trip", test_trace_round_trip);
  g_test_add_func ("/node/shm/trace/ring", test_trace_ring);
  g_test_add_func ("/node/shm/trace/unterminated", test_trace_unterminated);
  g_test_add_func ("/node/shm/trace/untorn", test_trace_untorn);
  return g_test_run ();
}
