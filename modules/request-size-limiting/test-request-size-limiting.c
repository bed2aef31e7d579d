/* test-request-size-limiting.c: the request-size-limiting module's logic
 * without a gateway: units, and the verdict from a request's head. */
#include "request-size-limiting-logic.h"

static void
test_units (void)
{
  g_test_summary ("Kong's units: a kilobyte is 1024 bytes, a megabyte 2^20; others are refused.");
  guint64 f = 0;
  g_assert_true (request_size_limiting_unit_factor ("bytes", &f));
  g_assert_cmpuint (f, ==, 1);
  g_assert_true (request_size_limiting_unit_factor ("kilobytes", &f));
  g_assert_cmpuint (f, ==, 1024);
  g_assert_true (request_size_limiting_unit_factor ("megabytes", &f));
  g_assert_cmpuint (f, ==, 1048576);
  g_assert_false (request_size_limiting_unit_factor ("gigabytes", &f));
  g_assert_false (request_size_limiting_unit_factor (NULL, &f));

  /* The default, 128 megabytes. */
  g_assert_cmpuint (request_size_limiting_allowed_bytes (128, 1048576), ==, G_GUINT64_CONSTANT (134217728));
  g_assert_cmpuint (request_size_limiting_allowed_bytes (0, 1024), ==, 0);
  g_assert_cmpuint (request_size_limiting_allowed_bytes (-5, 1024), ==, 0);
  /* No overflow: a huge size saturates. */
  g_assert_cmpuint (request_size_limiting_allowed_bytes (G_MAXINT64, 1048576), ==, G_MAXUINT64);
}

static void
test_judge (void)
{
  g_test_summary ("A declared length is judged at once (the limit itself is allowed); a chunked "
                  "body is left to the gateway's count; without a length, require_content_length "
                  "refuses with 411 unless the body is chunked.");
  const guint64 allowed = 1024;
  g_assert_cmpint (request_size_limiting_judge (allowed, FALSE, TRUE, 1024), ==, REQUEST_SIZE_OK);
  g_assert_cmpint (request_size_limiting_judge (allowed, FALSE, TRUE, 1025), ==, REQUEST_SIZE_TOO_LARGE);
  g_assert_cmpint (request_size_limiting_judge (allowed, TRUE, TRUE, 1025), ==, REQUEST_SIZE_TOO_LARGE);
  g_assert_cmpint (request_size_limiting_judge (allowed, TRUE, TRUE, 0), ==, REQUEST_SIZE_OK);
  g_assert_cmpint (request_size_limiting_judge (allowed, FALSE, FALSE, -1), ==, REQUEST_SIZE_WATCH);
  g_assert_cmpint (request_size_limiting_judge (allowed, TRUE, FALSE, -1), ==, REQUEST_SIZE_WATCH);
  g_assert_cmpint (request_size_limiting_judge (allowed, FALSE, FALSE, 0), ==, REQUEST_SIZE_OK);
  g_assert_cmpint (request_size_limiting_judge (allowed, TRUE, FALSE, 0), ==, REQUEST_SIZE_LENGTH_REQUIRED);
  /* Nothing allowed: any declared byte is too many. */
  g_assert_cmpint (request_size_limiting_judge (0, FALSE, TRUE, 1), ==, REQUEST_SIZE_TOO_LARGE);
  g_assert_cmpint (request_size_limiting_judge (0, FALSE, TRUE, 0), ==, REQUEST_SIZE_OK);
}

static void
test_expect (void)
{
  g_assert_true (request_size_limiting_expects_continue ("100-continue"));
  g_assert_true (request_size_limiting_expects_continue (" 100-Continue\t"));
  g_assert_false (request_size_limiting_expects_continue ("100-continue, x"));
  g_assert_false (request_size_limiting_expects_continue ("100"));
  g_assert_false (request_size_limiting_expects_continue (""));
  g_assert_false (request_size_limiting_expects_continue (NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/request-size-limiting/units", test_units);
  g_test_add_func ("/modules/request-size-limiting/judge", test_judge);
  g_test_add_func ("/modules/request-size-limiting/expect", test_expect);
  return g_test_run ();
}
