/* tests/integration/exposition-check.c - a strict reader of the Prometheus
 * text exposition format 0.0.4, for tests of /metrics.
 *
 * It checks each line against the grammar (HELP, TYPE, samples with
 * optional labels and timestamp), and what the format asks of a whole
 * exposition: one TYPE per family before its samples, a family's samples
 * together, histogram buckets in increasing order with cumulative counts, a
 * +Inf bucket equal to _count. On top it asks that every family have HELP
 * and every histogram a _sum, which Portico always writes.
 */
#include "exposition-check.h"

#include <math.h>
#include <string.h>

struct _PorticoExposition {
  GHashTable *samples; /* "name{labels}" as written -> value */
  GHashTable *types;   /* family name -> type */
  GHashTable *helps;   /* family names with a HELP line */
  GHashTable *done;    /* families whose samples are over */
  char *current;       /* the family of the last sample */
  /* histogram series -> GArray of double (le, cumulative count) pairs */
  GHashTable *buckets;
  GHashTable *counts;  /* histogram series -> _count */
  GHashTable *has_sum; /* histogram series with a _sum */
};

void
portico_exposition_free (PorticoExposition *e)
{
  g_hash_table_unref (e->samples);
  g_hash_table_unref (e->types);
  g_hash_table_unref (e->helps);
  g_hash_table_unref (e->done);
  g_hash_table_unref (e->buckets);
  g_hash_table_unref (e->counts);
  g_hash_table_unref (e->has_sum);
  g_free (e->current);
  g_free (e);
}

static gboolean
parse_value (const char *text, double *value)
{
  if (strcmp (text, "+Inf") == 0 || strcmp (text, "-Inf") == 0 || strcmp (text, "NaN") == 0)
    {
      *value = strcmp (text, "NaN") == 0 ? 0 : (text[0] == '+' ? INFINITY : -INFINITY);
      return TRUE;
    }
  char *end = NULL;
  *value = g_ascii_strtod (text, &end);
  return end != text && *end == '\0';
}

/* The family a sample belongs to: for a histogram's _bucket, _sum and
 * _count lines, the name without the suffix. */
static char *
family_of (PorticoExposition *e, const char *name, const char **suffix)
{
  static const char *const suffixes[] = { "_bucket", "_sum", "_count" };

  *suffix = "";
  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    if (g_str_has_suffix (name, suffixes[i]))
      {
        g_autofree char *base = g_strndup (name, strlen (name) - strlen (suffixes[i]));
        if (g_strcmp0 (g_hash_table_lookup (e->types, base), "histogram") == 0)
          {
            *suffix = suffixes[i];
            return g_steal_pointer (&base);
          }
      }
  return g_strdup (name);
}

static void
exposition_sample (PorticoExposition *e, GMatchInfo *m, GRegex *label_re, const char *line)
{
  g_autofree char *name = g_match_info_fetch (m, 1);
  g_autofree char *labels = g_match_info_fetch (m, 2);
  g_autofree char *value_text = g_match_info_fetch (m, 3);
  double value = 0;
  const char *suffix = NULL;

  if (!parse_value (value_text, &value))
    g_error ("bad value: %s", line);
  g_autofree char *family = family_of (e, name, &suffix);
  if (!g_hash_table_contains (e->types, family))
    g_error ("sample before its TYPE line: %s", line);
  if (g_strcmp0 (family, e->current) != 0)
    {
      /* All samples of one family come together. */
      if (g_hash_table_contains (e->done, family))
        g_error ("family %s comes back: %s", family, line);
      if (e->current != NULL)
        g_hash_table_add (e->done, g_strdup (e->current));
      g_free (e->current);
      e->current = g_strdup (family);
    }

  /* Split the labels, keeping le apart for histograms. */
  GString *series = g_string_new (family);
  double le = 0;
  gboolean has_le = FALSE;
  g_autoptr (GMatchInfo) lm = NULL;
  g_string_append_c (series, '{');
  g_regex_match (label_re, labels != NULL ? labels : "", 0, &lm);
  while (g_match_info_matches (lm))
    {
      g_autofree char *lname = g_match_info_fetch (lm, 1);
      g_autofree char *lvalue = g_match_info_fetch (lm, 2);
      if (strcmp (lname, "le") == 0 && *suffix != '\0')
        {
          g_assert_true (parse_value (lvalue, &le));
          has_le = TRUE;
        }
      else
        g_string_append_printf (series, "%s=\"%s\",", lname, lvalue);
      g_match_info_next (lm, NULL);
    }
  g_string_append_c (series, '}');
  g_autofree char *series_key = g_string_free (series, FALSE);

  if (strcmp (suffix, "_bucket") == 0)
    {
      g_assert_true (has_le);
      GArray *pairs = g_hash_table_lookup (e->buckets, series_key);
      if (pairs == NULL)
        {
          pairs = g_array_new (FALSE, FALSE, sizeof (double));
          g_hash_table_insert (e->buckets, g_strdup (series_key), pairs);
        }
      g_array_append_val (pairs, le);
      g_array_append_val (pairs, value);
    }
  else if (strcmp (suffix, "_count") == 0)
    g_hash_table_insert (e->counts, g_strdup (series_key), g_memdup2 (&value, sizeof value));
  else if (strcmp (suffix, "_sum") == 0)
    g_hash_table_add (e->has_sum, g_strdup (series_key));

  g_autofree char *key = labels != NULL && labels[0] != '\0' ? g_strdup_printf ("%s{%s}", name, labels)
                                                             : g_strdup (name);
  if (g_hash_table_contains (e->samples, key))
    g_error ("duplicate sample: %s", line);
  g_hash_table_insert (e->samples, g_steal_pointer (&key), g_memdup2 (&value, sizeof value));
}

