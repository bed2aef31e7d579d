/* test-file-log.c: file-log's line serializer and its buffer, without a
 * gateway: a JSON line from fixed values, escaping of odd bytes, the flush
 * threshold, reopening, write errors, and several writers on one file. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "file-log-logic.h"

/* ---- fixed inputs ---- */

typedef struct {
  const char *const *pairs; /* name, value, name, value, ..., NULL */
} Fields;

static gboolean
fields_at (gpointer source, guint index, const char **name, const char **value)
{
  const Fields *f = source;
  for (guint i = 0; i <= index; i++)
    if (f->pairs[2 * i] == NULL)
      return FALSE;
  *name = f->pairs[2 * index];
  *value = f->pairs[2 * index + 1];
  return TRUE;
}

static gboolean
spans_at (gpointer source, guint index, const char **module, const char **phase, gint64 *duration_us)
{
  static const char *const modules[] = { "key-auth", "rate-limiting" };
  static const char *const phases[] = { "access", "access" };
  if (index >= G_N_ELEMENTS (modules))
    return FALSE;
  *module = modules[index];
  *phase = phases[index];
  *duration_us = 10 * (index + 1);
  return TRUE;
}

static const char *const request_pairs[] = {
  "Host", "shop.example", "User-Agent", "curl/8", "Accept", "a", "accept", "b", "Authorization", "Basic c2VjcmV0",
  NULL,
};
static const char *const response_pairs[] = {
  "Content-Type", "application/json", "Set-Cookie", "x=1", "Set-Cookie", "y=2", NULL,
};

static FileLogEntry
fixed_entry (Fields *req, Fields *resp)
{
  req->pairs = request_pairs;
  resp->pairs = response_pairs;
  return (FileLogEntry){
    .method = "GET",
    .path = "/orders/42",
    .query = "a=1&flag&tag=x&tag=y%20z&sp=a+b&bad=%zz",
    .request_size = 12,
    .request_header_at = fields_at,
    .request_headers = req,
    .status = 200,
    .response_size = 345,
    .response_header_at = fields_at,
    .response_headers = resp,
    .latency_request_ms = 15,
    .latency_kong_ms = 2,
    .latency_proxy_ms = 13,
    .client_ip = "127.0.0.1",
    .started_at_ms = G_GINT64_CONSTANT (1700000000123),
    .route_name = "orders",
    .service_name = "orders-svc",
    .consumer_id = "alice",
    .consumer_username = "alice",
    .span_at = spans_at,
  };
}

static char *
serialize (const FileLogEntry *e)
{
  FileLogSerializer s;
  GString *out = g_string_new (NULL);

  file_log_serializer_init (&s);
  file_log_serialize (&s, out, e);
  file_log_serializer_clear (&s);
  return g_string_free (out, FALSE);
}

/* Parses one line (which must end with its only newline). */
static JsonObject *
parse_line (JsonParser *parser, const char *line)
{
  gsize len = strlen (line);
  g_assert_cmpuint (len, >, 1);
  g_assert_cmpint (line[len - 1], ==, '\n');
  g_assert_null (memchr (line, '\n', len - 1));

  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, line, (gssize) len, &error);
  g_assert_no_error (error);
  JsonNode *root = json_parser_get_root (parser);
  g_assert_nonnull (root);
  g_assert_cmpint (json_node_get_node_type (root), ==, JSON_NODE_OBJECT);
  return json_node_get_object (root);
}

static const char *
path_string (JsonObject *o, const char *a, const char *b)
{
  return json_object_get_string_member (json_object_get_object_member (o, a), b);
}

static gint64
path_int (JsonObject *o, const char *a, const char *b)
{
  return json_object_get_int_member (json_object_get_object_member (o, a), b);
}

/* ---- the line ---- */

/* The line of fixed_entry(), parsed (@parser keeps it). */
static JsonObject *
fixed_object (JsonParser *parser)
{
  Fields req, resp;
  FileLogEntry e = fixed_entry (&req, &resp);
  g_autofree char *line = serialize (&e);
  return parse_line (parser, line);
}

