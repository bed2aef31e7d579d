/* conn.h: a non-blocking connection: a socket, its watch, its buffers and
 * its edge-triggered readiness.
 *
 * read_ready/write_ready say whether the socket may have something to read
 * or room to write. They are set by events and cleared when the kernel says
 * EAGAIN (or returns less than asked for, which means the same without
 * another system call). Nothing calls read() or write() on a socket that is
 * not ready.
 */
#pragma once

#include <glib.h>
#include "net/buf.h"
#include "net/loop.h"

G_BEGIN_DECLS

typedef struct _PorticoConn PorticoConn;

struct _PorticoConn {
  PorticoWatch watch; /* first: the watch callback casts back */
  PorticoLoop *loop;
  int fd;
  guint read_ready : 1;
  guint write_ready : 1;
  guint eof : 1;     /* the peer closed its side (read returned 0) */
  guint pending_eof : 1; /* a HUP event came: a short read does not mean drained */
  guint failed : 1;  /* a read or write failed; errno_saved says why */
  int errno_saved;
  PorticoBuf in;
  PorticoBuf out;
  PorticoTimer timer;
  guint64 bytes_in;
  guint64 bytes_out;
};

typedef enum {
  PORTICO_IO_OK = 0,    /* did what was asked (fill: read > 0 bytes; flush: out is empty) */
  PORTICO_IO_AGAIN,     /* would block: the loop will call back */
  PORTICO_IO_EOF,       /* fill: the peer closed */
  PORTICO_IO_ERROR,     /* see conn->errno_saved */
} PorticoIoResult;

/* Takes @fd (non-blocking) and starts watching it. */
gboolean portico_conn_init (PorticoConn *conn, PorticoLoop *loop, int fd, PorticoWatchFunc func);
/* Stops watching, closes the socket, frees the buffers and disarms the timer. */
void portico_conn_close (PorticoConn *conn);

/* Records the events a watch callback received. */
static inline void
portico_conn_on_events (PorticoConn *conn, guint events)
{
  if (events & PORTICO_EV_READ)
    conn->read_ready = 1;
  if (events & PORTICO_EV_WRITE)
    conn->write_ready = 1;
  if (events & PORTICO_EV_HUP)
    conn->pending_eof = 1;
}

/* Reads into conn->in, up to @max bytes (reserving room first). */
PorticoIoResult portico_conn_fill (PorticoConn *conn, gsize max);
/* Writes conn->out; releases the block once it is empty. */
PorticoIoResult portico_conn_flush (PorticoConn *conn);

/* Tells the loop what the connection now waits for (only the poll backend
 * needs it; the edge-triggered epoll backend ignores it). */
void portico_conn_sync_wait (PorticoConn *conn);

G_END_DECLS
