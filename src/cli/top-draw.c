/* top-draw.c: a dashboard frame as lines of text (top-draw.h). */
#include "cli/top-draw.h"
#include "cli/top-frame.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#define MIN_WIDTH 20
#define SEPARATOR "  "
#define SEPARATOR_WIDTH 2
/* Section labels ("total", "tls") are padded to this, so what follows lines
 * up. */
#define LABEL_WIDTH 7
/* An elastic field is kept, cut, when at least this much room is left. */
#define ELASTIC_MIN 8

/* SGR parameters of the colours used. */
#define SGR_BOLD "1"
#define SGR_DIM "2"
#define SGR_RED "31"
#define SGR_GREEN "32"
#define SGR_YELLOW "33"

/* The connection states in the frame, in the order the bar draws them
 * (the page's order too); free slots come after. */
static const struct {
  const char *name;
  const char *label; /* in the counts after the bar */
  const char *letter; /* the bar's character without colour */
  const char *sgr;
} conn_states[] = {
  { "active", "act", "A", "32" },
  { "reading", "read", "R", "36" },
  { "writing", "write", "W", "34" },
  { "waiting", "wait", "U", "33" },
  { "keepalive", "ka", "K", "35" },
};
#define N_CONN_STATES G_N_ELEMENTS (conn_states)

static const char *const spark_blocks[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };

/* ------------------------------------------------------------------------ */
/* Columns */

/* Moves *@p past one escape sequence or character; returns the columns it
 * takes. */
static guint
next_char (const char **p, gboolean *escape)
{
  const char *s = *p;
  *escape = *s == '\033';
  if (*escape)
    {
      s++;
      if (*s == '[')
        {
          s++;
          while (*s != '\0' && !(*s >= 0x40 && *s <= 0x7e))
            s++;
        }
      if (*s != '\0')
        s++;
      *p = s;
      return 0;
    }
  gunichar c = g_utf8_get_char_validated (s, -1);
  if (c == (gunichar) -1 || c == (gunichar) -2)
    {
      *p = s + 1;
      return 1;
    }
  *p = g_utf8_next_char (s);
  return g_unichar_iszerowidth (c) ? 0 : g_unichar_iswide (c) ? 2 : 1;
}

guint
portico_top_text_width (const char *line)
{
  guint cols = 0;
  gboolean escape;
  for (const char *p = line; *p != '\0';)
    cols += next_char (&p, &escape);
  return cols;
}

void
portico_top_fit (GString *line, guint width)
{
  if (portico_top_text_width (line->str) <= width)
    return;
  guint cols = 0;
  gboolean escapes = FALSE, escape;
  const char *p = line->str, *keep = line->str;
  /* One column for the ellipsis. */
  while (*p != '\0')
    {
      guint w = next_char (&p, &escape);
      escapes |= escape;
      if (cols + w + 1 > width)
        break;
      cols += w;
      keep = p;
    }
  g_string_truncate (line, (gsize) (keep - line->str));
  if (width > 0)
    g_string_append (line, "…");
  if (escapes)
    g_string_append (line, "\033[0m");
}

/* ------------------------------------------------------------------------ */
/* Lines of fields */

typedef struct {
  guint width;
  gboolean colour;
  PorticoTopReader reader;
  GPtrArray *lines;
} Draw;

typedef struct {
  GString *text;
  guint priority; /* 0 first kept */
  gboolean elastic;
  gboolean right; /* rows_align() pads it on the left */
} Field;

typedef struct {
  Draw *d;
  GArray *fields;
} Row;

static void
field_clear (gpointer data)
{
  g_string_free (((Field *) data)->text, TRUE);
}

static Row
row_new (Draw *d)
{
  Row row = { d, g_array_new (FALSE, FALSE, sizeof (Field)) };
  g_array_set_clear_func (row.fields, field_clear);
  return row;
}

/* A new field shown after the others; the ones with the lowest @priority
 * are kept when not all fit. */
static GString *
row_field (Row *row, guint priority)
{
  Field f = { g_string_new (NULL), priority, FALSE, FALSE };
  g_array_append_val (row->fields, f);
  return f.text;
}

/* A field rows_align() aligns to the right: a number. */
static GString *
row_number (Row *row, guint priority)
{
  GString *s = row_field (row, priority);
  g_array_index (row->fields, Field, row->fields->len - 1).right = TRUE;
  return s;
}

