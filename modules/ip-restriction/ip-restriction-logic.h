/* ip-restriction-logic.h: addresses and CIDR ranges as 128-bit masks.
 *
 * Pure logic, no PDK calls: the module (ip-restriction.c) and its unit
 * test (test-ip-restriction.c) both build it.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* An address: IPv4 is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d), so one
 * comparison serves both families; @v4 keeps them apart (an IPv6 range
 * never matches an IPv4 client, as in Kong). */
typedef struct {
  guint64 hi, lo;
  gboolean v4;
} IpRestrictionAddr;

/* A range: the network and its mask, precomputed. */
typedef struct {
  IpRestrictionAddr net;
  guint64 mask_hi, mask_lo;
} IpRestrictionCidr;

/* "10.0.0.1", "::1", "::ffff:10.0.0.1" (taken as IPv4). FALSE on
 * anything else. */
gboolean ip_restriction_parse_addr (const char *text, IpRestrictionAddr *out);

/* An address or "ADDR/PREFIX" (0-32 for IPv4, 0-128 for IPv6). Host bits
 * set in ADDR are masked off ("10.1.2.3/8" is 10.0.0.0/8). */
gboolean ip_restriction_parse_cidr (const char *text, IpRestrictionCidr *out);

gboolean ip_restriction_cidr_contains (const IpRestrictionCidr *cidr, const IpRestrictionAddr *addr);

/* Whether any of the @n ranges contains @addr (a linear walk). */
gboolean ip_restriction_list_contains (const IpRestrictionCidr *list, guint n, const IpRestrictionAddr *addr);

/* Parses every string of @entries into a new array of IpRestrictionCidr.
 * On a bad entry: NULL, and @error says "@field[INDEX]: invalid ip or cidr
 * range: \"TEXT\"". */
GArray *ip_restriction_parse_list (const char *field, const char *const *entries, guint n, GError **error);

G_END_DECLS
