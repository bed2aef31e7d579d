/* report-charts.c: the `--html` report's SVG charts, and the text helpers
 * of the whole page (see report-charts.h).
 *
 * Everything is written as text through portico_report_emit(), whose %s
 * escapes markup and whose %f writes a coordinate with '.' decimals
 * whatever the locale and 0 for anything not finite: so no text can break
 * the markup and no NaN can reach the SVG.
 */
#include "lab/report-charts.h"

#include <math.h>
#include <stdarg.h>

static const char *const entry_colours[] = {
  PORTICO_REPORT_BLUE, PORTICO_REPORT_ORANGE, PORTICO_REPORT_GREEN, PORTICO_REPORT_PURPLE,
  PORTICO_REPORT_SKY,
};

/* ---- text ------------------------------------------------------------------------------ */

static void
append_text (GString *out, const char *text)
{
  g_autofree char *valid = NULL;
  g_autofree char *escaped = NULL;

  if (!text)
    return;
  if (!g_utf8_validate (text, -1, NULL))
    text = valid = g_utf8_make_valid (text, -1);
  escaped = g_markup_escape_text (text, -1);
  g_string_append (out, escaped);
}

static void
append_coord (GString *out, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (v))
    v = 0;
  g_string_append (out, g_ascii_formatd (buf, sizeof buf, "%.1f", CLAMP (v, -1e6, 1e6)));
}

void
portico_report_emit (GString *out, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  for (const char *p = fmt; *p; p++) {
    if (*p != '%') {
      g_string_append_c (out, *p);
      continue;
    }
    switch (*++p) {
    case 's': append_text (out, va_arg (ap, const char *)); break;
    case 'S': g_string_append (out, va_arg (ap, const char *)); break;
    case 'd': g_string_append_printf (out, "%d", va_arg (ap, int)); break;
    case 'f': append_coord (out, va_arg (ap, double)); break;
    case '%': g_string_append_c (out, '%'); break;
    default: g_warn_if_reached (); break;
    }
  }
  va_end (ap);
}

char *
portico_report_fixed (const char *fmt, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  return isfinite (v) ? g_strdup (g_ascii_formatd (buf, sizeof buf, fmt, v)) : g_strdup ("–");
}

