/* file-log-logic.c: the JSON line and the line buffer (see the header). */
#include "file-log-logic.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

/* ---- JSON text ---------------------------------------------------------------- */

/* A JSON string of @len bytes. A byte that does not start a valid UTF-8
 * sequence is taken as Latin-1 (what obs-text in an HTTP field usually
 * is), so the line stays valid JSON whatever the client sent. */
static void
json_string (GString *out, const char *s, gsize len, gboolean lower)
{
  static const char hex[] = "0123456789abcdef";

  g_string_append_c (out, '"');
  for (gsize i = 0; i < len;)
    {
      guchar c = (guchar) s[i];
      if (c >= 0x80)
        {
          gsize n = (gsize) g_utf8_skip[c];
          if (n > 1 && i + n <= len && g_utf8_validate_len (s + i, n, NULL))
            g_string_append_len (out, s + i, (gssize) n);
          else
            {
              n = 1;
              g_string_append_unichar (out, c);
            }
          i += n;
          continue;
        }
      switch (c)
        {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        default:
          if (c < 0x20 || c == 0x7f)
            {
              char esc[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], '\0' };
              g_string_append (out, esc);
            }
          else
            g_string_append_c (out, lower ? g_ascii_tolower ((char) c) : (char) c);
        }
      i++;
    }
  g_string_append_c (out, '"');
}

static void
json_cstring (GString *out, const char *s)
{
  json_string (out, s, strlen (s), FALSE);
}

/* ,"key": (the comma unless @first) */
static void
json_key (GString *out, const char *key, gboolean first)
{
  if (!first)
    g_string_append_c (out, ',');
  g_string_append_c (out, '"');
  g_string_append (out, key);
  g_string_append (out, "\":");
}

static void
json_int (GString *out, const char *key, gint64 value, gboolean first)
{
  json_key (out, key, first);
  g_string_append_printf (out, "%" G_GINT64_FORMAT, value);
}

static void
json_named (GString *out, const char *key, const char *name)
{
  json_key (out, key, FALSE);
  g_string_append (out, "{\"name\":");
  json_cstring (out, name);
  g_string_append_c (out, '}');
}

/* ---- header fields ------------------------------------------------------------- */

static gboolean
header_redacted (const char *name)
{
  return g_ascii_strcasecmp (name, "authorization") == 0 || g_ascii_strcasecmp (name, "proxy-authorization") == 0;
}

/* An object of the fields @at walks: names lower-cased, a name seen more
 * than once an array of its values in order. Quadratic in the count, which
 * is bounded and small; it spares an allocation per line. */
static void
json_headers (GString *out, FileLogHeaderAt at, gpointer source, gboolean redact)
{
  const char *name, *value;
  guint n = 0;

  g_string_append_c (out, '{');
  while (n < FILE_LOG_MAX_FIELDS && at != NULL && at (source, n, &name, &value))
    n++;
  gboolean first = TRUE;
  for (guint i = 0; i < n; i++)
    {
      at (source, i, &name, &value);
      gboolean seen = FALSE;
      for (guint j = 0; j < i && !seen; j++)
        {
          const char *other, *unused;
          at (source, j, &other, &unused);
          seen = g_ascii_strcasecmp (name, other) == 0;
        }
      if (seen)
        continue;

      guint count = 1;
      for (guint j = i + 1; j < n; j++)
        {
          const char *other, *unused;
          at (source, j, &other, &unused);
          count += g_ascii_strcasecmp (name, other) == 0;
        }
      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      json_string (out, name, strlen (name), TRUE);
      g_string_append_c (out, ':');
      gboolean redacted = redact && header_redacted (name);
      if (count > 1)
        g_string_append_c (out, '[');
      for (guint j = i, k = 0; k < count; j++)
        {
          const char *other, *v;
          at (source, j, &other, &v);
          if (j != i && g_ascii_strcasecmp (name, other) != 0)
            continue;
          if (k++ > 0)
            g_string_append_c (out, ',');
          json_cstring (out, redacted ? "REDACTED" : v);
        }
      if (count > 1)
        g_string_append_c (out, ']');
    }
  g_string_append_c (out, '}');
}

/* ---- the query string ---------------------------------------------------------- */

typedef struct {
  guint key, key_len;   /* in the scratch buffer, decoded */
  guint value, value_len;
  gboolean bare;        /* "?flag": no "=" */
} QueryArg;

static int
hex_value (char c)
{
  return g_ascii_isxdigit (c) ? g_ascii_xdigit_value (c) : -1;
}

/* Appends @s percent-decoded ("+" is a space, as in a form) to @scratch;
 * a "%" not followed by two hex digits stays as it is. */
