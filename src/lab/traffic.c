/* traffic.c: the lab's load generator (see traffic.h).
 *
 * One TrafficConn per connection, a small state machine driven by its
 * socket's edge-triggered events: connecting -> (TLS handshake) -> sending
 * -> head -> body -> (next request, idle, or closed). The closed loop
 * starts a request when one ends; the open loop's rate timer starts them
 * when they are due. The request bytes are built once and copied into each
 * connection's output.
 */
#include "lab/traffic.h"

#include <math.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>

#include "core/address.h"
#include "core/config.h"
#include "http/chunked.h"
#include "http/http-parser.h"
#include "net/conn.h"
#include "net/sock.h"
#include "node/shm.h"

#define SAMPLES_MAX 1000000
#define SEND_PIECE (64 * 1024) /* bounds the output buffer of a big upload */
#define RETRY_MS 1
#define MAX_COUNT_HEADERS 64
#define N_STATUS 1000

#define CONTAINER(ptr, type, member) ((type *) (void *) ((char *) (ptr) - G_STRUCT_OFFSET (type, member)))

typedef enum { C_CONNECTING, C_HANDSHAKE, C_SENDING, C_HEAD, C_BODY, C_IDLE } TrafficConnState;

typedef enum { READ_AGAIN, READ_DONE, READ_FAILED } ReadOutcome;

typedef struct {
  PorticoConn conn; /* first: the watch callback casts back */
  PorticoTraffic *t;
  TrafficConnState state;
  guint in_flight : 1; /* a request is on it */
  guint got_bytes : 1; /* some of the current answer arrived */
  guint retried : 1;   /* the current request already moved off a stale keep-alive connection */
  guint resp_keepalive : 1;
  guint64 answers;     /* complete answers on this connection */
  gint64 start_us;
  gsize queued;        /* bytes of the request put in conn.out so far */
  int status;
  PorticoBodyKind body;
  guint64 remaining;
  PorticoChunkedDecoder chunked;
  guint64 header_mask; /* which count_headers the answer had */
  GList all_link;      /* in t->conns */
  GList idle_link;     /* in t->idle while data != NULL */
} TrafficConn;

struct _PorticoTraffic {
  PorticoLoop *loop;
  PorticoTrafficSpec spec;
  PorticoAddress address;
  char *request;          /* head and body, serialized once */
  gsize request_len;
  PorticoHttpMethod method_id;
  PorticoHttpLimits limits;
  PorticoHttpResponse resp; /* parse scratch: parsing never waits */
  guint n_count_headers;
  char **count_lower;

  gboolean started, stopping, done;
  gint64 t0_us, last_end_us;
  guint64 issued;         /* requests due so far: started + not_started */
  guint64 max_issue;
  guint in_flight;
  guint n_conns;
  GQueue conns;           /* every TrafficConn */
  GQueue idle;            /* open loop: kept-alive connections, last used first */
  guint pending_restarts; /* closed loop: slots waiting to retry a connect */
  PorticoTimer rate_timer, stop_timer, retry_timer, notify_timer;
  void (*done_func) (PorticoTraffic *t, gpointer data);
  gpointer done_data;

  guint64 started_n, not_started, completed, errors[PORTICO_TRAFFIC_N_ERRORS];
  guint64 connections_opened, bytes_received;
  guint64 tls_handshakes[PORTICO_TRAFFIC_TLS_KINDS];
  guint64 status_counts[N_STATUS];
  guint64 headers_seen[MAX_COUNT_HEADERS];
  guint64 lat_sum_us, lat_max_us, lag_sum_us, lag_max_us, lag_n;
  GArray *seconds;        /* PorticoTrafficSecond */
  guint32 *samples;       /* latencies, us */
  guint n_samples, samples_cap;
  gboolean samples_sorted;
  GRand *rand;
  PorticoTrafficResult result;
};

static const char *error_names[PORTICO_TRAFFIC_N_ERRORS] = { "connect", "reset", "timeout", "protocol", "tls" };

const char *
portico_traffic_error_name (PorticoTrafficError e)
{
  g_return_val_if_fail (e < PORTICO_TRAFFIC_N_ERRORS, "unknown");
  return error_names[e];
}

G_STATIC_ASSERT (PORTICO_TRAFFIC_TLS_KINDS == PORTICO_SHM_TLS_KINDS);

const char *
portico_traffic_tls_kind_name (PorticoTrafficTlsKind k)
{
  return portico_shm_tls_kind_name (k);
}

/* --- figures --- */

/* ceil() for the non-negative values here, without libm. */
static guint64
ceil_pos (double x)
{
  guint64 n = (guint64) x;
  return (double) n < x ? n + 1 : n;
}

static PorticoTrafficSecond *
second_at (PorticoTraffic *t, gint64 now_us)
{
  guint i = now_us > t->t0_us ? (guint) ((now_us - t->t0_us) / G_USEC_PER_SEC) : 0;
  if (i >= t->seconds->len)
    g_array_set_size (t->seconds, i + 1);
  return &g_array_index (t->seconds, PorticoTrafficSecond, i);
}

