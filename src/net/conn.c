/* conn.c: non-blocking reads and writes with edge-triggered readiness, in
 * plain text or through TLS (the OpenSSL side is net/tls.c's). */
#include "net/conn.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

/* A TLS record starts with its type; a ClientHello comes in a handshake
 * record. */
#define TLS_RECORD_HANDSHAKE 0x16

gboolean
portico_conn_init (PorticoConn *conn, PorticoLoop *loop, int fd, PorticoWatchFunc func)
{
  conn->loop = loop;
  conn->fd = fd;
  conn->watch.fd = -1;
  conn->watch.source = NULL;
  return portico_watch_add (loop, &conn->watch, fd, func);
}

static void
tls_drop (PorticoConn *conn)
{
  portico_tls_free (conn->tls, !conn->failed && !conn->handshaking);
  conn->tls = NULL;
  conn->handshaking = 0;
}

void
portico_conn_close (PorticoConn *conn)
{
  if (conn->fd < 0)
    return;
  if (conn->tls != NULL)
    {
      /* close_notify, unless the peer is gone or the session is broken. */
      if (!conn->failed && !conn->eof && !conn->handshaking)
        portico_tls_shutdown (conn->tls);
      tls_drop (conn);
    }
  portico_watch_remove (conn->loop, &conn->watch);
  portico_timer_disarm (conn->loop, &conn->timer);
  close (conn->fd);
  conn->fd = -1;
  portico_buf_clear (&conn->in);
  portico_buf_clear (&conn->out);
}

void
portico_conn_sync_wait (PorticoConn *conn)
{
  guint wait = (conn->read_ready ? 0 : PORTICO_EV_READ) | (conn->write_ready ? 0 : PORTICO_EV_WRITE);
  portico_watch_wait (conn->loop, &conn->watch, wait);
}

void
portico_conn_shutdown_write (PorticoConn *conn)
{
  if (conn->tls != NULL && !conn->failed && !conn->handshaking)
    {
      portico_tls_shutdown (conn->tls);
      portico_tls_socket_bytes (conn->tls, &conn->bytes_in, &conn->bytes_out);
    }
  shutdown (conn->fd, SHUT_WR);
}

const char *
portico_conn_error_text (PorticoConn *conn, char *buf, gsize size)
{
  if (conn->tls_error != 0)
    portico_tls_error_text (conn->tls, conn->tls_error, buf, size);
  else
    g_strlcpy (buf, g_strerror (conn->errno_saved), size);
  return buf;
}

/* ---- TLS readiness ---- */

static gboolean
tls_ready (const PorticoConn *conn, guint wait)
{
  return wait == PORTICO_EV_WRITE ? conn->write_ready : conn->read_ready;
}

/* OpenSSL's socket said EAGAIN in one direction: that flag goes until the
 * next edge, and @wait remembers which flag the call waits for. */
static PorticoIoResult
tls_wait (PorticoConn *conn, PorticoTlsStatus status, guint *wait)
{
  if (status == PORTICO_TLS_WANT_WRITE)
    {
      *wait = PORTICO_EV_WRITE;
      conn->write_ready = 0;
    }
  else
    {
      *wait = PORTICO_EV_READ;
      conn->read_ready = 0;
    }
  portico_conn_sync_wait (conn);
  return PORTICO_IO_AGAIN;
}

static PorticoIoResult
tls_failed (PorticoConn *conn)
{
  conn->failed = 1;
  conn->errno_saved = conn->tls_error != 0 ? EPROTO : errno != 0 ? errno : ECONNRESET;
  return PORTICO_IO_ERROR;
}

static void
tls_count (PorticoConn *conn)
{
  portico_tls_socket_bytes (conn->tls, &conn->bytes_in, &conn->bytes_out);
}

gboolean
portico_conn_tls_server (PorticoConn *conn, PorticoTlsServer *server)
{
  g_return_val_if_fail (conn->tls == NULL && conn->bytes_in == 0, FALSE);
  if ((conn->tls = portico_tls_server_accept (server, conn->fd)) == NULL)
    return FALSE;
  conn->handshaking = 1;
  conn->tls_first_byte = 1;
  conn->tls_read_wait = PORTICO_EV_READ; /* the ClientHello */
  conn->tls_write_wait = PORTICO_EV_WRITE;
  return TRUE;
}

