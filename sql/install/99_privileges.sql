
/*
 * Belt and braces: whatever the fragments above created, PUBLIC may execute
 * none of it.  (Functions are executable by PUBLIC by default.)
 */
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA cache_ext FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA cache_ext FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA cache_ext FROM PUBLIC;
