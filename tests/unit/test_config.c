/* test_config.c — weir.properties and WEIR_ overrides: defaults, file values, env
 * precedence, and clear refusals of unknown keys and bad values. */
#include <stdio.h>
#include <unistd.h>

#include "base/base.h"
#include "test.h"

static char *write_file(const char *text) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/weir-test-config-XXXXXX");
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

TEST(defaults) {
    weir_config c;
    weir_err err;
    char *env[] = {NULL};
    CHECK_EQ_INT(weir_config_load(&c, NULL, env, &err), WEIR_OK);
    CHECK_EQ_STR(c.listeners, "PLAINTEXT://127.0.0.1:9092");
    CHECK_EQ_STR(c.advertised_listeners, "PLAINTEXT://127.0.0.1:9092");
    CHECK_EQ_STR(c.log_dirs, "./weir-data");
    CHECK_EQ_INT(c.num_partitions, 1);
    CHECK(c.auto_create_topics_enable);
    CHECK_EQ_INT(c.message_max_bytes, 1048588);
    CHECK_EQ_INT(c.log_retention_ms, 604800000);
}

TEST(file_then_env) {
    char *path = write_file("# comment\nnum.partitions = 6\nlog.dirs=/tmp/x\n\nauto.create.topics.enable=false\n");
    char *env[] = {"WEIR_NUM_PARTITIONS=12", "HOME=/root", "WEIR_LOG_DIRS=/tmp/y", NULL};
    weir_config c;
    weir_err err;
    CHECK_EQ_INT(weir_config_load(&c, path, env, &err), WEIR_OK);
    CHECK_EQ_INT(c.num_partitions, 12);
    CHECK_EQ_STR(c.log_dirs, "/tmp/y");
    CHECK(!c.auto_create_topics_enable);
    unlink(path);
}

TEST(unknown_key_in_file) {
    char *path = write_file("num.partition=3\n");
    weir_config c;
    weir_err err;
    char *env[] = {NULL};
    CHECK_EQ_INT(weir_config_load(&c, path, env, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "unknown configuration key 'num.partition'") != NULL);
    CHECK(strstr(err.msg, "did you mean 'num.partitions'") != NULL);
    CHECK(strstr(err.msg, ":1") != NULL); /* file:line */
    unlink(path);
}

TEST(bad_values) {
    weir_config c;
    weir_err err;
    char *env1[] = {"WEIR_NUM_PARTITIONS=abc", NULL};
    CHECK_EQ_INT(weir_config_load(&c, NULL, env1, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "num.partitions must be an integer") != NULL);
    CHECK(strstr(err.msg, "WEIR_NUM_PARTITIONS") != NULL);
    char *env2[] = {"WEIR_AUTO_CREATE_TOPICS_ENABLE=yes", NULL};
    CHECK_EQ_INT(weir_config_load(&c, NULL, env2, &err), WEIR_ERROR);
    char *env3[] = {"WEIR_NUM_PARTITIONS=0", NULL};
    CHECK_EQ_INT(weir_config_load(&c, NULL, env3, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "between") != NULL);
    char *env4[] = {"WEIR_NO_SUCH_THING=1", NULL};
    CHECK_EQ_INT(weir_config_load(&c, NULL, env4, &err), WEIR_ERROR);
    CHECK(strstr(err.msg, "WEIR_NO_SUCH_THING") != NULL);
    char *env5[] = {"WEIR_LISTENERS=SSL://1.2.3.4:9093", NULL};
    CHECK_EQ_INT(weir_config_load(&c, NULL, env5, &err), WEIR_ERROR);
    char *env6[] = {"WEIR_LISTENERS=PLAINTEXT://127.0.0.1:99999", NULL};
    CHECK_EQ_INT(weir_config_load(&c, NULL, env6, &err), WEIR_ERROR);
}

TEST(listener_parse) {
    char host[64];
    int port;
    weir_err err;
    CHECK_EQ_INT(weir_config_parse_listener("PLAINTEXT://[::1]:9092", host, sizeof host, &port, &err), WEIR_OK);
    CHECK_EQ_STR(host, "::1");
    CHECK_EQ_INT(port, 9092);
    CHECK_EQ_INT(weir_config_parse_listener("localhost:0", host, sizeof host, &port, &err), WEIR_OK);
    CHECK_EQ_INT(port, 0);
    CHECK_EQ_INT(weir_config_parse_listener("nohost", host, sizeof host, &port, &err), WEIR_ERROR);
}

TEST_MAIN(T(defaults), T(file_then_env), T(unknown_key_in_file), T(bad_values), T(listener_parse))
