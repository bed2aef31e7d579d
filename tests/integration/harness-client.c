/* tests/integration/harness-client.c - see harness.h: the raw client, and
 * the bounded socket reads the raw server shares.
 *
 * The HTTP reading here is deliberately separate from src/http: the tests
 * judge the gateway's parser, so they must not share its code.  It is simple
 * and strict (CRLF line ends, one response at a time) and never reads past
 * the response it was asked for: heads and chunk lines are found with
 * MSG_PEEK and then consumed exactly.
 */
#include "harness-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define SOCKET_TIMEOUT_S 5
#define LINE_MAX_BYTES 4096

/* ------------------------------------------------------------------------ */
/* Socket reading */

static int
remaining_ms (gint64 deadline)
{
  gint64 left = deadline - g_get_monotonic_time ();

  return left <= 0 ? 0 : (int) MIN ((left + 999) / 1000, G_MAXINT);
}

static const char *
read_result_name (PorticoReadResult result)
{
  switch (result)
    {
    case READ_OK: return "ok";
    case READ_EOF: return "connection closed";
    case READ_TIMEOUT: return "timed out";
    case READ_TOO_LONG: return "line or head too long";
    case READ_ERROR: default: return "socket error";
    }
}

gboolean
portico_harness_wait_readable (int fd, gint64 deadline, const gint *cancel)
{
  for (;;)
    {
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      int left = remaining_ms (deadline);
      int ready;

      if (cancel && g_atomic_int_get (cancel))
        return FALSE;
      ready = poll (&pfd, 1, cancel ? MIN (left, POLL_SLICE_MS) : left);
      if (ready > 0)
        return TRUE;
      if (ready < 0 && errno != EINTR)
        return FALSE;
      if (ready == 0 && left == 0)
        return FALSE;
    }
}

/* One recv after waiting: >0 bytes, or a result. */
static gssize
recv_some (int fd, void *buf, gsize len, int flags, gint64 deadline, const gint *cancel,
           PorticoReadResult *result)
{
  for (;;)
    {
      gssize n;

      if (!portico_harness_wait_readable (fd, deadline, cancel))
        {
          *result = READ_TIMEOUT;
          return -1;
        }
      n = recv (fd, buf, len, flags);
      if (n > 0)
        return n;
      if (n == 0 || errno == ECONNRESET)
        {
          *result = READ_EOF;
          return -1;
        }
      if (errno != EINTR && errno != EAGAIN)
        {
          *result = READ_ERROR;
          return -1;
        }
    }
}

PorticoReadResult
portico_harness_read_until (int fd, const char *term, gsize max, GString *out, gint64 deadline,
                            const gint *cancel)
{
  gsize term_len = strlen (term);
  char buf[16384];

  for (;;)
    {
      PorticoReadResult result = READ_OK;
      gsize start = out->len, from, take;
      gssize n = recv_some (fd, buf, sizeof buf, MSG_PEEK, deadline, cancel, &result);
      const char *hit;

      if (n < 0)
        return result;
      g_string_append_len (out, buf, n);
      from = start >= term_len - 1 ? start - (term_len - 1) : 0;
      hit = memmem (out->str + from, out->len - from, term, term_len);
      take = hit ? (gsize) (hit + term_len - out->str) - start : (gsize) n;
      g_string_truncate (out, start + take);

      /* The peeked bytes are in the socket buffer: this takes exactly them. */
      while (take > 0)
        {
          gssize got = recv (fd, buf, MIN (take, sizeof buf), 0);

          if (got <= 0 && errno != EINTR)
            return READ_ERROR;
          if (got > 0)
            take -= got;
        }
      if (hit)
        return READ_OK;
      if (out->len > max)
        return READ_TOO_LONG;
    }
}

typedef struct
{
  GByteArray *data;             /* NULL when discarding */
  GChecksum *sha256;
  guint64 length;
} PorticoBodySink;

static void
sink_add (PorticoBodySink *sink, const void *data, gsize n)
{
  if (sink->data)
    g_byte_array_append (sink->data, data, n);
  g_checksum_update (sink->sha256, data, n);
  sink->length += n;
}

/* Reads exactly @n bytes (or, with @n == G_MAXUINT64, until the peer
 * closes, which then counts as READ_OK). */
