/*-------------------------------------------------------------------------
 *
 * prepared.c
 *	  Cache effects of prepared transactions (two-phase commit).
 *
 *	  PREPARE TRANSACTION cannot deliver (the transaction may still roll
 *	  back) and cannot keep its effects in memory (it may be committed by
 *	  another session, or after a restart), so PreparedStore stores
 *	  them as one row of cache_ext.prepared_effects, written by the prepared
 *	  transaction itself: the row becomes visible if and only if it commits.
 *	  COMMIT PREPARED is caught by a ProcessUtility hook, which moves the
 *	  committed rows into the pending set of the (implicit) transaction
 *	  running it, so they are delivered when it commits; the background
 *	  worker's sweep and cache_ext.deliver_prepared() pick up whatever that
 *	  missed.  The table is read and written with its owner's rights.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "delivery.h"
#include "effects.h"
#include "members.h"
#include "pending.h"
#include "prepared.h"
#include "relations.h"
#include "roles.h"
#include "stats.h"
#include "transaction.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * The extension's table of prepared effects: never a look-alike table in a
 * database without the extension, whose rows would be delivered as they
 * are, key prefix or not (members.h).
 */
static Oid
prepared_effects_relid(bool missing_ok)
{
	Oid			relid = MembersRelation("prepared_effects");

	if (!OidIsValid(relid) && !missing_ok)
	{
		(void) MembersExtension(false, "deliver the effects of prepared transactions");
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table cache_ext.prepared_effects does not exist"),
				 errhint("Run ALTER EXTENSION cache_ext UPDATE.")));
	}
	return relid;
}

void
PreparedStore(char *batch, Size batchlen, int nrecords)
{
	Oid			relid = prepared_effects_relid(false);
	Oid			save_userid;
	int			save_sec;
	bytea	   *data;
	Datum		values[2];
	Oid			types[2] = {BYTEAOID, INT4OID};
	int			rc;

	data = (bytea *) palloc(VARHDRSZ + batchlen);
	SET_VARSIZE(data, VARHDRSZ + batchlen);
	memcpy(VARDATA(data), batch, batchlen);
	values[0] = PointerGetDatum(data);
	values[1] = Int32GetDatum(nrecords);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(RelationsOwner(relid),
						   save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	/* PREPARE TRANSACTION runs without a snapshot. */
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	rc = SPI_execute_with_args("INSERT INTO cache_ext.prepared_effects (effects, neffects) "
							   "VALUES ($1, $2)",
							   2, types, values, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "cache_ext: could not store the effects of the prepared transaction: %s",
			 SPI_result_code_string(rc));
	SPI_finish();
	PopActiveSnapshot();
	SetUserIdAndSecContext(save_userid, save_sec);
	StatsAdd(STAT_PREPARED, nrecords);
}

int64
PreparedDeliver(bool missing_ok)
{
	Oid			relid = prepared_effects_relid(missing_ok);
	Oid			save_userid;
	int			save_sec;
	int			rc;
	uint64		i;
	int64		total = 0;
	bool		pushed;

	if (!OidIsValid(relid))
		return 0;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(RelationsOwner(relid),
						   save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	/* COMMIT PREPARED (a utility statement) runs without a snapshot. */
	pushed = !ActiveSnapshotSet();
	if (pushed)
		PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	rc = SPI_execute("DELETE FROM cache_ext.prepared_effects RETURNING effects",
					 false, 0);
	/* other transactions' effects: not held to this one's limit */
	if (SPI_processed > 0)
		PendingExemptFromLimit();
	if (rc != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "cache_ext: could not read cache_ext.prepared_effects: %s",
			 SPI_result_code_string(rc));
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i],
									  SPI_tuptable->tupdesc, 1, &isnull);
		bytea	   *data;
		char	   *buf;
		Size		len;
		EffectRecord **recs;
		int			n,
					j;

		if (isnull)
			continue;
		data = DatumGetByteaPP(d);

		/*
		 * The bytes start 1 or 4 bytes into the tuple (the varlena header):
		 * copy them to a MAXALIGN'd buffer before reading records in place.
		 */
		len = VARSIZE_ANY_EXHDR(data);
		buf = palloc(Max(len, 1));
		memcpy(buf, VARDATA_ANY(data), len);
		n = EffectRecordsSplit(buf, len, &recs);
		for (j = 0; j < n; j++)
			PendingAdd((EffectKind) recs[j]->kind, EffectKey(recs[j]),
					   recs[j]->keylen, EffectValue(recs[j]), recs[j]->vallen);
		total += n;
		pfree(recs);
		pfree(buf);
	}
	SPI_finish();
	if (pushed)
		PopActiveSnapshot();
	SetUserIdAndSecContext(save_userid, save_sec);
	return total;
}

/*
 * COMMIT PREPARED: the prepared transaction's effects became visible; move
 * them into this (implicit) transaction so they are delivered when it
 * commits, with read-your-writes.  A failure here must not make COMMIT
 * PREPARED look failed: it is caught, and the rows stay for the worker or
 * cache_ext.deliver_prepared().
 */
static void
deliver_prepared_step(void *arg)
{
	(void) PreparedDeliver(true);
}

static void
delivery_process_utility(PlannedStmt *pstmt, const char *queryString,
						 bool readOnlyTree, ProcessUtilityContext context,
						 ParamListInfo params, QueryEnvironment *queryEnv,
						 DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	bool		commit_prepared = IsA(parsetree, TransactionStmt) &&
		((TransactionStmt *) parsetree)->kind == TRANS_STMT_COMMIT_PREPARED;

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);

	if (commit_prepared && IsTransactionState())
	{
		char	   *error = RunInSubtransaction(deliver_prepared_step, NULL);

		if (error != NULL)
			ereport(WARNING,
					(errmsg("cache_ext could not pick up the effects of the committed prepared transaction: %s",
							error),
					 errdetail("They stay in cache_ext.prepared_effects until the background worker or SELECT cache_ext.deliver_prepared(); delivers them.")));
	}
}

/* ------------------------------------------------------------ SQL level */

PG_FUNCTION_INFO_V1(cache_ext_deliver_prepared);
Datum
cache_ext_deliver_prepared(PG_FUNCTION_ARGS)
{
	RequireCacheExtAdmin("deliver the effects of prepared transactions");
	PG_RETURN_INT64(PreparedDeliver(false));
}

/* Catch COMMIT PREPARED (_PG_init). */
void
PreparedInit(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = delivery_process_utility;
}
