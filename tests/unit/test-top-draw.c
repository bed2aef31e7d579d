/* test-top-draw.c: what `portico top` draws (src/cli/top-draw.c), without a
 * terminal: a known frame at several widths, with and without colour, and
 * frames that are not what docs/dashboard.md says. */
#include <string.h>

#include <json-glib/json-glib.h>

#include "cli/top-draw.h"

/* Single quotes stand for double quotes. Two workers: slot 0 serving with
 * every connection state but writing in use, slot 1 draining, half full.
 * The history climbs 0, 100 ... 700 requests/s: one block level each. */
static const char frame_template[] =
  "{'type':'frame','time_ms':1764200000123,"
  " 'node':{'master_pid':4000,'generation':3,'uptime_s':125.5,'reloads':2,'reload_failures':1,"
  "   'respawns':1,'workers_configured':2,'worker_connections':1024,'event_backend':'epoll',"
  "   'last_reload_error':'services[0].host: cannot resolve'},"
  " 'workers':["
  "  {'slot':0,'pid':4242,'generation':3,'state':'serving','uptime_s':120.4,"
  "   'connections':{'reading':3,'active':1,'waiting':2,'writing':0,'keepalive':7,'free':1011},"
  "   'requests':1234,'rps':250.0,'loop_lag_ms':0.2,'loop_lag_max_ms':3.1,"
  "   'timers':{'pending':3,'running':0,'owners':["
  "     {'name':'core','pending':2,'running':0,'fired':40},"
  "     {'name':'rate-limiting','pending':1,'running':0,'fired':7},"
  "     {'name':'idle','pending':0,'running':0,'fired':1}]},"
  "   'upstream':{'idle':4,'busy':1}},"
  "  {'slot':1,'pid':4343,'generation':3,'state':'draining','uptime_s':3,"
  "   'connections':{'reading':0,'active':512,'waiting':0,'writing':0,'keepalive':0,'free':512},"
  "   'requests':10,'rps':12.5,'loop_lag_ms':1.5,'loop_lag_max_ms':9,"
  "   'timers':{'pending':0,'running':0,'owners':[]},'upstream':{'idle':0,'busy':0}}],"
  " 'rates':{'rps':262.5,'p50_ms':1.6,'p90_ms':3.2,'p99_ms':6.4,"
  "   'status':{'2xx':250,'3xx':0,'4xx':10,'5xx':2}},"
  " 'history':[{'t':1,'rps':0},{'t':2,'rps':100},{'t':3,'rps':200},{'t':4,'rps':300},"
  "   {'t':5,'rps':400},{'t':6,'rps':500},{'t':7,'rps':600},{'t':8,'rps':700}],"
  " 'upstreams':[{'name':'orders','algorithm':'round-robin','targets':["
  "   {'target':'127.0.0.1:9001','weight':100,'health':'HEALTHY'},"
  "   {'target':'127.0.0.1:9002','weight':100,'health':'UNHEALTHY'}]}],"
  " 'tls':{'downstream':{'full':3,'resumed':10,'failed':0},'upstream':{'full':0,'resumed':0,'failed':1}},"
  " 'traces':[]}";

static JsonNode *
frame_new (void)
{
  g_autofree char *json = g_strdup (frame_template);
  g_strdelimit (json, "'", '"');
  g_autoptr (GError) error = NULL;
  JsonNode *root = json_from_string (json, &error);
  g_assert_no_error (error);
  return root;
}

/* The columns a line takes, counted here independently of the code under
 * test: escape sequences take none, wide characters two. */
static guint
visible_width (const char *line)
{
  guint cols = 0;
  for (const char *p = line; *p != '\0';)
    {
      if (*p == '\033')
        {
          g_assert_cmpint (p[1], ==, '[');
          p += 2;
          while (*p != '\0' && !(*p >= '@' && *p <= '~'))
            p++;
          g_assert_cmpint (*p, !=, '\0');
          p++;
          continue;
        }
      gunichar c = g_utf8_get_char_validated (p, -1);
      g_assert_cmpint ((gint) c, >=, 0x20);
      cols += g_unichar_iswide (c) ? 2 : 1;
      p = g_utf8_next_char (p);
    }
  return cols;
}

