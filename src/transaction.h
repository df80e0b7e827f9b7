/*-------------------------------------------------------------------------
 *
 * transaction.h
 *	  Running a step of work in a transaction of its own (transaction.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_TRANSACTION_H
#define CACHE_EXT_TRANSACTION_H

/*
 * Run step(arg) in an internal subtransaction of the current transaction.
 * On ERROR, roll the subtransaction back and return the error's message
 * (palloc'd in the caller's memory context); NULL on success.
 */
extern char *RunInSubtransaction(void (*step) (void *), void *arg);

/*
 * In a background worker outside any transaction: run fn(arg) in a
 * transaction with a snapshot, reported as 'what' in pg_stat_activity.
 * An ERROR is logged and the transaction aborted; returns whether fn
 * succeeded.
 */
extern bool RunInTransaction(void (*fn) (void *), void *arg, const char *what);

#endif							/* CACHE_EXT_TRANSACTION_H */