/* A field that may be cut rather than left out: it must be the last. */
static GString *
row_elastic (Row *row, guint priority)
{
  GString *s = row_field (row, priority);
  g_array_index (row->fields, Field, row->fields->len - 1).elastic = TRUE;
  return s;
}

/* Keeps the fields that fit, lowest priority first (empty ones never), and
 * adds them as a line in their order. */
static void
row_end (Row *row)
{
  guint n = row->fields->len, used = 0, kept = 0;
  Field *fields = (Field *) (void *) row->fields->data;
  g_autofree gboolean *seen = g_new0 (gboolean, MAX (n, 1));
  g_autofree gboolean *keep = g_new0 (gboolean, MAX (n, 1));
  for (guint round = 0; round < n; round++)
    {
      guint i = n;
      for (guint k = 0; k < n; k++)
        if (!seen[k] && (i == n || fields[k].priority < fields[i].priority))
          i = k;
      seen[i] = TRUE;
      guint w = portico_top_text_width (fields[i].text->str);
      if (w == 0)
        continue;
      w += kept > 0 ? SEPARATOR_WIDTH : 0;
      if (used + w <= row->d->width)
        used += w;
      else if (fields[i].elastic && used + ELASTIC_MIN <= row->d->width)
        used = row->d->width;
      else
        continue;
      keep[i] = TRUE;
      kept++;
    }
  GString *line = g_string_new (NULL);
  for (guint i = 0; i < n; i++)
    if (keep[i])
      g_string_append_printf (line, "%s%s", line->len > 0 ? SEPARATOR : "", fields[i].text->str);
  while (line->len > 0 && line->str[line->len - 1] == ' ')
    g_string_truncate (line, line->len - 1);
  portico_top_fit (line, row->d->width);
  g_ptr_array_add (row->d->lines, g_string_free (line, FALSE));
  g_array_unref (row->fields);
}

/* Pads each field of @rows (rows of the same fields) to the widest of its
 * column, so the columns line up and the same fields fit in every row. */
static void
rows_align (GArray *rows)
{
  guint n_fields = G_MAXUINT;
  for (guint r = 0; r < rows->len; r++)
    n_fields = MIN (n_fields, g_array_index (rows, Row, r).fields->len);
  for (guint j = 0; rows->len > 0 && j < n_fields; j++)
    {
      guint widest = 0;
      for (guint r = 0; r < rows->len; r++)
        widest = MAX (widest, portico_top_text_width (
                            g_array_index (g_array_index (rows, Row, r).fields, Field, j).text->str));
      for (guint r = 0; r < rows->len; r++)
        {
          Field *f = &g_array_index (g_array_index (rows, Row, r).fields, Field, j);
          for (guint w = portico_top_text_width (f->text->str); w < widest; w++)
            g_string_insert_c (f->text, f->right ? 0 : -1, ' ');
        }
    }
}

/* rows_align(), then row_end() each. */
static void
rows_end (GArray *rows)
{
  rows_align (rows);
  for (guint r = 0; r < rows->len; r++)
    row_end (&g_array_index (rows, Row, r));
  g_array_unref (rows);
}

/* Appends printf text to @s, in the colour @sgr (NULL: none). */
static void G_GNUC_PRINTF (4, 5)
style (Draw *d, GString *s, const char *sgr, const char *fmt, ...)
{
  va_list ap;
  gboolean on = d->colour && sgr != NULL;
  if (on)
    g_string_append_printf (s, "\033[%sm", sgr);
  va_start (ap, fmt);
  g_string_append_vprintf (s, fmt, ap);
  va_end (ap);
  if (on)
    g_string_append (s, "\033[0m");
}

char *
portico_top_line (const char *sgr, const char *text, guint width, gboolean colour)
{
  GString *line = g_string_new (NULL);
  if (colour && sgr != NULL)
    g_string_append_printf (line, "\033[%sm%s\033[0m", sgr, text);
  else
    g_string_append (line, text);
  portico_top_fit (line, width);
  return g_string_free (line, FALSE);
}

static void
add_line (Draw *d, const char *sgr, const char *text)
{
  g_ptr_array_add (d->lines, portico_top_line (sgr, text, d->width, d->colour));
}

