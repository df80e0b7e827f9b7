/*-------------------------------------------------------------------------
 *
 * pending.c
 *	  The per-transaction set of cache effects (pending.h), the
 *	  transaction callbacks that hand it to delivery (delivery.h), and two
 *	  SQL doors for tests and debugging: cache_ext.pending_effects() and
 *	  the unbound cache_ext_debug_add_effect().
 *
 *	  The set is a dynahash keyed by (kind, full Redis key), its entries
 *	  also on a list in the order they were created (what serializing and
 *	  emptying walk, instead of every bucket).  The keys, values and undo
 *	  records live in PendingContext, a child of TopMemoryContext that is
 *	  reset at the end of every transaction.  The table itself is kept from
 *	  one transaction to the next, emptied entry by entry, because creating
 *	  one cost more than the rest of a one-row transaction's effects; one
 *	  that grew beyond PENDING_KEEP_ENTRIES is destroyed instead, so a
 *	  backend's memory stays flat however many transactions it runs, and a
 *	  1,000,000-row UPDATE touching 10,000 keys holds 10,000 entries.
 *
 *	  Savepoints: every entry remembers the nesting level that last changed
 *	  it; a change made at a deeper level than the entry's pushes an undo
 *	  record (created, or the previous value and level).  Undo records form a
 *	  stack ordered by level, so rolling back to a savepoint pops the records
 *	  of that level and deeper (dropping the entries they created, restoring
 *	  the values they replaced), and releasing a savepoint relabels its
 *	  records to the parent level.  Both cost what the subtransaction did, not
 *	  the size of the set.
 *
 *	  Commit: XACT_EVENT_PRE_COMMIT serializes the set and lets delivery
 *	  build its commands (errors there abort the transaction, which is
 *	  fine); XACT_EVENT_COMMIT only notes the time; the resource-release
 *	  callback at RESOURCE_RELEASE_AFTER_LOCKS, when the commit is visible
 *	  and the row locks are gone but the client has not heard COMMIT yet,
 *	  delivers.  PREPARE TRANSACTION stores the set instead (prepared.c).
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "lib/ilist.h"
#include "utils/hsearch.h"
#include "utils/resowner.h"

#include "delivery.h"
#include "effects.h"
#include "keys.h"
#include "pending.h"
#include "prepared.h"

/* The hash key: points into the entry's own copy once inserted. */
typedef struct PendingKey
{
	EffectKind kind;
	uint32		len;
	const char *key;
} PendingKey;

typedef struct PendingEntry
{
	PendingKey	key;			/* must be first */
	dlist_node	node;			/* in pending_entries */
	int			level;			/* nesting level of the latest change */
	char	   *value;			/* SET: the value; RAISE: decimal text */
	uint32		vallen;
	int64		number;			/* RAISE */
} PendingEntry;

typedef struct PendingUndo
{
	PendingEntry *entry;
	int			level;			/* level of the change it undoes */
	bool		created;		/* the change created the entry */
	int			old_level;
	char	   *old_value;
	uint32		old_vallen;
	int64		old_number;
} PendingUndo;

typedef enum PendingState
{
	PSTATE_OPEN,				/* effects may be added */
	PSTATE_BUILT,				/* serialized at pre-commit */
	PSTATE_COMMITTED,			/* commit is durable; deliver at release */
	PSTATE_PREPARED				/* stored with PREPARE TRANSACTION */
} PendingState;

/* An emptied table that held more entries than this is not kept. */
#define PENDING_KEEP_ENTRIES	1024

static MemoryContext PendingContext = NULL;
static MemoryContext PendingHashContext = NULL;	/* the table, across
												 * transactions */
