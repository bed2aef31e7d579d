/* exchange.c: one request through the gateway: route it, connect to the
 * upstream, stream the request body up and the response down, each way
 * with bounded buffers, and decide what happens to both connections.
 *
 * portico_exchange_run() is called whenever either connection has news. It
 * advances every side that can move until none can, then arms the timers
 * for what it waits on. A step that ends the exchange returns STEP_GONE,
 * after which nothing may touch it.
 */
#include "proxy/proxy-private.h"

#include <errno.h>
#include "core/histogram.h"
#include "net/sock.h"

#define HIGH_WATER PORTICO_BUF_BLOCK

typedef enum {
  STEP_IDLE = 0, /* nothing moved */
  STEP_PROGRESS, /* something moved: run the steps again */
  STEP_GONE,     /* the exchange ended and was freed */
} Step;

static const char MSG_BAD_GATEWAY[] = "An invalid response was received from the upstream server";
static const char MSG_TIMEOUT[] = "The upstream server is timing out";
static const char MSG_NO_PEER[] = "failure to get a peer from the ring-balancer";
static const char MSG_UNEXPECTED[] = "An unexpected error occurred";
static const char MSG_TOO_LARGE[] = "Request size limit exceeded";

static void up_on_timeout (PorticoTimer *timer);
static void advance (PorticoExchange *x);
static void run_log (PorticoExchange *x);

/* The try's connection goes (back to its pool when @reusable) and the
 * balancer hears that the try ended (@failed: without an answer). */
static void
release_upstream (PorticoProxy *proxy, PorticoExchange *x, gboolean reusable, gboolean failed)
{
  if (x->up != NULL)
    {
      portico_upstream_release (x->up, reusable);
      x->up = NULL;
    }
  portico_balancer_end (proxy, x, failed);
}

PorticoExchange *
portico_exchange_new (PorticoClient *client)
{
  PorticoProxy *proxy = client->proxy;
  PorticoExchange *x;
  if (proxy->free_exchanges->len > 0)
    {
      x = g_ptr_array_steal_index_fast (proxy->free_exchanges, proxy->free_exchanges->len - 1);
      char *head = x->head, *path = x->path;
      gsize head_cap = x->head_cap, path_cap = x->path_cap;
      memset (x, 0, G_STRUCT_OFFSET (PorticoExchange, req));
      x->head = head, x->head_cap = head_cap;
      x->path = path, x->path_cap = path_cap;
    }
  else
    x = g_new0 (PorticoExchange, 1);
  x->client = client;
  x->resp.status = 0;
  x->resp.keep_alive = FALSE;
  x->resp.n_headers = 0;
  return x;
}

void
portico_exchange_free (PorticoProxy *proxy, PorticoExchange *x)
{
  release_upstream (proxy, x, FALSE, FALSE); /* abandoned with its client: not the target's doing */
  portico_timer_disarm (proxy->loop, &x->resume_timer);
  portico_buf_clear (&x->filter_buf);
  portico_trace_discard (proxy, x);
  portico_request_finish (&x->pdk);
  if (proxy->free_exchanges->len < 64 && x->head_cap <= 4096)
    {
      g_ptr_array_add (proxy->free_exchanges, x);
      return;
    }
  portico_request_clear (&x->pdk);
  g_free (x->head);
  g_free (x->path);
  g_free (x);
}

/* ---- what the module API needs from the data path ---- */

static void
resume_fired (PorticoTimer *timer)
{
  PorticoExchange *x = (PorticoExchange *) ((char *) timer - G_STRUCT_OFFSET (PorticoExchange, resume_timer));
  x->pdk.resume_scheduled = FALSE;
  if (x->pdk.yielded) /* a stray resume (yield_for, then CONTINUE) is dropped */
    advance (x);
}

static void
hook_schedule (PorticoRequest *r, guint ms)
{
  PorticoExchange *x = r->owner;
  x->resume_timer.func = resume_fired;
  /* The loop's clock is in whole milliseconds, read once per turn: one
   * more keeps a wait from ending early. */
  portico_timer_arm (x->client->proxy->loop, &x->resume_timer, ms > 0 ? ms + 1 : 0);
}

static void
hook_cancel (PorticoRequest *r)
{
  PorticoExchange *x = r->owner;
  portico_timer_disarm (x->client->proxy->loop, &x->resume_timer);
}

static void (*record_phase) (PorticoPhase phase, guint64 us);

void
portico_proxy_record_phase (PorticoPhase phase, guint64 us)
{
  if (record_phase != NULL)
    record_phase (phase, us);
}

void
portico_proxy_set_phase_recorder (void (*func) (PorticoPhase phase, guint64 us))
{
  record_phase = func;
}

static const PorticoRequestHooks exchange_hooks = {
  .schedule = hook_schedule,
  .cancel = hook_cancel,
  .record_phase = portico_proxy_record_phase,
};

/* The parsed request points into the client's input buffer, which the body
 * will reuse: move the head to the exchange's own storage. */