static void
format_duration (double s, char *buf, gsize size)
{
  guint64 t = s <= 0 ? 0 : (guint64) MIN (s, PORTICO_TOP_COUNT_MAX);
  if (t < 60)
    g_snprintf (buf, size, "%" G_GUINT64_FORMAT "s", t);
  else if (t < 3600)
    g_snprintf (buf, size, "%" G_GUINT64_FORMAT "m%02" G_GUINT64_FORMAT "s", t / 60, t % 60);
  else if (t < 86400)
    g_snprintf (buf, size, "%" G_GUINT64_FORMAT "h%02" G_GUINT64_FORMAT "m", t / 3600, t % 3600 / 60);
  else
    g_snprintf (buf, size, "%" G_GUINT64_FORMAT "d%02" G_GUINT64_FORMAT "h", t / 86400, t % 86400 / 3600);
}

/* Appends @label and the count @name of @o (at @path); returns it. */
static guint64
add_count (GString *s, const char *label, PorticoTopReader *pr, JsonObject *o, const char *path, const char *name)
{
  guint64 n = portico_top_read_count (pr, o, path, name);
  g_string_append_printf (s, "%s%" G_GUINT64_FORMAT, label, n);
  return n;
}

/* ------------------------------------------------------------------------ */
/* Sections */

/* The node line, and the last reload error. */
static void
draw_node (Draw *d, JsonObject *frame)
{
  PorticoTopReader *pr = &d->reader;
  JsonObject *node = portico_top_read_object (pr, frame, "", "node");
  char up[32];
  format_duration (portico_top_read_number (pr, node, "node", "uptime_s"), up, sizeof up);
  guint64 reload_failures = portico_top_read_count (pr, node, "node", "reload_failures");
  g_autofree char *backend = portico_top_read_string (pr, node, "node", "event_backend", FALSE);
  g_autofree char *error = portico_top_read_string (pr, node, "node", "last_reload_error", TRUE);
  double time_ms = portico_top_read_number (pr, frame, "", "time_ms");

  Row row = row_new (d);
  style (d, row_field (&row, 0), SGR_BOLD, "portico");
  add_count (row_field (&row, 1), "master ", pr, node, "node", "master_pid");
  add_count (row_field (&row, 2), "gen ", pr, node, "node", "generation");
  g_string_append_printf (row_field (&row, 3), "up %s", up);
  GString *f = row_field (&row, 5);
  add_count (f, "reloads ", pr, node, "node", "reloads");
  if (reload_failures > 0)
    style (d, f, SGR_RED, " (%" G_GUINT64_FORMAT " failed)", reload_failures);
  guint64 respawns = portico_top_read_count (pr, node, "node", "respawns");
  style (d, row_field (&row, 4), respawns > 0 ? SGR_YELLOW : NULL, "respawns %" G_GUINT64_FORMAT, respawns);
  g_string_append_printf (row_field (&row, 6), "%" G_GUINT64_FORMAT " workers x %" G_GUINT64_FORMAT " slots",
                          portico_top_read_count (pr, node, "node", "workers_configured"),
                          portico_top_read_count (pr, node, "node", "worker_connections"));
  g_string_append (row_field (&row, 7), backend ? backend : "?");
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_local ((gint64) CLAMP (time_ms / 1000, 0, 1e11));
  g_autofree char *clock = t ? g_date_time_format (t, "%H:%M:%S") : g_strdup ("?");
  g_string_append (row_field (&row, 8), clock);
  row_end (&row);

  if (error != NULL)
    {
      g_autofree char *text = g_strdup_printf ("last reload error: %s", error);
      add_line (d, SGR_RED, text);
    }
}

static void
draw_legend (Draw *d)
{
  Row row = row_new (d);
  style (d, row_field (&row, 0), SGR_BOLD, "workers");
  for (guint i = 0; i < N_CONN_STATES; i++)
    {
      GString *f = row_field (&row, i + 1);
      style (d, f, conn_states[i].sgr, "%s", d->colour ? "█" : conn_states[i].letter);
      g_string_append_printf (f, " %s", conn_states[i].name);
    }
  GString *f = row_field (&row, N_CONN_STATES + 1);
  style (d, f, SGR_DIM, "%s", d->colour ? "·" : ".");
  g_string_append (f, " free");
  row_end (&row);
}

/* @width cells for @counts (the states, then free): each state present
 * gets one at least, free what is left. */