static HTAB *pending_hash = NULL;
static dlist_head pending_entries = DLIST_STATIC_INIT(pending_entries);
static int	pending_count = 0;
static int	pending_peak = 0;	/* most entries the table held */
static bool pending_used = false;	/* an effect was added: reset at end */
static PendingUndo *undo_stack = NULL;
static int	undo_len = 0;
static int	undo_cap = 0;
static PendingState pending_state = PSTATE_OPEN;
static bool delivery_armed = false;
static bool pending_limit_exempt = false;	/* PendingExemptFromLimit */

static void pending_xact_callback(XactEvent event, void *arg);
static void pending_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
									 SubTransactionId parentSubid, void *arg);
static void pending_release_callback(ResourceReleasePhase phase, bool isCommit,
									 bool isTopLevel, void *arg);

static uint32
pending_key_hash(const void *key, Size keysize)
{
	const PendingKey *k = (const PendingKey *) key;

	return hash_bytes((const unsigned char *) k->key, k->len) ^ (uint32) k->kind;
}

static int
pending_key_match(const void *key1, const void *key2, Size keysize)
{
	const PendingKey *a = (const PendingKey *) key1;
	const PendingKey *b = (const PendingKey *) key2;

	if (a->kind != b->kind || a->len != b->len)
		return 1;
	return memcmp(a->key, b->key, a->len);
}

void
PendingInit(void)
{
	PendingContext = AllocSetContextCreate(TopMemoryContext,
										   "cache_ext pending effects",
										   ALLOCSET_DEFAULT_SIZES);
	PendingHashContext = AllocSetContextCreate(TopMemoryContext,
											   "cache_ext pending set",
											   ALLOCSET_DEFAULT_SIZES);
	RegisterXactCallback(pending_xact_callback, NULL);
	RegisterSubXactCallback(pending_subxact_callback, NULL);
	RegisterResourceReleaseCallback(pending_release_callback, NULL);
}

/*
 * Empty the table for the next transaction: entry by entry when it stayed
 * small, else by destroying it.  Never raises (HASH_REMOVE does not
 * allocate): runs at commit and abort.
 */
static void
pending_empty_table(void)
{
	dlist_mutable_iter iter;

	if (pending_hash == NULL)
		return;
	if (pending_peak > PENDING_KEEP_ENTRIES)
	{
		hash_destroy(pending_hash);
		pending_hash = NULL;
		MemoryContextReset(PendingHashContext);
	}
	else
	{
		dlist_foreach_modify(iter, &pending_entries)
		{
			PendingEntry *entry = dlist_container(PendingEntry, node, iter.cur);

			(void) hash_search(pending_hash, &entry->key, HASH_REMOVE, NULL);
		}
	}
	dlist_init(&pending_entries);
	pending_peak = 0;
}

/* Forget everything about the current transaction. */
static void
pending_reset(void)
{
	pending_empty_table();
	pending_used = false;
	pending_count = 0;
	undo_stack = NULL;
	undo_len = undo_cap = 0;
	pending_state = PSTATE_OPEN;
	delivery_armed = false;
	pending_limit_exempt = false;
	MemoryContextReset(PendingContext);
	DeliveryReset();
}

/* Reserve space for one more undo record (may ERROR: call before changing). */
static void
reserve_undo(void)
{
	if (undo_len >= undo_cap)
	{
		int			newcap = undo_cap == 0 ? 64 : undo_cap * 2;

		if (undo_stack == NULL)
			undo_stack = MemoryContextAlloc(PendingContext,
											newcap * sizeof(PendingUndo));
		else
			undo_stack = repalloc(undo_stack, newcap * sizeof(PendingUndo));
		undo_cap = newcap;
	}
}

static void
push_undo(PendingEntry *entry, int level, bool created)
{
	PendingUndo *u;

	Assert(undo_len < undo_cap);
	u = &undo_stack[undo_len++];
	u->entry = entry;
	u->level = level;
	u->created = created;
	u->old_level = entry->level;
	u->old_value = entry->value;
	u->old_vallen = entry->vallen;
	u->old_number = entry->number;
}

