/* tls-bio.h: the socket under a TLS connection, as a BIO of Portico's own.
 *
 * OpenSSL's socket BIO cannot say what conn.c needs to know to skip a read
 * that would only say EAGAIN: whether the socket's last read came back
 * short. This one does (and counts the bytes the socket carried, which
 * /status shows), so a connection whose records are all in can wait for
 * the next edge at once, as a plain one does after a short recv(). It does
 * not own the descriptor: the connection closes it. */
#pragma once

#include <glib.h>
#include <openssl/bio.h>

G_BEGIN_DECLS

/* A BIO reading and writing @fd, or NULL when OpenSSL cannot make one. */
BIO *portico_tls_bio_new (int fd);

/* TRUE when the last read from the socket got less than it asked for, or
 * EAGAIN: nothing more was there then. */
gboolean portico_tls_bio_drained (BIO *bio);

/* The bytes the socket carried each way. */
void portico_tls_bio_bytes (BIO *bio, guint64 *in, guint64 *out);

G_END_DECLS
