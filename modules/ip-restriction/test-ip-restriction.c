/* test-ip-restriction.c: address and CIDR parsing and matching. */
#include <gio/gio.h>

#include "ip-restriction-logic.h"

static gboolean
in_range (const char *cidr_text, const char *addr_text)
{
  IpRestrictionCidr cidr;
  IpRestrictionAddr addr;
  g_assert_true (ip_restriction_parse_cidr (cidr_text, &cidr));
  g_assert_true (ip_restriction_parse_addr (addr_text, &addr));
  return ip_restriction_cidr_contains (&cidr, &addr);
}

static void
test_parse_addr (void)
{
  IpRestrictionAddr a;

  g_assert_true (ip_restriction_parse_addr ("10.1.2.3", &a));
  g_assert_true (a.v4);
  g_assert_cmphex (a.hi, ==, 0);
  g_assert_cmphex (a.lo, ==, G_GUINT64_CONSTANT (0xffff0a010203));

  g_assert_true (ip_restriction_parse_addr ("2001:db8::1", &a));
  g_assert_false (a.v4);
  g_assert_cmphex (a.hi, ==, G_GUINT64_CONSTANT (0x20010db800000000));
  g_assert_cmphex (a.lo, ==, 1);

  g_test_message ("an IPv4 client seen through a dual-stack socket is IPv4");
  g_assert_true (ip_restriction_parse_addr ("::ffff:10.1.2.3", &a));
  g_assert_true (a.v4);
  g_assert_cmphex (a.lo, ==, G_GUINT64_CONSTANT (0xffff0a010203));

  for (const char *const *bad = (const char *const[]){ "", "10.1.2", "10.1.2.256", "10.1.2.3 ", " 10.1.2.3",
                                                       "1.2.3.4.5", "::g", "1:2:3:4:5:6:7:8:9", "localhost",
                                                       "10.1.2.3/8", NULL };
       *bad; bad++)
    g_assert_false (ip_restriction_parse_addr (*bad, &a));
}

static void
test_cidr_v4 (void)
{
  g_assert_true (in_range ("10.0.0.0/8", "10.255.1.2"));
  g_assert_false (in_range ("10.0.0.0/8", "11.0.0.0"));
  g_assert_true (in_range ("192.168.1.0/24", "192.168.1.255"));
  g_assert_false (in_range ("192.168.1.0/24", "192.168.2.0"));
  g_assert_true (in_range ("192.168.1.7", "192.168.1.7"));
  g_assert_false (in_range ("192.168.1.7", "192.168.1.8"));
  g_assert_true (in_range ("192.168.1.7/32", "192.168.1.7"));
  g_assert_true (in_range ("0.0.0.0/0", "203.0.113.9"));
  g_assert_true (in_range ("172.16.0.0/12", "172.31.255.255"));
  g_assert_false (in_range ("172.16.0.0/12", "172.32.0.0"));
  g_test_message ("host bits in the address are masked off");
  g_assert_true (in_range ("10.1.2.3/8", "10.200.0.1"));
  g_assert_true (in_range ("10.0.0.1/31", "10.0.0.0"));
  g_assert_false (in_range ("10.0.0.1/31", "10.0.0.2"));
}

static void
test_cidr_v6 (void)
{
  g_assert_true (in_range ("2001:db8::/32", "2001:db8:ffff::1"));
  g_assert_false (in_range ("2001:db8::/32", "2001:db9::1"));
  g_assert_true (in_range ("::1", "::1"));
  g_assert_false (in_range ("::1", "::2"));
  g_assert_true (in_range ("::1/128", "::1"));
  g_assert_true (in_range ("2001:db8::/64", "2001:db8::ffff:ffff:ffff:ffff"));
  g_assert_false (in_range ("2001:db8::/64", "2001:db8:0:1::"));
  g_test_message ("a prefix that splits the low half");
  g_assert_true (in_range ("2001:db8::8000:0/97", "2001:db8::ffff:2"));
  g_assert_false (in_range ("2001:db8::8000:0/97", "2001:db8::7fff:2"));
  g_assert_true (in_range ("fe80::/10", "febf::1"));
  g_assert_false (in_range ("fe80::/10", "fec0::1"));
}