/*
 * The common path of every PendingAdd*: find or create the entry of
 * (kind, key) and, when a value-carrying effect changes it at a deeper
 * level than its last change, remember how to undo that.  Returns the entry
 * and whether it was created.
 */
static PendingEntry *
pending_lookup(EffectKind kind, const char *key, size_t keylen,
			   bool changes_value, bool *created, bool *undo_pushed)
{
	PendingKey	k;
	PendingEntry *entry;
	bool		found;
	int			level;

	if (!IsTransactionState())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("cache_ext effects can only be added inside a transaction")));
	if (pending_state != PSTATE_OPEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("cannot add a cache_ext effect after the transaction's effects were prepared for commit"),
				 errdetail("An effect for key \"%.64s\" was added by code running after cache_ext's pre-commit callback.",
						   key ? key : "")));
	if (key == NULL || keylen == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cache_ext effect key must not be empty")));
	if (keylen > CACHE_EXT_MAX_FULL_KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cache_ext key is too long: %zu bytes", keylen),
				 errdetail("Keys of invalidations may be at most %d bytes.",
						   CACHE_EXT_MAX_FULL_KEY_LEN),
				 errhint("Use a shorter key template.")));

	if (pending_hash == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(PendingKey);
		ctl.entrysize = sizeof(PendingEntry);
		ctl.hash = pending_key_hash;
		ctl.match = pending_key_match;
		ctl.hcxt = PendingHashContext;
		pending_hash = hash_create("cache_ext pending set", 32, &ctl,
								   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE |
								   HASH_CONTEXT);
	}

	/*
	 * Whatever can fail happens before the set changes, so that an error
	 * caught by a savepoint never leaves a half-made entry behind.
	 */
	level = GetCurrentTransactionNestLevel();
	if (level > 1)
		reserve_undo();
	pending_used = true;

	k.kind = kind;
	k.len = (uint32) keylen;
	k.key = key;
	/* HASH_ENTER raises out-of-memory before changing the table. */
	entry = (PendingEntry *) hash_search(pending_hash, &k, HASH_ENTER, &found);
	*created = !found;
	*undo_pushed = false;
	if (!found)
	{
		char	   *copy;

		/* hash_search copied the pointer: give the entry its own bytes. */
		copy = MemoryContextAllocExtended(PendingContext, keylen + 1,
										  MCXT_ALLOC_NO_OOM);
		if (copy == NULL)
		{
			hash_search(pending_hash, &k, HASH_REMOVE, NULL);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory for cache_ext pending effects")));
		}
		memcpy(copy, key, keylen);
		copy[keylen] = '\0';
		entry->key.key = copy;
		entry->level = level;
		entry->value = NULL;
		entry->vallen = 0;
		entry->number = 0;
		dlist_push_tail(&pending_entries, &entry->node);
		pending_count++;
		pending_peak = Max(pending_peak, pending_count);
		if (level > 1)
			push_undo(entry, level, true);
	}
	else if (changes_value && entry->level < level)
	{
		push_undo(entry, level, false);
		entry->level = level;
		*undo_pushed = true;
	}
	return entry;
}

void
PendingAddBump(const char *key, size_t keylen)
{
	bool		created,
				undo;

	(void) pending_lookup(EFFECT_BUMP, key, keylen, false, &created, &undo);
}

void
PendingAddDelete(const char *key, size_t keylen)
{
	bool		created,
				undo;

	(void) pending_lookup(EFFECT_DELETE, key, keylen, false, &created, &undo);
}

void
PendingAddDeletePattern(const char *pattern, size_t patternlen)
{
	bool		created,
				undo;

	(void) pending_lookup(EFFECT_DELETE_PATTERN, pattern, patternlen, false,
						  &created, &undo);
}

void
PendingAddBumpPattern(const char *pattern, size_t patternlen)
{
	bool		created,
				undo;

	(void) pending_lookup(EFFECT_BUMP_PATTERN, pattern, patternlen, false,
						  &created, &undo);
}