/* The lines joined, to look for text anywhere. */
static char *
joined (GPtrArray *lines)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < lines->len; i++)
    g_string_append_printf (s, "%s\n", (const char *) g_ptr_array_index (lines, i));
  return g_string_free (s, FALSE);
}

/* @text without its escape sequences. */
static char *
without_escapes (const char *text)
{
  GString *s = g_string_new (NULL);
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p != '\033')
        {
          g_string_append_c (s, *p);
          continue;
        }
      while (p[1] != '\0' && !(p[1] >= '@' && p[1] <= '~' && p[1] != '['))
        p++;
      if (p[1] != '\0')
        p++;
    }
  return g_string_free (s, FALSE);
}

/* The one line holding @needle (it must be there exactly once). */
static const char *
line_with (GPtrArray *lines, const char *needle)
{
  const char *found = NULL;
  guint n = 0;
  for (guint i = 0; i < lines->len; i++)
    if (strstr (g_ptr_array_index (lines, i), needle) != NULL)
      {
        found = g_ptr_array_index (lines, i);
        n++;
      }
  if (n != 1)
    g_test_message ("%u lines hold '%s'", n, needle);
  g_assert_cmpuint (n, ==, 1);
  return found;
}

static void
log_lines (GPtrArray *lines)
{
  for (guint i = 0; i < lines->len; i++)
    g_test_message ("|%s|", (const char *) g_ptr_array_index (lines, i));
}

static void
assert_holds (const char *text, const char *needle)
{
  if (strstr (text, needle) == NULL)
    g_test_message ("'%s' not in '%s'", needle, text);
  g_assert_nonnull (strstr (text, needle));
}

static void
test_frame (void)
{
  g_test_summary ("A known frame at 160 columns without colour: the node, each worker's pid, state, "
                  "connection counts, bar, rps, lag and timers by owner, the totals and percentiles, "
                  "the sparkline, the upstream targets' health and the TLS handshakes.");
  g_autoptr (JsonNode) frame = frame_new ();
  g_autoptr (GPtrArray) lines = portico_top_draw (frame, 160, FALSE);
  log_lines (lines);
  g_autofree char *all = joined (lines);
  g_assert_null (strchr (all, '\033'));
  g_assert_null (strstr (all, "frame:"));

  const char *node = g_ptr_array_index (lines, 0);
  assert_holds (node, "master 4000");
  assert_holds (node, "gen 3");
  assert_holds (node, "up 2m05s");
  assert_holds (node, "reloads 2 (1 failed)");
  assert_holds (node, "respawns 1");
  assert_holds (node, "2 workers x 1024 slots");
  assert_holds (node, "epoll");
  assert_holds (g_ptr_array_index (lines, 1), "last reload error: services[0].host: cannot resolve");

  const char *w0 = line_with (lines, "4242");
  assert_holds (w0, "serving");
  assert_holds (w0, "act 1 read 3 wait 2 ka 7 free 1011");
  assert_holds (w0, "250.0 rps");
  assert_holds (w0, "lag 0.2/3.1 ms");
  assert_holds (w0, "timers 3  (core 2, rate-limiting 1)");
  /* 160 / 6 = 26 cells: each state in use gets one at least, the rest free. */
  assert_holds (w0, "[ARUK......................]");

  const char *w1 = line_with (lines, "4343");
  assert_holds (w1, "draining");
  assert_holds (w1, "act 512 free 512");
  assert_holds (w1, "12.5 rps");
  assert_holds (w1, "[AAAAAAAAAAAAA.............]");
  /* Aligned: the bars start in the same column. */
  g_assert_cmpint (strchr (w0, '[') - w0, ==, strchr (w1, '[') - w1);

  const char *total = line_with (lines, "total");
  assert_holds (total, "262.5 rps");
  assert_holds (total, "p50 1.6 ms");
  assert_holds (total, "p90 3.2 ms");
  assert_holds (total, "p99 6.4 ms");
  assert_holds (total, "2xx 250");
  assert_holds (total, "4xx 10");
  assert_holds (total, "5xx 2");
  assert_holds (line_with (lines, "▁"), "▁▂▃▄▅▆▇█  max 700/s over 8s");
  const char *upstream = line_with (lines, "orders");
  assert_holds (upstream, "(round-robin)");
  assert_holds (upstream, "127.0.0.1:9001 HEALTHY  127.0.0.1:9002 UNHEALTHY");
  const char *tls = line_with (lines, "tls");
  assert_holds (tls, "downstream 3 full 10 resumed 0 failed");
  assert_holds (tls, "upstream 0 full 0 resumed 1 failed");
}

