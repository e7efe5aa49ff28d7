/* print.c — the 'print' connector (being written; registered by connect.c). */
#include "connect/connect.h"

const weir_sql_connector weir_connect_print = {.name = "print"};
