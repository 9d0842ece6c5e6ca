/* cmd_extract.c — `seqlift extract` (not implemented yet). */
#include "cli/commands.h"
#include "seqlift/util.h"

int sl_cmd_extract(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    sl_log_error("'seqlift extract' is not implemented yet");
    return SL_EXIT_ERROR;
}