static void
bar_cells (const guint64 *counts, guint width, guint *cells)
{
  guint64 total = 0;
  guint used = 0;
  for (guint i = 0; i <= N_CONN_STATES; i++)
    total += counts[i];
  for (guint i = 0; i < N_CONN_STATES; i++)
    {
      cells[i] = counts[i] == 0 ? 0 : MAX (1, (guint) ((counts[i] * width + total / 2) / total));
      used += cells[i];
    }
  /* Rounding up may overshoot: take from the widest. */
  for (guint guard = 0; used > width && guard < width * N_CONN_STATES; guard++)
    {
      guint widest = 0;
      for (guint i = 1; i < N_CONN_STATES; i++)
        if (cells[i] > cells[widest])
          widest = i;
      if (cells[widest] <= 1)
        break;
      cells[widest]--;
      used--;
    }
  cells[N_CONN_STATES] = used < width ? width - used : 0;
}

static void
draw_bar (Draw *d, GString *s, const guint64 *counts)
{
  guint width = CLAMP (d->width / 6, 8, 40);
  guint cells[N_CONN_STATES + 1];
  bar_cells (counts, width, cells);
  g_string_append_c (s, '[');
  for (guint i = 0; i <= N_CONN_STATES; i++)
    {
      if (cells[i] == 0)
        continue;
      gboolean free_slots = i == N_CONN_STATES;
      GString *run = g_string_new (NULL);
      for (guint k = 0; k < cells[i]; k++)
        g_string_append (run, free_slots ? (d->colour ? "·" : ".")
                                         : (d->colour ? "█" : conn_states[i].letter));
      style (d, s, free_slots ? SGR_DIM : conn_states[i].sgr, "%s", run->str);
      g_string_free (run, TRUE);
    }
  g_string_append_c (s, ']');
}

/* "timers 3 +1 running" in @count, and the owners with timers pending in
 * @owners_text: "(core 2, rate-limiting 1)". */
static void
draw_timers (Draw *d, GString *count, GString *owners_text, JsonObject *w, const char *path)
{
  PorticoTopReader *pr = &d->reader;
  g_autofree char *tpath = g_strdup_printf ("%s.timers", path);
  JsonObject *timers = portico_top_read_object (pr, w, path, "timers");
  guint64 running = portico_top_read_count (pr, timers, tpath, "running");
  add_count (count, "timers ", pr, timers, tpath, "pending");
  if (running > 0)
    g_string_append_printf (count, " +%" G_GUINT64_FORMAT " running", running);
  JsonArray *owners = portico_top_read_array (pr, timers, tpath, "owners");
  g_autofree char *owners_path = g_strdup_printf ("%s.owners", tpath);
  for (guint i = 0; owners != NULL && i < json_array_get_length (owners); i++)
    {
      g_autofree char *opath = NULL;
      JsonObject *o = portico_top_read_element (pr, owners, i, owners_path, &opath);
      g_autofree char *name = portico_top_read_string (pr, o, opath, "name", FALSE);
      guint64 pending = portico_top_read_count (pr, o, opath, "pending");
      if (o == NULL || pending == 0)
        continue;
      g_string_append_printf (owners_text, "%s%s %" G_GUINT64_FORMAT, owners_text->len > 0 ? ", " : "(",
                              name ? name : "?", pending);
    }
  if (owners_text->len > 0)
    g_string_append_c (owners_text, ')');
}

static const char *
worker_state_sgr (const char *state)
{
  if (state == NULL)
    return SGR_RED;
  if (strcmp (state, "serving") == 0)
    return SGR_GREEN;
  if (strcmp (state, "starting") == 0 || strcmp (state, "draining") == 0)
    return SGR_YELLOW;
  return SGR_RED;
}