static void
test_serialize_shape (void)
{
  g_test_summary ("A line from fixed values has Kong's serializer shape: request, response, latencies, "
                  "client_ip, started_at, route, service, consumer, and Portico's phases.");
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = fixed_object (parser);

  g_assert_cmpstr (path_string (o, "request", "method"), ==, "GET");
  g_assert_cmpstr (path_string (o, "request", "uri"), ==, "/orders/42?a=1&flag&tag=x&tag=y%20z&sp=a+b&bad=%zz");
  g_assert_cmpint (path_int (o, "request", "size"), ==, 12);
  g_assert_cmpint (path_int (o, "response", "status"), ==, 200);
  g_assert_cmpint (path_int (o, "response", "size"), ==, 345);
  g_assert_cmpint (path_int (o, "latencies", "request"), ==, 15);
  g_assert_cmpint (path_int (o, "latencies", "kong"), ==, 2);
  g_assert_cmpint (path_int (o, "latencies", "proxy"), ==, 13);
  g_assert_cmpstr (json_object_get_string_member (o, "client_ip"), ==, "127.0.0.1");
  g_assert_cmpint (json_object_get_int_member (o, "started_at"), ==, G_GINT64_CONSTANT (1700000000123));
  g_assert_cmpstr (path_string (o, "route", "name"), ==, "orders");
  g_assert_cmpstr (path_string (o, "service", "name"), ==, "orders-svc");
  g_assert_cmpstr (path_string (o, "consumer", "id"), ==, "alice");
  g_assert_cmpstr (path_string (o, "consumer", "username"), ==, "alice");
  g_assert_false (json_object_has_member (json_object_get_object_member (o, "consumer"), "custom_id"));

  JsonArray *phases = json_object_get_array_member (o, "phases");
  g_assert_cmpuint (json_array_get_length (phases), ==, 2);
  JsonObject *p1 = json_array_get_object_element (phases, 1);
  g_assert_cmpstr (json_object_get_string_member (p1, "module"), ==, "rate-limiting");
  g_assert_cmpstr (json_object_get_string_member (p1, "phase"), ==, "access");
  g_assert_cmpint (json_object_get_int_member (p1, "duration_us"), ==, 20);
}

static void
test_serialize_fields (void)
{
  g_test_summary ("Header names are lower-cased and a repeated one (in any case) becomes an array; "
                  "Authorization is REDACTED; the query string is decoded like a form, a bare "
                  "argument is true, a repeated one an array.");
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = fixed_object (parser);
  JsonObject *request = json_object_get_object_member (o, "request");

  JsonObject *h = json_object_get_object_member (request, "headers");
  g_assert_cmpuint (json_object_get_size (h), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (h, "host"), ==, "shop.example");
  g_assert_cmpstr (json_object_get_string_member (h, "user-agent"), ==, "curl/8");
  g_assert_cmpstr (json_object_get_string_member (h, "authorization"), ==, "REDACTED");
  JsonArray *accept = json_object_get_array_member (h, "accept");
  g_assert_cmpuint (json_array_get_length (accept), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (accept, 0), ==, "a");
  g_assert_cmpstr (json_array_get_string_element (accept, 1), ==, "b");

  JsonObject *rh = json_object_get_object_member (json_object_get_object_member (o, "response"), "headers");
  g_assert_cmpstr (json_object_get_string_member (rh, "content-type"), ==, "application/json");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (rh, "set-cookie")), ==, 2);

  JsonObject *q = json_object_get_object_member (request, "querystring");
  g_assert_cmpuint (json_object_get_size (q), ==, 5);
  g_assert_cmpstr (json_object_get_string_member (q, "a"), ==, "1");
  g_assert_true (json_object_get_boolean_member (q, "flag"));
  JsonArray *tag = json_object_get_array_member (q, "tag");
  g_assert_cmpuint (json_array_get_length (tag), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (tag, 0), ==, "x");
  g_assert_cmpstr (json_array_get_string_element (tag, 1), ==, "y z");
  g_assert_cmpstr (json_object_get_string_member (q, "sp"), ==, "a b");
  g_assert_cmpstr (json_object_get_string_member (q, "bad"), ==, "%zz");
}

