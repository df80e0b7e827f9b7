/*-------------------------------------------------------------------------
 *
 * transaction.c
 *	  Running a step of work in a transaction of its own, so that its ERROR
 *	  is reported and survived instead of failing what runs it
 *	  (transaction.h): a subtransaction inside a transaction (a fallback
 *	  hook, picking up the effects at COMMIT PREPARED), or a whole
 *	  transaction in a background worker.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "access/xact.h"
#include "pgstat.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "transaction.h"

/*
 * Run step(arg) in an internal subtransaction.  On ERROR, roll the
 * subtransaction back and return the error's message (palloc'd in the
 * caller's memory context); NULL on success.  For work whose failure must
 * not fail the surrounding transaction.
 */
char *
RunInSubtransaction(void (*step) (void *), void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	char	   *volatile error = NULL;

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		step(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		error = pstrdup(edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return error;
}

/*
 * Run fn in a transaction; an ERROR is logged, not fatal.  Returns whether
 * it succeeded.
 */
bool
RunInTransaction(void (*fn) (void *), void *arg, const char *what)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool ok = true;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, what);
	PG_TRY();
	{
		fn(arg);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	pgstat_report_activity(STATE_IDLE, NULL);
	return ok;
}