static PorticoReadResult
read_body (int fd, guint64 n, PorticoBodySink *sink, gint64 deadline)
{
  char buf[65536];

  while (n > 0)
    {
      PorticoReadResult result = READ_OK;
      gssize got = recv_some (fd, buf, MIN (n, sizeof buf), 0, deadline, NULL, &result);

      if (got < 0)
        return n == G_MAXUINT64 && result == READ_EOF ? READ_OK : result;
      sink_add (sink, buf, got);
      if (n != G_MAXUINT64)
        n -= got;
    }
  return READ_OK;
}

static gboolean
parse_field (const char *line, GPtrArray *into)
{
  const char *colon = strchr (line, ':');
  PorticoTestHeader *header;

  if (colon == NULL || colon == line)
    return FALSE;
  header = g_new0 (PorticoTestHeader, 1);
  header->name = g_strndup (line, colon - line);
  header->value = g_strstrip (g_strdup (colon + 1));
  g_ptr_array_add (into, header);
  return TRUE;
}

static void
header_free (gpointer data)
{
  PorticoTestHeader *header = data;

  g_free (header->name);
  g_free (header->value);
  g_free (header);
}

static gboolean
parse_head (PorticoTestResponse *resp)
{
  g_auto(GStrv) lines = NULL;
  const char *status_line;
  guint i;

  /* Without the final empty line: "...\r\n\r\n" splits into two "". */
  lines = g_strsplit (resp->raw_head->str, "\r\n", -1);
  status_line = lines[0];
  if (!g_str_has_prefix (status_line, "HTTP/1.") || !g_ascii_isdigit (status_line[7]) ||
      status_line[8] != ' ' || !g_ascii_isdigit (status_line[9]) ||
      !g_ascii_isdigit (status_line[10]) || !g_ascii_isdigit (status_line[11]) ||
      (status_line[12] != ' ' && status_line[12] != '\0'))
    {
      g_test_message ("bad status line: \"%s\"", status_line);
      return FALSE;
    }
  resp->minor_version = status_line[7] - '0';
  resp->status = (int) g_ascii_strtoll (status_line + 9, NULL, 10);
  resp->reason = g_strdup (status_line[12] ? status_line + 13 : "");

  for (i = 1; lines[i] && lines[i][0]; i++)
    if (!parse_field (lines[i], resp->headers))
      {
        g_test_message ("bad header line: \"%s\"", lines[i]);
        return FALSE;
      }
  return TRUE;
}

static PorticoReadResult
read_chunked (int fd, PorticoTestResponse *resp, PorticoBodySink *sink, gint64 deadline)
{
  g_autoptr(GString) line = g_string_new (NULL);

  for (;;)
    {
      PorticoReadResult result;
      guint64 size;
      char *end = NULL;

      g_string_truncate (line, 0);
      result = portico_harness_read_until (fd, "\r\n", LINE_MAX_BYTES, line, deadline, NULL);
      if (result != READ_OK)
        return result;
      size = g_ascii_strtoull (line->str, &end, 16);
      if (end == line->str || (*end != '\r' && *end != ';' && *end != ' ' && *end != '\t'))
        {
          g_test_message ("bad chunk size line: \"%s\"", line->str);
          return READ_ERROR;
        }
      if (size == 0)
        break;
      result = read_body (fd, size, sink, deadline);
      if (result != READ_OK)
        return result;
      resp->n_chunks++;
      g_string_truncate (line, 0);
      result = portico_harness_read_until (fd, "\r\n", LINE_MAX_BYTES, line, deadline, NULL);
      if (result != READ_OK)
        return result;
      if (line->len != 2)
        {
          g_test_message ("chunk data not followed by CRLF");
          return READ_ERROR;
        }
    }

  for (;;)
    {
      PorticoReadResult result;

      g_string_truncate (line, 0);
      result = portico_harness_read_until (fd, "\r\n", HEAD_MAX, line, deadline, NULL);
      if (result != READ_OK)
        return result;
      if (line->len == 2)
        return READ_OK;
      g_string_truncate (line, line->len - 2);
      if (!parse_field (line->str, resp->trailers))
        {
          g_test_message ("bad trailer line: \"%s\"", line->str);
          return READ_ERROR;
        }
    }
}