gboolean
portico_conn_tls_client (PorticoConn *conn, PorticoTlsClient *client, const char *name, const char *peer)
{
  g_return_val_if_fail (conn->tls == NULL && conn->bytes_out == 0, FALSE);
  if ((conn->tls = portico_tls_client_connect (client, conn->fd, name, peer)) == NULL)
    return FALSE;
  conn->handshaking = 1;
  conn->tls_read_wait = PORTICO_EV_WRITE; /* the ClientHello goes first */
  conn->tls_write_wait = PORTICO_EV_WRITE;
  return TRUE;
}

/* The server's first look at a client: a TLS client starts with a
 * handshake record, a plain HTTP one with a method in capitals. Peeked, so
 * OpenSSL still reads it. */
static PorticoIoResult
tls_first_byte (PorticoConn *conn)
{
  guint8 byte;
  ssize_t n;

  while ((n = recv (conn->fd, &byte, 1, MSG_PEEK)) < 0 && errno == EINTR)
    ;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    {
      guint wait;
      return tls_wait (conn, PORTICO_TLS_WANT_READ, &wait);
    }
  if (n < 0)
    {
      conn->failed = 1;
      conn->errno_saved = errno;
      return PORTICO_IO_ERROR;
    }
  if (n == 0)
    {
      conn->eof = 1;
      return PORTICO_IO_EOF;
    }
  conn->tls_first_byte = 0;
  if (byte != TLS_RECORD_HANDSHAKE && byte >= 'A' && byte <= 'Z')
    {
      tls_drop (conn);
      return PORTICO_IO_PLAINTEXT;
    }
  return PORTICO_IO_OK;
}

PorticoIoResult
portico_conn_handshake (PorticoConn *conn)
{
  if (conn->failed)
    return PORTICO_IO_ERROR;
  if (!conn->handshaking)
    return PORTICO_IO_OK;
  if (!tls_ready (conn, conn->tls_read_wait))
    return PORTICO_IO_AGAIN;
  if (conn->tls_first_byte)
    {
      PorticoIoResult io = tls_first_byte (conn);
      if (io != PORTICO_IO_OK)
        return io;
    }
  guint wait = conn->tls_read_wait;
  PorticoTlsStatus status = portico_tls_handshake (conn->tls, &conn->tls_error);
  tls_count (conn);
  switch (status)
    {
    case PORTICO_TLS_OK:
      conn->handshaking = 0;
      conn->tls_read_wait = PORTICO_EV_READ;
      return PORTICO_IO_OK;
    case PORTICO_TLS_WANT_READ:
    case PORTICO_TLS_WANT_WRITE:
      tls_wait (conn, status, &wait);
      conn->tls_read_wait = wait;
      return PORTICO_IO_AGAIN;
    case PORTICO_TLS_CLOSED:
      conn->eof = 1;
      return PORTICO_IO_EOF;
    case PORTICO_TLS_FAILED:
    default:
      return tls_failed (conn);
    }
}

static PorticoIoResult
tls_fill (PorticoConn *conn, gsize max)
{
  if (!tls_ready (conn, conn->tls_read_wait))
    return PORTICO_IO_AGAIN;
  portico_buf_reserve (&conn->in, 1);
  gsize room = MIN (portico_buf_space (&conn->in), max), n = 0;
  guint wait = conn->tls_read_wait;
  PorticoTlsStatus status = portico_tls_read (conn->tls, portico_buf_tail (&conn->in), room, &n,
                                              &conn->tls_error);
  tls_count (conn);
  switch (status)
    {
    case PORTICO_TLS_OK:
      /* Drained only when OpenSSL holds nothing and its last read of the
       * socket came back short: then a read now would just say WANT_READ. */
      conn->in.end += (guint32) n;
      conn->tls_read_wait = PORTICO_EV_READ;
      if (!conn->pending_eof && portico_tls_drained (conn->tls))
        {
          conn->read_ready = 0;
          portico_conn_sync_wait (conn);
        }
      return PORTICO_IO_OK;
    case PORTICO_TLS_WANT_READ:
    case PORTICO_TLS_WANT_WRITE:
      portico_buf_release (&conn->in);
      tls_wait (conn, status, &wait);
      conn->tls_read_wait = wait;
      return PORTICO_IO_AGAIN;
    case PORTICO_TLS_CLOSED:
      conn->eof = 1;
      portico_buf_release (&conn->in);
      return PORTICO_IO_EOF;
    case PORTICO_TLS_FAILED:
    default:
      return tls_failed (conn);
    }
}

