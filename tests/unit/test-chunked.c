/* Unit tests for the chunked transfer coding (src/http/chunked.c). */
#include <string.h>
#include <glib.h>

#include "http/chunked.h"

/* a literal and its length, for inputs holding NUL bytes */
#define LIT(s) s, sizeof (s) - 1

/* Everything a decoder produced from one input. */
typedef struct {
  GString *data;
  GString *trailers; /* each trailer line followed by '\n' */
  PorticoChunkedResult last;
  const char *error_reason;
  size_t end; /* offset in the input just after the message, when DONE */
  guint64 total;
} Decoded;

static void
decoded_clear (Decoded *d)
{
  g_string_free (d->data, TRUE);
  g_string_free (d->trailers, TRUE);
}

/* Feeds @in in pieces of @piece bytes (0: random sizes from @rand) the way
 * the proxy does: bytes a call did not consume stay at the front of the
 * buffer for the next call. */
static void
decode_pieces (const char *in, size_t len, size_t piece, GRand *rand, Decoded *res)
{
  PorticoChunkedDecoder d;
  GString *buf = g_string_new (NULL);
  size_t fed = 0, start = 0;

  res->data = g_string_new (NULL);
  res->trailers = g_string_new (NULL);
  res->error_reason = NULL;
  res->end = 0;
  portico_chunked_decoder_init (&d);

  for (;;)
    {
      const char *out = NULL;
      size_t consumed = 0, out_len = 0;
      PorticoChunkedResult r;

      r = portico_chunked_decode (&d, buf->str + start, buf->len - start, &consumed, &out, &out_len);
      g_assert_cmpuint (consumed, <=, buf->len - start);
      start += consumed;
      res->last = r;
      if (r == PORTICO_CHUNKED_DATA || r == PORTICO_CHUNKED_TRAILER)
        {
          /* spans of the input, data never empty */
          g_assert_true (out >= buf->str && out + out_len <= buf->str + start);
          if (r == PORTICO_CHUNKED_DATA)
            {
              g_assert_cmpuint (out_len, >, 0);
              g_string_append_len (res->data, out, (gssize) out_len);
            }
          else
            {
              g_string_append_len (res->trailers, out, (gssize) out_len);
              g_string_append_c (res->trailers, '\n');
            }
          continue;
        }
      if (r == PORTICO_CHUNKED_DONE)
        {
          res->end = fed - (buf->len - start);
          break;
        }
      if (r == PORTICO_CHUNKED_ERROR)
        {
          res->error_reason = d.error_reason;
          g_assert_nonnull (res->error_reason);
          break;
        }
      if (fed == len)
        break;
      {
        size_t n = piece != 0 ? piece : (size_t) g_rand_int_range (rand, 1, 12);

        n = MIN (n, len - fed);
        g_string_erase (buf, 0, (gssize) start);
        start = 0;
        g_string_append_len (buf, in + fed, (gssize) n);
        fed += n;
      }
    }
  res->total = d.total;
  g_assert_cmpuint (res->total, ==, res->data->len);
  g_string_free (buf, TRUE);
}

static void
assert_same (const Decoded *a, const Decoded *b)
{
  g_assert_cmpint (a->last, ==, b->last);
  g_assert_cmpmem (a->data->str, a->data->len, b->data->str, b->data->len);
  g_assert_cmpstr (a->trailers->str, ==, b->trailers->str);
  g_assert_cmpstr (a->error_reason, ==, b->error_reason);
  g_assert_cmpuint (a->end, ==, b->end);
}

/* Decodes @in whole, byte by byte and in random splits; all must agree. */
static void
decode_all_ways (const char *in, size_t len, Decoded *whole)
{
  GRand *rand = g_rand_new_with_seed (g_test_rand_int ());
  Decoded other;
  int i;

  decode_pieces (in, len, len > 0 ? len : 1, NULL, whole);
  decode_pieces (in, len, 1, NULL, &other);
  assert_same (whole, &other);
  decoded_clear (&other);
  for (i = 0; i < 20; i++)
    {
      decode_pieces (in, len, 0, rand, &other);
      assert_same (whole, &other);
      decoded_clear (&other);
    }
  g_rand_free (rand);
}

typedef struct {
  const char *name;
  const char *input;
  size_t len;
  const char *data;
  size_t data_len;
  const char *trailers;
  size_t end; /* 0: the whole input */
} GoodVector;