/* Whether the last transfer coding listed is chunked. */
static gboolean
coding_is_chunked (const char *te)
{
  const char *last = strrchr (te, ',');

  last = last ? last + 1 : te;
  last += strspn (last, " \t");
  return g_ascii_strncasecmp (last, "chunked", 7) == 0 &&
         (last[7] == '\0' || last[7] == ' ' || last[7] == '\t');
}

PorticoTestResponse *
portico_test_read_response_flags (int fd, PorticoTestReadFlags flags, int timeout_ms)
{
  gint64 deadline = deadline_after (timeout_ms);
  PorticoTestResponse *resp = g_new0 (PorticoTestResponse, 1);
  PorticoBodySink sink = { 0 };
  PorticoReadResult result;
  const char *te, *cl;
  guint64 length = 0;

  resp->headers = g_ptr_array_new_with_free_func (header_free);
  resp->trailers = g_ptr_array_new_with_free_func (header_free);
  resp->raw_head = g_string_new (NULL);

  result = portico_harness_read_until (fd, "\r\n\r\n", HEAD_MAX, resp->raw_head, deadline, NULL);
  if (result != READ_OK)
    {
      g_test_message ("no response head (%s) after %zu bytes: \"%s\"", read_result_name (result),
                      resp->raw_head->len, resp->raw_head->str);
      portico_test_response_free (resp);
      return NULL;
    }
  if (!parse_head (resp))
    {
      portico_test_response_free (resp);
      return NULL;
    }

  sink.data = (flags & PORTICO_TEST_READ_DISCARD_BODY) ? NULL : g_byte_array_new ();
  sink.sha256 = g_checksum_new (G_CHECKSUM_SHA256);
  te = portico_test_response_header (resp, "Transfer-Encoding");
  cl = portico_test_response_header (resp, "Content-Length");
  resp->complete = TRUE;

  if ((flags & PORTICO_TEST_READ_HEAD_REQUEST) || (resp->status >= 100 && resp->status < 200) ||
      resp->status == 204 || resp->status == 304)
    result = READ_OK;
  else if (te && coding_is_chunked (te))
    {
      resp->chunked = TRUE;
      result = read_chunked (fd, resp, &sink, deadline);
    }
  else if (te == NULL && cl != NULL)
    {
      if (!g_ascii_string_to_unsigned (cl, 10, 0, G_MAXINT64, &length, NULL))
        {
          g_test_message ("bad Content-Length: \"%s\"", cl);
          result = READ_ERROR;
        }
      else
        result = read_body (fd, length, &sink, deadline);
    }
  else
    {
      result = read_body (fd, G_MAXUINT64, &sink, deadline);
      resp->closed = result == READ_OK;
    }

  if (result != READ_OK)
    {
      resp->complete = FALSE;
      resp->closed = result == READ_EOF;
      g_test_message ("response body incomplete (%s) after %" G_GUINT64_FORMAT " bytes",
                      read_result_name (result), sink.length);
    }
  resp->body = sink.data ? g_byte_array_free_to_bytes (sink.data) : NULL;
  resp->body_length = sink.length;
  resp->body_sha256 = g_strdup (g_checksum_get_string (sink.sha256));
  g_checksum_free (sink.sha256);
  return resp;
}

PorticoTestResponse *
portico_test_read_response (int fd, gboolean head_request, int timeout_ms)
{
  return portico_test_read_response_flags (fd, head_request ? PORTICO_TEST_READ_HEAD_REQUEST
                                                            : PORTICO_TEST_READ_DEFAULT,
                                           timeout_ms);
}

const char *
portico_test_response_header (const PorticoTestResponse *resp, const char *name)
{
  guint i;

  for (i = 0; i < resp->headers->len; i++)
    {
      PorticoTestHeader *header = g_ptr_array_index (resp->headers, i);

      if (g_ascii_strcasecmp (header->name, name) == 0)
        return header->value;
    }
  return NULL;
}

guint
portico_test_response_header_count (const PorticoTestResponse *resp, const char *name)
{
  guint i, count = 0;

  for (i = 0; i < resp->headers->len; i++)
    if (g_ascii_strcasecmp (((PorticoTestHeader *) g_ptr_array_index (resp->headers, i))->name,
                            name) == 0)
      count++;
  return count;
}