static void
test_colour (void)
{
  g_test_summary ("With colour, states and health are coloured with SGR escapes that are all reset; "
                  "the text is the same once they are taken out.");
  g_autoptr (JsonNode) frame = frame_new ();
  g_autoptr (GPtrArray) plain = portico_top_draw (frame, 160, FALSE);
  g_autoptr (GPtrArray) colour = portico_top_draw (frame, 160, TRUE);
  g_autofree char *all = joined (colour);
  assert_holds (all, "\033[32mserving\033[0m");
  assert_holds (all, "\033[33mdraining\033[0m");
  assert_holds (all, "\033[32mHEALTHY\033[0m");
  assert_holds (all, "\033[31mUNHEALTHY\033[0m");
  assert_holds (all, "\033[31m5xx 2\033[0m");
  g_assert_cmpuint (colour->len, ==, plain->len);
  for (guint i = 0; i < colour->len; i++)
    {
      const char *line = g_ptr_array_index (colour, i);
      /* Every colour is reset on its line. */
      const char *last_sgr = g_strrstr (line, "\033[");
      if (last_sgr != NULL)
        g_assert_true (g_str_has_prefix (last_sgr, "\033[0m"));
      g_assert_cmpuint (visible_width (line), ==, visible_width (g_ptr_array_index (plain, i)));
    }
}

static void
test_widths (void)
{
  g_test_summary ("At every width from 20 to 250 columns, with and without colour, no line is wider "
                  "than the terminal (escapes take no column); narrow, each worker line still shows its "
                  "pid, state and rps; wide, everything.");
  static const guint widths[] = { 20, 40, 60, 80, 100, 120, 160, 200, 250 };
  g_autoptr (JsonNode) frame = frame_new ();
  for (guint i = 0; i < G_N_ELEMENTS (widths); i++)
    for (int colour = 0; colour <= 1; colour++)
      {
        g_autoptr (GPtrArray) lines = portico_top_draw (frame, widths[i], colour);
        for (guint k = 0; k < lines->len; k++)
          {
            const char *line = g_ptr_array_index (lines, k);
            if (visible_width (line) > widths[i])
              g_test_message ("width %u: |%s|", widths[i], line);
            g_assert_cmpuint (visible_width (line), <=, widths[i]);
          }
        if (widths[i] >= 60)
          {
            const char *w0 = line_with (lines, "4242");
            assert_holds (w0, "serving");
            assert_holds (w0, "250.0 rps");
            assert_holds (line_with (lines, "4343"), "draining");
          }
        if (widths[i] == 60 && !colour)
          {
            log_lines (lines);
            /* Fields left out whole, not cut in the middle. */
            const char *w0 = line_with (lines, "4242");
            g_assert_null (strstr (w0, "pool"));
            g_assert_null (strstr (w0, "…"));
          }
        if (widths[i] == 250)
          {
            const char *w0 = line_with (lines, "4242");
            assert_holds (w0, "#0");
            assert_holds (w0, "up 2m00s");
            assert_holds (w0, "pool 4 idle 1 busy");
            assert_holds (w0, "gen 3");
            assert_holds (w0, "req 1234");
          }
      }
}

static void
test_fit (void)
{
  g_test_summary ("portico_top_fit() cuts at a column with an ellipsis, counting wide characters twice "
                  "and escapes not at all, and resets the colour it cut.");
  static const struct { const char *in; guint width; const char *out; } cases[] = {
    { "abcdef", 6, "abcdef" },
    { "abcdef", 5, "abcd…" },
    { "abcdef", 1, "…" },
    { "abcdef", 0, "" },
    { "\033[31mabcdef\033[0m", 4, "\033[31mabc…\033[0m" },
    { "\033[31mab\033[0m", 2, "\033[31mab\033[0m" },
    { "注文注文", 5, "注文…" },
    { "注文注文", 4, "注…" },
    { "▁▂▃▄", 3, "▁▂…" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GString) s = g_string_new (cases[i].in);
      portico_top_fit (s, cases[i].width);
      g_assert_cmpstr (s->str, ==, cases[i].out);
      g_assert_cmpuint (portico_top_text_width (s->str), <=, cases[i].width);
    }
  g_assert_cmpuint (portico_top_text_width ("\033[1;31m注a\033[0m"), ==, 3);
}