/* Where octave @o starts and how wide its buckets are, in us. */
static double
octave_start_us (guint o)
{
  return o == 0 ? 0 : 50.0 * (double) (1ull << (o - 1));
}

static double
octave_step_us (guint o)
{
  return (o == 0 ? 50.0 : 50.0 * (double) (1ull << (o - 1))) / 8;
}

guint
portico_traffic_latency_bucket (guint64 us)
{
  guint o = 0;
  while (o < PORTICO_TRAFFIC_LATENCY_OCTAVES - 1 && us > ((guint64) 50 << o))
    o++;
  if (o == PORTICO_TRAFFIC_LATENCY_OCTAVES - 1 && us > ((guint64) 50 << o))
    return PORTICO_TRAFFIC_LATENCY_BUCKETS - 1;
  /* (start, start + 8 steps]: the first bucket also takes 0. */
  double k = ceil (((double) us - octave_start_us (o)) / octave_step_us (o)) - 1;
  return o * 8 + (guint) CLAMP (k, 0, 7);
}

double
portico_traffic_second_percentile_ms (const PorticoTrafficSecond *s, double p)
{
  guint64 total = 0;
  for (guint b = 0; b < PORTICO_TRAFFIC_LATENCY_BUCKETS; b++)
    total += s->latency_hist[b];
  if (total == 0)
    return NAN;
  double rank = p / 100.0 * (double) total, seen = 0;
  for (guint b = 0; b < PORTICO_TRAFFIC_LATENCY_BUCKETS; b++)
    {
      double n = (double) s->latency_hist[b];
      if (n == 0 || seen + n < rank)
        {
          seen += n;
          continue;
        }
      guint o = b / 8;
      double lo = octave_start_us (o) + (b % 8) * octave_step_us (o);
      return (lo + octave_step_us (o) * (rank - seen) / n) / 1000.0;
    }
  return octave_start_us (PORTICO_TRAFFIC_LATENCY_OCTAVES) / 1000.0;
}

static void
keep_sample (PorticoTraffic *t, guint64 us)
{
  guint32 v = (guint32) MIN (us, G_MAXUINT32);
  t->samples_sorted = FALSE;
  if (t->n_samples < SAMPLES_MAX)
    {
      if (t->n_samples == t->samples_cap)
        {
          t->samples_cap = t->samples_cap ? MIN (t->samples_cap * 2, SAMPLES_MAX) : 4096;
          t->samples = g_renew (guint32, t->samples, t->samples_cap);
        }
      t->samples[t->n_samples++] = v;
      return;
    }
  /* Reservoir: the completed-th sample replaces a kept one with
   * probability SAMPLES_MAX / completed, so every latency is equally likely kept. */
  guint64 j = (guint64) (g_rand_double (t->rand) * (double) t->completed);
  if (j < SAMPLES_MAX)
    t->samples[j] = v;
}

/* The end of a request that was started: every end goes through here once. */
static void
request_ended (PorticoTraffic *t, gint64 now_us)
{
  g_assert (t->in_flight > 0);
  t->in_flight--;
  if (now_us > t->last_end_us)
    t->last_end_us = now_us;
}

static void
record_error (PorticoTraffic *t, PorticoTrafficError kind, gint64 now_us)
{
  t->errors[kind]++;
  second_at (t, now_us)->errors[kind]++;
  request_ended (t, now_us);
}

static void
record_answer (PorticoTraffic *t, const TrafficConn *c, gint64 now_us)
{
  guint64 us = now_us > c->start_us ? (guint64) (now_us - c->start_us) : 0;
  PorticoTrafficSecond *s = second_at (t, now_us);
  t->completed++;
  s->completed++;
  s->status[c->status >= 200 && c->status < 600 ? c->status / 100 : 0]++;
  s->latency_hist[portico_traffic_latency_bucket (us)]++;
  t->status_counts[c->status < N_STATUS ? c->status : 0]++;
  for (guint i = 0; i < t->n_count_headers; i++)
    if (c->header_mask & (G_GUINT64_CONSTANT (1) << i))
      t->headers_seen[i]++;
  t->lat_sum_us += us;
  t->lat_max_us = MAX (t->lat_max_us, us);
  keep_sample (t, us);
  request_ended (t, now_us);
}

/* --- connections --- */

static void conn_run (TrafficConn *c);
static void start_request (PorticoTraffic *t, TrafficConn *c, gint64 now_us);
static void check_done (PorticoTraffic *t);

static void
conn_on_events (PorticoWatch *watch, guint events)
{
  TrafficConn *c = (TrafficConn *) watch;
  portico_conn_on_events (&c->conn, events);
  conn_run (c);
}

static void conn_fail (TrafficConn *c, PorticoTrafficError kind);

static void
conn_on_timeout (PorticoTimer *timer)
{
  conn_fail (CONTAINER (timer, TrafficConn, conn.timer), PORTICO_TRAFFIC_ERR_TIMEOUT);
}

