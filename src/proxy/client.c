/* client.c: a client connection between requests: the TLS handshake on a
 * TLS listener, reading a head, keep-alive, pipelining, and closing without
 * losing the last response. */
#include "proxy/proxy-private.h"

#include <errno.h>
#include <sys/socket.h>
#include "net/sock.h"

#define LINGER_MS 5000

static void client_on_timeout (PorticoTimer *timer);

const char *
portico_conn_state_name (PorticoConnState state)
{
  static const char *const names[] = { "reading", "active", "waiting", "writing", "keepalive" };
  return state < PORTICO_CONN_N_STATES ? names[state] : "unknown";
}

void
portico_client_set_state (PorticoClient *client, PorticoConnState state)
{
  if (client->state == state)
    return;
  client->proxy->stats.states[client->state]--;
  client->proxy->stats.states[state]++;
  client->state = state;
}

static void
client_free (gpointer data)
{
  g_free (data);
}

static void
client_close (PorticoClient *client)
{
  PorticoProxy *proxy = client->proxy;
  if (client->exchange != NULL)
    {
      PorticoExchange *x = client->exchange;
      client->exchange = NULL;
      portico_exchange_free (proxy, x);
    }
  proxy->stats.bytes_in += client->conn.bytes_in;
  proxy->stats.bytes_out += client->conn.bytes_out;
  proxy->stats.states[client->state]--;
  proxy->stats.connections--;
  g_queue_unlink (&proxy->clients, &client->link);
  portico_conn_close (&client->conn);
  portico_loop_defer (proxy->loop, client_free, client);
}

/* Closing right after the last response could reset the connection while
 * the client still sends (pipelined requests, an unread body), and a reset
 * can destroy the response in flight. So: send everything, shut our side,
 * and read until the client closes too, for a bounded time. */
static void
client_linger (PorticoClient *client)
{
  if (client->phase != PORTICO_CLIENT_LINGER)
    {
      client->phase = PORTICO_CLIENT_LINGER;
      portico_client_set_state (client, PORTICO_CONN_WRITING);
      portico_timer_arm (client->conn.loop, &client->conn.timer,
                         MAX (client->proxy->config->node.send_timeout, LINGER_MS));
    }
  PorticoIoResult io = portico_conn_flush (&client->conn);
  if (io == PORTICO_IO_AGAIN)
    return;
  if (io == PORTICO_IO_ERROR)
    {
      client_close (client);
      return;
    }
  if (!client->closing)
    {
      client->closing = TRUE;
      portico_conn_shutdown_write (&client->conn);
      portico_timer_arm (client->conn.loop, &client->conn.timer, LINGER_MS);
    }
  for (;;)
    {
      portico_buf_clear (&client->conn.in);
      io = portico_conn_fill (&client->conn, PORTICO_BUF_BLOCK);
      if (io == PORTICO_IO_AGAIN)
        return;
      if (io != PORTICO_IO_OK)
        {
          client_close (client);
          return;
        }
    }
}

/* Answers a request that could not be parsed or routed, then closes. */
static void
client_refuse (PorticoClient *client, int status, const char *message)
{
  portico_respond_json (client, status, message, FALSE, FALSE);
  client_linger (client);
}

/* Is a whole head in the buffer (or one the parser must refuse)? Scans
 * only what is new since the last call, so a head trickling in byte by byte
 * costs O(n), not O(n^2). */
static gboolean
head_ready (PorticoClient *client, gsize *scanned)
{
  const char *data = portico_buf_head (&client->conn.in);
  gsize len = portico_buf_len (&client->conn.in);
  gsize from = *scanned > 3 ? *scanned - 3 : 0;
  *scanned = len;
  if (len < 4)
    return FALSE;
  const char *p = data + from, *end = data + len;
  while ((p = memchr (p, '\n', (gsize) (end - p))) != NULL)
    {
      if (p + 2 < end && p[1] == '\r' && p[2] == '\n')
        return TRUE;
      /* A bare LF: no head will ever end; let the parser refuse it now. */
      if (p == data || p[-1] != '\r')
        return TRUE;
      p++;
    }
  return FALSE;
}

static const char *
error_message (int status)
{
  switch (status)
    {
    case 414: return "Request-URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    case 417: return "Expectation Failed";
    default: return "Bad request";
    }
}