static void
take_head (PorticoExchange *x, const char *from)
{
  PorticoHttpRequest *r = &x->req;
  if (x->head_cap < r->head_len)
    {
      g_free (x->head);
      x->head_cap = MAX (r->head_len, 1024);
      x->head = g_malloc (x->head_cap);
    }
  memcpy (x->head, from, r->head_len);
  char *to = x->head;
#define REBASE(p) \
  if ((p) != NULL) \
    (p) = to + ((p) - from)
  REBASE (r->method);
  REBASE (r->target);
  REBASE (r->path);
  REBASE (r->query);
  REBASE (r->host);
  for (size_t i = 0; i < r->n_headers; i++)
    {
      REBASE (r->headers[i].name);
      REBASE (r->headers[i].value);
    }
#undef REBASE
}

static gboolean
can_keep_client (PorticoExchange *x)
{
  const PorticoClient *client = x->client;
  const PorticoNodeConfig *node = &client->proxy->config->node;
  return x->req.keep_alive && !client->proxy->draining && node->keepalive_timeout > 0 &&
         client->requests < node->keepalive_requests;
}

/* The gateway's own answer, Kong's {"message": ...}, as the local response. */
static void
set_local_message (PorticoRequest *r, int status, const char *message)
{
  char body[256];
  gsize len = portico_message_json (body, sizeof body, message);
  portico_response_set_local (r, status, "application/json; charset=utf-8", body, len);
}

/* The response in x->pdk's local fields goes out instead of the
 * upstream's (which is let go), through header_filter (unless it comes
 * from there) and body_filter. After input it cannot trust (@must_close),
 * the connection closes whatever else. */
static void
send_local (PorticoExchange *x, gboolean must_close, gboolean filter_headers)
{
  PorticoRequest *r = &x->pdk;
  if (x->up != NULL)
    PORTICO_TRACE (x, portico_trace_upstream_end (x, TRUE));
  release_upstream (x->client->proxy, x, FALSE, FALSE);
  PORTICO_TRACE (x, portico_trace_enter (x, PORTICO_PHASE_HEADER_FILTER));
  if (filter_headers && portico_phase_wanted (r, PORTICO_PHASE_HEADER_FILTER))
    {
      PorticoResult res = portico_phase_run (r, PORTICO_PHASE_HEADER_FILTER);
      if (res == PORTICO_ERROR)
        {
          set_local_message (r, 500, MSG_UNEXPECTED);
        }
    }
  const char *trace_id = portico_trace_requested_id (x);
  if (trace_id != NULL)
    portico_header_table_set (r, &r->resp_headers, PORTICO_EDIT_SET, PORTICO_TRACE_ID_HEADER, trace_id);
  PORTICO_TRACE (x, portico_trace_leave (x, PORTICO_PHASE_HEADER_FILTER));
  PORTICO_TRACE (x, portico_trace_enter (x, PORTICO_PHASE_BODY_FILTER));
  const char *body = r->local_body;
  gsize body_len = r->local_body_len;
  if (portico_phase_wanted (r, PORTICO_PHASE_BODY_FILTER) &&
      portico_phase_body (r, body, body_len, TRUE) == PORTICO_CONTINUE)
    {
      body = r->chunk;
      body_len = r->chunk_len;
    }
  /* An unread request body would be taken for the next request. */
  gboolean body_read = x->req_pipe.done;
  x->keep_client = can_keep_client (x) && body_read && !must_close;
  portico_respond_full (x->client, r->status, r->resp_headers.v, r->resp_headers.n, body, body_len,
                        x->req.method_id == PORTICO_METHOD_HEAD, x->keep_client);
  PORTICO_TRACE (x, portico_trace_leave (x, PORTICO_PHASE_BODY_FILTER));
  x->status = r->status;
  x->resp_started = x->resp_done = TRUE;
  x->req_done = TRUE;
  portico_client_set_state (x->client, PORTICO_CONN_WRITING);
}

/* The gateway answers {"message": @message} itself. */
static void
respond_local (PorticoExchange *x, int status, const char *message, gboolean must_close)
{
  set_local_message (&x->pdk, status, message);
  send_local (x, must_close, TRUE);
}

/* Both connections go: the response cannot be completed. */
static Step
abort_exchange (PorticoExchange *x, const char *why)
{
  g_info ("%s %.*s: aborted: %s", x->client->peer_ip, (int) x->req.target_len, x->req.target, why);
  if (!x->resp_started)
    x->status = x->pdk.status = 499; /* nginx's "client closed request" */
  run_log (x);
  release_upstream (x->client->proxy, x, FALSE, FALSE);
  portico_client_abort (x->client);
  return STEP_GONE;
}

/* @fresh: the last connection to x->target failed; a retry on that same
 * target opens a new connection (its pooled ones may be as stale), a
 * retry on another target may reuse that target's pool. */
