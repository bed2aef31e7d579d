/* lab/mock-tap.h - the mock's side of the wire beneath SoupServer: a client
 * connection that remembers request heads as sent, /echo's report of a
 * request as received, and responses cut short.
 *
 * `portico mock` serves its connections with SoupServer, whose header table
 * keeps neither the order in which a client sent its headers nor the spelling
 * of well-known names.  A PorticoMockConn sits between the socket and
 * SoupServer: it passes every byte through unchanged and keeps a copy of each
 * request head, skipping the bodies by their framing, so /echo can report
 * exactly what arrived.  It also counts the requests in flight, so the
 * service can tell an idle keep-alive connection from a busy one.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

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

/**
 * portico_mock_head_parse:
 * @text: a request head, from the request line to the end of the last
 *   header line (CRLF or LF line ends)
 * @head: (out caller-allocates): the parts; clear it with
 *   portico_mock_head_clear() whatever this returns
 *
 * Returns: whether @text has a request line of three parts and header
 *   lines of the form "name: value"
 */
gboolean portico_mock_head_parse (const char *text, PorticoMockHead *head);

/** Frees what portico_mock_head_parse() put in @head. */
void portico_mock_head_clear (PorticoMockHead *head);

/**
 * PorticoMockConn:
 *
 * A #GIOStream over an accepted #GSocketConnection (or a TLS connection
 * over it): reads go through the tap (recording heads, counting the end of
 * the connection), writes go straight to the base stream.
 */
G_DECLARE_FINAL_TYPE (PorticoMockConn, portico_mock_conn, PORTICO, MOCK_CONN, GIOStream)

/**
 * portico_mock_conn_new:
 * @base: the accepted connection, or a #GTlsServerConnection over it (then
 *   the tap records the decrypted heads)
 * @socket: the accepted connection's socket, which the tap closes or shuts
 *   down itself (see portico_mock_conn_is_open())
 * @registry: a table (string keys, no destroy functions) where the stream
 *   stays listed under @peer for its lifetime
 * @peer: the client's "ip:port"
 *
 * Returns: (transfer full): a stream to hand to soup_server_accept_iostream()
 */
PorticoMockConn *portico_mock_conn_new (GIOStream *base, GSocket *socket, GHashTable *registry,
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

/**
 * portico_mock_conn_hold:
 * @conn: a #PorticoMockConn
 *
 * Counts one more request of @conn in flight: arrived (its head read) and
 * not finished.  With portico_mock_conn_release() this tells an idle
 * keep-alive connection from a busy one.
 */
void portico_mock_conn_hold (PorticoMockConn *conn);

/**
 * portico_mock_conn_release:
 * @conn: a #PorticoMockConn
 *
 * Undoes one portico_mock_conn_hold().  When the last request in flight
 * on a connection that was reset finishes, its socket is closed.
 *
 * Returns: the number of requests still in flight on @conn
 */
guint portico_mock_conn_release (PorticoMockConn *conn);

/** The number of requests in flight on @conn (see portico_mock_conn_hold()). */
guint portico_mock_conn_held (PorticoMockConn *conn);

/**
 * portico_mock_conn_is_open:
 * @conn: a #PorticoMockConn
 *
 * A connection is closed by SoupServer, or by the tap itself when the
 * client ends it between requests, or resets it, with no request in flight
 * (SoupServer 3.2 would leave that socket open).  The object may outlive
 * its socket.
 *
 * Returns: whether the socket of @conn is still open
 */
gboolean portico_mock_conn_is_open (PorticoMockConn *conn);

/**
 * portico_mock_conn_shutdown:
 * @conn: a #PorticoMockConn
 *
 * Ends the connection in both directions (shutdown(2), no close): the peer
 * sees it close, and SoupServer, reading for the next request, sees the
 * end of the stream and drops it.  Does nothing once the socket is closed.
 */
void portico_mock_conn_shutdown (PorticoMockConn *conn);

/**
 * portico_mock_cut_write:
 * @stream: (transfer full): a connection taken from SoupServer
 *   (soup_server_message_steal_connection())
 * @held: (nullable): the #PorticoMockConn under @stream, counted in flight
 *   (portico_mock_conn_hold()) until the cut is written
 * @head: the response head, written whole
 * @body: the body's bytes, repeated as often as needed; must stay valid
 *   until the cut is written (the mock's bodies live as long as it does)
 * @body_len: the length of @body (> 0 unless @length is 0)
 * @length: how many body bytes to write after @head
 *
 * Writes @head and @length bytes of body on @stream, without blocking,
 * then closes it: a response cut short of what its head announced.
 */
void portico_mock_cut_write (GIOStream *stream, PorticoMockConn *held, GBytes *head,
                             const char *body, gsize body_len, guint64 length);

/**
 * portico_mock_peer_string:
 * @address: a socket address
 *
 * Returns: (transfer full): "IP:PORT" or "[IPv6]:PORT" ("unknown" when
 *   @address is not an internet address): the key of a connection in the
 *   registry of portico_mock_conn_new()
 */
char *portico_mock_peer_string (GSocketAddress *address);

/**
 * portico_mock_echo_build:
 * @builder: a builder inside an object, no member name set
 * @msg: the request, as SoupServer parsed it
 * @recorded: (nullable): the head the tap recorded for @msg
 *   (portico_mock_conn_pop_head())
 *
 * Adds /echo's members: "method", "path", "query" (null when none),
 * "http_version", "headers" (an array of [name, value] pairs),
 * "headers_exact" and "client" ("IP:PORT").  The headers come from
 * @recorded, in the order and spelling the client sent, when it is the head
 * SoupServer parsed ("headers_exact": true); else from SoupServer's table,
 * whose values are right but whose order and name case may not be.
 */
void portico_mock_echo_build (JsonBuilder *builder, SoupServerMessage *msg, const char *recorded);

G_END_DECLS