char *
portico_test_response_body_string (const PorticoTestResponse *resp)
{
  gsize size = 0;
  const char *data = resp->body ? g_bytes_get_data (resp->body, &size) : NULL;

  return g_strndup (data ? data : "", size);
}

void
portico_test_response_free (PorticoTestResponse *resp)
{
  if (resp == NULL)
    return;
  g_free (resp->reason);
  g_ptr_array_unref (resp->headers);
  g_ptr_array_unref (resp->trailers);
  g_clear_pointer (&resp->body, g_bytes_unref);
  g_free (resp->body_sha256);
  g_string_free (resp->raw_head, TRUE);
  g_free (resp);
}

/* ------------------------------------------------------------------------ */
/* Raw client */

static gboolean
parse_address (const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
  const char *colon = strrchr (addr, ':');
  g_autofree char *host = NULL;
  guint64 port;

  memset (ss, 0, sizeof *ss);
  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL))
    return FALSE;
  host = g_strndup (addr, colon - addr);
  if (host[0] == '[' && host[strlen (host) - 1] == ']')
    {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

      host[strlen (host) - 1] = '\0';
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons ((guint16) port);
      *len = sizeof *sin6;
      return inet_pton (AF_INET6, host + 1, &sin6->sin6_addr) == 1;
    }
  else
    {
      struct sockaddr_in *sin = (struct sockaddr_in *) ss;

      sin->sin_family = AF_INET;
      sin->sin_port = htons ((guint16) port);
      *len = sizeof *sin;
      return inet_pton (AF_INET, host, &sin->sin_addr) == 1;
    }
}

guint
portico_test_free_port (void)
{
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof sin;
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sin, &len), ==, 0);
  close (fd);
  return ntohs (sin.sin_port);
}

int
portico_test_connect (const char *addr)
{
  struct sockaddr_storage ss;
  socklen_t len = 0;
  struct timeval tv = { .tv_sec = SOCKET_TIMEOUT_S };
  int one = 1;
  int fd;

  if (addr == NULL || !parse_address (addr, &ss, &len))
    {
      g_test_message ("connect: bad address \"%s\"", addr ? addr : "(null)");
      return -1;
    }
  fd = socket (ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      g_test_message ("socket: %s", g_strerror (errno));
      return -1;
    }
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect (fd, (struct sockaddr *) &ss, len) < 0)
    {
      g_test_message ("connect %s: %s", addr, g_strerror (errno));
      close (fd);
      return -1;
    }
  return fd;
}

gboolean
portico_harness_send_all (int fd, const void *data, gsize len)
{
  const char *p = data;

  while (len > 0)
    {
      gssize n = send (fd, p, len, MSG_NOSIGNAL);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      p += n;
      len -= n;
    }
  return TRUE;
}

gboolean
portico_test_send_all (int fd, const void *data, gssize len)
{
  gsize size = len < 0 ? strlen (data) : (gsize) len;

  if (!portico_harness_send_all (fd, data, size))
    {
      g_test_message ("send: %s", g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

PorticoTestResponse *
portico_test_request (const char *addr, const char *request)
{
  PorticoTestResponse *resp = NULL;
  int fd = portico_test_connect (addr);

  if (fd < 0)
    return NULL;
  if (portico_test_send_all (fd, request, -1))
    resp = portico_test_read_response (fd, g_str_has_prefix (request, "HEAD "),
                                       PORTICO_TEST_IO_TIMEOUT_MS);
  close (fd);
  return resp;
}

GBytes *
portico_test_read_until_close (int fd, int timeout_ms)
{
  PorticoBodySink sink = { .data = g_byte_array_new (), .sha256 = g_checksum_new (G_CHECKSUM_SHA256) };
  PorticoReadResult result = read_body (fd, G_MAXUINT64, &sink, deadline_after (timeout_ms));

  g_checksum_free (sink.sha256);
  if (result != READ_OK)
    {
      g_test_message ("read until close: %s after %" G_GUINT64_FORMAT " bytes",
                      read_result_name (result), sink.length);
      g_byte_array_unref (sink.data);
      return NULL;
    }
  return g_byte_array_free_to_bytes (sink.data);
}

gboolean
portico_test_is_closed (int fd, int timeout_ms)
{
  char c;
  gssize n;

  if (!portico_harness_wait_readable (fd, deadline_after (timeout_ms), NULL))
    return FALSE;
  n = recv (fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}
