/* connectors.c — the process-wide table of connectors the engine can open, filled by
 * src/connect at startup (weir_connect_register_all) and by tests with their own. */
#include <pthread.h>
#include <string.h>

#include "sql/sql.h"

#define MAX_CONNECTORS 32

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static const weir_sql_connector *registry[MAX_CONNECTORS];
static int nregistry;

void weir_sql_register_connector(const weir_sql_connector *c) {
    pthread_mutex_lock(&registry_lock);
    int i = 0;
    while (i < nregistry && strcmp(registry[i]->name, c->name)) i++;
    if (i < MAX_CONNECTORS) {
        registry[i] = c;
        if (i == nregistry) nregistry++;
    }
    pthread_mutex_unlock(&registry_lock);
}

const weir_sql_connector *weir_sql_find_connector(const char *name) {
    const weir_sql_connector *found = NULL;
    pthread_mutex_lock(&registry_lock);
    for (int i = 0; i < nregistry && !found; i++)
        if (!strcmp(registry[i]->name, name)) found = registry[i];
    pthread_mutex_unlock(&registry_lock);
    return found;
}

int weir_sql_connector_names(const char **names, int max) {
    pthread_mutex_lock(&registry_lock);
    int n = 0;
    for (; n < nregistry && n < max; n++) names[n] = registry[n]->name;
    pthread_mutex_unlock(&registry_lock);
    return n;
}
