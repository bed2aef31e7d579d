/* test-loop.c: the event loop: timers, watches on both backends, and
 * deferred frees. Socket pairs only: no network. */
#include <glib.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/buf.h"
#include "net/conn.h"
#include "net/loop.h"

typedef struct {
  PorticoTimer timer;
  GArray *order;
  int id;
} OrderedTimer;

static void
record_fire (PorticoTimer *timer)
{
  OrderedTimer *t = (OrderedTimer *) timer;
  g_array_append_val (t->order, t->id);
}

static void
iterate_until (gboolean *flag, int max_ms)
{
  gint64 end = g_get_monotonic_time () + max_ms * 1000;
  while (!*flag && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
}

static gboolean
fire_all_done (GArray *order, guint n)
{
  return order->len >= n;
}

static void
test_timers_order (void)
{
  g_test_summary ("Timers armed in any order fire by deadline; disarmed and moved ones behave.");
  PorticoLoop *loop = portico_loop_new (NULL, PORTICO_EVENT_BACKEND_EPOLL);
  GArray *order = g_array_new (FALSE, FALSE, sizeof (int));
  OrderedTimer timers[6];
  guint delays[6] = { 50, 10, 30, 20, 40, 60 };
  for (int i = 0; i < 6; i++)
    {
      timers[i] = (OrderedTimer) { .timer.func = record_fire, .order = order, .id = i };
      portico_timer_arm (loop, &timers[i].timer, delays[i]);
    }
  g_assert_cmpuint (portico_loop_n_timers (loop), ==, 6);
  portico_timer_disarm (loop, &timers[4].timer); /* 40 ms: never fires */
  portico_timer_arm (loop, &timers[5].timer, 5); /* moved to the front */
  g_assert_false (portico_timer_is_armed (&timers[4].timer));
  g_assert_cmpuint (portico_loop_n_timers (loop), ==, 5);

  gint64 end = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  while (!fire_all_done (order, 5) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (order->len, ==, 5);
  int expected[5] = { 5, 1, 3, 2, 0 };
  for (int i = 0; i < 5; i++)
    g_assert_cmpint (g_array_index (order, int, i), ==, expected[i]);
  g_assert_cmpuint (portico_loop_n_timers (loop), ==, 0);
  g_array_free (order, TRUE);
  portico_loop_free (loop);
}

static void
test_timers_heap_random (void)
{
  g_test_summary ("Many timers armed, moved and disarmed at random keep the heap ordered.");
  PorticoLoop *loop = portico_loop_new (NULL, PORTICO_EVENT_BACKEND_EPOLL);
  GArray *order = g_array_new (FALSE, FALSE, sizeof (int));
  enum { N = 500 };
  OrderedTimer *timers = g_new0 (OrderedTimer, N);
  GRand *rand = g_rand_new_with_seed (42);
  for (int i = 0; i < N; i++)
    timers[i] = (OrderedTimer) { .timer.func = record_fire, .order = order, .id = i };
  for (int round = 0; round < 5000; round++)
    {
      int i = g_rand_int_range (rand, 0, N);
      if (g_rand_boolean (rand))
        portico_timer_arm (loop, &timers[i].timer, (guint) g_rand_int_range (rand, 1, 100000));
      else
        portico_timer_disarm (loop, &timers[i].timer);
    }
  /* Fire them all by pretending time jumped: pop in order, check deadlines. */
  guint armed = portico_loop_n_timers (loop);
  gint64 last = G_MININT64;
  for (int i = 0; i < N; i++)
    if (portico_timer_is_armed (&timers[i].timer))
      g_assert_cmpint (timers[i].timer.deadline, >, 0);
  for (guint k = 0; k < armed; k++)
    {
      /* the earliest armed timer */
      OrderedTimer *min = NULL;
      for (int i = 0; i < N; i++)
        if (portico_timer_is_armed (&timers[i].timer) &&
            (min == NULL || timers[i].timer.deadline < min->timer.deadline))
          min = &timers[i];
      g_assert_nonnull (min);
      g_assert_cmpint (min->timer.deadline, >=, last);
      last = min->timer.deadline;
      portico_timer_disarm (loop, &min->timer);
    }
  g_assert_cmpuint (portico_loop_n_timers (loop), ==, 0);
  g_rand_free (rand);
  g_free (timers);
  g_array_free (order, TRUE);
  portico_loop_free (loop);
}

typedef struct {
  PorticoConn conn;
  gboolean got_data;
  gboolean got_eof;
  GString *received;
} Reader;

static void
reader_on_events (PorticoWatch *watch, guint events)
{
  Reader *r = (Reader *) watch;
  portico_conn_on_events (&r->conn, events);
  for (;;)
    {
      PorticoIoResult io = portico_conn_fill (&r->conn, 1 << 20);
      if (io == PORTICO_IO_OK)
        {
          g_string_append_len (r->received, portico_buf_head (&r->conn.in), portico_buf_len (&r->conn.in));
          portico_buf_consume (&r->conn.in, portico_buf_len (&r->conn.in));
          r->got_data = TRUE;
          continue;
        }
      if (io == PORTICO_IO_EOF)
        r->got_eof = TRUE;
      break;
    }
}

static void
test_watch_backend (gconstpointer data)
{
  PorticoEventBackend backend = GPOINTER_TO_INT (data);
  g_test_summary ("A socket watched by the loop delivers its data and then EOF, "
                  "on both backends, including data and close that arrive together.");
  PorticoLoop *loop = portico_loop_new (NULL, backend);
  int sv[2];
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), ==, 0);
  Reader r = { 0 };
  r.received = g_string_new (NULL);
  g_assert_true (portico_conn_init (&r.conn, loop, sv[0], reader_on_events));

  g_assert_cmpint (write (sv[1], "hello", 5), ==, 5);
  iterate_until (&r.got_data, 2000);
  g_assert_cmpstr (r.received->str, ==, "hello");

  /* Data and EOF in one go: a short read must not hide the EOF. */
  g_assert_cmpint (write (sv[1], " world", 6), ==, 6);
  close (sv[1]);
  iterate_until (&r.got_eof, 2000);
  g_assert_cmpstr (r.received->str, ==, "hello world");
  g_assert_true (r.got_eof);

  portico_conn_close (&r.conn);
  g_string_free (r.received, TRUE);
  portico_loop_free (loop);
}