static PorticoIoResult
tls_flush (PorticoConn *conn)
{
  while (portico_buf_len (&conn->out) > 0)
    {
      if (!tls_ready (conn, conn->tls_write_wait))
        return PORTICO_IO_AGAIN;
      gsize n = 0;
      guint wait = conn->tls_write_wait;
      PorticoTlsStatus status = portico_tls_write (conn->tls, portico_buf_head (&conn->out),
                                                   portico_buf_len (&conn->out), &n, &conn->tls_error);
      tls_count (conn);
      switch (status)
        {
        case PORTICO_TLS_OK:
          portico_buf_consume (&conn->out, n);
          conn->tls_write_wait = PORTICO_EV_WRITE;
          continue;
        case PORTICO_TLS_WANT_READ:
        case PORTICO_TLS_WANT_WRITE:
          tls_wait (conn, status, &wait);
          conn->tls_write_wait = wait;
          return PORTICO_IO_AGAIN;
        case PORTICO_TLS_CLOSED: /* the peer's close_notify: no more writing */
          errno = EPIPE;
          return tls_failed (conn);
        case PORTICO_TLS_FAILED:
        default:
          return tls_failed (conn);
        }
    }
  portico_buf_release (&conn->out);
  return PORTICO_IO_OK;
}

/* ---- reads and writes ---- */

PorticoIoResult
portico_conn_fill (PorticoConn *conn, gsize max)
{
  if (conn->failed)
    return PORTICO_IO_ERROR;
  if (conn->eof)
    return PORTICO_IO_EOF;
  g_return_val_if_fail (!conn->handshaking, PORTICO_IO_ERROR);
  if (conn->tls != NULL)
    return tls_fill (conn, max);
  if (!conn->read_ready)
    return PORTICO_IO_AGAIN;
  portico_buf_reserve (&conn->in, 1);
  gsize room = portico_buf_space (&conn->in);
  if (room > max)
    room = max;
  for (;;)
    {
      ssize_t n = recv (conn->fd, portico_buf_tail (&conn->in), room, 0);
      if (n > 0)
        {
          conn->in.end += (guint32) n;
          conn->bytes_in += (guint64) n;
          if ((gsize) n < room && !conn->pending_eof)
            {
              /* Less than asked: the socket is drained; a new edge comes with more. */
              conn->read_ready = 0;
              portico_conn_sync_wait (conn);
            }
          return PORTICO_IO_OK;
        }
      if (n == 0)
        {
          conn->eof = 1;
          portico_buf_release (&conn->in);
          return PORTICO_IO_EOF;
        }
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        {
          conn->read_ready = 0;
          portico_buf_release (&conn->in);
          portico_conn_sync_wait (conn);
          return PORTICO_IO_AGAIN;
        }
      conn->failed = 1;
      conn->errno_saved = errno;
      return PORTICO_IO_ERROR;
    }
}

PorticoIoResult
portico_conn_flush (PorticoConn *conn)
{
  if (conn->tls != NULL && !conn->failed && portico_buf_len (&conn->out) > 0)
    {
      g_return_val_if_fail (!conn->handshaking, PORTICO_IO_ERROR);
      return tls_flush (conn);
    }
  while (portico_buf_len (&conn->out) > 0)
    {
      if (conn->failed)
        return PORTICO_IO_ERROR;
      if (!conn->write_ready)
        return PORTICO_IO_AGAIN;
      gsize len = portico_buf_len (&conn->out);
      ssize_t n = send (conn->fd, portico_buf_head (&conn->out), len, MSG_NOSIGNAL);
      if (n >= 0)
        {
          conn->bytes_out += (guint64) n;
          portico_buf_consume (&conn->out, (gsize) n);
          if ((gsize) n < len)
            {
              conn->write_ready = 0;
              portico_conn_sync_wait (conn);
              return PORTICO_IO_AGAIN;
            }
          continue;
        }
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        {
          conn->write_ready = 0;
          portico_conn_sync_wait (conn);
          return PORTICO_IO_AGAIN;
        }
      conn->failed = 1;
      conn->errno_saved = errno;
      return PORTICO_IO_ERROR;
    }
  portico_buf_release (&conn->out);
  return PORTICO_IO_OK;
}