static void
client_wait_head (PorticoClient *client)
{
  const PorticoNodeConfig *node = &client->proxy->config->node;
  if (portico_buf_len (&client->conn.in) == 0 && client->requests > 0)
    {
      /* Idle between requests: give the buffers back, keep the socket. */
      portico_buf_clear (&client->conn.in);
      portico_buf_release (&client->conn.out);
      portico_client_set_state (client, PORTICO_CONN_KEEPALIVE);
      portico_timer_arm (client->conn.loop, &client->conn.timer, node->keepalive_timeout);
    }
  else
    {
      portico_client_set_state (client, PORTICO_CONN_READING);
      if (!portico_timer_is_armed (&client->conn.timer) || client->state != PORTICO_CONN_READING)
        portico_timer_arm (client->conn.loop, &client->conn.timer, node->client_header_timeout);
    }
}

static void
count_handshake (PorticoProxy *proxy, PorticoTlsKind kind)
{
  proxy->stats.tls_handshakes[PORTICO_TLS_DOWNSTREAM][kind]++;
}

/* The handshake on a TLS listener, under ssl_handshake_timeout (armed at
 * accept). TRUE once requests may come; FALSE while it goes on, or when
 * the connection was answered or closed. */
static gboolean
client_handshake (PorticoClient *client)
{
  PorticoProxy *proxy = client->proxy;
  char why[160];
  switch (portico_conn_handshake (&client->conn))
    {
    case PORTICO_IO_OK:
      count_handshake (proxy, portico_tls_resumed (client->conn.tls) ? PORTICO_TLS_HANDSHAKE_RESUMED : PORTICO_TLS_HANDSHAKE_FULL);
      portico_timer_arm (client->conn.loop, &client->conn.timer, proxy->config->node.client_header_timeout);
      return TRUE;
    case PORTICO_IO_AGAIN:
      return FALSE;
    case PORTICO_IO_PLAINTEXT:
      /* nginx's answer, in plain text, then the connection closes. */
      count_handshake (proxy, PORTICO_TLS_HANDSHAKE_FAILED);
      client_refuse (client, 400, "The plain HTTP request was sent to HTTPS port");
      return FALSE;
    case PORTICO_IO_EOF:
      /* Gone before a byte (a port probe) is no failed handshake. */
      if (client->conn.bytes_in > 0)
        count_handshake (proxy, PORTICO_TLS_HANDSHAKE_FAILED);
      client_close (client);
      return FALSE;
    case PORTICO_IO_ERROR:
    default:
      count_handshake (proxy, PORTICO_TLS_HANDSHAKE_FAILED);
      g_info ("%s: TLS handshake failed: %s", client->peer_ip,
              portico_conn_error_text (&client->conn, why, sizeof why));
      client_close (client);
      return FALSE;
    }
}

void
portico_client_run (PorticoClient *client)
{
  PorticoProxy *proxy = client->proxy;
  if (client->phase == PORTICO_CLIENT_LINGER)
    {
      client_linger (client);
      return;
    }
  if (client->phase == PORTICO_CLIENT_BUSY)
    return;
  if (client->conn.handshaking && !client_handshake (client))
    return;

  gsize scanned = 0;
  gboolean was_idle = portico_buf_len (&client->conn.in) == 0;
  for (;;)
    {
      PorticoBuf *in = &client->conn.in;
      gsize len = portico_buf_len (in);
      if (len > 0)
        {
          if (was_idle)
            {
              was_idle = FALSE;
              portico_client_set_state (client, PORTICO_CONN_READING);
              portico_timer_arm (client->conn.loop, &client->conn.timer,
                                 proxy->config->node.client_header_timeout);
            }
          gboolean ready = head_ready (client, &scanned);
          if (ready || len > proxy->limits.max_request_line || len >= proxy->limits.max_head)
            {
              PorticoExchange *x = portico_exchange_new (client);
              PorticoHttpParseResult r = portico_http_parse_request (portico_buf_head (in), len,
                                                                     &proxy->limits, &x->req);
              if (r == PORTICO_HTTP_OK)
                {
                  client->phase = PORTICO_CLIENT_BUSY;
                  client->exchange = x;
                  portico_exchange_begin (x);
                  return;
                }
              int status = x->req.error_status ? x->req.error_status : 400;
              portico_exchange_free (proxy, x);
              if (r == PORTICO_HTTP_ERROR)
                {
                  proxy->stats.requests++;
                  client_refuse (client, status, error_message (status));
                  return;
                }
            }
        }
      if (portico_buf_len (in) >= proxy->limits.max_head)
        {
          client_refuse (client, 431, error_message (431));
          return;
        }
      gsize room = proxy->limits.max_head - portico_buf_len (in);
      portico_buf_reserve (in, MIN (room, (gsize) PORTICO_BUF_BLOCK));
      PorticoIoResult io = portico_conn_fill (&client->conn, room);
      if (io == PORTICO_IO_AGAIN)
        {
          client_wait_head (client);
          return;
        }
      if (io != PORTICO_IO_OK)
        {
          client_close (client);
          return;
        }
    }
}