/* The row of one worker, to be aligned with the others'. */
static Row
draw_worker (Draw *d, JsonObject *w, const char *path)
{
  PorticoTopReader *pr = &d->reader;
  g_autofree char *state = portico_top_read_string (pr, w, path, "state", FALSE);
  g_autofree char *cpath = g_strdup_printf ("%s.connections", path);
  g_autofree char *upath = g_strdup_printf ("%s.upstream", path);
  JsonObject *conns = portico_top_read_object (pr, w, path, "connections");
  JsonObject *pool = portico_top_read_object (pr, w, path, "upstream");
  guint64 counts[N_CONN_STATES + 1];
  for (guint i = 0; i < N_CONN_STATES; i++)
    counts[i] = portico_top_read_count (pr, conns, cpath, conn_states[i].name);
  counts[N_CONN_STATES] = portico_top_read_count (pr, conns, cpath, "free");
  char up[32];
  format_duration (portico_top_read_number (pr, w, path, "uptime_s"), up, sizeof up);

  Row row = row_new (d);
  add_count (row_field (&row, 9), "#", pr, w, path, "slot");
  add_count (row_number (&row, 0), "", pr, w, path, "pid");
  style (d, row_field (&row, 1), worker_state_sgr (state), "%s", state ? state : "?");
  add_count (row_field (&row, 11), "gen ", pr, w, path, "generation");
  g_string_append_printf (row_field (&row, 8), "up %s", up);
  draw_bar (d, row_field (&row, 2), counts);
  /* The states in use, and free: most are idle. */
  GString *f = row_field (&row, 4);
  for (guint i = 0; i < N_CONN_STATES; i++)
    if (counts[i] > 0)
      g_string_append_printf (f, "%s %" G_GUINT64_FORMAT " ", conn_states[i].label, counts[i]);
  g_string_append_printf (f, "free %" G_GUINT64_FORMAT, counts[N_CONN_STATES]);
  g_string_append_printf (row_number (&row, 3), "%.1f rps", portico_top_read_number (pr, w, path, "rps"));
  g_string_append_printf (row_field (&row, 5), "lag %.1f/%.1f ms",
                          portico_top_read_number (pr, w, path, "loop_lag_ms"),
                          portico_top_read_number (pr, w, path, "loop_lag_max_ms"));
  f = row_field (&row, 10);
  add_count (f, "pool ", pr, pool, upath, "idle");
  add_count (f, " idle ", pr, pool, upath, "busy");
  g_string_append (f, " busy");
  add_count (row_field (&row, 12), "req ", pr, w, path, "requests");
  GString *timers = row_field (&row, 6);
  draw_timers (d, timers, row_elastic (&row, 7), w, path);
  return row;
}

static void
draw_workers (Draw *d, JsonObject *frame)
{
  draw_legend (d);
  JsonArray *workers = portico_top_read_array (&d->reader, frame, "", "workers");
  if (workers != NULL && json_array_get_length (workers) == 0)
    add_line (d, SGR_YELLOW, "  no worker is running");
  GArray *rows = g_array_new (FALSE, FALSE, sizeof (Row));
  for (guint i = 0; workers != NULL && i < json_array_get_length (workers); i++)
    {
      g_autofree char *path = NULL;
      JsonObject *w = portico_top_read_element (&d->reader, workers, i, "workers", &path);
      if (w != NULL)
        {
          Row row = draw_worker (d, w, path);
          g_array_append_val (rows, row);
        }
    }
  rows_end (rows);
}

static void
draw_rates (Draw *d, JsonObject *frame)
{
  static const struct { const char *label, *name; guint priority; } percentiles[] = {
    { "p50", "p50_ms", 2 }, { "p90", "p90_ms", 4 }, { "p99", "p99_ms", 3 },
  };
  static const struct { const char *name; guint priority; const char *sgr; } classes[] = {
    { "2xx", 5, NULL }, { "3xx", 8, NULL }, { "4xx", 7, SGR_YELLOW }, { "5xx", 6, SGR_RED },
  };
  PorticoTopReader *pr = &d->reader;
  JsonObject *rates = portico_top_read_object (pr, frame, "", "rates");
  JsonObject *status = portico_top_read_object (pr, rates, "rates", "status");
  Row row = row_new (d);
  style (d, row_field (&row, 0), SGR_BOLD, "%-*s", LABEL_WIDTH, "total");
  g_string_append_printf (row_field (&row, 1), "%.1f rps", portico_top_read_number (pr, rates, "rates", "rps"));
  for (guint i = 0; i < G_N_ELEMENTS (percentiles); i++)
    g_string_append_printf (row_field (&row, percentiles[i].priority), "%s %.1f ms", percentiles[i].label,
                            portico_top_read_number (pr, rates, "rates", percentiles[i].name));
  for (guint i = 0; i < G_N_ELEMENTS (classes); i++)
    {
      guint64 n = portico_top_read_count (pr, status, "rates.status", classes[i].name);
      style (d, row_field (&row, classes[i].priority), n > 0 ? classes[i].sgr : NULL,
             "%s %" G_GUINT64_FORMAT, classes[i].name, n);
    }
  row_end (&row);
}

