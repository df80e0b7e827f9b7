/*-------------------------------------------------------------------------
 *
 * cache_ext.c
 *	  Module entry point, and the one place that wires the subsystems
 *	  together: _PG_init calls each subsystem's init, declared in that
 *	  subsystem's own header, and nothing else calls back here.
 *
 *	  Whatever is loaded while the postmaster processes
 *	  shared_preload_libraries can reserve shared memory and register the
 *	  background worker (each init asks process_shared_preload_libraries_
 *	  in_progress itself); a library loaded later by CREATE EXTENSION or the
 *	  first function call works without them.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "api.h"
#include "connection.h"
#include "counters.h"
#include "delivery.h"
#include "endpoint.h"
#include "fallback.h"
#include "keys.h"
#include "pending.h"
#include "plan.h"
#include "prepared.h"
#include "protocol.h"
#include "queue.h"
#include "shared.h"
#include "stats.h"
#include "transport.h"
#include "worker.h"

PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);

void
_PG_init(void)
{
	ConnectionInit();
	EndpointInit();
	TransportInit();
	ProtocolInit();
	KeysInit();
	ApiInit();
	PendingInit();
	PlanInit();
	StatsInit();
	FallbackInit();
	QueueInit();
	SharedInit();
	DeliveryInit();
	PreparedInit();
	WorkerInit();
	CountersInit();
	CountersTriggerInit();

	MarkGUCPrefixReserved("cache_ext");
}
