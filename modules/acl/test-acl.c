/* test-acl.c: allow and deny lists against consumers' groups (no sockets,
 * no gateway). */
#include "acl-logic.h"

static JsonObject *
entry_from (const char *json, JsonParser *parser)
{
  g_autoptr (GError) error = NULL;
  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

static void
test_consumer_groups (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_auto (GStrv) groups = acl_consumer_groups (
    entry_from ("{\"username\":\"a\",\"acls\":[{\"group\":\"admins\"},{\"group\":\"ops\",\"tags\":[]}]}", parser));
  g_assert_cmpuint (g_strv_length (groups), ==, 2);
  g_assert_cmpstr (groups[0], ==, "admins");
  g_assert_cmpstr (groups[1], ==, "ops");

  g_auto (GStrv) none = acl_consumer_groups (entry_from ("{\"username\":\"b\"}", parser));
  g_assert_cmpuint (g_strv_length (none), ==, 0);
  g_auto (GStrv) empty = acl_consumer_groups (entry_from ("{\"username\":\"c\",\"acls\":[]}", parser));
  g_assert_cmpuint (g_strv_length (empty), ==, 0);
}

static void
test_allow (void)
{
  g_test_summary ("An allow list lets in a consumer in any listed group; one in no listed group "
                  "is forbidden, one in no group at all is told apart (Kong answers 401 if anonymous).");
  const char *const list[] = { "admins", "ops", NULL };
  g_autoptr (AclRule) rule = acl_rule_new (list, FALSE);
  g_assert_cmpint (acl_rule_decide (rule, (const char *const[]){ "ops", NULL }), ==, ACL_ALLOWED);
  g_assert_cmpint (acl_rule_decide (rule, (const char *const[]){ "users", "admins", NULL }), ==, ACL_ALLOWED);
  g_assert_cmpint (acl_rule_decide (rule, (const char *const[]){ "users", NULL }), ==, ACL_FORBIDDEN);
  g_assert_cmpint (acl_rule_decide (rule, (const char *const[]){ NULL }), ==, ACL_NO_GROUPS);
  /* Names match exactly: case and whitespace count. */
  g_assert_cmpint (acl_rule_decide (rule, (const char *const[]){ "Admins", " ops", NULL }), ==, ACL_FORBIDDEN);
}

static void
test_deny (void)
{
  g_test_summary ("A deny list keeps out a consumer in any listed group and lets in all others, "
                  "including one in no group.");
  const char *const list[] = { "banned", NULL };
  g_autoptr (AclRule) rule = acl_rule_new (list, TRUE);
  g_assert_cmpint (acl_rule_decide (rule, (const char *const[]){ "users", "banned", NULL }), ==, ACL_FORBIDDEN);
  g_assert_cmpint (acl_rule_decide (rule, (const char *const[]){ "users", NULL }), ==, ACL_ALLOWED);
  g_assert_cmpint (acl_rule_decide (rule, (const char *const[]){ NULL }), ==, ACL_ALLOWED);
}

static void
test_verdict_header (void)
{
  g_test_summary ("An allowed consumer's X-Consumer-Groups lists all its groups in order, "
                  "\", \"-separated; a refused one gets none.");
  g_autoptr (JsonParser) parser = json_parser_new ();
  const char *const list[] = { "ops", NULL };
  g_autoptr (AclRule) rule = acl_rule_new (list, FALSE);

  AclVerdict *v = acl_verdict_new (
    rule, entry_from ("{\"acls\":[{\"group\":\"users\"},{\"group\":\"ops\"},{\"group\":\"x y\"}]}", parser));
  g_assert_cmpint (v->decision, ==, ACL_ALLOWED);
  g_assert_cmpstr (v->groups_header, ==, "users, ops, x y");
  acl_verdict_free (v);

  v = acl_verdict_new (rule, entry_from ("{\"acls\":[{\"group\":\"users\"}]}", parser));
  g_assert_cmpint (v->decision, ==, ACL_FORBIDDEN);
  g_assert_null (v->groups_header);
  acl_verdict_free (v);

  const char *const banned[] = { "banned", NULL };
  g_autoptr (AclRule) deny = acl_rule_new (banned, TRUE);
  v = acl_verdict_new (deny, entry_from ("{\"username\":\"nobody\"}", parser));
  g_assert_cmpint (v->decision, ==, ACL_ALLOWED);
  g_assert_cmpstr (v->groups_header, ==, "");
  acl_verdict_free (v);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/modules/acl/consumer-groups", test_consumer_groups);
  g_test_add_func ("/modules/acl/allow", test_allow);
  g_test_add_func ("/modules/acl/deny", test_deny);
  g_test_add_func ("/modules/acl/verdict-header", test_verdict_header);
  return g_test_run ();
}