/* Starts a connection; NULL (errno set) when connect() failed at once. */
static TrafficConn *
conn_open (PorticoTraffic *t)
{
  int fd = portico_sock_connect ((const struct sockaddr *) &t->address.addr, t->address.addr_len);
  if (fd < 0)
    return NULL;
  TrafficConn *c = g_new0 (TrafficConn, 1);
  c->t = t;
  c->conn.timer.func = conn_on_timeout;
  if (!portico_conn_init (&c->conn, t->loop, fd, conn_on_events))
    {
      int saved = errno;
      close (fd);
      g_free (c);
      errno = saved;
      return NULL;
    }
  c->state = C_CONNECTING;
  c->all_link.data = c;
  g_queue_push_tail_link (&t->conns, &c->all_link);
  t->n_conns++;
  return c;
}

static void
conn_close (TrafficConn *c)
{
  PorticoTraffic *t = c->t;
  t->bytes_received += c->conn.bytes_in;
  portico_conn_close (&c->conn);
  if (c->idle_link.data != NULL)
    g_queue_unlink (&t->idle, &c->idle_link);
  g_queue_unlink (&t->conns, &c->all_link);
  t->n_conns--;
  /* Events of this batch may still name it: freed after the batch. */
  portico_loop_defer (t->loop, g_free, c);
}

static gboolean
closed_loop (const PorticoTraffic *t)
{
  return t->spec.concurrency > 0;
}

static void
schedule_retry (PorticoTraffic *t)
{
  t->pending_restarts++;
  if (!portico_timer_is_armed (&t->retry_timer))
    portico_timer_arm (t->loop, &t->retry_timer, RETRY_MS);
}

/* A closed-loop slot whose request ended: the next request goes on @c if
 * it may be reused, else on a new connection. Returns whether @c got it. */
static gboolean
slot_next (PorticoTraffic *t, TrafficConn *c, PorticoTrafficError error, gint64 now_us)
{
  if (t->stopping)
    return FALSE;
  if (c != NULL)
    {
      start_request (t, c, now_us);
      return TRUE;
    }
  if (error == PORTICO_TRAFFIC_ERR_CONNECT || error == PORTICO_TRAFFIC_ERR_TLS)
    schedule_retry (t);
  else
    start_request (t, NULL, now_us);
  return FALSE;
}

static void
conn_fail (TrafficConn *c, PorticoTrafficError kind)
{
  PorticoTraffic *t = c->t;
  gint64 now_us = g_get_monotonic_time ();
  if (kind == PORTICO_TRAFFIC_ERR_RESET && c->answers > 0 && !c->got_bytes && !c->retried)
    {
      /* The server closed a kept-alive connection as we reused it: what a
       * browser does, once, on a new connection. */
      TrafficConn *n = conn_open (t);
      if (n != NULL)
        {
          n->in_flight = 1;
          n->retried = 1;
          n->start_us = c->start_us;
          portico_timer_arm (t->loop, &n->conn.timer, t->spec.timeout_ms);
          c->in_flight = 0;
          conn_close (c);
          return;
        }
      kind = PORTICO_TRAFFIC_ERR_CONNECT;
    }
  record_error (t, kind, now_us);
  c->in_flight = 0;
  conn_close (c);
  if (closed_loop (t))
    slot_next (t, NULL, kind, now_us);
  check_done (t);
}

/* A whole answer came: returns whether @c carries on with a new request. */
static gboolean
conn_answered (TrafficConn *c)
{
  PorticoTraffic *t = c->t;
  gint64 now_us = g_get_monotonic_time ();
  record_answer (t, c, now_us);
  c->in_flight = 0;
  c->answers++;
  portico_timer_disarm (t->loop, &c->conn.timer);
  gboolean reusable = t->spec.keepalive && c->resp_keepalive && c->body != PORTICO_BODY_CLOSE &&
                      !c->conn.eof && !c->conn.pending_eof && !c->conn.failed &&
                      portico_buf_len (&c->conn.in) == 0;
  if (closed_loop (t) && slot_next (t, reusable ? c : NULL, PORTICO_TRAFFIC_N_ERRORS, now_us))
    return TRUE;
  if (reusable && !t->stopping && !closed_loop (t))
    {
      c->state = C_IDLE;
      c->idle_link.data = c;
      g_queue_push_head_link (&t->idle, &c->idle_link);
    }
  else
    conn_close (c);
  check_done (t);
  return FALSE;
}

static void
answer_head (TrafficConn *c, const PorticoHttpResponse *resp)
{
  PorticoTraffic *t = c->t;
  c->status = resp->status;
  c->resp_keepalive = resp->keep_alive;
  c->body = resp->body;
  c->remaining = resp->content_length;
  c->header_mask = 0;
  for (guint i = 0; i < t->n_count_headers; i++)
    if (portico_http_find_header (resp->headers, resp->n_headers, t->count_lower[i]) != NULL)
      c->header_mask |= G_GUINT64_CONSTANT (1) << i;
  if (c->body == PORTICO_BODY_CHUNKED)
    portico_chunked_decoder_init (&c->chunked);
  c->state = C_BODY;
}

/* Drops the body bytes in conn.in: DONE at its end, AGAIN for more, FAILED
 * for a broken chunked coding. */