void
PendingAddSet(const char *key, size_t keylen, const char *value, size_t valuelen)
{
	PendingEntry *entry;
	bool		created,
				undo;
	char	   *copy;

	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("cache_ext cannot set key \"%.64s\" to NULL", key ? key : ""),
				 errhint("Delete the key instead.")));
	if (valuelen > CACHE_EXT_MAX_VALUE_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cache_ext value for key \"%.64s\" is too long: %zu bytes",
						key ? key : "", valuelen),
				 errdetail("Values set after commit may be at most %d bytes.",
						   CACHE_EXT_MAX_VALUE_LEN)));

	copy = MemoryContextAlloc(PendingContext, valuelen + 1);
	memcpy(copy, value, valuelen);
	copy[valuelen] = '\0';
	entry = pending_lookup(EFFECT_SET, key, keylen, true, &created, &undo);

	/*
	 * The value being replaced is kept when an undo record refers to it;
	 * otherwise (set again at the same level: a bulk UPDATE setting the
	 * same mirror for many rows) it is freed, so memory does not grow with
	 * the number of rows.  No undo record can refer to the current value of
	 * an entry: records hold values that were replaced.
	 */
	if (!created && !undo && entry->value != NULL)
		pfree(entry->value);
	entry->value = copy;
	entry->vallen = (uint32) valuelen;
}

void
PendingAddRaise(const char *key, size_t keylen, int64 value)
{
	PendingEntry *entry;
	bool		created,
				undo;
	PendingKey	k;
	bool		found;

	/* Only a larger value changes anything: avoid undo records otherwise. */
	if (pending_hash != NULL && pending_state == PSTATE_OPEN &&
		key != NULL && keylen > 0 && keylen <= CACHE_EXT_MAX_FULL_KEY_LEN)
	{
		k.kind = EFFECT_RAISE;
		k.len = (uint32) keylen;
		k.key = key;
		entry = hash_search(pending_hash, &k, HASH_FIND, &found);
		if (entry != NULL && entry->number >= value)
			return;
	}

	{
		char		buf[32];
		int			len = snprintf(buf, sizeof(buf), INT64_FORMAT, value);
		char	   *copy = MemoryContextStrdup(PendingContext, buf);

		entry = pending_lookup(EFFECT_RAISE, key, keylen, true, &created, &undo);
		if (created || value > entry->number)
		{
			if (!created && !undo && entry->value != NULL)
				pfree(entry->value);
			entry->value = copy;
			entry->vallen = (uint32) len;
			entry->number = value;
		}
		else
			pfree(copy);
	}
}

/*
 * The one dispatch from a kind to its PendingAdd*: for effects that arrive
 * as records (prepared transactions) or by name (the test door below).
 * value: SET's value; RAISE's number as decimal text.
 */
void
PendingAdd(EffectKind kind, const char *key, size_t keylen,
		   const char *value, size_t vallen)
{
	switch (kind)
	{
		case EFFECT_BUMP:
			PendingAddBump(key, keylen);
			break;
		case EFFECT_DELETE:
			PendingAddDelete(key, keylen);
			break;
		case EFFECT_DELETE_PATTERN:
			PendingAddDeletePattern(key, keylen);
			break;
		case EFFECT_BUMP_PATTERN:
			PendingAddBumpPattern(key, keylen);
			break;
		case EFFECT_SET:
			PendingAddSet(key, keylen, value, vallen);
			break;
		case EFFECT_RAISE:
			if (value == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("raise needs a value")));
			PendingAddRaise(key, keylen, pg_strtoint64(pnstrdup(value, vallen)));
			break;
	}
}

int
PendingCount(void)
{
	return pending_count;
}

void
PendingExemptFromLimit(void)
{
	pending_limit_exempt = true;
}

/*
 * The per-transaction limit (pending.h), checked on the serialized set at
 * PRE_COMMIT or PRE_PREPARE, where an ERROR still aborts the transaction.
 */
