/* tls.h: TLS on Portico's own non-blocking connections, with OpenSSL 3.
 *
 * Contexts are built once per configuration generation, in the master,
 * before it forks (portico_tls_contexts_new): every worker of that
 * generation, and any worker respawned into it, starts with them built.
 *
 *  - A PorticoTlsServer serves a generation's TLS listeners: TLS 1.2 and
 *    1.3, the certificate picked by SNI (exact name, then a wildcard, then
 *    the default), ALPN "http/1.1" when the client offers it, and session
 *    resumption both ways: tickets sealed with keys the master made once
 *    (so every worker, a respawned one and the next generation's take each
 *    other's tickets) and a session cache, one per worker.
 *  - A PorticoTlsClient is how an https service (or the lab's load
 *    generator) connects: verification against a CA bundle, a client
 *    certificate, and the last few sessions each peer gave, offered
 *    again by the next connections to it.
 *
 * A PorticoTls is one connection's TLS state (an OpenSSL SSL on the
 * connection's socket). The calls on it never block: each says what it
 * waits for (PORTICO_TLS_WANT_READ or _WRITE) and net/conn.c, which knows
 * the loop, turns that into readiness. Nothing else calls OpenSSL for a
 * connection.
 */
#pragma once

#include <glib.h>
#include "core/config.h"

G_BEGIN_DECLS

typedef struct _PorticoTlsServer PorticoTlsServer;
typedef struct _PorticoTlsClient PorticoTlsClient;
typedef struct _PorticoTlsContexts PorticoTlsContexts;
/* One connection's TLS: OpenSSL's SSL, opaque here. */
typedef struct ssl_st PorticoTls;

/* Session-ticket keys, in OpenSSL's layout (a name, an HMAC key and an
 * AES key). */
#define PORTICO_TLS_TICKET_KEYS_LEN 80
typedef struct {
  guint8 bytes[PORTICO_TLS_TICKET_KEYS_LEN];
} PorticoTlsTicketKeys;

/* Fills @keys with fresh random keys. */
gboolean portico_tls_ticket_keys_init (PorticoTlsTicketKeys *keys, GError **error);

/* ---- contexts ---- */

/* Builds the contexts @config needs and hangs them on it: each "ssl"
 * listener's listen->tls (one server for all), each https service's
 * service->tls_client and each upstream's with https probes
 * upstream->probe_tls_client (one client per distinct set of TLS keys). Free them
 * once nothing uses @config any more; the pointers in @config dangle then. */
PorticoTlsContexts *portico_tls_contexts_new (PorticoConfig *config, const PorticoTlsTicketKeys *keys,
                                              GError **error);
void portico_tls_contexts_free (PorticoTlsContexts *contexts);

typedef struct {
  gboolean verify;        /* check the peer's chain and name */
  const char *ca_pem;     /* the CAs to trust, PEM; NULL: the system bundle */
  const char *cert_pem;   /* a client certificate (then its chain) and its key; NULL: none */
  const char *key_pem;
} PorticoTlsClientOptions;

/* A client context of its own (portico_tls_contexts_new makes those of a
 * config). */
PorticoTlsClient *portico_tls_client_new (const PorticoTlsClientOptions *options, GError **error);
void portico_tls_client_free (PorticoTlsClient *client);

/* ---- the certificate phase ---- */

/* What a picker may answer besides a certificate's index. */
#define PORTICO_TLS_PICK_BY_SNI (-1) /* no choice: the server's own, by SNI then the default */
#define PORTICO_TLS_PICK_REFUSE (-2) /* the handshake fails with a handshake_failure alert */

/* Asked during a new session's handshake, once the ClientHello is in and
 * before the server's own pick by SNI (a resumed session needs no
 * certificate, and asks nothing). @owner is what the connection's owner
 * hung on it (portico_tls_set_owner), @sni the client's server name (NULL:
 * none). Returns the index of the certificate to present in the config's
 * "certificates", or one of the PORTICO_TLS_PICK_ values. This is how the
 * worker's modules take part (their certificate phase) without net/
 * knowing them. */
typedef int (*PorticoTlsPicker) (gpointer owner, const char *sni, gpointer data);

/* Set in each worker after the fork (the server is the generation's,
 * built in the master); NULL: the server picks alone. */
void portico_tls_server_set_picker (PorticoTlsServer *server, PorticoTlsPicker picker, gpointer data);

/* ---- one connection ---- */

typedef enum {
  PORTICO_TLS_OK = 0,     /* done (read/write: *n bytes moved, n > 0) */
  PORTICO_TLS_WANT_READ,  /* the socket had nothing to read: call again once it has */
  PORTICO_TLS_WANT_WRITE, /* the socket had no room: call again once it has */
  PORTICO_TLS_CLOSED,     /* the peer closed (with close_notify or without) */
  PORTICO_TLS_FAILED,     /* *error is OpenSSL's error, or 0 with errno set */
} PorticoTlsStatus;

/* The server side of a connection on @fd, or NULL when OpenSSL cannot make
 * one. */
PorticoTls *portico_tls_server_accept (PorticoTlsServer *server, int fd);
/* The client side: @name is sent as SNI (unless it is an address) and is
 * the name the peer's certificate must hold when @client verifies; @peer
 * ("host:port") keys the sessions kept for the next connections (a few
 * per peer, so that connections opened together each resume); NULL: no
 * session is offered, and none kept (every handshake a full one). */
PorticoTls *portico_tls_client_connect (PorticoTlsClient *client, int fd, const char *name,
                                        const char *peer);
/* A server connection's owner, handed to the server's picker. */
void portico_tls_set_owner (PorticoTls *tls, gpointer owner);
/* @clean: the connection ended well, its session may be resumed. */
void portico_tls_free (PorticoTls *tls, gboolean clean);

PorticoTlsStatus portico_tls_handshake (PorticoTls *tls, gulong *error);
PorticoTlsStatus portico_tls_read (PorticoTls *tls, void *buf, gsize len, gsize *n, gulong *error);
PorticoTlsStatus portico_tls_write (PorticoTls *tls, const void *buf, gsize len, gsize *n,
                                    gulong *error);
/* Sends close_notify once, if it can without waiting (never after a
 * failure). */
void portico_tls_shutdown (PorticoTls *tls);

/* Bytes the socket carried each way, records and handshake included. */
void portico_tls_socket_bytes (PorticoTls *tls, guint64 *in, guint64 *out);
/* After the handshake: whether a session was resumed. */
gboolean portico_tls_resumed (PorticoTls *tls);
/* Decrypted bytes held inside that the socket will not signal again. */
gboolean portico_tls_pending (PorticoTls *tls);
/* Nothing held inside, and the socket's last read came back short (or
 * EAGAIN): a further read would only say WANT_READ until the next edge. */
gboolean portico_tls_drained (PorticoTls *tls);
/* Whether a client connection was made by @client for @name, so that a
 * pooled one is reused only by the same kind of request. */
gboolean portico_tls_is_for (PorticoTls *tls, PorticoTlsClient *client, const char *name);
/* What a FAILED @error means, verification results included:
 * "certificate verify failed: self-signed certificate". */
void portico_tls_error_text (PorticoTls *tls, gulong error, char *buf, gsize size);

G_END_DECLS
