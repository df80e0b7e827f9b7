/*-------------------------------------------------------------------------
 *
 * roles.h
 *	  Who may do what: the operator role cache_ext_admin (created by the
 *	  install script, sql/install/01_roles.sql).  Admin-only SQL functions
 *	  check their caller here, inside the function, so that an install whose
 *	  application role was granted EXECUTE on every function (what the 0.1
 *	  README recommended) still refuses it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_ROLES_H
#define CACHE_EXT_ROLES_H

#define CACHE_EXT_ADMIN_ROLE	"cache_ext_admin"
#define CACHE_EXT_APP_ROLE		"cache_ext_app"

/* Is the current user a superuser or a member (with privileges) of cache_ext_admin? */
extern bool CacheExtAdminUser(void);

/*
 * ERROR unless CacheExtAdminUser(); 'action' completes "permission denied
 * to ...", e.g. "reset cache_ext statistics".
 */
extern void RequireCacheExtAdmin(const char *action);

#endif							/* CACHE_EXT_ROLES_H */
