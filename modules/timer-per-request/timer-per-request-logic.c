/* timer-per-request-logic.c: see timer-per-request-logic.h. */
#include <gio/gio.h>
#include "timer-per-request-logic.h"

TimerPerRequestConf *
timer_per_request_conf_new (JsonObject *config, GError **error)
{
  gint64 interval = json_object_get_int_member_with_default (config, "interval_ms", 1000);
  gint64 lifetime = json_object_get_int_member_with_default (config, "lifetime_ms", 60000);
  if (lifetime < interval)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "lifetime_ms (%" G_GINT64_FORMAT ") must be at least interval_ms (%" G_GINT64_FORMAT ")",
                   lifetime, interval);
      return NULL;
    }
  TimerPerRequestConf *conf = g_new0 (TimerPerRequestConf, 1);
  conf->interval_ms = (guint) interval;
  conf->lifetime_ms = (guint) lifetime;
  return conf;
}

void
timer_per_request_check_init (TimerPerRequestCheck *check, const TimerPerRequestConf *conf, gint64 now_us)
{
  check->deadline_us = now_us + (gint64) conf->lifetime_ms * 1000;
  check->interval_ms = conf->interval_ms;
}

gboolean
timer_per_request_check_again (const TimerPerRequestCheck *check, gint64 now_us)
{
  return now_us + (gint64) check->interval_ms * 1000 <= check->deadline_us;
}