static const GoodVector good_vectors[] = {
  { "simple", LIT ("5\r\nhello\r\n0\r\n\r\n"), LIT ("hello"), "", 0 },
  { "empty-body", LIT ("0\r\n\r\n"), LIT (""), "", 0 },
  { "several-chunks", LIT ("3\r\nabc\r\n4\r\ndefg\r\n1\r\nh\r\n0\r\n\r\n"), LIT ("abcdefgh"), "", 0 },
  { "hex-digits", LIT ("A\r\n0123456789\r\nb\r\n0123456789X\r\n0\r\n\r\n"), LIT ("01234567890123456789X"), "", 0 },
  { "leading-zeros", LIT ("0000000000000002\r\nhi\r\n000\r\n\r\n"), LIT ("hi"), "", 0 },
  { "binary-data", LIT ("4\r\n\0\r\n\xff\r\n0\r\n\r\n"), LIT ("\0\r\n\xff"), "", 0 },
  { "framing-inside-data", LIT ("7\r\n0\r\n\r\nab\r\n0\r\n\r\n"), LIT ("0\r\n\r\nab"), "", 0 },
  { "extension-token", LIT ("5;name=value\r\nhello\r\n0;last\r\n\r\n"), LIT ("hello"), "", 0 },
  { "extension-no-value", LIT ("5;a;b;c\r\nhello\r\n0\r\n\r\n"), LIT ("hello"), "", 0 },
  { "extension-quoted", LIT ("5;a=\"b c;d=\\\"e\\\\\"\r\nhello\r\n0\r\n\r\n"), LIT ("hello"), "", 0 },
  { "extension-quoted-empty", LIT ("5;a=\"\";b=\"\xc3\xa9\t\"\r\nhello\r\n0\r\n\r\n"), LIT ("hello"), "", 0 },
  { "extension-bws", LIT ("5 ;\ta = b ; c\t=\t\"d\" ;e\r\nhello\r\n0\r\n\r\n"), LIT ("hello"), "", 0 },
  { "trailers", LIT ("1\r\nx\r\n0\r\nX-Sum: 12\r\nX-Empty:\r\nX-Sp:  a b  \r\n\r\n"), LIT ("x"),
    "X-Sum: 12\nX-Empty:\nX-Sp:  a b  \n", 0 },
  { "next-message-follows", LIT ("2\r\nok\r\n0\r\n\r\nGET / HTTP/1.1\r\n"), LIT ("ok"), "", 12 },
  { "trailer-then-next-message", LIT ("0\r\nA: b\r\n\r\n\r\nX"), LIT (""), "A: b\n", 11 },
};

static void
test_good_vector (gconstpointer data)
{
  const GoodVector *v = data;
  Decoded res;

  decode_all_ways (v->input, v->len, &res);
  g_assert_cmpint (res.last, ==, PORTICO_CHUNKED_DONE);
  g_assert_cmpmem (res.data->str, res.data->len, v->data, v->data_len);
  g_assert_cmpstr (res.trailers->str, ==, v->trailers);
  g_assert_cmpuint (res.end, ==, (v->end != 0 ? v->end : v->len));
  g_assert_cmpuint (res.total, ==, v->data_len);
  decoded_clear (&res);
}

typedef struct {
  const char *name;
  const char *input;
  size_t len;
} BadVector;