static gboolean
connect_upstream (PorticoExchange *x, gboolean fresh)
{
  PorticoProxy *proxy = x->client->proxy;
  const PorticoAddress *failed = fresh ? x->target : NULL;
  for (;;)
    {
      PORTICO_TRACE (x, portico_trace_enter (x, PORTICO_PHASE_BALANCER));
      const PorticoAddress *target = portico_balancer_pick (proxy, x, x->target);
      if (target == NULL)
        {
          PORTICO_TRACE (x, portico_trace_leave (x, PORTICO_PHASE_BALANCER));
          respond_local (x, 503, MSG_NO_PEER, FALSE);
          return FALSE;
        }
      x->target = target;
      PorticoRequest *r = &x->pdk;
      r->target = target->text;
      r->tries = x->tries + 1;
      if (portico_phase_wanted (r, PORTICO_PHASE_BALANCER))
        {
          PorticoResult res = portico_phase_run (r, PORTICO_PHASE_BALANCER);
          if (res != PORTICO_CONTINUE)
            PORTICO_TRACE (x, portico_trace_leave (x, PORTICO_PHASE_BALANCER));
          if (res == PORTICO_RESPOND)
            {
              send_local (x, FALSE, TRUE);
              return FALSE;
            }
          if (res != PORTICO_CONTINUE)
            {
              respond_local (x, 500, MSG_UNEXPECTED, FALSE);
              return FALSE;
            }
        }
      if (r->upstream_sent_us < 0)
        r->upstream_sent_us = g_get_monotonic_time ();
      int err = 0;
      portico_balancer_begin (proxy, x);
      PorticoUpConn *up = portico_upstream_get (proxy, target, x, failed != NULL && target == failed, &err);
      PORTICO_TRACE (x, portico_trace_leave (x, PORTICO_PHASE_BALANCER));
      if (up != NULL)
        {
          PORTICO_TRACE (x, portico_trace_upstream_begin (x));
          x->up = up;
          up->requests++;
          up->conn.timer.func = up_on_timeout;
          if (!up->connected)
            portico_timer_arm (proxy->loop, &up->conn.timer, x->service->connect_timeout);
          return TRUE;
        }
      proxy->stats.upstream_failures++;
      portico_balancer_end (proxy, x, TRUE);
      g_info ("connect to %s failed: %s", target->text, g_strerror (err));
      if (x->tries >= x->service->retries)
        {
          respond_local (x, 502, MSG_BAD_GATEWAY, FALSE);
          return FALSE;
        }
      x->tries++;
    }
}

/* The upstream failed before it said anything: try another connection
 * (another target, when the service has several) if the request can be
 * sent again, else answer 502 or 504. */
static Step
upstream_failed (PorticoExchange *x, gboolean timed_out, const char *why)
{
  PorticoProxy *proxy = x->client->proxy;
  PorticoUpConn *up = x->up;
  if (timed_out)
    proxy->stats.upstream_timeouts++;
  else
    proxy->stats.upstream_failures++;
  g_info ("upstream %s: %s", x->target->text, why);
  PORTICO_TRACE (x, portico_trace_upstream_end (x, TRUE));
  x->try_timed_out = timed_out;

  if (x->resp_started)
    return abort_exchange (x, why);

  /* Sent again only when that cannot hurt: the connect failed (nothing
   * was sent), or a reused keep-alive connection turned out closed before
   * any answer (the upstream timed it out as we sent) and the request has
   * no body. A fresh connection that fails after the request went out is
   * not retried: the upstream may have acted on it. */
  gboolean reused = up->requests > 1;
  gboolean silent = portico_buf_len (&up->conn.in) == 0;
  gboolean fresh_start = !up->connected || (reused && silent && x->req.body == PORTICO_BODY_NONE);
  if (fresh_start && x->tries < x->service->retries)
    {
      x->tries++;
      PorticoBuf pending = up->conn.out; /* head (and body) not sent yet */
      gboolean resend = up->connected;
      memset (&up->conn.out, 0, sizeof up->conn.out);
      release_upstream (proxy, x, FALSE, TRUE);
      if (!connect_upstream (x, TRUE))
        {
          portico_buf_clear (&pending);
          return STEP_PROGRESS;
        }
      if (resend)
        {
          portico_buf_clear (&pending);
          portico_head_upstream_request (x, &x->up->conn.out);
        }
      else
        {
          portico_buf_clear (&x->up->conn.out);
          x->up->conn.out = pending;
        }
      return STEP_PROGRESS;
    }
  respond_local (x, timed_out ? 504 : 502, timed_out ? MSG_TIMEOUT : MSG_BAD_GATEWAY, FALSE);
  return STEP_PROGRESS;
}

/* Connecting: the TCP connect, then for an https service the TLS
 * handshake, both under connect_timeout (each gets its own, as in nginx).
 * A handshake that fails (a certificate that does not verify) fails the
 * try like a refused connect: logged with the target and the reason, then
 * another try or 502. */