static ReadOutcome
eat_body (TrafficConn *c)
{
  PorticoBuf *in = &c->conn.in;
  if (c->body == PORTICO_BODY_NONE)
    return READ_DONE;
  if (c->body == PORTICO_BODY_LENGTH || c->body == PORTICO_BODY_CLOSE)
    {
      gsize n = portico_buf_len (in);
      if (c->body == PORTICO_BODY_LENGTH && n > c->remaining)
        n = (gsize) c->remaining;
      portico_buf_consume (in, n);
      c->remaining -= c->body == PORTICO_BODY_LENGTH ? n : 0;
      return c->body == PORTICO_BODY_LENGTH && c->remaining == 0 ? READ_DONE : READ_AGAIN;
    }
  while (portico_buf_len (in) > 0)
    {
      gsize consumed = 0, out_len = 0;
      const char *out = NULL;
      PorticoChunkedResult r = portico_chunked_decode (&c->chunked, portico_buf_head (in), portico_buf_len (in),
                                                       &consumed, &out, &out_len);
      if (r == PORTICO_CHUNKED_ERROR)
        return READ_FAILED;
      portico_buf_consume (in, consumed);
      if (r == PORTICO_CHUNKED_DONE)
        return READ_DONE;
      if (r == PORTICO_CHUNKED_NEED_MORE)
        break;
    }
  return READ_AGAIN;
}

/* Reads and parses the answer until it is whole or the socket is drained. */
static ReadOutcome
conn_read (TrafficConn *c)
{
  PorticoTraffic *t = c->t;
  PorticoBuf *in = &c->conn.in;
  for (;;)
    {
      gsize len = portico_buf_len (in);
      if (c->state == C_HEAD && len > 0)
        {
          PorticoHttpParseResult r = portico_http_parse_response (portico_buf_head (in), len, &t->limits,
                                                                  t->method_id, &t->resp);
          if (r == PORTICO_HTTP_OK && t->resp.status < 200 && t->resp.status != 101)
            {
              portico_buf_consume (in, t->resp.head_len); /* interim: the final answer follows */
              continue;
            }
          if (r == PORTICO_HTTP_ERROR || (r == PORTICO_HTTP_OK && t->resp.status == 101) ||
              (r == PORTICO_HTTP_INCOMPLETE && len >= t->limits.max_head))
            {
              conn_fail (c, PORTICO_TRAFFIC_ERR_PROTOCOL);
              return READ_FAILED;
            }
          if (r == PORTICO_HTTP_OK)
            {
              portico_buf_consume (in, t->resp.head_len);
              answer_head (c, &t->resp);
            }
        }
      if (c->state == C_BODY)
        {
          ReadOutcome o = eat_body (c);
          if (o == READ_DONE)
            return o;
          if (o == READ_FAILED)
            {
              conn_fail (c, PORTICO_TRAFFIC_ERR_PROTOCOL);
              return o;
            }
        }
      PorticoIoResult io = portico_conn_fill (&c->conn, c->state == C_HEAD ? t->limits.max_head - len : G_MAXSIZE);
      if (io == PORTICO_IO_AGAIN)
        return READ_AGAIN;
      if (io == PORTICO_IO_EOF && c->state == C_BODY && c->body == PORTICO_BODY_CLOSE)
        return READ_DONE;
      if (io != PORTICO_IO_OK)
        {
          conn_fail (c, PORTICO_TRAFFIC_ERR_RESET);
          return READ_FAILED;
        }
      c->got_bytes = 1;
    }
}

/* Starts TLS on a connection just established: FALSE after failing it. */
static gboolean
conn_start_tls (TrafficConn *c)
{
  PorticoTraffic *t = c->t;
  /* No peer key, no session offered: every handshake a full one. */
  const char *peer = t->spec.tls_no_resume ? NULL : t->address.text;
  if (!portico_conn_tls_client (&c->conn, t->spec.tls, t->spec.tls_name, peer))
    {
      t->tls_handshakes[PORTICO_TRAFFIC_TLS_FAILED]++;
      conn_fail (c, PORTICO_TRAFFIC_ERR_TLS);
      return FALSE;
    }
  c->state = C_HANDSHAKE;
  return TRUE;
}

/* Advances the handshake: FALSE while it waits, or after failing the
 * connection. */
static gboolean
conn_handshake (TrafficConn *c)
{
  PorticoTraffic *t = c->t;
  PorticoIoResult io = portico_conn_handshake (&c->conn);
  if (io == PORTICO_IO_AGAIN)
    return FALSE;
  if (io != PORTICO_IO_OK)
    {
      t->tls_handshakes[PORTICO_TRAFFIC_TLS_FAILED]++;
      conn_fail (c, PORTICO_TRAFFIC_ERR_TLS);
      return FALSE;
    }
  t->tls_handshakes[portico_tls_resumed (c->conn.tls) ? PORTICO_TRAFFIC_TLS_RESUMED : PORTICO_TRAFFIC_TLS_FULL]++;
  c->state = C_SENDING;
  return TRUE;
}

