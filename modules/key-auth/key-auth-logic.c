/* key-auth-logic.c: where key-auth looks for the key (see key-auth-logic.h). */
#include "key-auth-logic.h"

#include <string.h>

KeyAuthKeyStatus
key_auth_find_key (const char *const *names, gboolean in_header, gboolean in_query,
                   const KeyAuthSource *source, const char **key, guint *name_index)
{
  for (guint i = 0; names[i] != NULL; i++)
    {
      guint count = 0;
      const char *value = NULL;
      if (in_header)
        value = source->header (source->data, names[i], &count);
      if (value == NULL && in_query)
        value = source->query_arg (source->data, names[i], &count);
      if (value == NULL)
        continue;
      *name_index = i;
      if (count > 1)
        return KEY_AUTH_KEY_DUPLICATE;
      *key = value;
      return KEY_AUTH_KEY_FOUND;
    }
  return KEY_AUTH_KEY_MISSING;
}

/* Whether the raw argument name [s, end) decodes to @name. Only %XX is
 * decoded: key names are tokens, and a token holds no space for a "+". */
static gboolean
query_name_equal (const char *s, const char *end, const char *name)
{
  while (s < end)
    {
      int c = (guchar) *s;
      if (c == '%' && end - s >= 3 && g_ascii_isxdigit (s[1]) && g_ascii_isxdigit (s[2]))
        {
          c = g_ascii_xdigit_value (s[1]) * 16 + g_ascii_xdigit_value (s[2]);
          s += 3;
        }
      else
        s++;
      if (*name == '\0' || c != (guchar) *name)
        return FALSE;
      name++;
    }
  return *name == '\0';
}

guint
key_auth_query_count (const char *query, const char *name)
{
  guint count = 0;
  const char *arg = query;
  while (*arg != '\0')
    {
      const char *end = strchr (arg, '&');
      if (end == NULL)
        end = arg + strlen (arg);
      const char *eq = memchr (arg, '=', end - arg);
      if (query_name_equal (arg, eq != NULL ? eq : end, name))
        count++;
      arg = *end == '&' ? end + 1 : end;
    }
  return count;
}

gboolean
key_auth_key_name_valid (const char *name)
{
  if (name == NULL || *name == '\0')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("!#$%&'*+-.^_`|~", *p) == NULL)
      return FALSE;
  return TRUE;
}