/* The requests per second of the newest points of the history that fit,
 * in blocks scaled to the highest of them. */
static void
draw_sparkline (Draw *d, JsonObject *frame)
{
  PorticoTopReader *pr = &d->reader;
  JsonArray *history = portico_top_read_array (pr, frame, "", "history");
  guint len = history != NULL ? json_array_get_length (history) : 0;
  g_autofree double *rps = g_new0 (double, MAX (len, 1));
  double max_all = 0, max = 0;
  for (guint i = 0; i < len; i++)
    {
      g_autofree char *path = NULL;
      JsonObject *p = portico_top_read_element (pr, history, i, "history", &path);
      rps[i] = MIN (portico_top_read_number (pr, p, path, "rps"), PORTICO_TOP_COUNT_MAX);
      max_all = MAX (max_all, rps[i]);
    }
  GString *line = g_string_new (NULL);
  style (d, line, SGR_BOLD, "%-*s", LABEL_WIDTH + SEPARATOR_WIDTH, "rps");
  if (len == 0)
    style (d, line, SGR_DIM, "(no history yet)");
  else
    {
      /* The tail for the whole history is at least as wide as the one for
       * the points shown: it bounds how many fit. */
      g_autofree char *widest = g_strdup_printf ("  max %.0f/s over %us", max_all, len);
      guint fixed = LABEL_WIDTH + SEPARATOR_WIDTH + (guint) strlen (widest);
      guint n = MIN (len, d->width > fixed ? d->width - fixed : 1);
      for (guint i = len - n; i < len; i++)
        max = MAX (max, rps[i]);
      GString *blocks = g_string_new (NULL);
      for (guint i = len - n; i < len; i++)
        {
          int level = max > 0 ? (int) lround (rps[i] / max * 7) : 0;
          g_string_append (blocks, spark_blocks[CLAMP (level, 0, 7)]);
        }
      style (d, line, SGR_GREEN, "%s", blocks->str);
      g_string_append_printf (line, "  max %.0f/s over %us", max, n);
      g_string_free (blocks, TRUE);
    }
  portico_top_fit (line, d->width);
  g_ptr_array_add (d->lines, g_string_free (line, FALSE));
}

static const char *
health_sgr (const char *health)
{
  if (health == NULL)
    return SGR_RED;
  if (strcmp (health, "HEALTHY") == 0)
    return SGR_GREEN;
  if (strcmp (health, "HEALTHCHECKS_OFF") == 0)
    return NULL;
  return SGR_RED;
}

static void
draw_upstreams (Draw *d, JsonObject *frame)
{
  PorticoTopReader *pr = &d->reader;
  JsonArray *upstreams = portico_top_read_array (pr, frame, "", "upstreams");
  if (upstreams != NULL && json_array_get_length (upstreams) == 0)
    {
      Row row = row_new (d);
      style (d, row_field (&row, 0), SGR_BOLD, "upstreams");
      style (d, row_field (&row, 1), SGR_DIM, "none");
      row_end (&row);
    }
  GArray *rows = g_array_new (FALSE, FALSE, sizeof (Row));
  for (guint i = 0; upstreams != NULL && i < json_array_get_length (upstreams); i++)
    {
      g_autofree char *path = NULL;
      JsonObject *u = portico_top_read_element (pr, upstreams, i, "upstreams", &path);
      if (u == NULL)
        continue;
      g_autofree char *name = portico_top_read_string (pr, u, path, "name", FALSE);
      g_autofree char *algorithm = portico_top_read_string (pr, u, path, "algorithm", FALSE);
      g_autofree char *tpath = g_strdup_printf ("%s.targets", path);
      JsonArray *targets = portico_top_read_array (pr, u, path, "targets");
      Row row = row_new (d);
      style (d, row_field (&row, 0), SGR_BOLD, "upstream");
      g_string_append (row_field (&row, 1), name ? name : "?");
      g_string_append_printf (row_field (&row, 3), "(%s)", algorithm ? algorithm : "?");
      /* A target per field: left out whole when the line is full. */
      for (guint k = 0; targets != NULL && k < json_array_get_length (targets); k++)
        {
          g_autofree char *epath = NULL;
          JsonObject *t = portico_top_read_element (pr, targets, k, tpath, &epath);
          if (t == NULL)
            continue;
          g_autofree char *target = portico_top_read_string (pr, t, epath, "target", FALSE);
          g_autofree char *health = portico_top_read_string (pr, t, epath, "health", FALSE);
          GString *f = row_field (&row, k == 0 ? 2 : 3 + k);
          g_string_append_printf (f, "%s ", target ? target : "?");
          style (d, f, health_sgr (health), "%s", health ? health : "?");
        }
      if (targets != NULL && json_array_get_length (targets) == 0)
        style (d, row_field (&row, 2), SGR_DIM, "no targets");
      g_array_append_val (rows, row);
    }
  rows_end (rows);
}

