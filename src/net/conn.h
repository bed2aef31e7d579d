/* conn.h: a non-blocking connection: a socket, its watch, its buffers and
 * its edge-triggered readiness.
 *
 * read_ready/write_ready say whether the socket may have something to read
 * or room to write. They are set by events and cleared when the kernel says
 * EAGAIN (or returns less than asked for, which means the same without
 * another system call). Nothing calls read() or write() on a socket that is
 * not ready.
 *
 * Under TLS (net/tls.h) fill and flush carry records through OpenSSL, and
 * the same flags hold: a flag is cleared only when OpenSSL says it waits
 * for that direction (its socket said EAGAIN), never after a short read,
 * since OpenSSL may hold decrypted bytes the socket will not signal again.
 * A read may have to wait for the socket to take a write (and a write for
 * a read: TLS 1.3 key updates, alerts): each remembers what it waits for,
 * and is tried again once that flag is set. bytes_in and bytes_out count
 * what the socket carried, records and handshakes included. The server and
 * the client side are the same code: start TLS on a fresh connection, call
 * portico_conn_handshake() until it is done, then fill and flush.
 */
#pragma once

#include <glib.h>
#include "net/buf.h"
#include "net/loop.h"
#include "net/tls.h"

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
  guint handshaking : 1;    /* TLS started, its handshake not done */
  guint tls_first_byte : 1; /* server side: the client's first byte not looked at yet */
  guint tls_read_wait : 2;  /* PORTICO_EV_READ or _WRITE: what the handshake or the last read waits for */
  guint tls_write_wait : 2; /* the same for the last write */
  int errno_saved;
  gulong tls_error;  /* failed in TLS: OpenSSL's error (0: errno_saved says) */
  PorticoTls *tls;   /* NULL: plaintext */
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
  PORTICO_IO_ERROR,     /* see conn->errno_saved, portico_conn_error_text() */
  PORTICO_IO_PLAINTEXT, /* handshake (server side): the client spoke plain HTTP; TLS is off
                         * the connection, which can answer it in plain text */
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

/* Ends our sending side: TLS's close_notify first, then the FIN. */
void portico_conn_shutdown_write (PorticoConn *conn);

/* ---- TLS ---- */

/* Start TLS on a connection that has carried nothing yet, as the server
 * (an accepted client) or as the client (once the connect is done; @name
 * and @peer as portico_tls_client_connect() takes them). FALSE when
 * OpenSSL could not make the connection's state. */
gboolean portico_conn_tls_server (PorticoConn *conn, PorticoTlsServer *server);
gboolean portico_conn_tls_client (PorticoConn *conn, PorticoTlsClient *client, const char *name,
                                  const char *peer);

/* Advances the handshake without blocking: OK once it is done (at once on
 * a plaintext connection), AGAIN (the loop will call back), EOF (the peer
 * closed first), ERROR, or PLAINTEXT (see PorticoIoResult). Fill and flush
 * come after OK. */
PorticoIoResult portico_conn_handshake (PorticoConn *conn);

/* Why the connection failed, for a log line: the system's reason, or the
 * TLS one ("certificate verify failed: self-signed certificate"). */
const char *portico_conn_error_text (PorticoConn *conn, char *buf, gsize size);

G_END_DECLS