static const BadVector bad_vectors[] = {
  { "size-empty", LIT ("\r\nhello\r\n0\r\n\r\n") },
  { "size-empty-with-extension", LIT (";a=b\r\nhello\r\n0\r\n\r\n") },
  { "size-empty-as-last-chunk", LIT ("\r\n\r\n") },
  { "size-empty-ext-as-last-chunk", LIT (";a\r\n\r\n") },
  { "size-not-hex", LIT ("g\r\n") },
  { "size-0x", LIT ("0x5\r\nhello\r\n0\r\n\r\n") },
  { "size-plus", LIT ("+5\r\nhello\r\n0\r\n\r\n") },
  { "size-minus", LIT ("-5\r\nhello\r\n0\r\n\r\n") },
  { "size-leading-space", LIT (" 5\r\nhello\r\n0\r\n\r\n") },
  { "size-trailing-space", LIT ("5 \r\nhello\r\n0\r\n\r\n") },
  { "size-17-digits", LIT ("00000000000000005\r\nhello\r\n0\r\n\r\n") },
  { "size-over-2-62", LIT ("4000000000000001\r\n") },
  { "size-over-2-64", LIT ("ffffffffffffffff\r\n") },
  { "size-bare-lf", LIT ("5\nhello\r\n0\r\n\r\n") },
  { "size-cr-without-lf", LIT ("5\rhello\r\n0\r\n\r\n") },
  { "data-too-long", LIT ("5\r\nhelloo\r\n0\r\n\r\n") },
  { "data-bare-lf", LIT ("5\r\nhello\n0\r\n\r\n") },
  { "data-no-crlf", LIT ("5\r\nhello0\r\n\r\n") },
  { "data-cr-only", LIT ("5\r\nhello\r0\r\n\r\n") },
  { "data-junk-instead-of-crlf", LIT ("5\r\nhelloXY0\r\n\r\n") },
  { "ext-empty-name", LIT ("5;\r\nhello\r\n0\r\n\r\n") },
  { "ext-name-missing", LIT ("5;=x\r\nhello\r\n0\r\n\r\n") },
  { "ext-value-missing", LIT ("5;a=\r\nhello\r\n0\r\n\r\n") },
  { "ext-name-not-token", LIT ("5;a@b\r\nhello\r\n0\r\n\r\n") },
  { "ext-space-in-name", LIT ("5;a b\r\nhello\r\n0\r\n\r\n") },
  { "ext-space-in-value", LIT ("5;a=b c\r\nhello\r\n0\r\n\r\n") },
  { "ext-trailing-space", LIT ("5;a=b \r\nhello\r\n0\r\n\r\n") },
  { "ext-bare-lf", LIT ("5;a=b\nhello\r\n0\r\n\r\n") },
  { "ext-quote-unterminated", LIT ("5;a=\"b\r\nhello\r\n0\r\n\r\n") },
  { "ext-quote-ctl", LIT ("5;a=\"b\x01\"\r\nhello\r\n0\r\n\r\n") },
  { "ext-quote-escaped-del", LIT ("5;a=\"\\\x7f\"\r\nhello\r\n0\r\n\r\n") },
  { "ext-after-quote", LIT ("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n") },
  { "ext-quote-in-token", LIT ("5;a=b\"c\"\r\nhello\r\n0\r\n\r\n") },
  { "ext-nul", LIT ("5;a\0\r\nhello\r\n0\r\n\r\n") },
  { "trailer-obs-fold", LIT ("0\r\nX: a\r\n b\r\n\r\n") },
  { "trailer-space-before-colon", LIT ("0\r\nX : a\r\n\r\n") },
  { "trailer-no-colon", LIT ("0\r\nX\r\n\r\n") },
  { "trailer-ctl", LIT ("0\r\nX: a\x01\r\n\r\n") },
  { "trailer-nul", LIT ("0\r\nX: a\0\r\n\r\n") },
  { "trailer-bare-lf", LIT ("0\r\nX: a\n\r\n") },
  { "trailer-end-bare-lf", LIT ("0\r\n\n") },
  { "trailer-end-cr-only", LIT ("0\r\n\rX") },
};

static void
test_bad_vector (gconstpointer data)
{
  const BadVector *v = data;
  Decoded res;

  decode_all_ways (v->input, v->len, &res);
  g_assert_cmpint (res.last, ==, PORTICO_CHUNKED_ERROR);
  decoded_clear (&res);
}

static void
test_size_limit (void)
{
  PorticoChunkedDecoder d;
  const char *out;
  size_t consumed, out_len;

  g_test_summary ("A chunk size of exactly 2^62 is accepted; one more is an overflow.");
  portico_chunked_decoder_init (&d);
  g_assert_cmpint (portico_chunked_decode (&d, "4000000000000000\r\nab", 20, &consumed, &out, &out_len),
                   ==, PORTICO_CHUNKED_DATA);
  g_assert_cmpuint (out_len, ==, 2);
  g_assert_cmpuint (consumed, ==, 20);
  g_assert_cmpuint (d.total, ==, 2);
}

static void
test_size_line_limit (void)
{
  GString *s = g_string_new ("5;a=");
  Decoded res;

  g_test_summary ("The size line (size, extensions and CRLF) may be 4096 bytes, no more.");
  while (s->len < 4096 - 2)
    g_string_append_c (s, 'v');
  g_string_append (s, "\r\nhello\r\n0\r\n\r\n");
  decode_all_ways (s->str, s->len, &res);
  g_assert_cmpint (res.last, ==, PORTICO_CHUNKED_DONE);
  decoded_clear (&res);

  g_string_insert_c (s, 4, 'v');
  decode_all_ways (s->str, s->len, &res);
  g_assert_cmpint (res.last, ==, PORTICO_CHUNKED_ERROR);
  g_assert_cmpstr (res.error_reason, ==, "chunk size line too long");
  decoded_clear (&res);
  g_string_free (s, TRUE);
}