static void
decode_into (GString *scratch, const char *s, gsize len)
{
  for (gsize i = 0; i < len; i++)
    {
      if (s[i] == '+')
        g_string_append_c (scratch, ' ');
      else if (s[i] == '%' && i + 2 < len && hex_value (s[i + 1]) >= 0 && hex_value (s[i + 2]) >= 0)
        {
          g_string_append_c (scratch, (char) (hex_value (s[i + 1]) * 16 + hex_value (s[i + 2])));
          i += 2;
        }
      else
        g_string_append_c (scratch, s[i]);
    }
}

static guint
parse_query (GString *scratch, const char *query, QueryArg *args)
{
  guint n = 0;
  const char *p = query;

  g_string_truncate (scratch, 0);
  while (*p != '\0' && n < FILE_LOG_MAX_FIELDS)
    {
      const char *end = strchr (p, '&');
      gsize len = end != NULL ? (gsize) (end - p) : strlen (p);
      const char *eq = memchr (p, '=', len);
      gsize key_len = eq != NULL ? (gsize) (eq - p) : len;
      if (key_len > 0)
        {
          QueryArg *a = &args[n++];
          a->key = (guint) scratch->len;
          decode_into (scratch, p, key_len);
          a->key_len = (guint) scratch->len - a->key;
          a->bare = eq == NULL;
          a->value = (guint) scratch->len;
          if (eq != NULL)
            decode_into (scratch, eq + 1, len - key_len - 1);
          a->value_len = (guint) scratch->len - a->value;
        }
      p += len;
      if (*p == '&')
        p++;
    }
  return n;
}

static gboolean
same_key (GString *scratch, const QueryArg *a, const QueryArg *b)
{
  return a->key_len == b->key_len && memcmp (scratch->str + a->key, scratch->str + b->key, a->key_len) == 0;
}

static void
json_query_value (GString *out, GString *scratch, const QueryArg *a)
{
  if (a->bare)
    g_string_append (out, "true");
  else
    json_string (out, scratch->str + a->value, a->value_len, FALSE);
}

/* Kong's querystring: {"a":"1","flag":true,"tag":["x","y"]}. */
static void
json_query (GString *out, GString *scratch, const char *query)
{
  QueryArg args[FILE_LOG_MAX_FIELDS];
  guint n = parse_query (scratch, query, args);
  gboolean first = TRUE;

  g_string_append_c (out, '{');
  for (guint i = 0; i < n; i++)
    {
      gboolean seen = FALSE;
      for (guint j = 0; j < i && !seen; j++)
        seen = same_key (scratch, &args[i], &args[j]);
      if (seen)
        continue;
      guint count = 1;
      for (guint j = i + 1; j < n; j++)
        count += same_key (scratch, &args[i], &args[j]);

      if (!first)
        g_string_append_c (out, ',');
      first = FALSE;
      json_string (out, scratch->str + args[i].key, args[i].key_len, FALSE);
      g_string_append_c (out, ':');
      if (count == 1)
        {
          json_query_value (out, scratch, &args[i]);
          continue;
        }
      g_string_append_c (out, '[');
      for (guint j = i, k = 0; j < n; j++)
        if (j == i || same_key (scratch, &args[i], &args[j]))
          {
            if (k++ > 0)
              g_string_append_c (out, ',');
            json_query_value (out, scratch, &args[j]);
          }
      g_string_append_c (out, ']');
    }
  g_string_append_c (out, '}');
}

/* ---- the line ---------------------------------------------------------------- */

void
file_log_serializer_init (FileLogSerializer *s)
{
  s->scratch = g_string_sized_new (256);
}

void
file_log_serializer_clear (FileLogSerializer *s)
{
  if (s->scratch != NULL)
    g_string_free (s->scratch, TRUE);
  s->scratch = NULL;
}

static void
json_phases (GString *out, const FileLogEntry *e)
{
  const char *module, *phase;
  gint64 duration_us;

  json_key (out, "phases", FALSE);
  g_string_append_c (out, '[');
  for (guint i = 0; e->span_at != NULL && e->span_at (e->spans, i, &module, &phase, &duration_us); i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      g_string_append (out, "{\"module\":");
      json_cstring (out, module);
      g_string_append (out, ",\"phase\":");
      json_cstring (out, phase);
      json_int (out, "duration_us", duration_us, FALSE);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, ']');
}

