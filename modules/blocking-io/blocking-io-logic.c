/* blocking-io-logic.c: the blocking-io module's wait (see blocking-io-logic.h). */
#include "blocking-io-logic.h"

BlockingIoConf *
blocking_io_conf_new (JsonObject *config)
{
  BlockingIoConf *conf = g_new0 (BlockingIoConf, 1);
  conf->ms = (guint) json_object_get_int_member_with_default (config, "ms", 0);
  conf->phase = g_strcmp0 (json_object_get_string_member_with_default (config, "phase", "access"), "rewrite") == 0
                  ? PORTICO_PHASE_REWRITE
                  : PORTICO_PHASE_ACCESS;
  return conf;
}

guint
blocking_io_wait (const BlockingIoConf *conf)
{
  gint64 start = g_get_monotonic_time ();
  /* g_usleep sleeps again after a signal, so the whole wait is served:
   * nothing else runs on this thread meanwhile, which is the point. */
  if (conf->ms > 0)
    g_usleep ((gulong) conf->ms * 1000);
  return (guint) ((g_get_monotonic_time () - start) / 1000);
}
