/* response.c: header tables, and the response side of the module API. */
#include "pdk/phases.h"

#include <string.h>

gsize
portico_message_json (char *out, gsize size, const char *message)
{
  gsize o = (gsize) g_snprintf (out, size, "{\"message\":\"");
  for (const char *p = message; *p && o + 8 < size; p++)
    {
      guchar c = (guchar) *p;
      if (c == '"' || c == '\\')
        o += (gsize) g_snprintf (out + o, size - o, "\\%c", c);
      else if (c < 0x20)
        o += (gsize) g_snprintf (out + o, size - o, "\\u%04x", c);
      else
        out[o++] = (char) c;
    }
  o += (gsize) g_snprintf (out + o, size - o, "\"}");
  return MIN (o, size - 1);
}

void
portico_header_table_borrow (PorticoHeaderTable *t, PorticoHttpHeader *v, guint n)
{
  t->v = v;
  t->n = n;
  t->cap = 0;
}

int
portico_header_table_find (const PorticoHeaderTable *t, const char *name, gsize len, guint from)
{
  for (guint i = from; i < t->n; i++)
    if (t->v[i].name_len == len && g_ascii_strncasecmp (t->v[i].name, name, len) == 0)
      return (int) i;
  return -1;
}

static gboolean
valid_name (const char *name)
{
  if (name == NULL || *name == '\0')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("!#$%&'*+-.^_`|~", *p) == NULL)
      return FALSE;
  return TRUE;
}

/* A field value (RFC 9110 5.5): no control bytes but tab. */
static gboolean
valid_value (const char *value)
{
  if (value == NULL)
    return FALSE;
  for (const guchar *p = (const guchar *) value; *p; p++)
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
      return FALSE;
  return TRUE;
}

gboolean
portico_header_is_framing (const char *name, gsize len)
{
  static const char *const framing[] = { "content-length", "transfer-encoding", "connection",
                                         "keep-alive", "upgrade", "te", "trailer" };
  for (guint i = 0; i < G_N_ELEMENTS (framing); i++)
    if (strlen (framing[i]) == len && g_ascii_strncasecmp (name, framing[i], len) == 0)
      return TRUE;
  return FALSE;
}

static void
table_grow (PorticoRequest *r, PorticoHeaderTable *t, guint need)
{
  if (t->cap >= need)
    return;
  guint cap = MAX (need, t->n + 8) * 2;
  PorticoHttpHeader *v = portico_request_arena_alloc (r, sizeof *v * cap);
  if (t->n > 0)
    memcpy (v, t->v, sizeof *v * t->n);
  t->v = v;
  t->cap = cap;
}

