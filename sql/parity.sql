--
-- parity: the 27 cache usages the application's own suite validated,
-- replayed through the SQL API against a real Redis.
--
-- Access-token caching
-- 1. cache a token with a TTL
SELECT cache_ext.set('access_token:svc', 'tok-123', 3600);
-- 2. read it back
SELECT cache_ext.get('access_token:svc');
-- 3. its expiry timestamp is about an hour away
SELECT now() + make_interval(secs => cache_ext.ttl('access_token:svc'))
       BETWEEN now() + interval '59 minutes' AND now() + interval '61 minutes' AS expires_in_an_hour;
-- 4. a second token with its own TTL
SELECT cache_ext.set('access_token:svc:expires_at', '2026-11-21T12:00:00Z', 3600);
-- 5. reset both in one round trip
SELECT cache_ext.delete_many(ARRAY['access_token:svc', 'access_token:svc:expires_at']);
-- 6. gone
SELECT cache_ext.get('access_token:svc') IS NULL AS token_gone;
-- Cron locks
-- 7. enqueue lock taken
SELECT cache_ext.lock_acquire('cron:full_backup:enqueue_lock', 300) AS enqueue_token \gset
SELECT :'enqueue_token' <> '' AS enqueue_locked;
-- 8. duplicate acquisition refused
SELECT cache_ext.lock_acquire('cron:full_backup:enqueue_lock', 300) IS NULL AS duplicate_refused;
-- 9. run lock taken independently
SELECT cache_ext.lock_acquire('cron:full_backup:run_lock', 3600) AS run_token \gset
-- 10. release with a wrong token refused
SELECT cache_ext.lock_release('cron:full_backup:run_lock', :'enqueue_token') AS wrong_token_released;
-- 11. release with the right token
SELECT cache_ext.lock_release('cron:full_backup:enqueue_lock', :'enqueue_token') AS released;
-- 12. acquirable again after release
SELECT cache_ext.lock_acquire('cron:full_backup:enqueue_lock', 300) IS NOT NULL AS reacquired;
-- 13. the clear_cache family of locks
SELECT cache_ext.lock_acquire('cron:clear_cache:' || job, 60) IS NOT NULL AS locked
FROM unnest(ARRAY['daily', 'hourly', 'sessions']) AS job;
-- 14. each refuses a second holder
SELECT bool_and(cache_ext.lock_acquire('cron:clear_cache:' || job, 60) IS NULL) AS all_refused
FROM unnest(ARRAY['daily', 'hourly', 'sessions']) AS job;
-- 15. lock TTL is bounded
SELECT cache_ext.ttl('cron:clear_cache:daily') BETWEEN 1 AND 60 AS lock_expires;
-- 16. reset all cron locks
SELECT cache_ext.delete_many(ARRAY['cron:full_backup:enqueue_lock', 'cron:full_backup:run_lock',
       'cron:clear_cache:daily', 'cron:clear_cache:hourly', 'cron:clear_cache:sessions']);
-- Invoice sequence
-- 17. prime from the database maximum when missing
SELECT cache_ext.add('invoice_seq:2026', '41');
-- 18. priming again does not overwrite
SELECT cache_ext.add('invoice_seq:2026', '7');
-- 19. next number
SELECT cache_ext.incr('invoice_seq:2026');
-- 20. read the counter
SELECT cache_ext.get('invoice_seq:2026');
-- 21. sync after a manual save of invoice 50: raise, never lower
SELECT cache_ext.set('invoice_seq:2026', '50')
WHERE cache_ext.get('invoice_seq:2026')::bigint < 50;
SELECT cache_ext.incr('invoice_seq:2026');
-- Stream cursors
-- 22. initial cursors are 0
SELECT cache_ext.cursor_get('calendar_reminders'), cache_ext.cursor_get('workflow_notifications');
-- 23. bump with an event
SELECT cache_ext.cursor_bump('calendar_reminders', '{"reminder_id": 17, "user_id": 4}');
SELECT cache_ext.cursor_bump('workflow_notifications', '{"workflow": "approve", "step": 2}');
-- 24. the last event is stored with the bump
SELECT cache_ext.cursor_last_event('calendar_reminders');
-- 25. cursors persist across sessions
\c
SELECT cache_ext.cursor_get('calendar_reminders'), cache_ext.cursor_get('workflow_notifications');
SELECT cache_ext.cursor_last_event('workflow_notifications');
-- 26. reset
SELECT cache_ext.cursor_reset('calendar_reminders');
SELECT cache_ext.cursor_reset('workflow_notifications');
-- 27. back to 0, no event
SELECT cache_ext.cursor_get('calendar_reminders'), cache_ext.cursor_last_event('calendar_reminders');