static void
pending_check_limit(Size len, int nrecords)
{
	Size		limit;

	if (pending_limit_exempt)
		return;
	limit = DeliveryTransactionLimit();
	if (limit == 0 || len <= limit)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("cache effects of this transaction need %zu bytes, more than the %zu bytes one transaction may queue",
					(size_t) len, (size_t) limit),
			 errdetail("The transaction has %d distinct effects.  One transaction may use at most a quarter of cache_ext.queue_size, so that none can fill the delivery queue by itself and force a fallback invalidation of every namespace.",
					   nrecords),
			 errhint("Split the work into smaller transactions, invalidate a whole namespace with one pattern such as cache_ext.invalidate('catalog:*'), or raise cache_ext.queue_size.")));
}

/* Undo the changes made at nesting level >= level. */
static void
pending_rollback_to(int level)
{
	while (undo_len > 0 && undo_stack[undo_len - 1].level >= level)
	{
		PendingUndo *u = &undo_stack[--undo_len];

		if (u->created)
		{
			bool		found;

			dlist_delete(&u->entry->node);
			hash_search(pending_hash, &u->entry->key, HASH_REMOVE, &found);
			Assert(found);
			pending_count--;
		}
		else
		{
			u->entry->level = u->old_level;
			u->entry->value = u->old_value;
			u->entry->vallen = u->old_vallen;
			u->entry->number = u->old_number;
		}
	}
}

/* A subtransaction at level committed: its changes belong to its parent. */
static void
pending_release_level(int level)
{
	int			i;

	for (i = undo_len - 1; i >= 0 && undo_stack[i].level >= level; i--)
	{
		PendingUndo *u = &undo_stack[i];

		u->level = level - 1;
		if (u->entry->level >= level)
			u->entry->level = level - 1;
	}
	/* Nothing ever undoes changes of the top level. */
	if (level - 1 <= 1)
		undo_len = i + 1;
}

/*
 * Serialize the set: one contiguous buffer of EffectRecords, in
 * PendingContext.
 */
static char *
pending_serialize(Size *len, int *nrecords)
{
	dlist_iter	iter;
	Size		total = 0;
	char	   *buf;
	char	   *p;
	int			n = 0;

	*len = 0;
	*nrecords = 0;
	if (pending_count == 0)
		return NULL;

	dlist_foreach(iter, &pending_entries)
	{
		PendingEntry *entry = dlist_container(PendingEntry, node, iter.cur);

		total += EffectRecordSize(entry->key.len, entry->vallen);
	}

	buf = p = MemoryContextAllocHuge(PendingContext, total);
	dlist_foreach(iter, &pending_entries)
	{
		PendingEntry *entry = dlist_container(PendingEntry, node, iter.cur);
		EffectRecord *r = EffectRecordWrite(p, entry->key.kind,
											entry->key.key, entry->key.len,
											entry->value, entry->vallen);

		p += r->size;
		n++;
	}
	Assert(p == buf + total);
	*len = total;
	*nrecords = n;
	return buf;
}

/*
 * Serialize the set in PendingContext and hand it to its receiver: delivery
 * at PRE_COMMIT (DeliveryPreCommit), the prepared transaction's row at
 * PRE_PREPARE (PreparedStore).  Both may raise: the transaction then aborts.
 */
static void
pending_hand_over(void (*receiver) (char *batch, Size batchlen, int nrecords))
{
	MemoryContext old = MemoryContextSwitchTo(PendingContext);
	Size		len;
	int			n;
	char	   *batch = pending_serialize(&len, &n);

	pending_check_limit(len, n);
	receiver(batch, len, n);
	MemoryContextSwitchTo(old);
}

