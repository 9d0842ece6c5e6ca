/* version.c — sl_version() (version.h, generated from version.h.in). */
#include "seqlift/version.h"

const char *sl_version(void) { return SEQLIFT_VERSION_STRING; }
