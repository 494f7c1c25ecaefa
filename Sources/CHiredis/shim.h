#ifndef EXPORTGRID_CHIREDIS_SHIM_H
#define EXPORTGRID_CHIREDIS_SHIM_H

/* The hiredis synchronous API (Debian's libhiredis-dev 0.14). */
#include <hiredis/hiredis.h>
#include <errno.h>
#include <sys/prctl.h>

/* errno is a macro on glibc; Swift cannot read it directly in all contexts. */
static inline int chiredis_errno(void) { return errno; }
static inline void chiredis_clear_errno(void) { errno = 0; }

/* Names the calling thread (shown by top -H and gdb); the I/O threads call it on start. */
static inline void chiredis_name_thread(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

#endif