void
portico_client_exchange_done (PorticoClient *client)
{
  PorticoProxy *proxy = client->proxy;
  PorticoExchange *x = client->exchange;
  gboolean keep = x->keep_client && !proxy->draining;
  client->exchange = NULL;
  portico_exchange_free (proxy, x);
  if (!keep)
    {
      client_linger (client);
      return;
    }
  client->phase = PORTICO_CLIENT_HEAD;
  portico_timer_disarm (client->conn.loop, &client->conn.timer);
  portico_client_run (client);
}

static void
client_on_events (PorticoWatch *watch, guint events)
{
  PorticoClient *client = (PorticoClient *) watch;
  portico_conn_on_events (&client->conn, events);
  if (client->phase == PORTICO_CLIENT_BUSY)
    portico_exchange_run (client->exchange);
  else
    portico_client_run (client);
}

static void
client_on_timeout (PorticoTimer *timer)
{
  PorticoClient *client = (PorticoClient *) ((char *) timer - G_STRUCT_OFFSET (PorticoConn, timer));
  if (client->conn.handshaking)
    {
      /* A handshake that stalls past ssl_handshake_timeout. */
      count_handshake (client->proxy, PORTICO_TLS_HANDSHAKE_FAILED);
      client_close (client);
      return;
    }
  if (client->phase == PORTICO_CLIENT_BUSY)
    {
      portico_exchange_timeout (client->exchange, TRUE);
      return;
    }
  if (client->phase == PORTICO_CLIENT_HEAD && portico_buf_len (&client->conn.in) > 0)
    {
      /* Half a head after client_header_timeout: a slow client or a
       * slowloris. Say so, and close. */
      client_refuse (client, 408, "Request Timeout");
      return;
    }
  client_close (client);
}

void
portico_client_abort (PorticoClient *client)
{
  client_close (client);
}

void
portico_proxy_accept (PorticoProxy *proxy, int fd, const struct sockaddr *peer, socklen_t peer_len,
                      const PorticoListen *listen)
{
  PorticoClient *client = g_new0 (PorticoClient, 1);
  client->proxy = proxy;
  client->local_port = listen->address.port;
  client->peer_port = portico_sock_addr_text (peer, client->peer_ip, sizeof client->peer_ip);
  client->conn.timer.func = client_on_timeout;
  client->state = PORTICO_CONN_READING;
  portico_sock_set_nodelay (fd);
  /* A TLS listener without its server context (a worker the master did
   * not build) must not fall back to plain text. */
  if (!portico_conn_init (&client->conn, proxy->loop, fd, client_on_events) ||
      (listen->ssl && (listen->tls == NULL || !portico_conn_tls_server (&client->conn, listen->tls))))
    {
      if (listen->ssl)
        count_handshake (proxy, PORTICO_TLS_HANDSHAKE_FAILED);
      portico_conn_close (&client->conn); /* closes @fd */
      g_free (client);
      return;
    }
  if (client->conn.tls != NULL)
    portico_tls_set_owner (client->conn.tls, client); /* for the certificate phase */
  client->link.data = client;
  g_queue_push_tail_link (&proxy->clients, &client->link);
  proxy->stats.accepted++;
  proxy->stats.connections++;
  proxy->stats.states[PORTICO_CONN_READING]++;
  portico_timer_arm (proxy->loop, &client->conn.timer,
                     listen->ssl ? listen->ssl_handshake_timeout : proxy->config->node.client_header_timeout);
  /* The request (or the ClientHello) may be there already (TCP_DEFER_ACCEPT, or a fast client). */
  client->conn.read_ready = 1;
  portico_client_run (client);
}

void
portico_proxy_drain (PorticoProxy *proxy)
{
  proxy->draining = TRUE;
  /* Idle kept-alive connections close now (a client sends again on a new
   * one, as after any keep-alive timeout). A connection that was accepted
   * but has not sent its first request yet is not idle: its request is on
   * the way, and closing would fail it; it is served, with Connection:
   * close. */
  for (GList *l = proxy->clients.head; l != NULL;)
    {
      PorticoClient *client = l->data;
      l = l->next;
      if (client->phase == PORTICO_CLIENT_HEAD && client->requests > 0 &&
          portico_buf_len (&client->conn.in) == 0)
        client_close (client);
    }
}
