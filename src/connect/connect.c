/* connect.c — registers the built-in connectors with the SQL engine. */
#include "connect/connect.h"

void weir_connect_register_all(void) {
    weir_sql_register_connector(&weir_connect_kafka);
    weir_sql_register_connector(&weir_connect_datagen);
    weir_sql_register_connector(&weir_connect_print);
    weir_sql_register_connector(&weir_connect_blackhole);
    weir_sql_register_connector(&weir_connect_filesystem);
    weir_sql_register_connector(&weir_connect_upsert_kafka);
}
