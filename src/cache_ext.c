/*-------------------------------------------------------------------------
 *
 * cache_ext.c
 *	  Module entry point.  _PG_init only asks each subsystem to initialise
 *	  itself; everything else lives in the file that owns it.
 *
 *-------------------------------------------------------------------------
 */
#include "cache_ext.h"

PG_MODULE_MAGIC;

bool		cache_ext_preloaded = false;

void		_PG_init(void);

void
_PG_init(void)
{
	/*
	 * Whatever is loaded while the postmaster processes
	 * shared_preload_libraries can reserve shared memory and register the
	 * background worker; a library loaded later by CREATE EXTENSION or the
	 * first function call works without them.
	 */
	cache_ext_preloaded = process_shared_preload_libraries_in_progress;

	SettingsInit();
	ConnectionInit();
	ApiInit();
	PendingInit();
	DeliveryInit();
	WorkerInit();
	TriggersInit();
	CountersInit();
	ProfileInit();

	MarkGUCPrefixReserved("cache_ext");
}
