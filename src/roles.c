/*-------------------------------------------------------------------------
 *
 * roles.c
 *	  The admin check of roles.h: superuser, or privileges of the role
 *	  cache_ext_admin.  The role is looked up by name at every call (a
 *	  syscache hit), so a role dropped and re-created is found again; when
 *	  it does not exist only superusers pass.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "utils/acl.h"

#include "roles.h"

bool
CacheExtAdminUser(void)
{
	Oid			admin;

	if (superuser())
		return true;
	admin = get_role_oid(CACHE_EXT_ADMIN_ROLE, true);
	return OidIsValid(admin) && has_privs_of_role(GetUserId(), admin);
}

void
RequireCacheExtAdmin(const char *action)
{
	if (CacheExtAdminUser())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s", action),
			 errdetail("Only superusers and roles with privileges of the \"%s\" role may %s.",
					   CACHE_EXT_ADMIN_ROLE, action),
			 errhint("A superuser can run GRANT %s TO the role that needs it.",
					 CACHE_EXT_ADMIN_ROLE)));
}