char *
portico_report_human (double v)
{
  double a = fabs (v);

  return portico_report_fixed (a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f", v);
}

/* An axis label: 25, 2.5, 0.001, 15k, 2.5M. */
static char *
tick_label (double v)
{
  static const struct { double at; const char *unit; } units[] = {
    { 1e12, "T" }, { 1e9, "G" }, { 1e6, "M" }, { 1e3, "k" },
  };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (fabs (v) >= 1e4) {
    for (guint i = 0; i < G_N_ELEMENTS (units); i++) {
      if (fabs (v) >= units[i].at)
        return g_strconcat (g_ascii_formatd (buf, sizeof buf, "%.4g", v / units[i].at),
                            units[i].unit, NULL);
    }
  }
  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.4g", v));
}

/* ---- scales ---------------------------------------------------------------------------- */

/* An axis: values lo..hi (their log10 when @log) drawn from @from to @to. */
typedef struct {
  double from, to;
  double lo, hi;
  double step;      /* between ticks, in the same units as lo and hi */
  gboolean log;
} Scale;

/* 1, 2 or 5 times a power of ten, about @range / @n. */
static double
nice_step (double range, int n)
{
  double raw = range / n, mag, f;

  if (!isfinite (raw) || raw <= 0)
    return 1;
  mag = pow (10, floor (log10 (raw)));
  f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* 0 to @max rounded up to a tick; 0 to 1 when there is nothing to show. */
static Scale
scale_linear (double max, int ticks, double from, double to)
{
  Scale s = { from, to, 0, 1, 1, FALSE };

  if (isfinite (max) && max > 0) {
    s.step = nice_step (max, ticks);
    s.hi = ceil (max / s.step - 1e-9) * s.step;
  } else {
    s.step = nice_step (1, ticks);
  }
  return s;
}

/* Whole decades around @min..@max (both > 0), at most 12. */
static Scale
scale_log (double min, double max, double from, double to)
{
  Scale s = { from, to, floor (log10 (min)), ceil (log10 (max)), 1, TRUE };

  if (s.hi <= s.lo)
    s.hi = s.lo + 1;
  if (s.hi - s.lo > 12)
    s.lo = s.hi - 12;
  return s;
}

static double
scale_at (const Scale *s, double v)
{
  double t;

  if (s->log)
    v = v > 0 ? log10 (v) : s->lo;
  t = (v - s->lo) / (s->hi - s->lo);
  return s->from + CLAMP (t, -0.02, 1.02) * (s->to - s->from);
}

/* The tick values of @s (not their logarithms); at most @max of them. */
static int
scale_ticks (const Scale *s, double *values, int max)
{
  int n = 0;

  for (int i = 0; s->lo + i * s->step <= s->hi + s->step * 1e-6 && n < max; i++)
    values[n++] = s->log ? pow (10, s->lo + i * s->step) : s->lo + i * s->step;
  return n;
}

/* Grid lines and tick labels of @s, drawn across from @from to @to (the
 * other axis' coordinates); the labels on @label_at (left of a y axis,
 * under or over an x axis, which also gets @unit on its last label), or
 * none when it is 0. */
static void
draw_axis (GString *out, const Scale *s, gboolean is_x, double from, double to, double label_at,
           const char *unit)
{
  double ticks[24];
  int n = scale_ticks (s, ticks, G_N_ELEMENTS (ticks));

  for (int i = 0; i < n; i++) {
    g_autofree char *label = tick_label (ticks[i]);
    double at = scale_at (s, ticks[i]);

    portico_report_emit (out, "<line class=\"grid\" x1=\"%f\" y1=\"%f\" x2=\"%f\" y2=\"%f\"/>",
                         is_x ? at : from, is_x ? from : at, is_x ? at : to, is_x ? to : at);
    if (label_at > 0)
      portico_report_emit (out, "<text class=\"tick\" x=\"%f\" y=\"%f\" text-anchor=\"%S\">%s%S</text>",
                           is_x ? at : label_at, is_x ? label_at : at + 4, is_x ? "middle" : "end",
                           label, i == n - 1 ? unit : "");
  }
}

/* ---- the series over time -------------------------------------------------------------- */

/* One traffic entry as drawn: its seconds and where they start on the run clock. */
typedef struct {
  const char *name;
  double start_s;
  GArray *seconds;  /* PorticoResultSecond, not owned */
} Entry;

typedef enum { COMPLETED, ERRORS, P50, P99 } Measure;

static double
measure (const PorticoResultSecond *s, Measure m)
{
  switch (m) {
  case COMPLETED: return (double) s->completed;
  case ERRORS: return (double) s->errors;
  case P50: return s->p50_ms;
  case P99: return s->p99_ms;
  }
  return NAN;
}

/* The entries of @v, each with its start from @sc; the overall series
 * alone when the variant lists no entry but has one. */
static GArray *
variant_entries (const PorticoScenario *sc, const PorticoVariantResults *v)
{
  GArray *entries = g_array_new (FALSE, TRUE, sizeof (Entry));

  for (guint i = 0; i < v->traffic->len; i++) {
    PorticoTrafficFigures *f = g_ptr_array_index (v->traffic, i);
    Entry e = { f->name, 0, f->seconds };

    for (guint t = 0; sc && t < sc->traffic->len; t++) {
      PorticoScenarioTraffic *spec = g_ptr_array_index (sc->traffic, t);

      if (g_strcmp0 (spec->name, f->name) == 0 && isfinite (spec->start_s))
        e.start_s = MAX (spec->start_s, 0);
    }
    g_array_append_val (entries, e);
  }
  if (entries->len == 0 && v->overall->seconds->len > 0) {
    Entry e = { v->overall->name, 0, v->overall->seconds };
    g_array_append_val (entries, e);
  }
  return entries;
}

/* @m of every entry added up per second of the run clock. An entry that
 * starts within a second counts in that second: exact when the entries
 * start on whole seconds, as scenarios mostly do. */
static GArray *
run_sums (GArray *entries, Measure m)
{
  GArray *sums = g_array_new (FALSE, TRUE, sizeof (double));

  for (guint e = 0; e < entries->len; e++) {
    Entry *entry = &g_array_index (entries, Entry, e);

    for (guint i = 0; i < entry->seconds->len; i++) {
      guint at = (guint) floor (entry->start_s + i);

      if (at >= 100000)
        break;
      if (at >= sums->len)
        g_array_set_size (sums, at + 1);
      g_array_index (sums, double, at) += measure (&g_array_index (entry->seconds,
                                                                   PorticoResultSecond, i), m);
    }
  }
  return sums;
}

static double
array_max (GArray *values)
{
  double max = 0;

  for (guint i = 0; i < values->len; i++) {
    double v = g_array_index (values, double, i);
    if (isfinite (v) && v > max)
      max = v;
  }
  return max;
}

PorticoReportTimeScales
portico_report_time_scales (const PorticoScenario *sc, const PorticoResults *results)
{
  PorticoReportTimeScales ts = { sc && isfinite (sc->duration_s) ? sc->duration_s : 0, 0, 0,
                                 NAN, NAN };

  for (guint i = 0; i < results->variants->len; i++) {
    PorticoVariantResults *v = g_ptr_array_index (results->variants, i);
    g_autoptr(GArray) entries = variant_entries (sc, v);
    g_autoptr(GArray) done = run_sums (entries, COMPLETED);
    g_autoptr(GArray) errors = run_sums (entries, ERRORS);

    ts.t_max = MAX (ts.t_max, done->len);
    ts.rps_max = MAX (ts.rps_max, array_max (done));
    ts.err_max = MAX (ts.err_max, array_max (errors));
    for (guint e = 0; e < entries->len; e++) {
      Entry *entry = &g_array_index (entries, Entry, e);

      for (guint s = 0; s < entry->seconds->len; s++) {
        PorticoResultSecond *sec = &g_array_index (entry->seconds, PorticoResultSecond, s);
        double lat[2] = { sec->p50_ms, sec->p99_ms };

        for (guint k = 0; k < 2; k++) {
          if (!isfinite (lat[k]) || lat[k] <= 0)
            continue;
          ts.lat_min = isnan (ts.lat_min) ? lat[k] : MIN (ts.lat_min, lat[k]);
          ts.lat_max = isnan (ts.lat_max) ? lat[k] : MAX (ts.lat_max, lat[k]);
        }
      }
    }
    for (guint e = 0; e < v->events->len; e++) {
      PorticoEventRecord *r = g_ptr_array_index (v->events, e);
      if (isfinite (r->at_s))
        ts.t_max = MAX (ts.t_max, r->at_s);
    }
    for (guint n = 0; n < v->narration->len; n++) {
      PorticoNarrationRecord *r = g_ptr_array_index (v->narration, n);
      if (isfinite (r->at_s))
        ts.t_max = MAX (ts.t_max, r->at_s);
    }
  }
  ts.t_max = ts.t_max > 0 ? MIN (ceil (ts.t_max), 100000) : 1;
  return ts;
}

/* One line through a series' seconds (at their middles), broken where a
 * second has no value; a point with no neighbour gets a dot. */
static void
draw_series (GString *out, const Scale *x, const Scale *y, double start_s, const double *values,
             guint n, const char *colour, double width, gboolean dashed, const char *title)
{
  g_autoptr(GString) d = g_string_new (NULL);

  portico_report_emit (out, "<g class=\"series\"><title>%s</title>", title);
  for (guint i = 0; i < n; i++) {
    gboolean prev = i > 0 && isfinite (values[i - 1]);
    gboolean next = i + 1 < n && isfinite (values[i + 1]);
    double px = scale_at (x, start_s + i + 0.5), py;

    if (!isfinite (values[i]))
      continue;
    py = scale_at (y, values[i]);
    portico_report_emit (d, prev ? "L%f %f " : "M%f %f ", px, py);
    if (!prev && !next)
      portico_report_emit (out, "<circle cx=\"%f\" cy=\"%f\" r=\"3.5\" fill=\"%S\"/>", px, py,
                           colour);
  }
  if (d->len > 0)
    portico_report_emit (out, "<path d=\"%S\" fill=\"none\" stroke=\"%S\" stroke-width=\"%f\"%S/>",
                         d->str, colour, width, dashed ? " stroke-dasharray=\"7 5\"" : "");
  g_string_append (out, "</g>");
}

static void
draw_entry_series (GString *out, const Scale *x, const Scale *y, const Entry *entry, Measure m,
                   const char *colour, double width, gboolean dashed, const char *what)
{
  g_autofree double *values = g_new (double, MAX (entry->seconds->len, 1));
  g_autofree char *title = g_strdup_printf ("%s: %s", entry->name, what);

  for (guint i = 0; i < entry->seconds->len; i++)
    values[i] = measure (&g_array_index (entry->seconds, PorticoResultSecond, i), m);
  draw_series (out, x, y, entry->start_s, values, entry->seconds->len, colour, width, dashed,
               title);
}

/* The timeline's layout, in SVG units (the picture is 1000 wide): rows
 * for the events' labels (none without events), a row for the narration
 * marks (none without narration), then the three panels. */
enum { TL_LEFT = 76, TL_RIGHT = 975, TL_LABEL_ROWS = 3, TL_LABEL_ROW_H = 18 };

typedef struct {
  double narration_y;
  double rps_top, rps_bottom, err_top, err_bottom, lat_top, lat_bottom, height;
} Layout;

static Layout
timeline_layout (const PorticoVariantResults *v)
{
  Layout l;
  guint events = 0;
  double y = 0;

  for (guint e = 0; e < v->events->len; e++)
    events += isfinite (((PorticoEventRecord *) g_ptr_array_index (v->events, e))->at_s);
  if (events > 0)
    y = 6 + MIN (events, TL_LABEL_ROWS) * TL_LABEL_ROW_H;
  l.narration_y = y + 14;
  if (v->narration->len > 0)
    y += 28;
  l.rps_top = y + 36;
  l.rps_bottom = l.rps_top + 190;
  l.err_top = l.rps_bottom + 42;
  l.err_bottom = l.err_top + 50;
  l.lat_top = l.err_bottom + 42;
  l.lat_bottom = l.lat_top + 190;
  l.height = l.lat_bottom + 58;
  return l;
}

/* Events as dashed lines through every panel, their labels staggered on
 * rows above so that close events stay readable (the whole text is in
 * the <title>). */
static void
draw_events (GString *out, const Scale *x, const PorticoVariantResults *v, double bottom)
{
  double row_end[TL_LABEL_ROWS] = { 0 };

  for (guint e = 0; e < v->events->len; e++) {
    PorticoEventRecord *r = g_ptr_array_index (v->events, e);
    double px = scale_at (x, r->at_s);
    g_autofree char *at = portico_report_fixed ("%.1f", r->at_s);
    const char *what = r->what ? r->what : "";
    g_autofree char *label = g_utf8_substring (what, 0, MIN (g_utf8_strlen (what, -1), 48));
    guint row = 0;
    gboolean left;

    if (!isfinite (r->at_s))
      continue;
    for (guint k = 1; k < TL_LABEL_ROWS; k++) {
      if (row_end[row] > px && row_end[k] < row_end[row])
        row = k;
    }
    row_end[row] = px + 4 + 7.2 * g_utf8_strlen (label, -1);
    if (row_end[row] > 1000)
      row_end[row] = px;  /* the label goes to the left of its line */
    portico_report_emit (out, "<g class=\"event%S\"><title>%s s: %s%S%s%S%S</title>",
                         r->ok ? "" : " failed", at, r->what, r->detail ? " (" : "", r->detail,
                         r->detail ? ")" : "", r->ok ? "" : ": FAILED");
    portico_report_emit (out, "<line class=\"event%S\" x1=\"%f\" y1=\"%f\" x2=\"%f\" y2=\"%f\"/>",
                         r->ok ? "" : " failed", px, 4.0 + row * TL_LABEL_ROW_H, px, bottom);
    /* a label that would leave the picture ends at its line instead */
    left = row_end[row] == px;
    portico_report_emit (out, "<text class=\"event-label\" x=\"%f\" y=\"%f\"%S>%s</text></g>",
                         left ? px - 4 : px + 4, 16.0 + row * TL_LABEL_ROW_H,
                         left ? " text-anchor=\"end\"" : "", label);
  }
}

static void
draw_narration_marks (GString *out, const Scale *x, const PorticoVariantResults *v, double y)
{
  for (guint n = 0; n < v->narration->len; n++) {
    PorticoNarrationRecord *r = g_ptr_array_index (v->narration, n);
    g_autofree char *at = portico_report_fixed ("%.1f", r->at_s);

    if (!isfinite (r->at_s))
      continue;
    portico_report_emit (out, "<g class=\"narration\"><title>%s s: %s</title>", at, r->say);
    portico_report_emit (out, "<circle cx=\"%f\" cy=\"%f\" r=\"10\"/>", scale_at (x, r->at_s), y);
    portico_report_emit (out, "<text x=\"%f\" y=\"%f\" text-anchor=\"middle\">%d</text></g>",
                         scale_at (x, r->at_s), y + 4.5, (int) n + 1);
  }
}

static void
panel_title (GString *out, double top, const char *title)
{
  portico_report_emit (out, "<text class=\"panel\" x=\"%f\" y=\"%f\">%s</text>", (double) TL_LEFT,
                       top - 14, title);
}

void
portico_report_timeline_svg (GString *out, const PorticoScenario *sc,
                             const PorticoVariantResults *v, const PorticoReportTimeScales *ts)
{
  g_autoptr(GArray) entries = variant_entries (sc, v);
  g_autoptr(GArray) done = run_sums (entries, COMPLETED);
  g_autoptr(GArray) errors = run_sums (entries, ERRORS);
  Layout l = timeline_layout (v);
  Scale x = scale_linear (ts->t_max, 10, TL_LEFT, TL_RIGHT);
  Scale rps = scale_linear (ts->rps_max, 4, l.rps_bottom, l.rps_top);
  Scale err = scale_linear (ts->err_max, 1, l.err_bottom, l.err_top);
  gboolean has_lat = isfinite (ts->lat_min);
  /* a log scale when latencies span more than a decade and a half, so a
   * slow second does not flatten every other one */
  gboolean log = has_lat && ts->lat_max / ts->lat_min > 30;
  Scale lat = log ? scale_log (ts->lat_min, ts->lat_max, l.lat_bottom, l.lat_top)
                  : scale_linear (has_lat ? ts->lat_max : 1, 4, l.lat_bottom, l.lat_top);
  double bar_w;

  x.hi = ts->t_max;  /* time ends where the run did, not at the next round tick */
  bar_w = MAX (scale_at (&x, 1) - scale_at (&x, 0) - 1, 1);

  portico_report_emit (out, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" "
                       "viewBox=\"0 0 1000 %d\" role=\"img\"><title>%s: over time</title>",
                       (int) l.height, v->variant);
  panel_title (out, l.rps_top, "completed requests per second");
  draw_axis (out, &rps, FALSE, TL_LEFT, TL_RIGHT, TL_LEFT - 6, "");
  panel_title (out, l.err_top, "errors per second (requests without a whole answer)");
  draw_axis (out, &err, FALSE, TL_LEFT, TL_RIGHT, TL_LEFT - 6, "");
  panel_title (out, l.lat_top, log ? "latency, ms (log scale): p99 solid, p50 dashed"
                                    : "latency, ms: p99 solid, p50 dashed");
  draw_axis (out, &lat, FALSE, TL_LEFT, TL_RIGHT, TL_LEFT - 6, "");
  draw_axis (out, &x, TRUE, l.rps_top, l.rps_bottom, 0, "");
  draw_axis (out, &x, TRUE, l.err_top, l.err_bottom, 0, "");
  draw_axis (out, &x, TRUE, l.lat_top, l.lat_bottom, l.lat_bottom + 22, " s");
  portico_report_emit (out, "<line class=\"axis\" x1=\"%f\" y1=\"%f\" x2=\"%f\" y2=\"%f\"/>",
                       (double) TL_LEFT, l.rps_top, (double) TL_LEFT, l.lat_bottom);

  if (entries->len == 0)
    portico_report_emit (out, "<text class=\"empty\" x=\"500\" y=\"%f\" text-anchor=\"middle\">"
                         "no traffic in this variant</text>", (l.rps_top + l.rps_bottom) / 2.0);
  else if (array_max (errors) <= 0)
    portico_report_emit (out, "<text class=\"empty\" x=\"%f\" y=\"%f\">no errors</text>",
                         TL_LEFT + 10.0, l.err_bottom - 16.0);
  for (guint s = 0; s < errors->len; s++) {
    double n = g_array_index (errors, double, s), top = scale_at (&err, n);
    g_autofree char *what = portico_report_fixed ("%.0f", n);

    if (n <= 0)
      continue;
    portico_report_emit (out, "<rect class=\"errors\" x=\"%f\" y=\"%f\" width=\"%f\" height=\"%f\">"
                         "<title>%s errors in second %d</title></rect>", scale_at (&x, s) + 0.5, top,
                         bar_w, MAX (l.err_bottom - top, 1), what, (int) s);
  }
  for (guint e = 0; e < entries->len; e++) {
    Entry *entry = &g_array_index (entries, Entry, e);
    const char *colour = entry_colours[e % G_N_ELEMENTS (entry_colours)];

    draw_entry_series (out, &x, &rps, entry, COMPLETED, colour, 2.5, FALSE, "completed per second");
    draw_entry_series (out, &x, &lat, entry, P99, colour, 2.5, FALSE, "p99 ms");
    draw_entry_series (out, &x, &lat, entry, P50, colour, 2, TRUE, "p50 ms");
  }
  if (entries->len > 1)
    draw_series (out, &x, &rps, 0, (double *) (void *) done->data, done->len, PORTICO_REPORT_INK,
                 3.5, FALSE, "every entry: completed per second");
  if (!has_lat && entries->len > 0)
    portico_report_emit (out, "<text class=\"empty\" x=\"500\" y=\"%f\" text-anchor=\"middle\">"
                         "no latency per second recorded</text>", (l.lat_top + l.lat_bottom) / 2.0);
  draw_events (out, &x, v, l.lat_bottom);
  draw_narration_marks (out, &x, v, l.narration_y);
  portico_report_emit (out, "<text class=\"axis-title\" x=\"%f\" y=\"%f\" text-anchor=\"middle\">"
                       "seconds from the scenario's start</text></svg>\n", (TL_LEFT + TL_RIGHT) / 2.0,
                       l.height - 8);
}

void
portico_report_legend_key (GString *out, const char *shape, const char *colour, const char *label)
{
  g_autofree char *style = colour ? g_strdup_printf (" style=\"border-color: %s; background: %s\"",
                                                    colour, colour) : g_strdup ("");

  portico_report_emit (out, "<span class=\"key\"><span class=\"%S\"%S>%S</span>%s</span>", shape,
                       style, g_str_equal (shape, "dot") ? "1" : "", label);
}

void
portico_report_timeline_legend (GString *out, const PorticoScenario *sc,
                                const PorticoVariantResults *v)
{
  g_autoptr(GArray) entries = variant_entries (sc, v);
  g_autoptr(GArray) errors = run_sums (entries, ERRORS);
  guint failed = 0;

  g_string_append (out, "<p class=\"legend\">");
  for (guint e = 0; e < entries->len; e++) {
    Entry *entry = &g_array_index (entries, Entry, e);
    g_autofree char *start = portico_report_fixed ("%.1f", entry->start_s);
    g_autofree char *label = g_strdup_printf ("%s (from %s s)", entry->name, start);

    portico_report_legend_key (out, "line", entry_colours[e % G_N_ELEMENTS (entry_colours)], label);
  }
  if (entries->len > 1)
    portico_report_legend_key (out, "line total", NULL, "every entry");
  for (guint e = 0; e < v->events->len; e++)
    failed += !((PorticoEventRecord *) g_ptr_array_index (v->events, e))->ok;
  /* only the keys of what this chart shows */
  if (array_max (errors) > 0)
    portico_report_legend_key (out, "box", PORTICO_REPORT_VERMILLION, "errors");
  if (v->events->len > failed)
    portico_report_legend_key (out, "line event", NULL, "event");
  if (failed > 0)
    portico_report_legend_key (out, "line event failed", NULL, "failed event");
  if (v->narration->len > 0)
    portico_report_legend_key (out, "dot", NULL, "narration (hover for the text)");
  g_string_append (out, "</p>\n");
}

/* ---- the traced request ---------------------------------------------------------------- */

static const char *
span_colour (const PorticoTraceSpan *span)
{
  if (g_strcmp0 (span->category, "client") == 0)
    return PORTICO_REPORT_BLUE;
  if (g_strcmp0 (span->category, "phase") == 0)
    return PORTICO_REPORT_GREEN;
  if (g_strcmp0 (span->category, "upstream") == 0)
    return PORTICO_REPORT_PURPLE;
  if (g_strcmp0 (span->result, "respond") == 0)
    return PORTICO_REPORT_ORANGE;
  if (g_strcmp0 (span->result, "error") == 0)
    return PORTICO_REPORT_VERMILLION;
  return PORTICO_REPORT_SKY;
}

static gboolean
is_category (const PorticoTraceSpan *span, const char *category)
{
  return g_strcmp0 (span->category, category) == 0;
}

static gboolean
span_contains (const PorticoTraceSpan *outer, const PorticoTraceSpan *inner)
{
  return inner->start_ms >= outer->start_ms - 1e-6
         && inner->start_ms <= outer->start_ms + outer->duration_ms + 1e-6;
}

/* The phase span module span @m ran in: the one of its phase's name
 * that holds its start (a phase may run more than once: body_filter),
 * else the first of that name; NULL when none. */
static const PorticoTraceSpan *
module_parent (GPtrArray *spans, const PorticoTraceSpan *m)
{
  const PorticoTraceSpan *first = NULL;

  for (guint i = 0; i < spans->len; i++) {
    const PorticoTraceSpan *p = g_ptr_array_index (spans, i);

    if (!is_category (p, "phase") || g_strcmp0 (p->name, m->phase) != 0
        || (m->node && p->node && g_strcmp0 (p->node, m->node) != 0))
      continue;
    if (span_contains (p, m))
      return p;
    if (!first)
      first = p;
  }
  return first;
}

static int
by_start (gconstpointer a, gconstpointer b)
{
  const PorticoTraceSpan *x = *(PorticoTraceSpan *const *) a, *y = *(PorticoTraceSpan *const *) b;
  double sx = isfinite (x->start_ms) ? x->start_ms : G_MAXDOUBLE;
  double sy = isfinite (y->start_ms) ? y->start_ms : G_MAXDOUBLE;

  return (sx > sy) - (sx < sy);
}

/* The waterfall's rows, top to bottom: the client's spans, then the rest
 * by start, each phase followed by the module spans that ran in it. The
 * returned array holds the spans (not owned); @nested gets, per row,
 * whether it is indented under a phase. */
static GPtrArray *
waterfall_rows (GPtrArray *spans, GArray *nested)
{
  g_autoptr(GPtrArray) sorted = g_ptr_array_copy (spans, NULL, NULL);
  GPtrArray *rows = g_ptr_array_new ();

  g_ptr_array_set_free_func (sorted, NULL);  /* the copy took the spans' free function */
  g_ptr_array_sort (sorted, by_start);  /* stable: equal starts keep their order */
  for (int pass = 0; pass < 2; pass++) {
    for (guint i = 0; i < sorted->len; i++) {
      PorticoTraceSpan *s = g_ptr_array_index (sorted, i);
      gboolean flat = FALSE;

      if (pass == 0 ? !is_category (s, "client") : is_category (s, "client"))
        continue;
      if (is_category (s, "module") && module_parent (spans, s))
        continue;
      g_ptr_array_add (rows, s);
      g_array_append_val (nested, flat);
      for (guint k = 0; is_category (s, "phase") && k < sorted->len; k++) {
        PorticoTraceSpan *m = g_ptr_array_index (sorted, k);
        gboolean indent = TRUE;

        if (is_category (m, "module") && module_parent (spans, m) == s) {
          g_ptr_array_add (rows, m);
          g_array_append_val (nested, indent);
        }
      }
    }
  }
  return rows;
}

enum { WF_BAR_LEFT = 262, WF_BAR_RIGHT = 870, WF_ROW_H = 26, WF_TOP = 40 };

void
portico_report_waterfall_svg (GString *out, const PorticoVariantResults *v)
{
  g_autoptr(GArray) nested = g_array_new (FALSE, FALSE, sizeof (gboolean));
  g_autoptr(GPtrArray) rows = waterfall_rows (v->spans, nested);
  double end = 0;
  Scale x;

  for (guint i = 0; i < rows->len; i++) {
    PorticoTraceSpan *s = g_ptr_array_index (rows, i);
    if (isfinite (s->start_ms + s->duration_ms))
      end = MAX (end, s->start_ms + MAX (s->duration_ms, 0));
  }
  x = scale_linear (end, 8, WF_BAR_LEFT, WF_BAR_RIGHT);
  portico_report_emit (out, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"waterfall\" "
                       "viewBox=\"0 0 1000 %d\" role=\"img\"><title>%s: the traced request</title>",
                       WF_TOP + (int) rows->len * WF_ROW_H + 8, v->variant);
  /* the tick labels go on top, where the eye starts */
  draw_axis (out, &x, TRUE, WF_TOP - 4, WF_TOP + rows->len * WF_ROW_H, WF_TOP - 12, " ms");
  for (guint i = 0; i < rows->len; i++) {
    PorticoTraceSpan *s = g_ptr_array_index (rows, i);
    gboolean indent = g_array_index (nested, gboolean, i);
    double y = WF_TOP + i * WF_ROW_H, x0 = scale_at (&x, s->start_ms);
    double x1 = scale_at (&x, s->start_ms + s->duration_ms), w = MAX (x1 - x0, 1.5);
    /* a handler that took less than half a µs still ran: say so, not 0.000 */
    g_autofree char *dur = s->duration_ms > 0 && s->duration_ms < 0.0005
                           ? g_strdup ("< 0.001") : portico_report_human (s->duration_ms);
    g_autofree char *start = portico_report_human (s->start_ms);
    gboolean marked = is_category (s, "module") && s->result
                      && g_strcmp0 (s->result, "continue") != 0;
    g_autofree char *text = g_strdup_printf ("%s ms%s%s", dur, marked ? " → " : "",
                                             marked ? s->result : "");
    g_autofree char *what = g_strconcat (s->category ? s->category : "?", s->node ? " on " : "",
                                         s->node ? s->node : "", s->phase ? ", in " : "",
                                         s->phase ? s->phase : "", NULL);
    double text_w = 7.5 * g_utf8_strlen (text, -1);
    gboolean right, inside;

    if (i % 2 == 1)
      portico_report_emit (out, "<rect class=\"stripe\" x=\"0\" y=\"%f\" width=\"1000\" height=\"%d\"/>",
                           y, WF_ROW_H);
    portico_report_emit (out, "<text class=\"%S\" x=\"%f\" y=\"%f\">%s</text>",
                         indent ? "module-name" : "span-name", indent ? 28.0 : 8.0, y + 18, s->name);
    if (!isfinite (s->start_ms) || !isfinite (s->duration_ms)) {
      portico_report_emit (out, "<text class=\"duration\" x=\"%f\" y=\"%f\">not timed</text>",
                           (double) WF_BAR_LEFT, y + 18);
      continue;
    }
    portico_report_emit (out, "<rect class=\"span\" x=\"%f\" y=\"%f\" width=\"%f\" height=\"18\" rx=\"2\" "
                         "fill=\"%S\"%S><title>%s (%s): from %s ms for %s</title></rect>", x0, y + 4, w,
                         span_colour (s), marked ? " stroke=\"#000000\" stroke-width=\"2\"" : "",
                         s->name, what, start, text);
    /* the duration goes right of its bar; else inside it, when it fits; else left of it */
    right = x0 + w + 8 + text_w <= 998;
    inside = !right && w > text_w + 10;
    portico_report_emit (out, "<text class=\"duration%S\" x=\"%f\" y=\"%f\"%S>%s</text>",
                         inside ? " inside" : "", right ? x0 + w + 6 : inside ? x0 + w - 6 : x0 - 6,
                         y + 18, right ? "" : " text-anchor=\"end\"", text);
  }
  g_string_append (out, "</svg>\n");
}

/* ---- bars ------------------------------------------------------------------------------ */

void
portico_report_bars_svg (GString *out, const PorticoResults *results, const char *title,
                         const double *values)
{
  guint n = results->variants->len;
  double max = 0;
  Scale x;

  for (guint i = 0; i < n; i++)
    max = isfinite (values[i]) ? MAX (max, values[i]) : max;
  x = scale_linear (max, 4, 150, 400);
  portico_report_emit (out, "<figure><figcaption>%s</figcaption><svg "
                       "xmlns=\"http://www.w3.org/2000/svg\" class=\"bars\" viewBox=\"0 0 500 %d\" "
                       "role=\"img\"><title>%s</title>", title, 8 + (int) n * 34, title);
  for (guint i = 0; i < n; i++) {
    PorticoVariantResults *v = g_ptr_array_index (results->variants, i);
    g_autofree char *label = portico_report_human (values[i]);
    double y = 6 + i * 34, w = isfinite (values[i]) ? scale_at (&x, values[i]) - 150 : 0;

    portico_report_emit (out, "<text class=\"bar-name\" x=\"142\" y=\"%f\" text-anchor=\"end\">%s</text>",
                         y + 20, v->variant);
    if (w > 0)
      portico_report_emit (out, "<rect class=\"bar\" x=\"150\" y=\"%f\" width=\"%f\" height=\"26\" "
                           "fill=\"%S\"/>", y, w, PORTICO_REPORT_BLUE);
    portico_report_emit (out, "<text class=\"bar-value\" x=\"%f\" y=\"%f\">%s</text>",
                         156 + MAX (w, 0), y + 20, label);
  }
  g_string_append (out, "</svg></figure>\n");
}
