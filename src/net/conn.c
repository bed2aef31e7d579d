/* conn.c: non-blocking reads and writes with edge-triggered readiness. */
#include "net/conn.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

gboolean
portico_conn_init (PorticoConn *conn, PorticoLoop *loop, int fd, PorticoWatchFunc func)
{
  conn->loop = loop;
  conn->fd = fd;
  conn->watch.fd = -1;
  conn->watch.source = NULL;
  return portico_watch_add (loop, &conn->watch, fd, func);
}

void
portico_conn_close (PorticoConn *conn)
{
  if (conn->fd < 0)
    return;
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

PorticoIoResult
portico_conn_fill (PorticoConn *conn, gsize max)
{
  if (conn->failed)
    return PORTICO_IO_ERROR;
  if (conn->eof)
    return PORTICO_IO_EOF;
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
