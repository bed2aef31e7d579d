/* error-list.h: one check for the loaders' error lists (config, scenario,
 * expectations): @errors must be exactly @expected, in order (at most
 * @max, NULL-terminated when shorter). An expected message ending in "*"
 * matches any message it starts. Returns how many were expected. */
#pragma once

#include <glib.h>
#include <string.h>

static inline gboolean
portico_test_error_matches (const char *actual, const char *expected)
{
  size_t len = strlen (expected);
  if (len > 0 && expected[len - 1] == '*')
    return strncmp (actual, expected, len - 1) == 0;
  return g_str_equal (actual, expected);
}

static inline guint
portico_test_assert_errors (GPtrArray *errors, const char *const *expected, guint max)
{
  guint n = 0;
  while (n < max && expected[n])
    n++;
  for (guint i = 0; i < MAX (errors->len, n); i++)
    {
      const char *actual = i < errors->len ? g_ptr_array_index (errors, i) : NULL;
      if (!actual || i >= n || !portico_test_error_matches (actual, expected[i]))
        {
          for (guint j = 0; j < errors->len; j++)
            g_test_message ("got: %s", (char *) g_ptr_array_index (errors, j));
          g_assert_cmpstr (actual, ==, i < n ? expected[i] : NULL);
        }
    }
  return n;
}
