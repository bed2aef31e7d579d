/* ip-restriction-logic.c: see ip-restriction-logic.h. */
#include "ip-restriction-logic.h"

#include <arpa/inet.h>
#include <gio/gio.h>
#include <string.h>

static guint64
load_be64 (const guint8 *b)
{
  guint64 v = 0;
  for (int i = 0; i < 8; i++)
    v = (v << 8) | b[i];
  return v;
}

static gboolean
is_v4_mapped (guint64 hi, guint64 lo)
{
  return hi == 0 && (lo >> 32) == 0xffff;
}

gboolean
ip_restriction_parse_addr (const char *text, IpRestrictionAddr *out)
{
  struct in_addr a4;
  struct in6_addr a6;

  g_return_val_if_fail (text != NULL && out != NULL, FALSE);
  if (inet_pton (AF_INET, text, &a4) == 1)
    {
      out->hi = 0;
      out->lo = G_GUINT64_CONSTANT (0xffff00000000) | g_ntohl (a4.s_addr);
      out->v4 = TRUE;
      return TRUE;
    }
  if (inet_pton (AF_INET6, text, &a6) == 1)
    {
      out->hi = load_be64 (a6.s6_addr);
      out->lo = load_be64 (a6.s6_addr + 8);
      /* A dual-stack listener reports IPv4 clients this way. */
      out->v4 = is_v4_mapped (out->hi, out->lo);
      return TRUE;
    }
  return FALSE;
}

/* The mask of the @bits leading bits of a 64-bit half (0..64). */
static guint64
half_mask (guint bits)
{
  return bits == 0 ? 0 : G_MAXUINT64 << (64 - bits);
}

gboolean
ip_restriction_parse_cidr (const char *text, IpRestrictionCidr *out)
{
  g_return_val_if_fail (text != NULL && out != NULL, FALSE);

  const char *slash = strchr (text, '/');
  gsize addr_len = slash ? (gsize) (slash - text) : strlen (text);
  char buf[INET6_ADDRSTRLEN + 1];
  if (addr_len == 0 || addr_len >= sizeof buf)
    return FALSE;
  memcpy (buf, text, addr_len);
  buf[addr_len] = '\0';
  if (!ip_restriction_parse_addr (buf, &out->net))
    return FALSE;

  /* "::ffff:10.0.0.0/104" parses as IPv4, with a prefix that counts the
   * 96 mapped bits. */
  gboolean mapped = out->net.v4 && memchr (buf, ':', addr_len) != NULL;
  guint max = out->net.v4 && !mapped ? 32 : 128;
  guint prefix = max;
  if (slash != NULL)
    {
      const char *p = slash + 1;
      /* Digits only (no sign, no space), at most three of them. */
      gsize digits = strspn (p, "0123456789");
      if (digits == 0 || digits > 3 || p[digits] != '\0')
        return FALSE;
      prefix = (guint) g_ascii_strtoull (p, NULL, 10);
      if (prefix > max || (mapped && prefix < 96))
        return FALSE;
    }
  if (mapped)
    prefix -= 96;

  guint bits = out->net.v4 ? 96 + prefix : prefix;
  out->mask_hi = half_mask (MIN (bits, 64));
  out->mask_lo = half_mask (bits > 64 ? bits - 64 : 0);
  out->net.hi &= out->mask_hi;
  out->net.lo &= out->mask_lo;
  return TRUE;
}

gboolean
ip_restriction_cidr_contains (const IpRestrictionCidr *cidr, const IpRestrictionAddr *addr)
{
  return cidr->net.v4 == addr->v4 && (addr->hi & cidr->mask_hi) == cidr->net.hi
         && (addr->lo & cidr->mask_lo) == cidr->net.lo;
}

gboolean
ip_restriction_list_contains (const IpRestrictionCidr *list, guint n, const IpRestrictionAddr *addr)
{
  for (guint i = 0; i < n; i++)
    if (ip_restriction_cidr_contains (&list[i], addr))
      return TRUE;
  return FALSE;
}

GArray *
ip_restriction_parse_list (const char *field, const char *const *entries, guint n, GError **error)
{
  GArray *list = g_array_sized_new (FALSE, FALSE, sizeof (IpRestrictionCidr), n);
  for (guint i = 0; i < n; i++)
    {
      IpRestrictionCidr cidr;
      if (!ip_restriction_parse_cidr (entries[i], &cidr))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "%s[%u]: invalid ip or cidr range: \"%s\"", field, i, entries[i]);
          g_array_free (list, TRUE);
          return NULL;
        }
      g_array_append_val (list, cidr);
    }
  return list;
}