static void
conn_run (TrafficConn *c)
{
  PorticoTraffic *t = c->t;
  for (;;)
    switch (c->state)
      {
      case C_CONNECTING:
        if (!c->conn.write_ready)
          return;
        /* An error or hang-up event on a connecting socket: did the
         * connect fail? (No system call when it plainly succeeded.) */
        if (c->conn.pending_eof)
          {
            int err = portico_sock_error (c->conn.fd);
            if (err != 0)
              {
                conn_fail (c, PORTICO_TRAFFIC_ERR_CONNECT);
                return;
              }
          }
        t->connections_opened++;
        c->state = C_SENDING;
        if (t->spec.tls != NULL && !conn_start_tls (c))
          return;
        break;
      case C_HANDSHAKE:
        if (!conn_handshake (c))
          return;
        break;
      case C_SENDING:
        {
          while (c->queued < t->request_len && portico_buf_len (&c->conn.out) < SEND_PIECE)
            {
              gsize n = MIN (t->request_len - c->queued, SEND_PIECE);
              portico_buf_append (&c->conn.out, t->request + c->queued, n);
              c->queued += n;
            }
          PorticoIoResult io = portico_conn_flush (&c->conn);
          if (io == PORTICO_IO_AGAIN)
            return;
          if (io != PORTICO_IO_OK)
            {
              conn_fail (c, PORTICO_TRAFFIC_ERR_RESET);
              return;
            }
          if (c->queued == t->request_len)
            c->state = C_HEAD;
          break;
        }
      case C_HEAD:
      case C_BODY:
        if (conn_read (c) != READ_DONE || !conn_answered (c))
          return;
        break;
      case C_IDLE:
        /* Something came on a connection with no request: the server
         * closed it (or sent what it should not have). Either way it is
         * no longer usable. */
        if (c->conn.read_ready || c->conn.pending_eof)
          conn_close (c);
        return;
      }
}

/* Starts one request: on @c (a connection kept alive by the closed loop),
 * else on an idle connection, else on a new one. */
static void
start_request (PorticoTraffic *t, TrafficConn *c, gint64 now_us)
{
  t->started_n++;
  t->issued++;
  second_at (t, now_us)->started++;
  t->in_flight++;
  if (t->issued >= t->max_issue)
    t->stopping = TRUE;
  if (c == NULL && t->idle.head != NULL)
    {
      c = t->idle.head->data;
      g_queue_unlink (&t->idle, &c->idle_link);
      c->idle_link.data = NULL;
    }
  gboolean run_now = c != NULL;
  if (c == NULL && (c = conn_open (t)) == NULL)
    {
      record_error (t, PORTICO_TRAFFIC_ERR_CONNECT, now_us);
      if (closed_loop (t) && !t->stopping)
        schedule_retry (t);
      return;
    }
  c->in_flight = 1;
  c->got_bytes = 0;
  c->retried = 0;
  c->queued = 0;
  c->start_us = now_us;
  portico_timer_arm (t->loop, &c->conn.timer, t->spec.timeout_ms);
  if (c->state != C_CONNECTING)
    {
      c->state = C_SENDING;
      /* A closed-loop connection carries on in its own conn_run loop. */
      if (run_now && !closed_loop (t))
        conn_run (c);
    }
}

/* --- the traffic's timers --- */

static void
on_rate_timer (PorticoTimer *timer)
{
  PorticoTraffic *t = CONTAINER (timer, PorticoTraffic, rate_timer);
  gint64 now_us = g_get_monotonic_time ();
  double rate = t->spec.rate;
  /* Every request due by now starts now: a late timer gives a burst. */
  guint64 due = (guint64) ((double) (now_us - t->t0_us) * rate / G_USEC_PER_SEC) + 1;
  due = MIN (due, t->max_issue);
  while (t->issued < due && !t->stopping)
    {
      gint64 due_us = t->t0_us + (gint64) ((double) t->issued * G_USEC_PER_SEC / rate);
      guint64 lag = now_us > due_us ? (guint64) (now_us - due_us) : 0;
      t->lag_sum_us += lag;
      t->lag_max_us = MAX (t->lag_max_us, lag);
      t->lag_n++;
      if (t->idle.head == NULL && t->n_conns >= t->spec.max_connections)
        {
          t->issued++;
          t->not_started++;
          second_at (t, now_us)->not_started++;
          if (t->issued >= t->max_issue)
            t->stopping = TRUE;
          continue;
        }
      start_request (t, NULL, now_us);
    }
  if (t->stopping)
    {
      check_done (t);
      return;
    }
  gint64 next_us = t->t0_us + (gint64) ceil_pos ((double) t->issued * G_USEC_PER_SEC / rate);
  gint64 wait_ms = (next_us - now_us + 999) / 1000;
  portico_timer_arm (t->loop, &t->rate_timer, (guint) CLAMP (wait_ms, 1, G_MAXINT));
}

