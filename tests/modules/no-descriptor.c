/* no-descriptor: a shared object that is not a Portico module. */
#include <gmodule.h>

G_MODULE_EXPORT int portico_not_a_module (void);

G_MODULE_EXPORT int
portico_not_a_module (void)
{
  return 42;
}
