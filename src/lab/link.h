/* link.h: a network link the lab puts between two parties (a consumer and
 * a node, a node and a service): a TCP relay on loopback that adds latency,
 * jitter, a bandwidth limit or resets, so "the request crossed the
 * Atlantic" can be reproduced and its cost seen.
 *
 * A link listens on a loopback port of its own; every connection accepted
 * there is relayed to the target address. Bytes are delayed per direction:
 * a chunk read at time t is written at t + latency (+ jitter, never
 * reordering bytes of one connection), and no faster than the bandwidth
 * allows. Its properties may change while it runs (an event in a
 * scenario): new values apply to bytes read from then on.
 *
 * A link runs on one PorticoLoop and is not thread-safe: call every
 * function from the thread that runs the loop. The TCP handshake is
 * charged: the client's connect completes at the link at once (loopback),
 * so the first bytes it sends wait one round trip more (they reach the
 * target 3 x latency after the connection was accepted, as after SYN,
 * SYN-ACK and their own crossing). EOF travels as the bytes do: a half-close on one side reaches the other
 * (shutdown(SHUT_WR)) once the bytes read before it are written. Each
 * direction of a connection holds at most about 1 MiB of delayed bytes; past
 * that the link stops reading that side until writes drain it (so a
 * direction carries at most about 1 MiB per latency, as a TCP window would).
 */
#pragma once

#include <glib.h>
#include "net/loop.h"

G_BEGIN_DECLS

typedef struct _PorticoLink PorticoLink;

/* What the link does to the bytes and connections it relays. All zero:
 * a plain relay. */
typedef struct {
  guint latency_ms;      /* one way, each direction (at least this: the clock counts whole ms) */
  guint jitter_ms;       /* up to this much more, uniformly, per chunk */
  guint64 bandwidth_bps; /* bytes per second per direction per connection; 0 = unlimited
                          * (a token bucket holding 20 ms of traffic) */
  double reset_ratio;    /* this fraction of new connections is reset (RST) after the first bytes:
                          * deterministic, the n-th connection is reset when floor(n * ratio)
                          * steps up (1.0: all, 0.5: every other one); nothing of it is relayed */
  gboolean down;         /* refuse new connections (close them at once) and reset live ones */
} PorticoLinkProps;

/* Counts since the link was created. */
typedef struct {
  guint64 connections;   /* accepted, including those closed at once while down */
  guint64 resets;        /* connections the link reset on purpose (reset_ratio, going down) */
  guint64 bytes_up;      /* from the accepting side to the target, as written to the target */
  guint64 bytes_down;    /* from the target to the accepting side, as written to it */
} PorticoLinkStats;

/* Listens on @listen ("127.0.0.1:0" picks a port) and relays to @target
 * ("host:port", resolved once, here). NULL with @error when an address is
 * wrong (PORTICO_CONFIG_ERROR) or it cannot listen (G_IO_ERROR). */
PorticoLink *portico_link_new (PorticoLoop *loop, const char *listen, const char *target,
                               const PorticoLinkProps *props, GError **error);
/* The address it listens on ("127.0.0.1:PORT"), owned by the link. */
const char *portico_link_address (PorticoLink *link);
/* Replaces the properties (copied). Latency, jitter and bandwidth apply to
 * bytes read from now on, reset_ratio to connections accepted from now on;
 * going down resets every live connection at once. */
void portico_link_set_props (PorticoLink *link, const PorticoLinkProps *props);
/* Copies the counts into @stats. */
void portico_link_get_stats (PorticoLink *link, PorticoLinkStats *stats);
/* Closes the listener and every relayed connection (plainly: bytes still
 * delayed are dropped). */
void portico_link_free (PorticoLink *link);

G_END_DECLS