static void
test_serialize_escaping (void)
{
  g_test_summary ("Odd bytes in header values and the query: quotes, backslashes, control characters, "
                  "DEL, bytes that are not UTF-8 (read as Latin-1) and valid UTF-8 all come out as "
                  "valid JSON on one line, with the same characters back.");
  static const char *const odd[] = {
    "X-Quote", "say \"hi\"\\", "X-Ctl", "a\tb\001c\x7f" "d\re", "X-Latin", "caf\xe9", "X-Utf8", "caf\xc3\xa9 \xe2\x82\xac",
    "X-Cut", "\xe2\x82", "X-\"Name", "v", NULL,
  };
  Fields req = { odd }, resp = { (const char *const[]){ NULL } };
  FileLogEntry e = {
    .method = "GET", .path = "/p\"\\", .query = "q=%0A%22%5C%FF&nl=a%0Db", .request_header_at = fields_at,
    .request_headers = &req, .response_header_at = fields_at, .response_headers = &resp, .client_ip = "::1",
  };
  g_autofree char *line = serialize (&e);
  g_assert_true (g_utf8_validate (line, -1, NULL));
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = parse_line (parser, line);
  JsonObject *request = json_object_get_object_member (o, "request");
  JsonObject *h = json_object_get_object_member (request, "headers");

  g_assert_cmpstr (json_object_get_string_member (h, "x-quote"), ==, "say \"hi\"\\");
  g_assert_cmpstr (json_object_get_string_member (h, "x-ctl"), ==, "a\tb\001c\x7f" "d\re");
  g_assert_cmpstr (json_object_get_string_member (h, "x-latin"), ==, "caf\xc3\xa9");
  g_assert_cmpstr (json_object_get_string_member (h, "x-utf8"), ==, "caf\xc3\xa9 \xe2\x82\xac");
  g_assert_cmpstr (json_object_get_string_member (h, "x-cut"), ==, "\xc3\xa2\xc2\x82");
  g_assert_cmpstr (json_object_get_string_member (h, "x-\"name"), ==, "v");
  g_assert_cmpstr (json_object_get_string_member (request, "uri"), ==, "/p\"\\?q=%0A%22%5C%FF&nl=a%0Db");

  JsonObject *q = json_object_get_object_member (request, "querystring");
  g_assert_cmpstr (json_object_get_string_member (q, "q"), ==, "\n\"\\\xc3\xbf");
  g_assert_cmpstr (json_object_get_string_member (q, "nl"), ==, "a\rb");
  /* Escaped, not raw: the control bytes never reach the file as such. */
  g_assert_nonnull (strstr (line, "a\\tb\\u0001c\\u007fd\\re"));
}

static void
test_serialize_unknowns (void)
{
  g_test_summary ("Without a route, a service or a consumer those keys are left out; without an "
                  "upstream the proxy latency is -1, as Kong writes it; no spans is an empty array.");
  Fields none = { (const char *const[]){ NULL } };
  FileLogEntry e = {
    .method = "POST", .path = "/", .query = "", .request_header_at = fields_at, .request_headers = &none,
    .status = 404, .response_header_at = fields_at, .response_headers = &none, .latency_proxy_ms = -1,
    .client_ip = "127.0.0.1",
  };
  g_autofree char *line = serialize (&e);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = parse_line (parser, line);

  g_assert_false (json_object_has_member (o, "route"));
  g_assert_false (json_object_has_member (o, "service"));
  g_assert_false (json_object_has_member (o, "consumer"));
  g_assert_cmpint (path_int (o, "latencies", "proxy"), ==, -1);
  g_assert_cmpstr (path_string (o, "request", "uri"), ==, "/");
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (json_object_get_object_member (o, "request"),
                                                                          "querystring")), ==, 0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "phases")), ==, 0);
}

static void
test_serialize_field_cap (void)
{
  g_test_summary ("At most FILE_LOG_MAX_FIELDS query arguments are logged, so a hostile query string "
                  "cannot make a line (or the time to build it) grow without bound.");
  GString *query = g_string_new (NULL);
  for (guint i = 0; i < FILE_LOG_MAX_FIELDS + 50; i++)
    g_string_append_printf (query, "%sk%u=%u", i > 0 ? "&" : "", i, i);
  Fields none = { (const char *const[]){ NULL } };
  FileLogEntry e = {
    .method = "GET", .path = "/", .query = query->str, .request_header_at = fields_at, .request_headers = &none,
    .response_header_at = fields_at, .response_headers = &none, .client_ip = "",
  };
  g_autofree char *line = serialize (&e);
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o = parse_line (parser, line);
  JsonObject *q = json_object_get_object_member (json_object_get_object_member (o, "request"), "querystring");
  g_assert_cmpuint (json_object_get_size (q), ==, FILE_LOG_MAX_FIELDS);
  g_string_free (query, TRUE);
}

/* ---- the buffer ---- */

typedef struct {
  char *dir;
  char *path;
} TmpDir;

static void
tmp_setup (TmpDir *t, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  t->dir = g_dir_make_tmp ("file-log-XXXXXX", &error);
  g_assert_no_error (error);
  t->path = g_build_filename (t->dir, "access.log", NULL);
}

