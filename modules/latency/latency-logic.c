/* latency-logic.c: the latency module's decisions (see latency-logic.h). */
#include "latency-logic.h"

LatencyConf *
latency_conf_new (JsonObject *config)
{
  LatencyConf *conf = g_new0 (LatencyConf, 1);
  /* The schema makes ms required and fills the rest; the fallbacks only
   * matter to a caller that skips the schema. */
  conf->ms = (guint) json_object_get_int_member_with_default (config, "ms", 0);
  conf->jitter_ms = (guint) json_object_get_int_member_with_default (config, "jitter_ms", 0);
  conf->phase = g_strcmp0 (json_object_get_string_member_with_default (config, "phase", "access"), "rewrite") == 0
                  ? PORTICO_PHASE_REWRITE
                  : PORTICO_PHASE_ACCESS;
  return conf;
}

gboolean
latency_step (LatencyWait *wait, const LatencyConf *conf, gint64 now_us, guint32 random, guint *ms)
{
  if (!wait->waiting)
    {
      guint planned = conf->ms + (conf->jitter_ms > 0 ? random % (conf->jitter_ms + 1) : 0);
      *ms = planned;
      if (planned == 0)
        return FALSE;
      wait->waiting = TRUE;
      wait->started_us = now_us;
      wait->planned_ms = planned;
      return TRUE;
    }
  gint64 elapsed_us = MAX (now_us - wait->started_us, 0);
  gint64 left_us = (gint64) wait->planned_ms * 1000 - elapsed_us;
  if (left_us > 0)
    {
      *ms = (guint) ((left_us + 999) / 1000);
      return TRUE;
    }
  wait->waiting = FALSE;
  *ms = (guint) (elapsed_us / 1000);
  return FALSE;
}
