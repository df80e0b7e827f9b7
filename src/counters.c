/*-------------------------------------------------------------------------
 *
 * counters.c
 *	  (placeholder: filled in by its issue)
 *
 *-------------------------------------------------------------------------
 */
#include "cache_ext.h"

void
CountersInit(void)
{
}