typedef struct {
  PorticoConn conn;
  gsize written;
} Writer;

static void
writer_on_events (PorticoWatch *watch, guint events)
{
  Writer *w = (Writer *) watch;
  portico_conn_on_events (&w->conn, events);
  portico_conn_flush (&w->conn);
}

static void
test_flush_backpressure (gconstpointer data)
{
  PorticoEventBackend backend = GPOINTER_TO_INT (data);
  g_test_summary ("A write larger than the socket buffer stops at EAGAIN and finishes when "
                  "the peer reads.");
  PorticoLoop *loop = portico_loop_new (NULL, backend);
  int sv[2];
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), ==, 0);
  Writer w = { 0 };
  g_assert_true (portico_conn_init (&w.conn, loop, sv[0], writer_on_events));
  gsize total = 4 * 1024 * 1024;
  char *payload = g_malloc (total);
  memset (payload, 'x', total);
  portico_buf_append (&w.conn.out, payload, total);
  w.conn.write_ready = 1;
  g_assert_cmpint (portico_conn_flush (&w.conn), ==, PORTICO_IO_AGAIN);
  g_assert_false (w.conn.write_ready);

  gsize got = 0;
  char buf[65536];
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (got < total && g_get_monotonic_time () < end)
    {
      ssize_t n = read (sv[1], buf, sizeof buf);
      if (n > 0)
        got += (gsize) n;
      else
        g_main_context_iteration (NULL, FALSE);
    }
  g_assert_cmpuint (got, ==, total);
  g_assert_cmpuint (portico_buf_len (&w.conn.out), ==, 0);
  g_assert_null (w.conn.out.data); /* the block went back */
  portico_conn_close (&w.conn);
  close (sv[1]);
  g_free (payload);
  portico_loop_free (loop);
}

static void
count_free (gpointer data)
{
  (*(int *) data)++;
}

static void
test_defer (void)
{
  g_test_summary ("Deferred frees run once the current dispatch is over.");
  PorticoLoop *loop = portico_loop_new (NULL, PORTICO_EVENT_BACKEND_EPOLL);
  int freed = 0;
  portico_loop_defer (loop, count_free, &freed);
  portico_loop_defer (loop, count_free, &freed);
  g_assert_cmpint (freed, ==, 0);
  g_main_context_iteration (NULL, FALSE);
  g_assert_cmpint (freed, ==, 2);
  portico_loop_free (loop);
}

static void
test_buf (void)
{
  g_test_summary ("Buffers grow, compact, and give their blocks back.");
  PorticoBuf b = { 0 };
  guint in_use0, cached0, in_use, cached;
  portico_buf_stats (&in_use0, &cached0);
  portico_buf_append (&b, "abc", 3);
  portico_buf_stats (&in_use, &cached);
  g_assert_cmpuint (in_use, ==, in_use0 + 1);
  g_assert_cmpuint (b.size, ==, PORTICO_BUF_BLOCK);
  portico_buf_consume (&b, 1);
  g_assert_cmpmem (portico_buf_head (&b), portico_buf_len (&b), "bc", 2);
  char big[PORTICO_BUF_BLOCK];
  memset (big, 'z', sizeof big);
  portico_buf_append (&b, big, sizeof big);
  g_assert_cmpuint (portico_buf_len (&b), ==, 2 + sizeof big);
  g_assert_cmpuint (b.size, >=, 2 + sizeof big);
  g_assert_cmpmem (portico_buf_head (&b), 2, "bc", 2);
  g_assert_false (portico_buf_release (&b)); /* not empty */
  portico_buf_consume (&b, portico_buf_len (&b));
  g_assert_true (portico_buf_release (&b));
  g_assert_null (b.data);
  portico_buf_printf (&b, "%d-%s", 42, "x");
  g_assert_cmpmem (portico_buf_head (&b), portico_buf_len (&b), "42-x", 4);
  portico_buf_clear (&b);
  portico_buf_stats (&in_use, &cached);
  g_assert_cmpuint (in_use, ==, in_use0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/loop/timers/order", test_timers_order);
  g_test_add_func ("/loop/timers/heap-random", test_timers_heap_random);
  g_test_add_data_func ("/loop/watch/epoll", GINT_TO_POINTER (PORTICO_EVENT_BACKEND_EPOLL), test_watch_backend);
  g_test_add_data_func ("/loop/watch/poll", GINT_TO_POINTER (PORTICO_EVENT_BACKEND_POLL), test_watch_backend);
  g_test_add_data_func ("/loop/flush/epoll", GINT_TO_POINTER (PORTICO_EVENT_BACKEND_EPOLL),
                        test_flush_backpressure);
  g_test_add_data_func ("/loop/flush/poll", GINT_TO_POINTER (PORTICO_EVENT_BACKEND_POLL),
                        test_flush_backpressure);
  g_test_add_func ("/loop/defer", test_defer);
  g_test_add_func ("/buf/grow-release", test_buf);
  return g_test_run ();
}