/* --- frames that are not what they should be --- */

static JsonObject *
member_object (JsonNode *root, const char *path)
{
  JsonObject *o = json_node_get_object (root);
  g_auto (GStrv) parts = g_strsplit (path, ".", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *bracket = strchr (parts[i], '[');
      if (bracket == NULL)
        {
          o = json_object_get_object_member (o, parts[i]);
          continue;
        }
      *bracket = '\0';
      JsonArray *a = json_object_get_array_member (o, parts[i]);
      o = json_array_get_object_element (a, (guint) g_ascii_strtoull (bracket + 1, NULL, 10));
    }
  return o;
}

static void
remove_node (JsonNode *f)
{
  json_object_remove_member (json_node_get_object (f), "node");
}

static void
pid_string (JsonNode *f)
{
  json_object_set_string_member (member_object (f, "workers[0]"), "pid", "4242");
}

static void
no_connections (JsonNode *f)
{
  json_object_remove_member (member_object (f, "workers[0]"), "connections");
}

static void
worker_number (JsonNode *f)
{
  json_array_remove_element (json_object_get_array_member (json_node_get_object (f), "workers"), 1);
  json_array_add_int_element (json_object_get_array_member (json_node_get_object (f), "workers"), 7);
}

static void
workers_object (JsonNode *f)
{
  json_object_set_object_member (json_node_get_object (f), "workers", json_object_new ());
}

static void
status_boolean (JsonNode *f)
{
  json_object_set_boolean_member (member_object (f, "rates.status"), "5xx", TRUE);
}

static void
history_null (JsonNode *f)
{
  JsonArray *h = json_object_get_array_member (json_node_get_object (f), "history");
  json_array_remove_element (h, 2);
  json_array_add_null_element (h);
}

static void
health_number (JsonNode *f)
{
  JsonArray *targets = json_object_get_array_member (member_object (f, "upstreams[0]"), "targets");
  json_object_set_int_member (json_array_get_object_element (targets, 1), "health", 3);
}

static void
reload_error_number (JsonNode *f)
{
  json_object_set_int_member (member_object (f, "node"), "last_reload_error", 5);
}

static void
owner_name_missing (JsonNode *f)
{
  JsonArray *owners = json_object_get_array_member (member_object (f, "workers[0].timers"), "owners");
  json_object_remove_member (json_array_get_object_element (owners, 1), "name");
}

static void
type_other (JsonNode *f)
{
  json_object_set_string_member (json_node_get_object (f), "type", "hello");
}

static void
two_missing (JsonNode *f)
{
  json_object_remove_member (json_node_get_object (f), "rates");
  json_object_remove_member (json_node_get_object (f), "tls");
}