static void
test_trailer_limit (void)
{
  GString *s = g_string_new ("0\r\n");
  Decoded res;
  int i;

  g_test_summary ("The trailer section, final CRLF included, may be 16 KiB, no more.");
  /* 16 lines of 1024 bytes with CRLF is 16384: no room left for the final CRLF */
  for (i = 0; i < 15; i++)
    {
      g_string_append_printf (s, "X-%02d: ", i);
      while ((s->len - 3) % 1024 != 1022)
        g_string_append_c (s, 'v');
      g_string_append (s, "\r\n");
    }
  g_string_append (s, "X-last: ");
  while ((s->len - 3) % 1024 != 1020)
    g_string_append_c (s, 'v');
  g_string_append (s, "\r\n\r\n");
  decode_all_ways (s->str, s->len, &res);
  g_assert_cmpint (res.last, ==, PORTICO_CHUNKED_DONE);
  decoded_clear (&res);

  g_string_insert_c (s, 20, 'v');
  decode_all_ways (s->str, s->len, &res);
  g_assert_cmpint (res.last, ==, PORTICO_CHUNKED_ERROR);
  g_assert_cmpstr (res.error_reason, ==, "trailer section too large");
  decoded_clear (&res);

  /* one endless trailer line is refused without waiting for its end */
  g_string_assign (s, "0\r\nX: ");
  while (s->len < 3 + 16384)
    g_string_append_c (s, 'v');
  decode_all_ways (s->str, s->len, &res);
  g_assert_cmpint (res.last, ==, PORTICO_CHUNKED_ERROR);
  decoded_clear (&res);
  g_string_free (s, TRUE);
}

static void
test_incomplete_trailer_unconsumed (void)
{
  PorticoChunkedDecoder d;
  const char *in = "0\r\nX-A: b\r\n\r\n";
  const char *out;
  size_t consumed, out_len;

  g_test_summary ("An unfinished trailer line is left unconsumed so that the caller hands it "
                  "back whole with the next bytes.");
  portico_chunked_decoder_init (&d);
  g_assert_cmpint (portico_chunked_decode (&d, in, 7, &consumed, &out, &out_len), ==, PORTICO_CHUNKED_NEED_MORE);
  g_assert_cmpuint (consumed, ==, 3);
  g_assert_cmpint (portico_chunked_decode (&d, in + 3, 10, &consumed, &out, &out_len), ==, PORTICO_CHUNKED_TRAILER);
  g_assert_cmpuint (consumed, ==, 8);
  g_assert_cmpmem (out, out_len, "X-A: b", 6);
  g_assert_cmpint (portico_chunked_decode (&d, in + 11, 2, &consumed, &out, &out_len), ==, PORTICO_CHUNKED_DONE);
  g_assert_cmpuint (consumed, ==, 2);
}

static void
test_after_end (void)
{
  PorticoChunkedDecoder d;
  const char *out;
  size_t consumed, out_len;

  portico_chunked_decoder_init (&d);
  g_assert_cmpint (portico_chunked_decode (&d, "0\r\n\r\nmore", 9, &consumed, &out, &out_len), ==, PORTICO_CHUNKED_DONE);
  g_assert_cmpuint (consumed, ==, 5);
  g_assert_cmpint (portico_chunked_decode (&d, "more", 4, &consumed, &out, &out_len), ==, PORTICO_CHUNKED_DONE);
  g_assert_cmpuint (consumed, ==, 0);

  portico_chunked_decoder_init (&d);
  g_assert_cmpint (portico_chunked_decode (&d, "z", 1, &consumed, &out, &out_len), ==, PORTICO_CHUNKED_ERROR);
  g_assert_cmpstr (d.error_reason, ==, "invalid chunk size");
  g_assert_cmpint (portico_chunked_decode (&d, "0\r\n\r\n", 5, &consumed, &out, &out_len), ==, PORTICO_CHUNKED_ERROR);
  g_assert_cmpuint (consumed, ==, 0);
}