gboolean
portico_header_table_set (PorticoRequest *r, PorticoHeaderTable *t, PorticoEditOp op, const char *name,
                          const char *value)
{
  if (!valid_name (name) || (op != PORTICO_EDIT_REMOVE && !valid_value (value)))
    return FALSE;
  gsize len = strlen (name);
  table_grow (r, t, t->n + 1);
  if (op != PORTICO_EDIT_ADD)
    {
      guint o = 0;
      for (guint i = 0; i < t->n; i++)
        if (!(t->v[i].name_len == len && g_ascii_strncasecmp (t->v[i].name, name, len) == 0))
          t->v[o++] = t->v[i];
      t->n = o;
    }
  if (op != PORTICO_EDIT_REMOVE)
    {
      /* A field value has no leading or trailing whitespace (RFC 9110 5.5). */
      gsize vlen = strlen (value);
      while (vlen > 0 && (*value == ' ' || *value == '\t'))
        value++, vlen--;
      while (vlen > 0 && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
        vlen--;
      PorticoHttpHeader *h = &t->v[t->n++];
      h->name = portico_request_arena_strndup (r, name, len);
      h->name_len = len;
      h->value = portico_request_arena_strndup (r, value, vlen);
      h->value_len = vlen;
    }
  return TRUE;
}

static void
apply_edits (PorticoRequest *r)
{
  for (guint i = 0; r->resp_edits != NULL && i < r->resp_edits->len; i++)
    {
      const PorticoHeaderEdit *e = &g_array_index (r->resp_edits, PorticoHeaderEdit, i);
      portico_header_table_set (r, &r->resp_headers, e->op, e->name, e->value);
    }
}

void
portico_response_begin (PorticoRequest *r, int status, PorticoHttpHeader *headers, guint n, gboolean copy)
{
  r->status = status;
  r->have_response = TRUE;
  r->local = FALSE;
  portico_header_table_borrow (&r->resp_headers, headers, n);
  if (copy)
    {
      table_grow (r, &r->resp_headers, n);
      for (guint i = 0; i < n; i++)
        {
          PorticoHttpHeader *h = &r->resp_headers.v[i];
          h->name = portico_request_arena_strndup (r, h->name, h->name_len);
          h->value = portico_request_arena_strndup (r, h->value, h->value_len);
        }
    }
  apply_edits (r);
}

void
portico_response_set_local (PorticoRequest *r, int status, const char *content_type, const char *body,
                            gsize body_len)
{
  r->status = status;
  r->have_response = TRUE;
  r->local = TRUE;
  r->length_removed = FALSE;
  r->local_body = body_len > 0 ? portico_request_arena_strndup (r, body, body_len) : "";
  r->local_body_len = body_len;
  r->resp_headers.n = 0;
  if (content_type != NULL)
    portico_header_table_set (r, &r->resp_headers, PORTICO_EDIT_SET, "Content-Type", content_type);
  apply_edits (r);
}

#define EXIT_PHASES                                                                                \
  (PORTICO_PHASE_BIT (PORTICO_PHASE_REWRITE) | PORTICO_PHASE_BIT (PORTICO_PHASE_ACCESS) |          \
   PORTICO_PHASE_BIT (PORTICO_PHASE_BALANCER) | PORTICO_PHASE_BIT (PORTICO_PHASE_HEADER_FILTER))

gboolean
portico_response_exit (PorticoRequest *r, int status, const char *content_type, const char *body,
                       gsize body_len)
{
  const char *fn = "portico_response_exit";
  if (!portico_request_check_phase (r, fn, EXIT_PHASES))
    return FALSE;
  if (status < 200 || status > 599)
    return portico_request_misuse (r, fn, "the status must be 200..599");
  if (content_type != NULL && !valid_value (content_type))
    return portico_request_misuse (r, fn, "not a valid Content-Type value");
  if (body == NULL && body_len > 0)
    return portico_request_misuse (r, fn, "NULL body with a length");
  portico_response_set_local (r, status, content_type, body, body_len);
  return TRUE;
}

gboolean
portico_response_exit_message (PorticoRequest *r, int status, const char *message)
{
  message = message ? message : "";
  gsize size = strlen (message) * 6 + 16; /* every byte may become \u00XX */
  g_autofree char *body = g_malloc (size);
  gsize len = portico_message_json (body, size, message);
  return portico_response_exit (r, status, "application/json; charset=utf-8", body, len);
}

int
portico_response_get_status (PorticoRequest *r)
{
  return r->have_response ? r->status : 0;
}

gboolean
portico_response_set_status (PorticoRequest *r, int status)
{
  const char *fn = "portico_response_set_status";
  if (!portico_request_check_phase (r, fn, PORTICO_PHASE_BIT (PORTICO_PHASE_HEADER_FILTER)))
    return FALSE;
  if (status < 200 || status > 599)
    return portico_request_misuse (r, fn, "the status must be 200..599");
  r->status = status;
  return TRUE;
}

static gboolean
need_response (PorticoRequest *r, const char *fn)
{
  if (r->have_response)
    return TRUE;
  return portico_request_misuse (r, fn, "there is no response yet");
}

const char *
portico_header_table_get (PorticoRequest *r, const PorticoHeaderTable *t, const char *name)
{
  int i = portico_header_table_find (t, name, strlen (name), 0);
  if (i < 0)
    return NULL;
  const PorticoHttpHeader *h = &t->v[i];
  /* Values the parser points at are not NUL-terminated. */
  if (h->value[h->value_len] == '\0')
    return h->value;
  return portico_request_arena_strndup (r, h->value, h->value_len);
}

gboolean
portico_header_table_at (PorticoRequest *r, const PorticoHeaderTable *t, guint index, const char **name,
                         const char **value)
{
  if (index >= t->n)
    return FALSE;
  const PorticoHttpHeader *h = &t->v[index];
  *name = h->name[h->name_len] == '\0' ? h->name : portico_request_arena_strndup (r, h->name, h->name_len);
  *value = h->value[h->value_len] == '\0' ? h->value
                                          : portico_request_arena_strndup (r, h->value, h->value_len);
  return TRUE;
}

const char *
portico_response_get_header (PorticoRequest *r, const char *name)
{
  if (!need_response (r, "portico_response_get_header"))
    return NULL;
  return portico_header_table_get (r, &r->resp_headers, name);
}

gboolean
portico_response_header_at (PorticoRequest *r, guint index, const char **name, const char **value)
{
  return r->have_response && portico_header_table_at (r, &r->resp_headers, index, name, value);
}

#define EDIT_PHASES EXIT_PHASES

static gboolean
edit_response_header (PorticoRequest *r, const char *fn, PorticoEditOp op, const char *name, const char *value)
{
  if (!portico_request_check_phase (r, fn, EDIT_PHASES))
    return FALSE;
  if (!valid_name (name) || (op != PORTICO_EDIT_REMOVE && !valid_value (value)))
    return portico_request_misuse (r, fn, "not a valid field name or value");
  gsize len = strlen (name);
  if (portico_header_is_framing (name, len))
    {
      gboolean drop_length = op == PORTICO_EDIT_REMOVE && r->phase == PORTICO_PHASE_HEADER_FILTER &&
                             g_ascii_strcasecmp (name, "content-length") == 0;
      if (!drop_length)
        return portico_request_misuse (r, fn, "framing fields are the gateway's");
      r->length_removed = TRUE;
      return TRUE;
    }
  if (r->have_response)
    return portico_header_table_set (r, &r->resp_headers, op, name, value);
  if (r->resp_edits == NULL)
    r->resp_edits = g_array_new (FALSE, FALSE, sizeof (PorticoHeaderEdit));
  PorticoHeaderEdit e = { op, portico_request_strdup (r, name), portico_request_strdup (r, value) };
  g_array_append_val (r->resp_edits, e);
  return TRUE;
}

gboolean
portico_response_set_header (PorticoRequest *r, const char *name, const char *value)
{
  return edit_response_header (r, "portico_response_set_header", PORTICO_EDIT_SET, name, value);
}

gboolean
portico_response_add_header (PorticoRequest *r, const char *name, const char *value)
{
  return edit_response_header (r, "portico_response_add_header", PORTICO_EDIT_ADD, name, value);
}

gboolean
portico_response_remove_header (PorticoRequest *r, const char *name)
{
  return edit_response_header (r, "portico_response_remove_header", PORTICO_EDIT_REMOVE, name, NULL);
}

const char *
portico_response_get_chunk (PorticoRequest *r, gsize *len, gboolean *last)
{
  if (!portico_request_check_phase (r, "portico_response_get_chunk",
                                    PORTICO_PHASE_BIT (PORTICO_PHASE_BODY_FILTER)))
    {
      *len = 0;
      *last = FALSE;
      return "";
    }
  *len = r->chunk_len;
  *last = r->chunk_last;
  return r->chunk;
}

gboolean
portico_response_set_chunk (PorticoRequest *r, const char *data, gsize len)
{
  if (!portico_request_check_phase (r, "portico_response_set_chunk",
                                    PORTICO_PHASE_BIT (PORTICO_PHASE_BODY_FILTER)))
    return FALSE;
  if (data == NULL && len > 0)
    return portico_request_misuse (r, "portico_response_set_chunk", "NULL data with a length");
  /* The chunk may be the other buffer's contents: write to the one not in use. */
  r->chunk_buf ^= 1;
  GString *buf = r->chunk_bufs[r->chunk_buf];
  if (buf == NULL)
    buf = r->chunk_bufs[r->chunk_buf] = g_string_sized_new (MAX (len, 1024));
  g_string_truncate (buf, 0);
  g_string_append_len (buf, data ? data : "", (gssize) len);
  r->chunk = buf->str;
  r->chunk_len = buf->len;
  return TRUE;
}