static Step
step_connect (PorticoExchange *x)
{
  PorticoUpConn *up = x->up;
  PorticoProxy *proxy = x->client->proxy;
  const PorticoService *service = x->service;
  Step step = STEP_IDLE;
  if (up->conn.tls == NULL)
    {
      if (!up->conn.write_ready)
        return STEP_IDLE;
      int err = portico_sock_error (up->conn.fd);
      if (err != 0)
        return upstream_failed (x, FALSE, g_strerror (err));
      if (g_strcmp0 (service->protocol, "https") == 0)
        {
          if (service->tls_client == NULL ||
              !portico_conn_tls_client (&up->conn, service->tls_client, service->host, x->target->text))
            {
              proxy->stats.tls_handshakes[PORTICO_TLS_UPSTREAM][PORTICO_TLS_HANDSHAKE_FAILED]++;
              return upstream_failed (x, FALSE, "cannot start TLS");
            }
          portico_timer_arm (proxy->loop, &up->conn.timer, service->connect_timeout);
          x->up_progress = TRUE;
          step = STEP_PROGRESS;
        }
    }
  if (up->conn.tls != NULL)
    {
      PorticoIoResult io = portico_conn_handshake (&up->conn);
      if (io == PORTICO_IO_AGAIN)
        return step;
      if (io != PORTICO_IO_OK)
        {
          char why[200] = "closed during the TLS handshake", reason[160];
          if (up->conn.failed)
            g_snprintf (why, sizeof why, "TLS handshake failed: %s",
                        portico_conn_error_text (&up->conn, reason, sizeof reason));
          proxy->stats.tls_handshakes[PORTICO_TLS_UPSTREAM][PORTICO_TLS_HANDSHAKE_FAILED]++;
          g_message ("upstream %s (service %s): %s", x->target->text, service->name, why);
          return upstream_failed (x, FALSE, why);
        }
      PorticoTlsKind kind = portico_tls_resumed (up->conn.tls) ? PORTICO_TLS_HANDSHAKE_RESUMED : PORTICO_TLS_HANDSHAKE_FULL;
      proxy->stats.tls_handshakes[PORTICO_TLS_UPSTREAM][kind]++;
    }
  up->connected = TRUE;
  portico_timer_disarm (up->conn.loop, &up->conn.timer);
  x->up_progress = TRUE;
  return STEP_PROGRESS;
}