static void
on_retry_timer (PorticoTimer *timer)
{
  PorticoTraffic *t = CONTAINER (timer, PorticoTraffic, retry_timer);
  guint n = t->pending_restarts;
  gint64 now_us = g_get_monotonic_time ();
  t->pending_restarts = 0;
  for (guint i = 0; i < n && !t->stopping; i++)
    start_request (t, NULL, now_us);
  check_done (t);
}

static void
on_stop_timer (PorticoTimer *timer)
{
  portico_traffic_stop (CONTAINER (timer, PorticoTraffic, stop_timer));
}

static void
on_notify_timer (PorticoTimer *timer)
{
  PorticoTraffic *t = CONTAINER (timer, PorticoTraffic, notify_timer);
  if (t->done_func != NULL)
    t->done_func (t, t->done_data);
}

static void
check_done (PorticoTraffic *t)
{
  if (!t->stopping || t->in_flight > 0 || t->done || !t->started)
    return;
  t->done = TRUE;
  t->pending_restarts = 0;
  portico_timer_disarm (t->loop, &t->rate_timer);
  portico_timer_disarm (t->loop, &t->stop_timer);
  portico_timer_disarm (t->loop, &t->retry_timer);
  while (t->conns.head != NULL)
    conn_close (t->conns.head->data);
  portico_timer_arm (t->loop, &t->notify_timer, 0);
}

/* --- the spec --- */

static gboolean
invalid (GError **error, const char *fmt, const char *what)
{
  g_set_error (error, PORTICO_CONFIG_ERROR, PORTICO_CONFIG_ERROR_INVALID, fmt, what);
  return FALSE;
}

/* What the request template cannot show: its bytes are checked by the
 * parser once they are built (check_request). */
static gboolean
spec_check (const PorticoTrafficSpec *s, GError **error)
{
  for (guint i = 0; s->headers != NULL && i < s->headers->len; i++)
    {
      const PorticoTrafficHeader *h = g_ptr_array_index (s->headers, i);
      if (h->name == NULL || h->value == NULL)
        return invalid (error, "%s", "a header without a name or a value");
      if (!g_ascii_strcasecmp (h->name, "Content-Length") || !g_ascii_strcasecmp (h->name, "Transfer-Encoding"))
        return invalid (error, "header %s: the body's framing is the generator's", h->name);
    }
  if ((s->concurrency > 0) == (s->rate > 0))
    return invalid (error, "%s", "exactly one of concurrency (closed loop) and rate (open loop) is needed");
  if (s->rate > 0 && !(s->rate <= 1e7))
    return invalid (error, "%s", "rate: at most 10000000 requests per second");
  if (s->duration_ms == 0 && s->count == 0)
    return invalid (error, "%s", "a duration or a count is needed");
  if (s->count_headers != NULL && g_strv_length (s->count_headers) > MAX_COUNT_HEADERS)
    return invalid (error, "%s", "count_headers: at most 64 names");
  return TRUE;
}

/* The request the generator sends must be one the gateway's own strict
 * parser accepts (method and header names are tokens, no control
 * characters, sizes within limits): else the run would measure 400s. */
static gboolean
check_request (PorticoTraffic *t, GError **error)
{
  PorticoHttpRequest *req = g_new (PorticoHttpRequest, 1);
  PorticoHttpParseResult r = portico_http_parse_request (t->request, t->request_len, &t->limits, req);
  gboolean ok = r == PORTICO_HTTP_OK;
  if (!ok)
    invalid (error, "the request template is not valid HTTP/1.1: %s",
             r == PORTICO_HTTP_ERROR && req->error_reason ? req->error_reason : "incomplete head");
  g_free (req);
  return ok;
}

static GPtrArray *
headers_copy (const GPtrArray *from)
{
  GPtrArray *to = g_ptr_array_new ();
  for (guint i = 0; from != NULL && i < from->len; i++)
    {
      const PorticoTrafficHeader *h = g_ptr_array_index (from, i);
      PorticoTrafficHeader *copy = g_new (PorticoTrafficHeader, 1);
      copy->name = g_strdup (h->name);
      copy->value = g_strdup (h->value);
      g_ptr_array_add (to, copy);
    }
  return to;
}

void
portico_traffic_spec_clear (PorticoTrafficSpec *spec)
{
  g_free (spec->address);
  g_free (spec->method);
  g_free (spec->path);
  g_free (spec->tls_name);
  if (spec->headers != NULL)
    {
      /* Whatever free function the caller gave the array, each element is freed once. */
      g_ptr_array_set_free_func (spec->headers, NULL);
      for (guint i = 0; i < spec->headers->len; i++)
        {
          PorticoTrafficHeader *h = g_ptr_array_index (spec->headers, i);
          g_free (h->name);
          g_free (h->value);
          g_free (h);
        }
      g_ptr_array_unref (spec->headers);
    }
  g_clear_pointer (&spec->body, g_bytes_unref);
  g_strfreev (spec->count_headers);
  memset (spec, 0, sizeof *spec);
}

static gboolean
has_header (const PorticoTrafficSpec *s, const char *name)
{
  for (guint i = 0; i < s->headers->len; i++)
    if (!g_ascii_strcasecmp (((PorticoTrafficHeader *) g_ptr_array_index (s->headers, i))->name, name))
      return TRUE;
  return FALSE;
}

