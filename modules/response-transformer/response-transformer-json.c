/* response-transformer-json.c: top-level member edits of a JSON object.
 *
 * Why not json-glib for the body: json-glib 1.6 (Debian 12) accepts what
 * is not JSON (comments, single quotes, hex numbers, a second value after
 * the first), wraps integers past 2^63 (12345678901234567890 comes back
 * negative) and prints 0.1 as 0.10000000000000001. A gateway must not
 * change what it does not edit, so this file checks the body strictly
 * (RFC 8259) in one pass, notes where each top-level member lies, and
 * copies the members no edit touches byte for byte.
 */
#include "response-transformer-json.h"

#include <string.h>

#include "transform-pieces.h"

/* Deeper nesting than this is refused (the scan recurses). */
#define JSON_MAX_DEPTH 512

typedef struct {
  const char *p;
  const char *end;
} Cursor;

static void
skip_ws (Cursor *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static gboolean
at (Cursor *c, char ch)
{
  return c->p < c->end && *c->p == ch;
}

/* At a '"': moves past the closing one. *escaped: whether it held a "\". */
static gboolean
scan_string (Cursor *c, gboolean *escaped)
{
  *escaped = FALSE;
  for (c->p++; c->p < c->end; c->p++)
    {
      guchar ch = *c->p;
      if (ch == '"')
        {
          c->p++;
          return TRUE;
        }
      if (ch < 0x20)
        return FALSE;
      if (ch != '\\')
        continue;
      *escaped = TRUE;
      if (++c->p == c->end)
        return FALSE;
      if (*c->p == 'u')
        {
          for (int i = 0; i < 4; i++)
            if (++c->p == c->end || !g_ascii_isxdigit (*c->p))
              return FALSE;
        }
      else if (*c->p == '\0' || strchr ("\"\\/bfnrt", *c->p) == NULL)
        return FALSE;
    }
  return FALSE;
}

static gboolean
scan_word (Cursor *c, const char *word)
{
  gsize n = strlen (word);
  if ((gsize) (c->end - c->p) < n || memcmp (c->p, word, n) != 0)
    return FALSE;
  c->p += n;
  return TRUE;
}

static gboolean scan_value (Cursor *c, guint depth);

/* At '{' or '[': the members or elements up to the closing bracket. */
static gboolean
scan_container (Cursor *c, guint depth)
{
  gboolean object = *c->p == '{';
  char close = object ? '}' : ']';
  c->p++;
  skip_ws (c);
  if (at (c, close))
    {
      c->p++;
      return TRUE;
    }
  for (;;)
    {
      gboolean escaped;
      if (object)
        {
          if (!at (c, '"') || !scan_string (c, &escaped))
            return FALSE;
          skip_ws (c);
          if (!at (c, ':'))
            return FALSE;
          c->p++;
          skip_ws (c);
        }
      if (!scan_value (c, depth + 1))
        return FALSE;
      skip_ws (c);
      if (at (c, close))
        {
          c->p++;
          return TRUE;
        }
      if (!at (c, ','))
        return FALSE;
      c->p++;
      skip_ws (c);
    }
}

static gboolean
scan_value (Cursor *c, guint depth)
{
  gboolean escaped;
  if (c->p == c->end || depth > JSON_MAX_DEPTH)
    return FALSE;
  switch (*c->p)
    {
    case '{':
    case '[':
      return scan_container (c, depth);
    case '"':
      return scan_string (c, &escaped);
    case 't':
      return scan_word (c, "true");
    case 'f':
      return scan_word (c, "false");
    case 'n':
      return scan_word (c, "null");
    default:
      {
        gsize n = transform_json_number_len (c->p, c->end);
        c->p += n;
        return n > 0;
      }
    }
}

/* ---- the members ---------------------------------------------------------- */

/* Appends the UTF-8 of the escape at @p (after the "\") to @buf; returns
 * the length of the escape. */
static gsize
decode_escape (const char *p, const char *end, char *buf, gsize *n)
{
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  if (*p != 'u')
    {
      buf[0] = to[strchr (from, *p) - from];
      *n = 1;
      return 1;
    }
  gunichar u = 0;
  for (int i = 1; i <= 4; i++)
    u = u * 16 + g_ascii_xdigit_value (p[i]);
  gsize used = 5;
  if (u >= 0xD800 && u < 0xDC00 && end - p >= 11 && p[5] == '\\' && p[6] == 'u')
    {
      gunichar lo = 0;
      for (int i = 7; i <= 10; i++)
        lo = lo * 16 + g_ascii_xdigit_value (p[i]);
      if (lo >= 0xDC00 && lo < 0xE000)
        {
          u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
          used = 11;
        }
    }
  *n = g_unichar_to_utf8 (u, buf);
  return used;
}

/* Whether the escaped JSON string body @raw decodes to @name. */
static gboolean
escaped_equals (const char *raw, gsize len, const char *name)
{
  const char *end = raw + len;
  gsize name_len = strlen (name), pos = 0;
  while (raw < end)
    {
      char buf[8];
      gsize n = 1;
      if (*raw == '\\')
        raw += 1 + decode_escape (raw + 1, end, buf, &n);
      else
        buf[0] = *raw++;
      if (pos + n > name_len || memcmp (name + pos, buf, n) != 0)
        return FALSE;
      pos += n;
    }
  return pos == name_len;
}

static gboolean
json_name_is (const char *raw, gsize len, const char *name)
{
  if (memchr (raw, '\\', len) != NULL)
    return escaped_equals (raw, len, name);
  return len == strlen (name) && memcmp (raw, name, len) == 0;
}

static const TransformSyntax json_syntax = { "\"", "\":", json_name_is };

/* Kong's append: a string becomes [old, new], an array gets one more
 * element, anything else (or nothing) becomes [new]. */
static gboolean
json_append (gpointer pieces, const TransformPair *pair)
{
  TransformPiece *m = transform_pieces_first (pieces, pair->name);
  g_autofree char *value = NULL;
  if (m != NULL && m->value[0] == '"')
    value = g_strdup_printf ("[%.*s,%s]", (int) m->value_len, m->value, pair->out_value);
  else if (m != NULL && m->value[0] == '[')
    {
      Cursor c = { m->value + 1, m->value + m->value_len - 1 };
      skip_ws (&c);
      if (c.p == c.end)
        value = g_strdup_printf ("[%s]", pair->out_value);
      else
        value = g_strdup_printf ("%.*s,%s]", (int) m->value_len - 1, m->value, pair->out_value);
    }
  else
    value = g_strdup_printf ("[%s]", pair->out_value);
  if (m == NULL)
    transform_pieces_append (pieces, pair->out_name, value);
  else
    transform_pieces_rewrite (m, &json_syntax, m->name, m->name_len, value, strlen (value));
  return TRUE;
}

static const TransformEditor json_editor = {
  { transform_pieces_remove, transform_pieces_rename, transform_pieces_replace, transform_pieces_add,
    json_append },
};

/* Splits the object @c is at into @members; FALSE if it is not one, or
 * anything after it but blanks. *close: where its "}" is. */
static gboolean
split_object (Cursor *c, TransformPieces *members, const char **close)
{
  if (!at (c, '{'))
    return FALSE;
  c->p++;
  const char *start = c->p;
  skip_ws (c);
  if (!at (c, '}'))
    for (;;)
      {
        /* A member's text is its blanks too, so untouched ones keep them. */
        TransformPiece m = { .text = start };
        gboolean escaped;
        if (!at (c, '"'))
          return FALSE;
        m.name = c->p + 1;
        if (!scan_string (c, &escaped))
          return FALSE;
        m.name_len = c->p - 1 - m.name;
        skip_ws (c);
        if (!at (c, ':'))
          return FALSE;
        c->p++;
        skip_ws (c);
        m.value = c->p;
        if (!scan_value (c, 1))
          return FALSE;
        m.value_len = c->p - m.value;
        skip_ws (c);
        m.len = c->p - start;
        transform_pieces_add_original (members, &m);
        if (at (c, '}'))
          break;
        if (!at (c, ','))
          return FALSE;
        start = ++c->p;
        skip_ws (c);
      }
  *close = c->p++;
  skip_ws (c);
  return c->p == c->end;
}

char *
response_transformer_json_apply (const TransformSet *set, const char *text, gsize len, gsize *out_len)
{
  Cursor c = { text, text + len };
  skip_ws (&c);
  if (transform_set_is_empty (set) || !at (&c, '{') || !g_utf8_validate_len (text, len, NULL))
    return NULL;

  TransformPieces members;
  transform_pieces_init (&members, &json_syntax);
  const char *open = c.p, *close = NULL;
  char *out = NULL;
  if (split_object (&c, &members, &close) && transform_set_apply (set, &json_editor, &members))
    {
      GString *s = g_string_sized_new (len + 64);
      g_string_append_len (s, text, open + 1 - text);
      transform_pieces_join (&members, s, ',');
      g_string_append_len (s, close, text + len - close);
      *out_len = s->len;
      out = g_string_free (s, FALSE);
    }
  transform_pieces_clear (&members);
  return out;
}