static void
pending_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (pending_count > 0 || DeliveryWanted())
			{
				pending_hand_over(DeliveryPreCommit);
				pending_state = PSTATE_BUILT;
			}
			break;

		case XACT_EVENT_COMMIT:
			/* Durable, locks still held, interrupts held: note the time. */
			if (pending_state == PSTATE_BUILT)
			{
				pending_state = PSTATE_COMMITTED;
				delivery_armed = true;
				DeliveryCommitted();
			}
			break;

		case XACT_EVENT_PRE_PREPARE:
			if (pending_count > 0)
				pending_hand_over(PreparedStore);
			pending_state = PSTATE_PREPARED;
			break;

		case XACT_EVENT_PREPARE:
		case XACT_EVENT_ABORT:
			pending_reset();
			break;

		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			break;
	}
}

static void
pending_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	int			level;

	if (undo_len == 0)
		return;
	level = GetCurrentTransactionNestLevel();
	if (event == SUBXACT_EVENT_ABORT_SUB)
		pending_rollback_to(level);
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		pending_release_level(level);
}

/*
 * Called for every resource owner of the tree in each phase; we act once,
 * at the first AFTER_LOCKS call of a top-level commit that armed us.  A
 * PREPARE also releases with isCommit = true, but never arms.
 */
static void
pending_release_callback(ResourceReleasePhase phase, bool isCommit,
						 bool isTopLevel, void *arg)
{
	if (phase != RESOURCE_RELEASE_AFTER_LOCKS || !isCommit || !isTopLevel)
		return;
	if (delivery_armed)
	{
		delivery_armed = false;
		DeliveryAfterCommit();
	}
	/* Also when every effect was rolled back to a savepoint. */
	if (pending_used || pending_state != PSTATE_OPEN)
		pending_reset();
}

/*
 * cache_ext_debug_add_effect(kind text, key text, value text): add an
 * effect exactly as a trigger would (the key gets cache_ext.key_prefix).
 * Not part of the installed SQL API; tests bind it with CREATE FUNCTION
 * (test/debug_effect.sql).
 */
PG_FUNCTION_INFO_V1(cache_ext_debug_add_effect);
Datum
cache_ext_debug_add_effect(PG_FUNCTION_ARGS)
{
	char	   *name;
	int			kind = -1;
	size_t		keylen;
	char	   *key;
	text	   *value;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("kind and key must not be NULL")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	for (int k = 0; k <= EFFECT_LAST_KIND; k++)
		if (strcmp(name, EffectKindName((EffectKind) k)) == 0)
			kind = k;
	if (kind == EFFECT_DELETE_PATTERN || kind == EFFECT_BUMP_PATTERN)
		key = KeyPatternWithPrefix(VARDATA_ANY(PG_GETARG_TEXT_PP(1)),
								   VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(1)), &keylen);
	else
		key = KeyWithPrefixText(PG_GETARG_TEXT_PP(1), &keylen);
	if (kind < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown cache_ext effect kind \"%s\"", name),
				 errhint("Use bump, delete, delete_pattern, bump_pattern, set or raise.")));
	value = PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2);
	PendingAdd((EffectKind) kind, key, keylen,
			   value ? VARDATA_ANY(value) : NULL,
			   value ? VARSIZE_ANY_EXHDR(value) : 0);
	PG_RETURN_VOID();
}

/*
 * cache_ext.pending_effects(): the current transaction's pending set, for
 * tests and debugging.
 */
PG_FUNCTION_INFO_V1(cache_ext_pending_effects);
Datum
cache_ext_pending_effects(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	dlist_iter	iter;

	InitMaterializedSRF(fcinfo, 0);
	dlist_foreach(iter, &pending_entries)
	{
		PendingEntry *entry = dlist_container(PendingEntry, node, iter.cur);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = CStringGetTextDatum(EffectKindName(entry->key.kind));
		values[1] = PointerGetDatum(cstring_to_text_with_len(entry->key.key,
															 entry->key.len));
		if (entry->value != NULL)
			values[2] = PointerGetDatum(cstring_to_text_with_len(entry->value,
																 entry->vallen));
		else
			nulls[2] = true;
		values[3] = Int32GetDatum(entry->level);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