/* Request body: client input -> upstream output -> upstream socket. */
static Step
step_request (PorticoExchange *x)
{
  PorticoUpConn *up = x->up;
  PorticoClient *client = x->client;
  Step step = STEP_IDLE;
  for (;;)
    {
      if (!x->req_done)
        {
          PorticoPipeResult r = portico_pipe_move (&x->req_pipe, &client->conn.in, &up->conn.out, HIGH_WATER);
          if (x->pdk.max_body > 0 && x->req_pipe.bytes > x->pdk.max_body)
            {
              /* Past a module's limit: the upstream got part of a request. */
              if (x->resp_started)
                return abort_exchange (x, "request body over the limit");
              respond_local (x, 413, MSG_TOO_LARGE, TRUE);
              return STEP_PROGRESS;
            }
          if (r == PORTICO_PIPE_ERROR)
            {
              /* A broken chunked body: the upstream got part of a request. */
              if (x->resp_started)
                return abort_exchange (x, x->req_pipe.error);
              respond_local (x, 400, "Bad request", TRUE);
              return STEP_PROGRESS;
            }
          if (r == PORTICO_PIPE_DONE)
            x->req_done = TRUE;
        }
      if (portico_buf_len (&up->conn.out) > 0)
        {
          PorticoIoResult io = portico_conn_flush (&up->conn);
          if (io == PORTICO_IO_AGAIN)
            return step;
          if (io == PORTICO_IO_ERROR)
            return upstream_failed (x, FALSE, g_strerror (up->conn.errno_saved));
          x->up_progress = TRUE;
          step = STEP_PROGRESS;
        }
      if (x->req_done)
        return step;
      if (portico_buf_len (&client->conn.in) > 0)
        continue;
      if (x->req.expect_continue && !x->sent_continue)
        {
          x->sent_continue = TRUE;
          portico_buf_append (&client->conn.out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
        }
      PorticoIoResult io = portico_conn_fill (&client->conn, HIGH_WATER);
      if (io == PORTICO_IO_AGAIN)
        return step;
      if (io != PORTICO_IO_OK)
        return abort_exchange (x, "the client closed while sending the body");
      x->client_progress = TRUE;
      step = STEP_PROGRESS;
    }
}

/* The upstream's head is in: header_filter may change it or replace the
 * response. Returns FALSE when a local response was sent instead. */
static gboolean
filter_response_head (PorticoExchange *x)
{
  PorticoRequest *r = &x->pdk;
  PorticoHttpResponse *resp = &x->resp;
  r->upstream_head_us = g_get_monotonic_time ();
  portico_balancer_observe (x->client->proxy, x);
  PORTICO_TRACE (x, portico_trace_upstream_end (x, FALSE));
  PORTICO_TRACE (x, portico_trace_enter (x, PORTICO_PHASE_HEADER_FILTER));
  if (portico_plan_is_empty (r->plan))
    return TRUE;
  /* Copied: the head leaves up->conn.in before log reads it. */
  portico_response_begin (r, resp->status, resp->headers, (guint) resp->n_headers, TRUE);
  PorticoResult res = portico_phase_run (r, PORTICO_PHASE_HEADER_FILTER);
  if (res == PORTICO_CONTINUE)
    {
      x->filtering = resp->body != PORTICO_BODY_NONE && portico_phase_wanted (r, PORTICO_PHASE_BODY_FILTER);
      return TRUE;
    }
  x->up->conn.failed = 1; /* its body stays unread */
  if (res != PORTICO_RESPOND)
    set_local_message (r, 500, MSG_UNEXPECTED);
  send_local (x, FALSE, FALSE);
  return FALSE;
}

static void
start_response (PorticoExchange *x)
{
  PorticoClient *client = x->client;
  PorticoHttpResponse *resp = &x->resp;
  gboolean http10 = x->req.version_minor == 0;
  PorticoBodyKind to;
  switch (resp->body)
    {
    case PORTICO_BODY_NONE: to = PORTICO_BODY_NONE; break;
    case PORTICO_BODY_LENGTH: to = x->pdk.length_removed ? PORTICO_BODY_CHUNKED : PORTICO_BODY_LENGTH; break;
    default: to = PORTICO_BODY_CHUNKED; break;
    }
  if (to == PORTICO_BODY_CHUNKED && http10)
    to = PORTICO_BODY_CLOSE;
  if (x->filtering)
    {
      /* Decoded into filter_buf; filter_body() frames it for the client. */
      x->filter_to = to;
      portico_pipe_init (&x->resp_pipe, resp->body, resp->content_length, PORTICO_BODY_CLOSE);
      x->resp_pipe.to = to; /* what the head announces */
    }
  else
    portico_pipe_init (&x->resp_pipe, resp->body, resp->content_length, to);
  /* The connection can carry the next request only if this response has an
   * end the client can see and the request body has been read whole. */
  x->keep_client = can_keep_client (x) && to != PORTICO_BODY_CLOSE && x->req_done;
  x->client_bytes_at_head = client->conn.bytes_out;
  portico_head_client_response (x, &client->conn.out);
  if (x->filtering)
    x->resp_pipe.to = PORTICO_BODY_CLOSE;
  x->status = x->pdk.have_response ? x->pdk.status : resp->status;
  client->proxy->stats.responses[x->status / 100 <= 5 ? x->status / 100 : 0]++;
  portico_buf_consume (&x->up->conn.in, resp->head_len);
  x->resp_started = TRUE;
  x->resp_done = x->resp_pipe.done && !x->filtering; /* filter_body() ends a filtered body */
  portico_client_set_state (client, PORTICO_CONN_WRITING);
  PORTICO_TRACE (x, portico_trace_leave (x, PORTICO_PHASE_HEADER_FILTER));
  PORTICO_TRACE (x, portico_trace_enter (x, PORTICO_PHASE_BODY_FILTER));
}

/* The upstream's body broke its framing. If not a byte of the response
 * has left yet, the client can still get a clean 502; else the connection
 * must close so the client sees the response is cut. */
static Step
response_broken (PorticoExchange *x)
{
  PorticoClient *client = x->client;
  if (client->conn.bytes_out != x->client_bytes_at_head)
    return abort_exchange (x, x->resp_pipe.error);
  g_info ("upstream %s: %s", x->target->text, x->resp_pipe.error);
  client->proxy->stats.upstream_failures++;
  client->proxy->stats.responses[x->status / 100 <= 5 ? x->status / 100 : 0]--;
  portico_buf_clear (&client->conn.out);
  x->up->conn.failed = 1;
  x->resp_started = FALSE;
  respond_local (x, 502, MSG_BAD_GATEWAY, TRUE);
  return STEP_PROGRESS;
}

/* The decoded body in filter_buf goes through body_filter and on to the
 * client, framed as the head said. @last: the upstream's body is whole.
 * STEP_IDLE when all is well. */
static Step
filter_body (PorticoExchange *x, gboolean last)
{
  PorticoRequest *r = &x->pdk;
  PorticoBuf *out = &x->client->conn.out;
  gsize len = portico_buf_len (&x->filter_buf);
  if (x->filter_last_done || (len == 0 && !last))
    return STEP_IDLE;
  if (portico_phase_body (r, portico_buf_head (&x->filter_buf), len, last) != PORTICO_CONTINUE)
    return abort_exchange (x, "a body_filter failed");
  x->filter_out_bytes += r->chunk_len;
  if (x->filter_to == PORTICO_BODY_LENGTH && (x->filter_out_bytes > x->resp.content_length ||
                                              (last && x->filter_out_bytes != x->resp.content_length)))
    return abort_exchange (x, "a body_filter changed the length but kept Content-Length");
  portico_body_write (x->filter_to, out, r->chunk, r->chunk_len);
  portico_buf_consume (&x->filter_buf, len);
  if (last)
    {
      x->filter_last_done = TRUE;
      if (x->filter_to == PORTICO_BODY_CHUNKED)
        portico_buf_append (out, "0\r\n\r\n", 5);
    }
  return STEP_IDLE;
}

/* Response: upstream socket -> upstream input -> client output -> client. */
static Step
step_response (PorticoExchange *x)
{
  PorticoUpConn *up = x->up;
  PorticoClient *client = x->client;
  PorticoProxy *proxy = client->proxy;
  Step step = STEP_IDLE, s_filter;
  for (;;)
    {
      if (!x->resp_started)
        {
          gsize len = portico_buf_len (&up->conn.in);
          if (len > 0)
            {
              PorticoHttpParseResult r = portico_http_parse_response (
                portico_buf_head (&up->conn.in), len, &proxy->limits, x->req.method_id, &x->resp);
              if (r == PORTICO_HTTP_OK && x->resp.status < 200)
                {
                  if (x->resp.status == 101)
                    return upstream_failed (x, FALSE, "101 Switching Protocols is not supported");
                  portico_buf_consume (&up->conn.in, x->resp.head_len); /* interim: dropped */
                  continue;
                }
              if (r == PORTICO_HTTP_OK)
                {
                  if (!filter_response_head (x))
                    return STEP_PROGRESS;
                  start_response (x);
                  step = STEP_PROGRESS;
                  continue;
                }
              if (r == PORTICO_HTTP_ERROR)
                {
                  up->conn.failed = 1;
                  return upstream_failed (x, FALSE, x->resp.error_reason ? x->resp.error_reason
                                                                        : "bad response head");
                }
              if (len >= proxy->limits.max_head)
                {
                  up->conn.failed = 1;
                  return upstream_failed (x, FALSE, "response head too large");
                }
            }
          PorticoIoResult io = portico_conn_fill (&up->conn, proxy->limits.max_head - len);
          if (io == PORTICO_IO_AGAIN)
            return step;
          if (io == PORTICO_IO_EOF)
            return upstream_failed (x, FALSE, "closed before a response");
          if (io == PORTICO_IO_ERROR)
            return upstream_failed (x, FALSE, g_strerror (up->conn.errno_saved));
          x->up_progress = TRUE;
          step = STEP_PROGRESS;
          continue;
        }

      PorticoPipeResult r;
      if (x->filtering)
        {
          if (portico_buf_len (&client->conn.out) < HIGH_WATER)
            {
              r = portico_pipe_move (&x->resp_pipe, &up->conn.in, &x->filter_buf, HIGH_WATER);
              if (r != PORTICO_PIPE_ERROR && (s_filter = filter_body (x, r == PORTICO_PIPE_DONE)) != STEP_IDLE)
                return s_filter;
            }
          else
            r = PORTICO_PIPE_MOVED;
        }
      else
        r = portico_pipe_move (&x->resp_pipe, &up->conn.in, &client->conn.out, HIGH_WATER);
      if (r == PORTICO_PIPE_ERROR)
        return response_broken (x);
      if (r == PORTICO_PIPE_DONE)
        {
          x->resp_done = TRUE;
          return STEP_PROGRESS;
        }
      if (portico_buf_len (&client->conn.out) > 0)
        {
          PorticoIoResult io = portico_conn_flush (&client->conn);
          if (io == PORTICO_IO_ERROR)
            return abort_exchange (x, "the client went away");
          if (io == PORTICO_IO_AGAIN)
            return step;
          x->client_progress = TRUE;
          step = STEP_PROGRESS;
        }
      if (portico_buf_len (&up->conn.in) > 0)
        continue;
      PorticoIoResult io = portico_conn_fill (&up->conn, HIGH_WATER);
      if (io == PORTICO_IO_AGAIN)
        return step;
      if (io == PORTICO_IO_EOF)
        {
          PorticoBuf *to = x->filtering ? &x->filter_buf : &client->conn.out;
          if (portico_pipe_input_closed (&x->resp_pipe, to) == PORTICO_PIPE_ERROR)
            return response_broken (x);
          if (x->filtering && (s_filter = filter_body (x, TRUE)) == STEP_GONE)
            return s_filter;
          x->resp_done = TRUE;
          return STEP_PROGRESS;
        }
      if (io == PORTICO_IO_ERROR)
        return abort_exchange (x, g_strerror (up->conn.errno_saved));
      x->up_progress = TRUE;
      step = STEP_PROGRESS;
    }
}

static Step
step_client_flush (PorticoExchange *x)
{
  PorticoClient *client = x->client;
  if (portico_buf_len (&client->conn.out) == 0)
    return STEP_IDLE;
  PorticoIoResult io = portico_conn_flush (&client->conn);
  if (io == PORTICO_IO_ERROR)
    return abort_exchange (x, "the client went away");
  if (io == PORTICO_IO_AGAIN)
    return STEP_IDLE;
  x->client_progress = TRUE;
  return STEP_PROGRESS;
}

static void
record_latency (PorticoExchange *x)
{
  guint64 us = (guint64) (g_get_monotonic_time () - x->start_us);
  PorticoProxyStats *stats = &x->client->proxy->stats;
  G_STATIC_ASSERT (G_N_ELEMENTS (stats->latency_hist) == PORTICO_HISTOGRAM_N_BUCKETS);
  stats->latency_hist[portico_histogram_bucket (us)]++;
}

/* The log phase, once, when the exchange ends however it ends. */
static void
run_log (PorticoExchange *x)
{
  PorticoRequest *r = &x->pdk;
  if (r->finished_us != 0)
    return;
  r->finished_us = g_get_monotonic_time ();
  PORTICO_TRACE (x, portico_trace_leave (x, PORTICO_PHASE_BODY_FILTER));
  PORTICO_TRACE (x, portico_trace_enter (x, PORTICO_PHASE_LOG));
  if (portico_phase_wanted (r, PORTICO_PHASE_LOG))
    {
      if (!r->have_response)
        r->status = x->status;
      r->bytes_received = x->req.head_len + x->req_pipe.bytes;
      r->bytes_sent = x->client->conn.bytes_out - x->client_bytes_at_start;
      portico_phase_run (r, PORTICO_PHASE_LOG);
    }
  PORTICO_TRACE (x, portico_trace_finish (x));
}

static void
finish (PorticoExchange *x)
{
  record_latency (x);
  run_log (x);
  gboolean reusable = x->up != NULL && x->resp.keep_alive && x->resp_pipe.done && x->req_done &&
                      portico_buf_len (&x->up->conn.out) == 0;
  release_upstream (x->client->proxy, x, reusable, FALSE);
  portico_client_exchange_done (x->client);
}

/* Timeouts count from the last progress on that side (nginx's meaning):
 * re-armed only when the side moved, or when it starts waiting. */
static void
arm (PorticoConn *conn, gboolean moved, guint ms)
{
  if (moved || !portico_timer_is_armed (&conn->timer))
    portico_timer_arm (conn->loop, &conn->timer, ms);
}

static void
update_timers (PorticoExchange *x)
{
  PorticoClient *client = x->client;
  const PorticoNodeConfig *node = &client->proxy->config->node;
  PorticoUpConn *up = x->up;
  if (up != NULL && up->connected)
    {
      if (portico_buf_len (&up->conn.out) > 0)
        arm (&up->conn, x->up_progress, x->service->write_timeout);
      else if (x->req_done && !x->resp_done)
        arm (&up->conn, x->up_progress, x->service->read_timeout);
      else
        portico_timer_disarm (up->conn.loop, &up->conn.timer);
    }
  if (portico_buf_len (&client->conn.out) > 0)
    arm (&client->conn, x->client_progress, node->send_timeout);
  else if (!x->req_done && up != NULL && up->connected && portico_buf_len (&up->conn.out) == 0)
    arm (&client->conn, x->client_progress, node->client_body_timeout);
  else
    portico_timer_disarm (client->conn.loop, &client->conn.timer);

  if (!x->resp_started)
    portico_client_set_state (client, x->req_done ? PORTICO_CONN_WAITING : PORTICO_CONN_READING);
  x->up_progress = x->client_progress = FALSE;
}

void
portico_exchange_run (PorticoExchange *x)
{
  for (;;)
    {
      gboolean moved = FALSE;
      Step s;
      if (x->up != NULL && !x->up->connected)
        {
          if ((s = step_connect (x)) == STEP_GONE)
            return;
          moved |= s == STEP_PROGRESS;
        }
      if (x->up != NULL && x->up->connected && (!x->req_done || portico_buf_len (&x->up->conn.out) > 0))
        {
          if ((s = step_request (x)) == STEP_GONE)
            return;
          moved |= s == STEP_PROGRESS;
        }
      if (x->up != NULL && x->up->connected && !x->resp_done)
        {
          if ((s = step_response (x)) == STEP_GONE)
            return;
          moved |= s == STEP_PROGRESS;
        }
      if ((s = step_client_flush (x)) == STEP_GONE)
        return;
      moved |= s == STEP_PROGRESS;
      if (x->resp_done && portico_buf_len (&x->client->conn.out) == 0)
        {
          finish (x);
          return;
        }
      if (!moved)
        break;
    }
  update_timers (x);
}

void
portico_exchange_timeout (PorticoExchange *x, gboolean client_side)
{
  if (client_side)
    {
      if (x->resp_started)
        {
          abort_exchange (x, "send timeout");
          return;
        }
      respond_local (x, 408, "Request Timeout", TRUE);
      portico_exchange_run (x);
      return;
    }
  if (upstream_failed (x, TRUE, x->up->connected ? "read/write timeout" : "connect timeout") == STEP_GONE)
    return;
  portico_exchange_run (x);
}

static void
up_on_timeout (PorticoTimer *timer)
{
  PorticoUpConn *up = (PorticoUpConn *) ((char *) timer - G_STRUCT_OFFSET (PorticoConn, timer));
  portico_exchange_timeout (up->exchange, FALSE);
}

/* What a rewrite or access result means for the exchange: TRUE to go on. */
static gboolean
phase_went_on (PorticoExchange *x, PorticoResult res)
{
  switch (res)
    {
    case PORTICO_CONTINUE:
      return TRUE;
    case PORTICO_YIELD:
      portico_client_set_state (x->client, PORTICO_CONN_WAITING);
      return FALSE;
    case PORTICO_RESPOND:
      send_local (x, FALSE, TRUE);
      break;
    case PORTICO_ERROR:
    default:
      respond_local (x, 500, MSG_UNEXPECTED, FALSE);
      break;
    }
  x->stage = PORTICO_STAGE_UPSTREAM;
  portico_exchange_run (x);
  return FALSE;
}

static gboolean
route (PorticoExchange *x)
{
  PorticoProxy *proxy = x->client->proxy;
  PorticoRequest *r = &x->pdk;
  const PorticoHttpRequest *req = &x->req;
  if (r->path != x->path)
    {
      /* rewrite changed the path: route (and strip) the new one. */
      if (x->path_cap < r->path_len + 1)
        {
          g_free (x->path);
          x->path_cap = r->path_len + 1;
          x->path = g_malloc (x->path_cap);
        }
      memcpy (x->path, r->path, r->path_len + 1);
      x->path_len = r->path_len;
      r->path = x->path;
    }
  const char *host = req->host;
  size_t host_len = req->host_len;
  int host_at = r->host_set ? portico_header_table_find (&r->req_headers, "host", 4, 0) : -1;
  if (host_at >= 0)
    {
      host = r->req_headers.v[host_at].value;
      host_len = r->req_headers.v[host_at].value_len;
    }
  if (!portico_router_match (proxy->router, req->method, req->method_len, host, host_len, x->path, x->path_len,
                             r->req_headers.v, r->req_headers.n, x->client->conn.tls != NULL, &x->match))
    return FALSE;
  x->service = x->match.route->service;
  r->route = x->match.route;
  r->service = x->service;
  return TRUE;
}

/* Rewrite, routing, access, then the upstream; resumed here after a
 * handler yielded. */
static void
advance (PorticoExchange *x)
{
  PorticoRequest *r = &x->pdk;
  PorticoResult res;
  portico_client_set_state (x->client, PORTICO_CONN_ACTIVE);
  switch (x->stage)
    {
    case PORTICO_STAGE_REWRITE:
      PORTICO_TRACE (x, portico_trace_enter (x, PORTICO_PHASE_REWRITE));
      res = portico_phase_run (r, PORTICO_PHASE_REWRITE);
      if (res != PORTICO_YIELD)
        PORTICO_TRACE (x, portico_trace_leave (x, PORTICO_PHASE_REWRITE));
      if (!phase_went_on (x, res))
        return;
      x->stage = PORTICO_STAGE_ROUTE;
      /* fall through */
    case PORTICO_STAGE_ROUTE:
      /* Routing opens access, as in Kong. */
      PORTICO_TRACE (x, portico_trace_enter (x, PORTICO_PHASE_ACCESS));
      x->stage = PORTICO_STAGE_ACCESS;
      if (!route (x))
        {
          PORTICO_TRACE (x, portico_trace_leave (x, PORTICO_PHASE_ACCESS));
          x->stage = PORTICO_STAGE_UPSTREAM;
          respond_local (x, 404, "no Route matched with those values", FALSE);
          break;
        }
      if (x->match.https_required)
        {
          /* Before access, as in Kong: no plugin runs for it. */
          PORTICO_TRACE (x, portico_trace_leave (x, PORTICO_PHASE_ACCESS));
          x->stage = PORTICO_STAGE_UPSTREAM;
          portico_head_https_required (x);
          send_local (x, FALSE, TRUE);
          break;
        }
      /* fall through */
    case PORTICO_STAGE_ACCESS:
      res = portico_phase_run (r, PORTICO_PHASE_ACCESS);
      if (res != PORTICO_YIELD)
        PORTICO_TRACE (x, portico_trace_leave (x, PORTICO_PHASE_ACCESS));
      if (!phase_went_on (x, res))
        return;
      x->stage = PORTICO_STAGE_UPSTREAM;
      if (r->max_body > 0 && x->req.body == PORTICO_BODY_LENGTH && x->req.content_length > r->max_body)
        respond_local (x, 413, MSG_TOO_LARGE, FALSE);
      else if (connect_upstream (x, FALSE))
        portico_head_upstream_request (x, &x->up->conn.out);
      break;
    case PORTICO_STAGE_UPSTREAM:
    default:
      break;
    }
  portico_exchange_run (x);
}

void
portico_exchange_begin (PorticoExchange *x)
{
  PorticoClient *client = x->client;
  PorticoProxy *proxy = client->proxy;
  PorticoHttpRequest *req = &x->req;

  take_head (x, portico_buf_head (&client->conn.in));
  portico_buf_consume (&client->conn.in, req->head_len);
  x->start_us = g_get_monotonic_time ();
  x->client_bytes_at_start = client->conn.bytes_out;
  proxy->stats.requests++;
  client->requests++;
  portico_client_set_state (client, PORTICO_CONN_ACTIVE);
  portico_timer_disarm (proxy->loop, &client->conn.timer);
  portico_pipe_init (&x->req_pipe, req->body, req->content_length, req->body);
  x->req_done = x->req_pipe.done;

  if (x->path_cap < req->path_len + 1)
    {
      g_free (x->path);
      x->path_cap = MAX (req->path_len + 1, 256);
      x->path = g_malloc (x->path_cap);
    }
  gboolean path_ok = req->path_len > 0 && req->path[0] == '/' &&
                     portico_http_normalize_path (req->path, req->path_len, x->path, &x->path_len);
  if (!path_ok)
    {
      x->path_len = MIN (req->path_len, x->path_cap - 1);
      memcpy (x->path, req->path, x->path_len);
    }
  x->path[x->path_len] = '\0';
  portico_request_start (&x->pdk, proxy->plan, &exchange_hooks, x, req, x->path, x->path_len, client->peer_ip,
                         client->peer_port, client->local_port);
  if (G_UNLIKELY (proxy->tracer.put != NULL))
    portico_trace_start (x);

  x->stage = PORTICO_STAGE_UPSTREAM;
  if (req->method_id == PORTICO_METHOD_CONNECT)
    respond_local (x, 405, "Method not allowed", TRUE);
  else if (req->path_len == 0 || req->path[0] != '/')
    respond_local (x, 404, "no Route matched with those values", FALSE);
  else if (!path_ok)
    respond_local (x, 400, "Bad request", TRUE);
  else
    {
      x->stage = PORTICO_STAGE_REWRITE;
      advance (x);
      return;
    }
  portico_exchange_run (x);
}