void
file_log_serialize (FileLogSerializer *s, GString *out, const FileLogEntry *e)
{
  g_string_append (out, "{\"request\":{\"method\":");
  json_cstring (out, e->method);
  json_key (out, "uri", FALSE);
  g_string_assign (s->scratch, e->path);
  if (e->query[0] != '\0')
    {
      g_string_append_c (s->scratch, '?');
      g_string_append (s->scratch, e->query);
    }
  json_string (out, s->scratch->str, s->scratch->len, FALSE);
  json_int (out, "size", (gint64) e->request_size, FALSE);
  json_key (out, "headers", FALSE);
  json_headers (out, e->request_header_at, e->request_headers, TRUE);
  json_key (out, "querystring", FALSE);
  json_query (out, s->scratch, e->query);

  g_string_append (out, "},\"response\":{");
  json_int (out, "status", e->status, TRUE);
  json_int (out, "size", (gint64) e->response_size, FALSE);
  json_key (out, "headers", FALSE);
  json_headers (out, e->response_header_at, e->response_headers, FALSE);

  g_string_append (out, "},\"latencies\":{");
  json_int (out, "request", e->latency_request_ms, TRUE);
  json_int (out, "kong", e->latency_kong_ms, FALSE);
  json_int (out, "proxy", e->latency_proxy_ms, FALSE);
  g_string_append_c (out, '}');

  json_key (out, "client_ip", FALSE);
  json_cstring (out, e->client_ip != NULL ? e->client_ip : "");
  json_int (out, "started_at", e->started_at_ms, FALSE);
  if (e->route_name != NULL)
    json_named (out, "route", e->route_name);
  if (e->service_name != NULL)
    json_named (out, "service", e->service_name);
  if (e->consumer_id != NULL)
    {
      json_key (out, "consumer", FALSE);
      g_string_append (out, "{\"id\":");
      json_cstring (out, e->consumer_id);
      if (e->consumer_username != NULL)
        {
          json_key (out, "username", FALSE);
          json_cstring (out, e->consumer_username);
        }
      if (e->consumer_custom_id != NULL)
        {
          json_key (out, "custom_id", FALSE);
          json_cstring (out, e->consumer_custom_id);
        }
      g_string_append_c (out, '}');
    }
  json_phases (out, e);
  g_string_append (out, "}\n");
}

/* ---- the buffer --------------------------------------------------------------- */

void
file_log_buffer_init (FileLogBuffer *b, const char *path, gboolean reopen, gsize threshold)
{
  b->path = g_strdup (path);
  b->reopen = reopen;
  b->threshold = threshold;
  b->fd = -1;
  /* Room for a full buffer plus the line that crosses the threshold. */
  b->lines = g_string_sized_new (threshold + threshold / 4);
  b->pending = 0;
  b->dropped = 0;
}

void
file_log_buffer_clear (FileLogBuffer *b)
{
  file_log_buffer_close (b);
  g_clear_pointer (&b->path, g_free);
  if (b->lines != NULL)
    g_string_free (b->lines, TRUE);
  b->lines = NULL;
}

static gboolean
set_errno_error (GError **error, int errsv, const char *what, const char *path)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv), "%s %s: %s", what, path, g_strerror (errsv));
  return FALSE;
}

gboolean
file_log_buffer_open (FileLogBuffer *b, GError **error)
{
  file_log_buffer_close (b);
  int fd;
  do
    fd = open (b->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return set_errno_error (error, errno, "cannot open", b->path);
  b->fd = fd;
  return TRUE;
}

void
file_log_buffer_close (FileLogBuffer *b)
{
  if (b->fd >= 0)
    close (b->fd);
  b->fd = -1;
}

gboolean
file_log_buffer_line_added (FileLogBuffer *b)
{
  b->pending++;
  return b->lines->len >= b->threshold;
}

static gboolean
write_all (int fd, const char *data, gsize len, int *errsv)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          *errsv = n < 0 ? errno : EIO;
          return FALSE;
        }
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

gboolean
file_log_buffer_flush (FileLogBuffer *b, GError **error)
{
  if (b->lines->len == 0)
    return TRUE;

  gboolean ok = TRUE;
  if (b->reopen || b->fd < 0)
    ok = file_log_buffer_open (b, error);
  int errsv = 0;
  if (ok && !write_all (b->fd, b->lines->str, b->lines->len, &errsv))
    ok = set_errno_error (error, errsv, "cannot write to", b->path);
  if (!ok)
    b->dropped += b->pending;
  g_string_truncate (b->lines, 0);
  b->pending = 0;
  return ok;
}

gboolean
file_log_path_check (const char *path, GError **error)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    return set_errno_error (error, EISDIR, "cannot open", path);
  if (access (path, F_OK) == 0)
    return access (path, W_OK) == 0 || set_errno_error (error, errno, "cannot open", path);

  g_autofree char *dir = g_path_get_dirname (path);
  if (access (dir, W_OK | X_OK) != 0)
    return set_errno_error (error, errno, "cannot open", path);
  return TRUE;
}