static void
test_malformed (void)
{
  g_test_summary ("A frame with a key missing or of the wrong type is drawn as far as it goes, with one "
                  "line naming the first problem by its JSON path (and how many more there are).");
  static const struct {
    void (*spoil) (JsonNode *);
    const char *problem;
    const char *still; /* drawn all the same */
  } cases[] = {
    { remove_node, "frame: node: expected an object", "4242" },
    { pid_string, "frame: workers[0].pid: expected a number", "4343" },
    { no_connections, "frame: workers[0].connections: expected an object", "4343" },
    { worker_number, "frame: workers[1]: expected an object", "4242" },
    { workers_object, "frame: workers: expected an array", "262.5 rps" },
    { status_boolean, "frame: rates.status.5xx: expected a number", "2xx 250" },
    { history_null, "frame: history[7]: expected an object", "max 700/s" },
    { health_number, "frame: upstreams[0].targets[1].health: expected a string", "127.0.0.1:9001 HEALTHY" },
    { reload_error_number, "frame: node.last_reload_error: expected a string or null", "master 4000" },
    { owner_name_missing, "frame: workers[0].timers.owners[1].name: expected a string", "core 2, ? 1" },
    { type_other, "frame: type: expected \"frame\"", "4242" },
    { two_missing, "frame: rates: expected an object (and 1 more)", "4242" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    for (int colour = 0; colour <= 1; colour++)
      {
        g_autoptr (JsonNode) frame = frame_new ();
        cases[i].spoil (frame);
        g_autoptr (GPtrArray) lines = portico_top_draw (frame, 160, colour);
        g_autofree char *all = joined (lines);
        g_autofree char *text = without_escapes (all);
        g_test_message ("case %u: %s", i, cases[i].problem);
        assert_holds (text, cases[i].still);
        const char *line = line_with (lines, "frame: ");
        if (colour)
          {
            g_autofree char *red = g_strdup_printf ("\033[31m%s\033[0m", cases[i].problem);
            g_assert_cmpstr (line, ==, red);
          }
        else
          g_assert_cmpstr (line, ==, cases[i].problem);
        for (guint k = 0; k < lines->len; k++)
          g_assert_cmpuint (visible_width (g_ptr_array_index (lines, k)), <=, 160);
      }
}

static void
test_not_a_frame (void)
{
  g_test_summary ("What is no JSON object at all is one line saying so.");
  static const struct { const char *data; const char *line; } cases[] = {
    { "[1, 2]", "frame: expected a JSON object" },
    { "42", "frame: expected a JSON object" },
    { "null", "frame: expected a JSON object" },
    { "{\"type\": \"frame\"", "frame: not JSON: " },
    { "<html>", "frame: not JSON: " },
    { "", "frame: expected a JSON object" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GPtrArray) lines = portico_top_draw_data (cases[i].data, -1, 80, FALSE);
      g_assert_cmpuint (lines->len, ==, 1);
      g_test_message ("%s -> %s", cases[i].data, (const char *) g_ptr_array_index (lines, 0));
      g_assert_true (g_str_has_prefix (g_ptr_array_index (lines, 0), cases[i].line));
      g_assert_cmpuint (visible_width (g_ptr_array_index (lines, 0)), <=, 80);
    }
  g_autoptr (GPtrArray) lines = portico_top_draw (NULL, 80, FALSE);
  g_assert_cmpuint (lines->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (lines, 0), ==, "frame: expected a JSON object");
}

static void
test_hostile_strings (void)
{
  g_test_summary ("Strings from the frame reach the terminal without control characters, so a name "
                  "cannot carry an escape sequence; wide characters are counted as two columns.");
  g_autoptr (JsonNode) frame = frame_new ();
  json_object_set_string_member (member_object (frame, "upstreams[0]"), "name", "\033]0;pwned\007orders");
  json_object_set_string_member (member_object (frame, "workers[0]"), "state", "注文注文注文注文\033[2J");
  json_object_set_string_member (member_object (frame, "node"), "event_backend", "ep\roll");
  for (int colour = 0; colour <= 1; colour++)
    {
      g_autoptr (GPtrArray) lines = portico_top_draw (frame, 60, colour);
      g_autofree char *all = joined (lines);
      g_assert_null (strstr (all, "\033]"));
      g_assert_null (strstr (all, "\033[2J"));
      g_assert_null (strchr (all, '\007'));
      g_assert_null (strchr (all, '\r'));
      if (!colour)
        g_assert_null (strchr (all, '\033'));
      for (guint k = 0; k < lines->len; k++)
        g_assert_cmpuint (visible_width (g_ptr_array_index (lines, k)), <=, 60);
    }
  g_autoptr (GPtrArray) lines = portico_top_draw (frame, 160, FALSE);
  assert_holds (line_with (lines, "pwned"), "?]0;pwned?orders");
  assert_holds (line_with (lines, "4242"), "注文注文注文注文?[2J");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/top-draw/frame", test_frame);
  g_test_add_func ("/top-draw/colour", test_colour);
  g_test_add_func ("/top-draw/widths", test_widths);
  g_test_add_func ("/top-draw/fit", test_fit);
  g_test_add_func ("/top-draw/malformed", test_malformed);
  g_test_add_func ("/top-draw/not-a-frame", test_not_a_frame);
  g_test_add_func ("/top-draw/hostile-strings", test_hostile_strings);
  return g_test_run ();
}
