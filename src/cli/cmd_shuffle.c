/* cmd_shuffle.c — `seqlift shuffle` (not implemented yet). */
#include "cli/commands.h"
#include "seqlift/util.h"

int sl_cmd_shuffle(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    sl_log_error("'seqlift shuffle' is not implemented yet");
    return SL_EXIT_ERROR;
}
