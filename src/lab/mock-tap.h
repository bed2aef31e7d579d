/* lab/mock-tap.h - a client connection that remembers request heads as sent.
 *
 * `portico mock` serves its connections with SoupServer, whose header table
 * keeps neither the order in which a client sent its headers nor the spelling
 * of well-known names.  A PorticoMockConn sits between the socket and
 * SoupServer: it passes every byte through unchanged and keeps a copy of each
 * request head, skipping the bodies by their framing, so /echo can report
 * exactly what arrived.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * PorticoMockHead:
 * @method: the method, as sent
 * @target: the request target, as sent
 * @version: the protocol version, as sent ("HTTP/1.1")
 * @fields: name, value, name, value, ...: the header fields in order, names
 *   as spelled, values without surrounding blanks (obsolete folded lines
 *   are joined with a space)
 *
 * A request head split into its parts, with no other interpretation.
 */
typedef struct
{
  char *method;
  char *target;
  char *version;
  GPtrArray *fields;
} PorticoMockHead;

gboolean portico_mock_head_parse (const char *text, PorticoMockHead *head);
void portico_mock_head_clear (PorticoMockHead *head);

G_DECLARE_FINAL_TYPE (PorticoMockConn, portico_mock_conn, PORTICO, MOCK_CONN, GIOStream)

/**
 * portico_mock_conn_new:
 * @base: the accepted connection
 * @registry: a table (string keys, no destroy functions) where the stream
 *   stays listed under @peer for its lifetime
 * @peer: the client's "ip:port"
 *
 * Returns: (transfer full): a stream to hand to soup_server_accept_iostream()
 */
PorticoMockConn *portico_mock_conn_new (GSocketConnection *base, GHashTable *registry,
                                        const char *peer);

/**
 * portico_mock_conn_pop_head:
 * @conn: a #PorticoMockConn
 *
 * Takes the oldest request head read from the client and not yet taken.
 * The text runs from the request line to the end of the last header line.
 * Heads are recorded until something cannot be followed (a head over
 * 64 KiB, an unknown transfer coding, too many unread heads); after that
 * this returns %NULL for the rest of the connection.
 *
 * Returns: (transfer full) (nullable): the head, or %NULL
 */
char *portico_mock_conn_pop_head (PorticoMockConn *conn);

G_END_DECLS
