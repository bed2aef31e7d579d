/* file-log-logic.h: what file-log does without a request or a worker, so
 * its unit test can drive it: the JSON line (Kong's log serializer shape)
 * and the per-worker line buffer with its flush policy.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* ---- the log line ---------------------------------------------------------- */

/* Walks header fields: FALSE past the end (portico_request_header_at's
 * shape, so the module passes thin wrappers around the PDK). */
typedef gboolean (*FileLogHeaderAt) (gpointer source, guint index, const char **name, const char **value);
/* Walks the handler calls the core timed. */
typedef gboolean (*FileLogSpanAt) (gpointer source, guint index, const char **module, const char **phase,
                                   gint64 *duration_us);

typedef struct {
  const char *method;
  const char *path;            /* normalized */
  const char *query;           /* raw, without "?"; "" when none */
  guint64 request_size;
  FileLogHeaderAt request_header_at;
  gpointer request_headers;
  int status;
  guint64 response_size;
  FileLogHeaderAt response_header_at;
  gpointer response_headers;
  gint64 latency_request_ms;
  gint64 latency_kong_ms;
  gint64 latency_proxy_ms;     /* -1: no upstream */
  const char *client_ip;
  gint64 started_at_ms;        /* wall clock, ms since the epoch */
  const char *route_name;      /* NULL: no "route" */
  const char *service_name;    /* NULL: no "service" */
  const char *consumer_id;     /* NULL: no "consumer" */
  const char *consumer_username;
  const char *consumer_custom_id;
  FileLogSpanAt span_at;       /* NULL: "phases" is [] */
  gpointer spans;
} FileLogEntry;

/* Scratch space the serializer reuses from line to line (decoded query
 * arguments), so a line costs no allocation once it has grown. */
typedef struct {
  GString *scratch;
} FileLogSerializer;

void file_log_serializer_init (FileLogSerializer *s);
void file_log_serializer_clear (FileLogSerializer *s);

/* Appends @e as one JSON object and a "\n" to @out. Header names are
 * lower-cased, a repeated header or query argument becomes an array, a
 * bare query argument is true, Authorization and Proxy-Authorization are
 * "REDACTED" (as Kong does). A byte that is not part of valid UTF-8 is
 * read as Latin-1 (what obs-text in a field usually is) and written as
 * that character; control characters are escaped: the line is always
 * valid JSON and never holds a raw newline. */
void file_log_serialize (FileLogSerializer *s, GString *out, const FileLogEntry *e);

/* At most this many header fields and query arguments are logged (Kong's
 * default for ngx.req.get_headers and get_uri_args). */
#define FILE_LOG_MAX_FIELDS 100

/* ---- the buffer --------------------------------------------------------------- */

/* Whole lines wait here and go to the file in one write() per flush. The
 * file is opened O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC: every write() then
 * lands at the end of the file as one piece, so the lines of several
 * workers (each with its own buffer and descriptor) never interleave
 * mid-line. PIPE_BUF does not apply to regular files; a short write (disk
 * full, a signal) is continued at once, which is the only case where
 * another process could slip in between. */
typedef struct {
  char *path;
  gboolean reopen;    /* close and open the file on each flush (rotation) */
  gsize threshold;    /* flush once this many bytes wait */
  int fd;             /* -1: closed */
  GString *lines;     /* whole lines only */
  guint pending;      /* lines in @lines */
  guint64 dropped;    /* lines lost to write errors */
} FileLogBuffer;

#define FILE_LOG_FLUSH_BYTES (64 * 1024)

void file_log_buffer_init (FileLogBuffer *b, const char *path, gboolean reopen, gsize threshold);
void file_log_buffer_clear (FileLogBuffer *b);

/* Opens (or reopens) the file. */
gboolean file_log_buffer_open (FileLogBuffer *b, GError **error);
void file_log_buffer_close (FileLogBuffer *b);

/* Call after appending one whole line to b->lines. Returns TRUE when the
 * buffer is now over the threshold: the caller flushes. */
gboolean file_log_buffer_line_added (FileLogBuffer *b);

/* Writes every waiting line, reopening the file first when b->reopen. On
 * a write error the lines are dropped (counted in b->dropped) so the
 * buffer stays bounded, and @error says why. Nothing waiting: TRUE. */
gboolean file_log_buffer_flush (FileLogBuffer *b, GError **error);

/* Whether the file at @path can be opened for appending, checked without
 * creating it (portico check must not leave files behind). */
gboolean file_log_path_check (const char *path, GError **error);

G_END_DECLS
