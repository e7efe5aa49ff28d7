/* blackhole.c — the 'blackhole' connector (being written; registered by connect.c). */
#include "connect/connect.h"

const weir_sql_connector weir_connect_blackhole = {.name = "blackhole"};
