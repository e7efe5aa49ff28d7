/* kafka.c — the 'kafka' connector (being written; registered by connect.c). */
#include "connect/connect.h"

const weir_sql_connector weir_connect_kafka = {.name = "kafka"};