static void
tmp_teardown (TmpDir *t, gconstpointer data)
{
  g_autoptr (GDir) d = g_dir_open (t->dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (t->dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (t->dir);
  g_free (t->dir);
  g_free (t->path);
}

static char *
read_file (const char *path)
{
  char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static void
add_line (FileLogBuffer *b, const char *text, gboolean expect_flush)
{
  g_string_append_printf (b->lines, "%s\n", text);
  g_assert_cmpint (file_log_buffer_line_added (b), ==, expect_flush);
}

static void
test_buffer_threshold (TmpDir *t, gconstpointer data)
{
  g_test_summary ("Lines wait in the buffer until it passes the threshold (the handler then flushes) "
                  "or a flush comes; a flush writes every waiting line and empties the buffer.");
  FileLogBuffer b;
  g_autoptr (GError) error = NULL;
  file_log_buffer_init (&b, t->path, FALSE, 32);
  g_assert_true (file_log_buffer_open (&b, &error));
  g_assert_no_error (error);

  add_line (&b, "0123456789", FALSE); /* 11 bytes */
  add_line (&b, "0123456789", FALSE); /* 22 */
  g_autofree char *before = read_file (t->path);
  g_assert_cmpstr (before, ==, "");
  add_line (&b, "0123456789", TRUE); /* 33: over */
  g_assert_cmpuint (b.pending, ==, 3);
  g_assert_true (file_log_buffer_flush (&b, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (b.pending, ==, 0);
  g_assert_cmpuint (b.lines->len, ==, 0);
  g_autofree char *after = read_file (t->path);
  g_assert_cmpstr (after, ==, "0123456789\n0123456789\n0123456789\n");

  /* Nothing waiting: a flush (every timer tick) writes nothing. */
  g_assert_true (file_log_buffer_flush (&b, &error));
  add_line (&b, "tail", FALSE);
  g_assert_true (file_log_buffer_flush (&b, &error));
  g_autofree char *all = read_file (t->path);
  g_assert_cmpstr (all, ==, "0123456789\n0123456789\n0123456789\ntail\n");
  g_assert_cmpuint (b.dropped, ==, 0);
  file_log_buffer_clear (&b);
}

static void
rotate_and_write (TmpDir *t, gboolean reopen, const char *expect_new, const char *expect_rotated)
{
  FileLogBuffer b;
  g_autoptr (GError) error = NULL;
  g_autofree char *rotated = g_strconcat (t->path, ".1", NULL);

  file_log_buffer_init (&b, t->path, reopen, FILE_LOG_FLUSH_BYTES);
  g_assert_true (file_log_buffer_open (&b, &error));
  add_line (&b, "first", FALSE);
  g_assert_true (file_log_buffer_flush (&b, &error));
  g_assert_cmpint (g_rename (t->path, rotated), ==, 0);
  add_line (&b, "second", FALSE);
  g_assert_true (file_log_buffer_flush (&b, &error));
  g_assert_no_error (error);
  file_log_buffer_clear (&b);

  g_autofree char *now = read_file (t->path);
  g_autofree char *old = read_file (rotated);
  g_assert_cmpstr (now, ==, expect_new);
  g_assert_cmpstr (old, ==, expect_rotated);
}

static void
test_buffer_reopen (TmpDir *t, gconstpointer data)
{
  g_test_summary ("reopen: each flush opens the path again, so after a rotation (rename) the next "
                  "lines go to a new file at the configured path.");
  rotate_and_write (t, TRUE, "second\n", "first\n");
}

static void
test_buffer_no_reopen (TmpDir *t, gconstpointer data)
{
  g_test_summary ("Without reopen the descriptor stays: after a rename the lines follow the old file.");
  rotate_and_write (t, FALSE, "", "first\nsecond\n");
}

static void
test_buffer_open_error (TmpDir *t, gconstpointer data)
{
  g_test_summary ("A file that cannot be opened: the error names the path; the configure-time check "
                  "says the same without creating anything.");
  g_autofree char *bad = g_build_filename (t->dir, "missing-dir", "access.log", NULL);
  FileLogBuffer b;
  g_autoptr (GError) error = NULL;

  file_log_buffer_init (&b, bad, FALSE, 64);
  g_assert_false (file_log_buffer_open (&b, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, bad));
  g_clear_error (&error);
  file_log_buffer_clear (&b);

  g_assert_false (file_log_path_check (bad, &error));
  g_assert_nonnull (strstr (error->message, bad));
  g_clear_error (&error);
  g_assert_false (file_log_path_check (t->dir, &error)); /* a directory opens, but not for writing */
  g_assert_nonnull (strstr (error->message, t->dir));
  g_clear_error (&error);
  g_assert_true (file_log_path_check (t->path, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (t->path, G_FILE_TEST_EXISTS));
}

static void
test_buffer_write_error (void)
{
  g_test_summary ("A write that fails (here /dev/full: no space) drops the waiting lines, counts "
                  "them and says why naming the path: the buffer never grows without bound.");
  if (!g_file_test ("/dev/full", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no /dev/full");
      return;
    }
  FileLogBuffer b;
  g_autoptr (GError) error = NULL;
  file_log_buffer_init (&b, "/dev/full", FALSE, 64);
  g_assert_true (file_log_buffer_open (&b, &error));
  add_line (&b, "a", FALSE);
  add_line (&b, "b", FALSE);
  g_assert_false (file_log_buffer_flush (&b, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "/dev/full"));
  g_assert_cmpuint (b.dropped, ==, 2);
  g_assert_cmpuint (b.lines->len, ==, 0);
  file_log_buffer_clear (&b);
}

#define WRITERS 4
#define WRITER_LINES 3000

static void
test_buffer_writers (TmpDir *t, gconstpointer data)
{
  g_test_summary ("Four processes, each with its own buffer and descriptor on one file (like four "
                  "workers), flushing lines of different lengths at once: every line in the file is "
                  "whole and every line is there.");
  pid_t pids[WRITERS];
  for (guint w = 0; w < WRITERS; w++)
    {
      pids[w] = fork ();
      g_assert_cmpint (pids[w], >=, 0);
      if (pids[w] == 0)
        {
          FileLogBuffer b;
          file_log_buffer_init (&b, t->path, FALSE, 4096);
          if (!file_log_buffer_open (&b, NULL))
            _exit (2);
          for (guint i = 0; i < WRITER_LINES; i++)
            {
              /* A line of 20 to 400 bytes: w, i, then padding of w's letter. */
              g_string_append_printf (b.lines, "%u %u ", w, i);
              for (guint k = 0; k < 20 + (i * 37) % 380; k++)
                g_string_append_c (b.lines, (char) ('a' + w));
              g_string_append_c (b.lines, '\n');
              if (file_log_buffer_line_added (&b) && !file_log_buffer_flush (&b, NULL))
                _exit (3);
            }
          _exit (file_log_buffer_flush (&b, NULL) ? 0 : 3);
        }
    }
  for (guint w = 0; w < WRITERS; w++)
    {
      int status = 0;
      g_assert_cmpint (waitpid (pids[w], &status, 0), ==, pids[w]);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    }

  g_autofree char *text = read_file (t->path);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  guint seen[WRITERS] = { 0 };
  guint n = 0;
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++, n++)
    {
      guint w, k;
      int used = 0;
      g_assert_cmpint (sscanf (lines[i], "%u %u %n", &w, &k, &used), ==, 2);
      g_assert_cmpuint (w, <, WRITERS);
      g_assert_cmpuint (k, ==, seen[w]); /* each writer's lines in its order */
      seen[w]++;
      const char *pad = lines[i] + used;
      g_assert_cmpuint (strlen (pad), ==, 20 + (k * 37) % 380);
      for (const char *p = pad; *p != '\0'; p++)
        g_assert_cmpint (*p, ==, 'a' + (int) w);
    }
  g_assert_cmpuint (n, ==, WRITERS * WRITER_LINES);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/modules/file-log/serialize/shape", test_serialize_shape);
  g_test_add_func ("/modules/file-log/serialize/fields", test_serialize_fields);
  g_test_add_func ("/modules/file-log/serialize/escaping", test_serialize_escaping);
  g_test_add_func ("/modules/file-log/serialize/unknowns", test_serialize_unknowns);
  g_test_add_func ("/modules/file-log/serialize/field-cap", test_serialize_field_cap);
  g_test_add ("/modules/file-log/buffer/threshold", TmpDir, NULL, tmp_setup, test_buffer_threshold, tmp_teardown);
  g_test_add ("/modules/file-log/buffer/reopen", TmpDir, NULL, tmp_setup, test_buffer_reopen, tmp_teardown);
  g_test_add ("/modules/file-log/buffer/no-reopen", TmpDir, NULL, tmp_setup, test_buffer_no_reopen, tmp_teardown);
  g_test_add ("/modules/file-log/buffer/open-error", TmpDir, NULL, tmp_setup, test_buffer_open_error,
              tmp_teardown);
  g_test_add_func ("/modules/file-log/buffer/write-error", test_buffer_write_error);
  g_test_add ("/modules/file-log/buffer/writers", TmpDir, NULL, tmp_setup, test_buffer_writers, tmp_teardown);

  return g_test_run ();
}
