/* ref_internal.h — helpers shared by the files of the reference module (not public). */
#ifndef SEQLIFT_REF_INTERNAL_H
#define SEQLIFT_REF_INTERNAL_H

#include <stdint.h>

#include "seqlift/reference.h"

/* The workspace's two code buffers of at least len+1 bytes (input codes, one shuffle),
 * grown on demand and owned by ws. 0 / -1 (no memory, reported). */
int sl_ref_ws_codes(sl_ref_ws_t *ws, int64_t len, uint8_t **codes, uint8_t **shuf);

#endif