static void
serialize_request (PorticoTraffic *t)
{
  const PorticoTrafficSpec *s = &t->spec;
  GString *r = g_string_new (NULL);
  g_string_append_printf (r, "%s %s HTTP/1.1\r\n", s->method, s->path);
  if (!has_header (s, "Host"))
    g_string_append_printf (r, "Host: %s\r\n", t->address.text);
  if (!s->keepalive && !has_header (s, "Connection"))
    g_string_append (r, "Connection: close\r\n");
  for (guint i = 0; i < s->headers->len; i++)
    {
      const PorticoTrafficHeader *h = g_ptr_array_index (s->headers, i);
      g_string_append_printf (r, "%s: %s\r\n", h->name, h->value);
    }
  gsize body_len = s->body != NULL ? g_bytes_get_size (s->body) : 0;
  if (s->body != NULL)
    g_string_append_printf (r, "Content-Length: %" G_GSIZE_FORMAT "\r\n", body_len);
  g_string_append (r, "\r\n");
  if (body_len > 0)
    g_string_append_len (r, g_bytes_get_data (s->body, NULL), (gssize) body_len);
  t->request_len = r->len;
  t->request = g_string_free (r, FALSE);
}

PorticoTraffic *
portico_traffic_new (PorticoLoop *loop, const PorticoTrafficSpec *spec, GError **error)
{
  g_return_val_if_fail (loop != NULL && spec != NULL, NULL);
  if (spec->address == NULL)
    {
      invalid (error, "%s", "an address is needed");
      return NULL;
    }
  if (!spec_check (spec, error))
    return NULL;
  PorticoTraffic *t = g_new0 (PorticoTraffic, 1);
  if (!portico_address_parse (spec->address, 0, &t->address, error))
    {
      g_free (t);
      return NULL;
    }
  t->loop = loop;
  t->spec = (PorticoTrafficSpec) {
    .address = g_strdup (spec->address),
    .method = g_strdup (spec->method ? spec->method : "GET"),
    .path = g_strdup (spec->path ? spec->path : "/"),
    .headers = headers_copy (spec->headers),
    .body = spec->body ? g_bytes_ref (spec->body) : NULL,
    .concurrency = spec->concurrency,
    .rate = spec->rate,
    .duration_ms = spec->duration_ms,
    .count = spec->count,
    .keepalive = spec->keepalive,
    .timeout_ms = spec->timeout_ms ? spec->timeout_ms : 10000,
    .max_connections = spec->max_connections ? spec->max_connections : 10000,
    .count_headers = g_strdupv (spec->count_headers),
    .tls = spec->tls,
    .tls_name = g_strdup (spec->tls_name ? spec->tls_name : t->address.host),
    .tls_no_resume = spec->tls_no_resume,
  };
  t->method_id = g_str_equal (t->spec.method, "HEAD") ? PORTICO_METHOD_HEAD : PORTICO_METHOD_GET;
  portico_http_limits_init (&t->limits);
  serialize_request (t);
  t->n_count_headers = t->spec.count_headers ? g_strv_length (t->spec.count_headers) : 0;
  t->count_lower = g_new0 (char *, t->n_count_headers + 1);
  for (guint i = 0; i < t->n_count_headers; i++)
    t->count_lower[i] = g_ascii_strdown (t->spec.count_headers[i], -1);

  t->max_issue = t->spec.count ? t->spec.count : G_MAXUINT64;
  if (t->spec.rate > 0 && t->spec.duration_ms > 0)
    t->max_issue = MIN (t->max_issue, ceil_pos (t->spec.rate * t->spec.duration_ms / 1000.0));
  t->rate_timer.func = on_rate_timer;
  t->stop_timer.func = on_stop_timer;
  t->retry_timer.func = on_retry_timer;
  t->notify_timer.func = on_notify_timer;
  t->seconds = g_array_new (FALSE, TRUE, sizeof (PorticoTrafficSecond));
  t->rand = g_rand_new_with_seed (0x706f7274);
  t->result.status = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  t->result.headers_seen = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  if (!check_request (t, error))
    {
      portico_traffic_free (t);
      return NULL;
    }
  return t;
}

void
portico_traffic_start (PorticoTraffic *t)
{
  g_return_if_fail (!t->started);
  t->started = TRUE;
  portico_loop_update_time (t->loop);
  t->t0_us = t->last_end_us = g_get_monotonic_time ();
  if (t->spec.duration_ms > 0 && closed_loop (t))
    portico_timer_arm (t->loop, &t->stop_timer, t->spec.duration_ms);
  if (!closed_loop (t))
    {
      on_rate_timer (&t->rate_timer);
      return;
    }
  for (guint i = 0; i < t->spec.concurrency && !t->stopping; i++)
    start_request (t, NULL, t->t0_us);
  check_done (t);
}

void
portico_traffic_stop (PorticoTraffic *t)
{
  t->stopping = TRUE;
  /* Kept-alive connections with nothing on them are of no more use. */
  while (t->idle.head != NULL)
    conn_close (t->idle.head->data);
  check_done (t);
}

