/* acl-logic.h: which consumers an allow or deny list lets through, decided
 * once per consumer when the plugin is configured. No request here. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _AclRule AclRule;

/* An allow list (@deny FALSE) or a deny list of group names. */
AclRule *acl_rule_new (const char *const *groups, gboolean deny);
void acl_rule_free (AclRule *rule);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AclRule, acl_rule_free)

typedef enum {
  ACL_ALLOWED = 0,
  ACL_FORBIDDEN, /* 403 "You cannot consume this service" */
  ACL_NO_GROUPS, /* an allow list and a consumer in no group: Kong answers 403, or 401 if anonymous */
} AclDecision;

typedef struct {
  AclDecision decision;
  char *groups_header; /* ACL_ALLOWED: the consumer's groups, ", "-separated (X-Consumer-Groups) */
} AclVerdict;

/* The groups of a consumer's configuration entry ("acls": [{"group": ...}]),
 * in order; an empty vector when none. */
char **acl_consumer_groups (JsonObject *entry);

/* Whether @rule lets a consumer of @groups through. */
AclDecision acl_rule_decide (const AclRule *rule, const char *const *groups);

/* The verdict on one consumer entry. */
AclVerdict *acl_verdict_new (const AclRule *rule, JsonObject *entry);
void acl_verdict_free (gpointer verdict);

G_END_DECLS
