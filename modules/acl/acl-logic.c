/* acl-logic.c: allow and deny lists (see acl-logic.h). */
#include "acl-logic.h"

struct _AclRule {
  gboolean deny;
  GHashTable *groups; /* a set of group names */
};

AclRule *
acl_rule_new (const char *const *groups, gboolean deny)
{
  AclRule *rule = g_new0 (AclRule, 1);
  rule->deny = deny;
  rule->groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; groups != NULL && groups[i] != NULL; i++)
    g_hash_table_add (rule->groups, g_strdup (groups[i]));
  return rule;
}

void
acl_rule_free (AclRule *rule)
{
  if (rule == NULL)
    return;
  g_hash_table_unref (rule->groups);
  g_free (rule);
}

char **
acl_consumer_groups (JsonObject *entry)
{
  GPtrArray *groups = g_ptr_array_new ();
  JsonArray *acls = entry != NULL && json_object_has_member (entry, "acls")
                      ? json_object_get_array_member (entry, "acls") : NULL;
  for (guint i = 0; acls != NULL && i < json_array_get_length (acls); i++)
    {
      JsonObject *acl = json_array_get_object_element (acls, i);
      const char *group = acl != NULL ? json_object_get_string_member_with_default (acl, "group", NULL) : NULL;
      if (group != NULL)
        g_ptr_array_add (groups, g_strdup (group));
    }
  g_ptr_array_add (groups, NULL);
  return (char **) g_ptr_array_free (groups, FALSE);
}

AclDecision
acl_rule_decide (const AclRule *rule, const char *const *groups)
{
  gboolean listed = FALSE;
  for (guint i = 0; groups[i] != NULL && !listed; i++)
    listed = g_hash_table_contains (rule->groups, groups[i]);
  if (rule->deny)
    return listed ? ACL_FORBIDDEN : ACL_ALLOWED;
  if (groups[0] == NULL)
    return ACL_NO_GROUPS;
  return listed ? ACL_ALLOWED : ACL_FORBIDDEN;
}

AclVerdict *
acl_verdict_new (const AclRule *rule, JsonObject *entry)
{
  g_auto (GStrv) groups = acl_consumer_groups (entry);
  AclVerdict *verdict = g_new0 (AclVerdict, 1);
  verdict->decision = acl_rule_decide (rule, (const char *const *) groups);
  if (verdict->decision == ACL_ALLOWED)
    verdict->groups_header = g_strjoinv (", ", groups);
  return verdict;
}

void
acl_verdict_free (gpointer data)
{
  AclVerdict *verdict = data;
  g_free (verdict->groups_header);
  g_free (verdict);
}