gboolean
portico_traffic_is_done (PorticoTraffic *t)
{
  return t->done;
}

void
portico_traffic_set_done_func (PorticoTraffic *t, void (*func) (PorticoTraffic *t, gpointer data), gpointer data)
{
  t->done_func = func;
  t->done_data = data;
}

guint64
portico_traffic_errors_total (const guint64 *errors)
{
  guint64 n = 0;
  for (int i = 0; i < PORTICO_TRAFFIC_N_ERRORS; i++)
    n += errors[i];
  return n;
}

void
portico_traffic_progress (PorticoTraffic *t, guint64 *completed, guint64 *errors, guint64 *last_second)
{
  gint64 now_us = g_get_monotonic_time ();
  guint cur = t->started && now_us > t->t0_us ? (guint) ((now_us - t->t0_us) / G_USEC_PER_SEC) : 0;
  if (completed)
    *completed = t->completed;
  if (errors)
    *errors = portico_traffic_errors_total (t->errors);
  if (last_second)
    *last_second = cur > 0 && cur - 1 < t->seconds->len
                     ? g_array_index (t->seconds, PorticoTrafficSecond, cur - 1).completed : 0;
}

static int
cmp_u32 (const void *a, const void *b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least @p of them at or below it. */
static double
percentile_ms (const guint32 *sorted, guint n, double p)
{
  if (n == 0)
    return 0;
  guint64 rank = ceil_pos (p * n);
  return sorted[CLAMP (rank, 1, n) - 1] / 1000.0;
}

const PorticoTrafficResult *
portico_traffic_result (PorticoTraffic *t)
{
  PorticoTrafficResult *r = &t->result;
  r->started = t->started_n;
  r->not_started = t->not_started;
  r->completed = t->completed;
  memcpy (r->errors, t->errors, sizeof r->errors);
  r->connections_opened = t->connections_opened;
  memcpy (r->tls_handshakes, t->tls_handshakes, sizeof r->tls_handshakes);
  r->bytes_received = t->bytes_received;
  for (GList *l = t->conns.head; l != NULL; l = l->next)
    r->bytes_received += ((TrafficConn *) l->data)->conn.bytes_in;
  g_hash_table_remove_all (r->status);
  for (int code = 0; code < N_STATUS; code++)
    if (t->status_counts[code] > 0)
      g_hash_table_insert (r->status, GINT_TO_POINTER (code), g_memdup2 (&t->status_counts[code], sizeof (guint64)));
  g_hash_table_remove_all (r->headers_seen);
  for (guint i = 0; i < t->n_count_headers; i++)
    g_hash_table_insert (r->headers_seen, t->count_lower[i], g_memdup2 (&t->headers_seen[i], sizeof (guint64)));
  gint64 end_us = t->done || !t->started ? t->last_end_us : g_get_monotonic_time ();
  r->duration_s = (double) (end_us - t->t0_us) / G_USEC_PER_SEC;

  /* Sorting in place is harmless once done (nothing is added); before, a copy. */
  guint32 *sorted = t->samples;
  if (!t->done)
    sorted = g_memdup2 (t->samples, (gsize) t->n_samples * sizeof (guint32));
  if ((!t->done || !t->samples_sorted) && t->n_samples > 0)
    qsort (sorted, t->n_samples, sizeof (guint32), cmp_u32);
  t->samples_sorted = t->done;
  r->p50_ms = percentile_ms (sorted, t->n_samples, 0.50);
  r->p90_ms = percentile_ms (sorted, t->n_samples, 0.90);
  r->p99_ms = percentile_ms (sorted, t->n_samples, 0.99);
  r->p999_ms = percentile_ms (sorted, t->n_samples, 0.999);
  if (sorted != t->samples)
    g_free (sorted);
  r->max_ms = t->lat_max_us / 1000.0;
  r->mean_ms = t->completed ? (double) t->lat_sum_us / (double) t->completed / 1000.0 : 0;
  r->start_lag_mean_ms = t->lag_n ? (double) t->lag_sum_us / (double) t->lag_n / 1000.0 : 0;
  r->start_lag_max_ms = t->lag_max_us / 1000.0;
  r->seconds = t->seconds;
  return r;
}

void
portico_traffic_free (PorticoTraffic *t)
{
  if (t == NULL)
    return;
  while (t->conns.head != NULL)
    conn_close (t->conns.head->data);
  portico_timer_disarm (t->loop, &t->rate_timer);
  portico_timer_disarm (t->loop, &t->stop_timer);
  portico_timer_disarm (t->loop, &t->retry_timer);
  portico_timer_disarm (t->loop, &t->notify_timer);
  portico_traffic_spec_clear (&t->spec);
  portico_address_clear (&t->address);
  g_free (t->request);
  g_strfreev (t->count_lower);
  g_array_unref (t->seconds);
  g_free (t->samples);
  g_rand_free (t->rand);
  g_hash_table_unref (t->result.status);
  g_hash_table_unref (t->result.headers_seen);
  g_free (t);
}