PorticoExposition *
portico_exposition_parse (const char *text)
{
  PorticoExposition *e = g_new0 (PorticoExposition, 1);
  g_autoptr (GRegex) sample_re = NULL, label_re = NULL, help_re = NULL, type_re = NULL;
  g_autoptr (GError) error = NULL;
  const char *label = "[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\"";
  g_autofree char *sample_pattern =
    g_strdup_printf ("^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{((?:%s)(?:,%s)*,?)?\\})? (\\S+)(?: -?[0-9]+)?$",
                     label, label);

  e->samples = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  e->types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  e->helps = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  e->done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  e->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  e->counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  e->has_sum = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sample_re = g_regex_new (sample_pattern, 0, 0, &error);
  g_assert_no_error (error);
  label_re = g_regex_new ("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"", 0, 0, &error);
  g_assert_no_error (error);
  help_re = g_regex_new ("^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$", 0, 0, &error);
  g_assert_no_error (error);
  type_re = g_regex_new ("^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$",
                         0, 0, &error);
  g_assert_no_error (error);

  g_assert_true (g_str_has_suffix (text, "\n"));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
    {
      const char *line = lines[i];
      g_autoptr (GMatchInfo) help = NULL, type = NULL, sample = NULL;

      if (line[0] == '\0')
        continue; /* empty lines are ignored */
      if (g_str_has_prefix (line, "# HELP "))
        {
          if (!g_regex_match (help_re, line, 0, &help))
            g_error ("bad HELP line: %s", line);
          g_autofree char *name = g_match_info_fetch (help, 1);
          if (g_hash_table_contains (e->helps, name))
            g_error ("second HELP: %s", line);
          g_hash_table_add (e->helps, g_steal_pointer (&name));
        }
      else if (g_str_has_prefix (line, "# TYPE "))
        {
          if (!g_regex_match (type_re, line, 0, &type))
            g_error ("bad TYPE line: %s", line);
          g_autofree char *name = g_match_info_fetch (type, 1);
          if (g_hash_table_contains (e->types, name) || g_hash_table_contains (e->done, name))
            g_error ("second TYPE: %s", line);
          g_hash_table_insert (e->types, g_steal_pointer (&name), g_match_info_fetch (type, 2));
        }
      else if (line[0] == '#')
        continue; /* any other comment */
      else if (g_regex_match (sample_re, line, 0, &sample))
        exposition_sample (e, sample, label_re, line);
      else
        g_error ("not in the exposition format: \"%s\"", line);
    }

  /* Every family we declare also has HELP; every histogram series has
   * increasing bounds, cumulative counts, +Inf equal to _count, and _sum. */
  GHashTableIter iter;
  gpointer key, val;
  g_hash_table_iter_init (&iter, e->types);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_assert_true (g_hash_table_contains (e->helps, key));
  g_hash_table_iter_init (&iter, e->buckets);
  while (g_hash_table_iter_next (&iter, &key, &val))
    {
      GArray *pairs = val;
      for (guint i = 2; i < pairs->len; i += 2)
        {
          g_assert_cmpfloat (g_array_index (pairs, double, i), >, g_array_index (pairs, double, i - 2));
          g_assert_cmpfloat (g_array_index (pairs, double, i + 1), >=, g_array_index (pairs, double, i - 1));
        }
      g_assert_true (isinf (g_array_index (pairs, double, pairs->len - 2)));
      double *count = g_hash_table_lookup (e->counts, key);
      g_assert_nonnull (count);
      g_assert_cmpfloat (*count, ==, g_array_index (pairs, double, pairs->len - 1));
      g_assert_true (g_hash_table_contains (e->has_sum, key));
    }
  return e;
}

double
portico_exposition_sample (PorticoExposition *e, const char *key)
{
  double *v = g_hash_table_lookup (e->samples, key);
  if (v == NULL)
    g_error ("no sample %s", key);
  return *v;
}

gboolean
portico_exposition_has (PorticoExposition *e, const char *key)
{
  return g_hash_table_contains (e->samples, key);
}

const char *
portico_exposition_type (PorticoExposition *e, const char *family)
{
  return g_hash_table_lookup (e->types, family);
}
