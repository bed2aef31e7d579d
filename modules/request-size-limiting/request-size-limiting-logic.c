/* request-size-limiting-logic.c: units and verdicts (see
 * request-size-limiting-logic.h). */
#include "request-size-limiting-logic.h"

#include <string.h>

const char *const request_size_limiting_units[] = { "megabytes", "kilobytes", "bytes", NULL };

static const guint64 unit_factors[] = { 1u << 20, 1u << 10, 1 };

gboolean
request_size_limiting_unit_factor (const char *unit, guint64 *factor)
{
  for (guint i = 0; unit != NULL && request_size_limiting_units[i] != NULL; i++)
    if (strcmp (unit, request_size_limiting_units[i]) == 0)
      {
        *factor = unit_factors[i];
        return TRUE;
      }
  return FALSE;
}

guint64
request_size_limiting_allowed_bytes (gint64 size, guint64 factor)
{
  if (size <= 0)
    return 0;
  if ((guint64) size > G_MAXUINT64 / factor)
    return G_MAXUINT64;
  return (guint64) size * factor;
}

RequestSizeVerdict
request_size_limiting_judge (guint64 allowed, gboolean require_content_length, gboolean has_content_length,
                             gint64 body_length)
{
  if (has_content_length)
    return (guint64) MAX (body_length, 0) > allowed ? REQUEST_SIZE_TOO_LARGE : REQUEST_SIZE_OK;
  if (body_length < 0)
    return REQUEST_SIZE_WATCH;
  return require_content_length ? REQUEST_SIZE_LENGTH_REQUIRED : REQUEST_SIZE_OK;
}

gboolean
request_size_limiting_expects_continue (const char *expect)
{
  if (expect == NULL)
    return FALSE;
  while (*expect == ' ' || *expect == '\t')
    expect++;
  gsize len = strlen (expect);
  while (len > 0 && (expect[len - 1] == ' ' || expect[len - 1] == '\t'))
    len--;
  return len == strlen ("100-continue") && g_ascii_strncasecmp (expect, "100-continue", len) == 0;
}
