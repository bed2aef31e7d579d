/* acl.c: Kong's acl plugin. Lets the request's consumer through according
 * to the groups of its "acls" and an allow or a deny list. An auth plugin
 * (higher priority) must have set the consumer. The verdict on every
 * consumer is computed in configure: a request costs one lookup. */
#include "pdk/portico.h"
#include "acl-logic.h"

typedef struct {
  gboolean hide_groups_header;
  AclRule *rule;
  GHashTable *verdicts; /* consumer id -> AclVerdict */
} AclConf;

static const PorticoSchemaField acl_schema[] = {
  { .name = "allow", .type = PORTICO_FIELD_STRING_ARRAY,
    .description = "groups allowed in (set this or deny, not both)" },
  { .name = "deny", .type = PORTICO_FIELD_STRING_ARRAY,
    .description = "groups kept out (set this or allow, not both)" },
  { .name = "hide_groups_header", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "do not send X-Consumer-Groups to the upstream" },
  { .name = "always_use_authenticated_groups", .type = PORTICO_FIELD_BOOLEAN, .default_json = "false",
    .description = "prefer groups an auth plugin authenticated (no Portico module sets any yet)" },
  { NULL },
};

static GQuark
acl_error_quark (void)
{
  return g_quark_from_static_string ("portico-acl-error");
}

static void
acl_free_config (gpointer data)
{
  AclConf *conf = data;
  if (conf == NULL)
    return;
  acl_rule_free (conf->rule);
  g_clear_pointer (&conf->verdicts, g_hash_table_unref);
  g_free (conf);
}

/* The strings of array @name, NULL when absent, null or empty. */
static char **
acl_read_groups (JsonObject *config, const char *name)
{
  JsonArray *array = json_object_has_member (config, name) ? json_object_get_array_member (config, name) : NULL;
  guint n = array != NULL ? json_array_get_length (array) : 0;
  if (n == 0)
    return NULL;
  char **groups = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    groups[i] = g_strdup (json_array_get_string_element (array, i));
  return groups;
}

static gpointer
acl_configure (JsonObject *config, const PorticoGateway *gateway, GError **error)
{
  g_auto (GStrv) allow = acl_read_groups (config, "allow");
  g_auto (GStrv) deny = acl_read_groups (config, "deny");
  if ((allow == NULL) == (deny == NULL))
    {
      g_set_error_literal (error, acl_error_quark (), 0,
                           allow != NULL ? "allow, deny: set only one of them"
                                         : "allow, deny: one of them must list at least one group");
      return NULL;
    }

  AclConf *conf = g_new0 (AclConf, 1);
  conf->hide_groups_header = json_object_get_boolean_member_with_default (config, "hide_groups_header", FALSE);
  conf->rule = acl_rule_new ((const char *const *) (allow != NULL ? allow : deny), deny != NULL);
  conf->verdicts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, acl_verdict_free);
  for (guint c = 0; gateway != NULL && c < portico_gateway_n_consumers (gateway); c++)
    {
      const PorticoConsumer *consumer = portico_gateway_consumer (gateway, c);
      g_hash_table_replace (conf->verdicts, g_strdup (portico_consumer_get_id (consumer)),
                            acl_verdict_new (conf->rule, portico_consumer_get_entry (consumer)));
    }
  return conf;
}

static PorticoResult
acl_access (PorticoRequest *r, gpointer data)
{
  const AclConf *conf = data;
  const PorticoConsumer *consumer = portico_request_get_consumer (r);
  if (consumer == NULL)
    {
      portico_response_exit_message (r, 401, "Unauthorized");
      return PORTICO_RESPOND;
    }

  const AclVerdict *verdict = g_hash_table_lookup (conf->verdicts, portico_consumer_get_id (consumer));
  AclVerdict *computed = NULL;
  if (verdict == NULL) /* a consumer configure did not see: decide now */
    verdict = computed = acl_verdict_new (conf->rule, portico_consumer_get_entry (consumer));

  PorticoResult result = PORTICO_CONTINUE;
  switch (verdict->decision)
    {
    case ACL_ALLOWED:
      if (!conf->hide_groups_header)
        portico_request_set_header (r, "X-Consumer-Groups", verdict->groups_header);
      break;
    case ACL_NO_GROUPS:
      /* Kong: an anonymous consumer without groups was never really
       * authenticated. */
      if (portico_request_get_credential (r) == NULL)
        {
          portico_response_exit_message (r, 401, "Unauthorized");
          result = PORTICO_RESPOND;
          break;
        }
      G_GNUC_FALLTHROUGH;
    case ACL_FORBIDDEN:
      portico_response_exit_message (r, 403, "You cannot consume this service");
      result = PORTICO_RESPOND;
      break;
    }
  g_clear_pointer (&computed, acl_verdict_free);
  return result;
}

G_MODULE_EXPORT const PorticoModule portico_module = {
  .abi_version = PORTICO_MODULE_ABI_VERSION,
  .name = "acl",
  .version = "1.0.0",
  .priority = 950,
  .schema = acl_schema,
  .configure = acl_configure,
  .free_config = acl_free_config,
  .access = acl_access,
};