static void
test_families_apart (void)
{
  g_test_summary ("IPv6 ranges never match IPv4 clients and the other way round (as in Kong), "
                  "but an IPv4-mapped range or client counts as IPv4.");
  g_assert_false (in_range ("::/0", "10.0.0.1"));
  g_assert_false (in_range ("0.0.0.0/0", "::1"));
  g_assert_true (in_range ("::ffff:10.0.0.0/104", "10.9.9.9"));
  g_assert_false (in_range ("::ffff:10.0.0.0/104", "11.0.0.0"));
  g_assert_true (in_range ("10.0.0.0/8", "::ffff:10.1.1.1"));
  g_assert_true (in_range ("::ffff:10.1.1.1", "10.1.1.1"));
}

static void
test_cidr_bad (void)
{
  IpRestrictionCidr cidr;
  for (const char *const *bad = (const char *const[]){
         "", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/8/8", "10.0.0.0/ 8",
         "10.0.0.0/8 ", "10.0.0.0/0008", "10.0.0.0/a", "10.0.0/8", "::/129", "::/1000", "2001:db8::/",
         "::ffff:10.0.0.0/95", "10.0.0.0 /8", "example.com/8", "[::1]", "[::1]/128", NULL };
       *bad; bad++)
    {
      g_test_message ("refused: \"%s\"", *bad);
      g_assert_false (ip_restriction_parse_cidr (*bad, &cidr));
    }
  g_assert_true (ip_restriction_parse_cidr ("10.0.0.0/008", &cidr));
  g_assert_true (ip_restriction_parse_cidr ("::/0", &cidr));
  g_assert_true (ip_restriction_parse_cidr ("::/128", &cidr));
}

static void
test_list (void)
{
  g_test_summary ("A list parses every entry, names the first bad one by its index, and matches "
                  "when any range holds the address.");
  g_autoptr (GError) error = NULL;
  const char *entries[] = { "10.0.0.0/8", "2001:db8::/32", "192.168.1.1" };
  GArray *list = ip_restriction_parse_list ("allow", entries, 3, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);

  IpRestrictionAddr a;
  const IpRestrictionCidr *v = (const IpRestrictionCidr *) list->data;
  g_assert_true (ip_restriction_parse_addr ("10.3.3.3", &a));
  g_assert_true (ip_restriction_list_contains (v, list->len, &a));
  g_assert_true (ip_restriction_parse_addr ("2001:db8::5", &a));
  g_assert_true (ip_restriction_list_contains (v, list->len, &a));
  g_assert_true (ip_restriction_parse_addr ("192.168.1.1", &a));
  g_assert_true (ip_restriction_list_contains (v, list->len, &a));
  g_assert_true (ip_restriction_parse_addr ("192.168.1.2", &a));
  g_assert_false (ip_restriction_list_contains (v, list->len, &a));
  g_assert_false (ip_restriction_list_contains (v, 0, &a));
  g_array_free (list, TRUE);

  const char *bad[] = { "10.0.0.0/8", "::1", "10.0.0.0/33", "nope" };
  g_assert_null (ip_restriction_parse_list ("deny", bad, 4, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpstr (error->message, ==, "deny[2]: invalid ip or cidr range: \"10.0.0.0/33\"");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/ip-restriction/addr", test_parse_addr);
  g_test_add_func ("/modules/ip-restriction/cidr/v4", test_cidr_v4);
  g_test_add_func ("/modules/ip-restriction/cidr/v6", test_cidr_v6);
  g_test_add_func ("/modules/ip-restriction/cidr/families", test_families_apart);
  g_test_add_func ("/modules/ip-restriction/cidr/bad", test_cidr_bad);
  g_test_add_func ("/modules/ip-restriction/list", test_list);
  return g_test_run ();
}