static void
draw_tls (Draw *d, JsonObject *frame)
{
  static const char *const sides[] = { "downstream", "upstream" };
  PorticoTopReader *pr = &d->reader;
  JsonObject *tls = portico_top_read_object (pr, frame, "", "tls");
  Row row = row_new (d);
  style (d, row_field (&row, 0), SGR_BOLD, "%-*s", LABEL_WIDTH, "tls");
  for (guint i = 0; i < G_N_ELEMENTS (sides); i++)
    {
      g_autofree char *path = g_strdup_printf ("tls.%s", sides[i]);
      JsonObject *side = portico_top_read_object (pr, tls, "tls", sides[i]);
      guint64 failed = portico_top_read_count (pr, side, path, "failed");
      GString *f = row_field (&row, i + 1);
      g_string_append_printf (f, "%s ", sides[i]);
      add_count (f, "", pr, side, path, "full");
      add_count (f, " full ", pr, side, path, "resumed");
      g_string_append (f, " resumed ");
      style (d, f, failed > 0 ? SGR_RED : NULL, "%" G_GUINT64_FORMAT " failed", failed);
    }
  row_end (&row);
}

/* ------------------------------------------------------------------------ */

static Draw
draw_new (guint width, gboolean colour)
{
  return (Draw) { MAX (width, MIN_WIDTH), colour, { NULL, 0 }, g_ptr_array_new_with_free_func (g_free) };
}

GPtrArray *
portico_top_draw (JsonNode *frame, guint width, gboolean colour)
{
  Draw d = draw_new (width, colour);
  if (frame == NULL || !JSON_NODE_HOLDS_OBJECT (frame))
    {
      add_line (&d, SGR_RED, "frame: expected a JSON object");
      return d.lines;
    }
  JsonObject *root = json_node_get_object (frame);
  g_autofree char *type = portico_top_read_string (&d.reader, root, "", "type", FALSE);
  if (type != NULL && strcmp (type, "frame") != 0)
    portico_top_reader_note (&d.reader, "", "type", "\"frame\"");

  draw_node (&d, root);
  guint problem_at = d.lines->len;
  g_ptr_array_add (d.lines, g_strdup (""));
  draw_workers (&d, root);
  g_ptr_array_add (d.lines, g_strdup (""));
  draw_rates (&d, root);
  draw_sparkline (&d, root);
  g_ptr_array_add (d.lines, g_strdup (""));
  draw_upstreams (&d, root);
  draw_tls (&d, root);

  if (d.reader.n > 0)
    {
      g_autofree char *text = d.reader.n == 1
        ? g_strdup_printf ("frame: %s", d.reader.first)
        : g_strdup_printf ("frame: %s (and %u more)", d.reader.first, d.reader.n - 1);
      g_ptr_array_insert (d.lines, (gint) problem_at, portico_top_line (SGR_RED, text, d.width, d.colour));
      g_free (d.reader.first);
    }
  return d.lines;
}

GPtrArray *
portico_top_draw_data (const char *data, gssize len, guint width, gboolean colour)
{
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) error = NULL;
  if (!json_parser_load_from_data (parser, data, len, &error))
    {
      Draw d = draw_new (width, colour);
      g_autofree char *reason = portico_top_clean (error->message);
      g_autofree char *text = g_strdup_printf ("frame: not JSON: %s", reason);
      add_line (&d, SGR_RED, text);
      return d.lines;
    }
  return portico_top_draw (json_parser_get_root (parser), width, colour);
}