static void
test_data_spans (void)
{
  PorticoChunkedDecoder d;
  const char *in = "a\r\n0123456789\r\n";
  const char *out;
  size_t consumed, out_len;

  g_test_summary ("Data is handed back as a span of the input as soon as any of it has arrived.");
  portico_chunked_decoder_init (&d);
  g_assert_cmpint (portico_chunked_decode (&d, in, 7, &consumed, &out, &out_len), ==, PORTICO_CHUNKED_DATA);
  g_assert_true (out == in + 3);
  g_assert_cmpuint (out_len, ==, 4);
  g_assert_cmpuint (consumed, ==, 7);
  g_assert_cmpint (portico_chunked_decode (&d, in + 7, 0, &consumed, &out, &out_len), ==, PORTICO_CHUNKED_NEED_MORE);
  g_assert_cmpuint (consumed, ==, 0);
  g_assert_cmpint (portico_chunked_decode (&d, in + 7, 10, &consumed, &out, &out_len), ==, PORTICO_CHUNKED_DATA);
  g_assert_true (out == in + 7);
  g_assert_cmpuint (out_len, ==, 6);
  g_assert_cmpuint (consumed, ==, 6);
  g_assert_cmpint (portico_chunked_decode (&d, in + 13, 2, &consumed, &out, &out_len), ==, PORTICO_CHUNKED_NEED_MORE);
  g_assert_cmpuint (consumed, ==, 2);
  g_assert_cmpuint (d.total, ==, 10);
}

static void
test_size_line_encode (void)
{
  static const struct {
    guint64 size;
    const char *line;
  } cases[] = {
    { 0, "0\r\n" },
    { 9, "9\r\n" },
    { 10, "a\r\n" },
    { 0x1a2b, "1a2b\r\n" },
    { 0x100000, "100000\r\n" },
    { G_MAXUINT64, "ffffffffffffffff\r\n" },
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      char buf[PORTICO_CHUNK_HEADER_MAX];
      size_t n = portico_chunked_size_line (buf, cases[i].size);

      g_assert_cmpmem (buf, n, cases[i].line, strlen (cases[i].line));
    }
}

static void
test_round_trip (void)
{
  GString *enc = g_string_new (NULL), *body = g_string_new (NULL);
  Decoded res;
  int i;

  g_test_summary ("Chunks framed with portico_chunked_size_line decode back to the body.");
  for (i = 0; i < 50; i++)
    {
      char line[PORTICO_CHUNK_HEADER_MAX];
      int n = g_test_rand_int_range (1, 300), j;
      size_t at = body->len;

      for (j = 0; j < n; j++)
        g_string_append_c (body, (char) g_test_rand_int_range (0, 256));
      g_string_append_len (enc, line, (gssize) portico_chunked_size_line (line, (guint64) n));
      g_string_append_len (enc, body->str + at, n);
      g_string_append (enc, "\r\n");
    }
  g_string_append (enc, "0\r\n\r\n");
  decode_all_ways (enc->str, enc->len, &res);
  g_assert_cmpint (res.last, ==, PORTICO_CHUNKED_DONE);
  g_assert_cmpmem (res.data->str, res.data->len, body->str, body->len);
  decoded_clear (&res);
  g_string_free (enc, TRUE);
  g_string_free (body, TRUE);
}

int
main (int argc, char **argv)
{
  gsize i;

  g_test_init (&argc, &argv, NULL);

  for (i = 0; i < G_N_ELEMENTS (good_vectors); i++)
    {
      char *path = g_strdup_printf ("/http/chunked/decode/%s", good_vectors[i].name);
      g_test_add_data_func (path, &good_vectors[i], test_good_vector);
      g_free (path);
    }
  for (i = 0; i < G_N_ELEMENTS (bad_vectors); i++)
    {
      char *path = g_strdup_printf ("/http/chunked/bad/%s", bad_vectors[i].name);
      g_test_add_data_func (path, &bad_vectors[i], test_bad_vector);
      g_free (path);
    }
  g_test_add_func ("/http/chunked/limits/size", test_size_limit);
  g_test_add_func ("/http/chunked/limits/size-line", test_size_line_limit);
  g_test_add_func ("/http/chunked/limits/trailer", test_trailer_limit);
  g_test_add_func ("/http/chunked/incomplete-trailer-unconsumed", test_incomplete_trailer_unconsumed);
  g_test_add_func ("/http/chunked/after-end", test_after_end);
  g_test_add_func ("/http/chunked/data-spans", test_data_spans);
  g_test_add_func ("/http/chunked/encode/size-line", test_size_line_encode);
  g_test_add_func ("/http/chunked/round-trip", test_round_trip);

  return g_test_run ();
}
