/*-------------------------------------------------------------------------
 *
 * triggers.c
 *	  (placeholder: filled in by its issue)
 *
 *-------------------------------------------------------------------------
 */
#include "cache_ext.h"

void
TriggersInit(void)
{
}
