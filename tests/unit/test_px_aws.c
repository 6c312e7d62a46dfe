/* tests/unit/test_px_aws.c — where the proxy finds AWS credentials: the
 * shared credentials file's syntax, the metadata service's document, and the
 * order environment → file → (metadata, disabled here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proxy/aws.h"

static const char *FILE_TEXT = "# a comment\n"
                               "[default]\n"
                               "aws_access_key_id = AKIDDEFAULT\n"
                               "aws_secret_access_key=secret/with+chars=\n"
                               "\n"
                               "[ other ]\n"
                               "  AWS_ACCESS_KEY_ID   =   AKIDOTHER  \r\n"
                               "; another comment\n"
                               "aws_secret_access_key = other-secret\n"
                               "aws_session_token = tok/en+==\n"
                               "region = eu-west-3\n"
                               "[defaultx]\n"
                               "aws_access_key_id = WRONG\n"
                               "[half]\n"
                               "aws_access_key_id = AKIDHALF\n";

static void test_credentials_file(void **state)
{
    (void)state;
    struct px_aws_creds c;
    char err[256];
    assert_int_equal(px_aws_parse_credentials(FILE_TEXT, "default", &c, err, sizeof err), 0);
    assert_string_equal(c.key, "AKIDDEFAULT");
    assert_string_equal(c.secret, "secret/with+chars="); /* split at the first '=' only */
    assert_string_equal(c.token, "");
    assert_int_equal(px_aws_parse_credentials(FILE_TEXT, "other", &c, err, sizeof err), 0);
    assert_string_equal(c.key, "AKIDOTHER");
    assert_string_equal(c.secret, "other-secret");
    assert_string_equal(c.token, "tok/en+==");
    assert_int_equal(px_aws_parse_credentials(FILE_TEXT, "nosuch", &c, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "[nosuch]"));
    assert_int_equal(px_aws_parse_credentials(FILE_TEXT, "half", &c, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "aws_secret_access_key"));
    assert_int_equal(px_aws_parse_credentials("", "default", &c, err, sizeof err), -ENOENT);
    assert_int_equal(px_aws_parse_credentials("[default", "default", &c, err, sizeof err), -ENOENT);
}

static void test_metadata_document(void **state)
{
    (void)state;
    struct px_aws_creds c;
    char err[256];
    const char *good =
        "{\"Code\":\"Success\",\"LastUpdated\":\"2026-11-26T20:00:00Z\",\"Type\":\"AWS-HMAC\","
        "\"AccessKeyId\":\"ASIAEXAMPLE\",\"SecretAccessKey\":\"s/e+c\",\"Token\":\"IQoJb3Jp\","
        "\"Expiration\":\"2026-11-27T02:00:00Z\"}";
    assert_int_equal(px_aws_parse_imds(good, &c, err, sizeof err), 0);
    assert_string_equal(c.key, "ASIAEXAMPLE");
    assert_string_equal(c.secret, "s/e+c");
    assert_string_equal(c.token, "IQoJb3Jp");
    assert_int_equal(c.expires_s, 1795744800); /* 2026-11-27T02:00:00Z */
    const char *bad[] = {
        "not json",
        "{\"Code\":\"Failure\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\","
        "\"Expiration\":\"2026-11-27T02:00:00Z\"}",
        "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Expiration\":\"2026-11-27T02:00:00Z\"}",
        "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\",\"Expiration\":"
        "\"tomorrow\"}",
        "{\"AccessKeyId\":\"\",\"SecretAccessKey\":\"S\",\"Token\":\"T\",\"Expiration\":\"2026-11-"
        "27T02:00:00Z\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(px_aws_parse_imds(bad[i], &c, err, sizeof err), -EINVAL);
}

struct env_fixture {
    char dir[64], file[96];
    uv_loop_t loop;
};

static int env_setup(void **state)
{
    struct env_fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test-px-aws-XXXXXX");
    if (mkdtemp(f->dir) == NULL) return -1;
    snprintf(f->file, sizeof f->file, "%s/credentials", f->dir);
    const char *vars[] = {"AWS_ACCESS_KEY_ID",           "AWS_SECRET_ACCESS_KEY",
                          "AWS_SESSION_TOKEN",           "AWS_PROFILE",
                          "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_SERVICE_ENDPOINT"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
    setenv("HOME", f->dir, 1); /* no ~/.aws there */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    uv_loop_init(&f->loop);
    *state = f;
    return 0;
}

static int env_teardown(void **state)
{
    struct env_fixture *f = *state;
    assert_int_equal(uv_loop_close(&f->loop), 0);
    unlink(f->file);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text, long mtime)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static void close_aws(struct env_fixture *f, struct px_aws *a)
{
    px_aws_close(a);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void test_none_found(void **state)
{
    struct env_fixture *f = *state;
    struct px_aws a;
    char err[1024];
    assert_int_equal(px_aws_init(&a, &f->loop, err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "no AWS credentials"));
    assert_non_null(strstr(err, "AWS_ACCESS_KEY_ID"));
    assert_non_null(strstr(err, "/.aws/credentials"));
    assert_non_null(strstr(err, "AWS_EC2_METADATA_DISABLED"));
    setenv("AWS_ACCESS_KEY_ID", "AKIDONLY", 1); /* half a pair is an error, not a fall-through */
    assert_int_equal(px_aws_init(&a, &f->loop, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, "AWS_SECRET_ACCESS_KEY"));
}

static void test_environment_first(void **state)
{
    struct env_fixture *f = *state;
    struct px_aws a;
    char err[1024];
    write_file(f->file, FILE_TEXT, 1000);
    setenv("AWS_SHARED_CREDENTIALS_FILE", f->file, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
    setenv("AWS_SESSION_TOKEN", "envtoken", 1);
    assert_int_equal(px_aws_init(&a, &f->loop, err, sizeof err), 0);
    assert_string_equal(px_aws_source_name(&a), "environment");
    assert_string_equal(a.creds.key, "AKIDENV");
    assert_string_equal(a.creds.secret, "envsecret");
    assert_string_equal(a.creds.token, "envtoken");
    close_aws(f, &a);
}

static void test_file_profile_and_reread(void **state)
{
    struct env_fixture *f = *state;
    struct px_aws a;
    char err[1024];
    write_file(f->file, FILE_TEXT, 1000);
    setenv("AWS_SHARED_CREDENTIALS_FILE", f->file, 1);
    setenv("AWS_PROFILE", "other", 1);
    assert_int_equal(px_aws_init(&a, &f->loop, err, sizeof err), 0);
    assert_string_equal(px_aws_source_name(&a), f->file);
    assert_string_equal(a.creds.key, "AKIDOTHER");
    assert_string_equal(a.creds.token, "tok/en+==");
    assert_int_equal(px_aws_reread(&a), 0); /* unchanged */
    write_file(f->file, "[other]\naws_access_key_id=AKIDNEW\naws_secret_access_key=new\n", 2000);
    assert_int_equal(px_aws_reread(&a), 1);
    assert_string_equal(a.creds.key, "AKIDNEW");
    assert_string_equal(a.creds.token, "");
    write_file(f->file, "[other]\naws_access_key_id=AKIDBROKEN\n",
               3000); /* incomplete: keep the old */
    assert_int_equal(px_aws_reread(&a), 0);
    assert_string_equal(a.creds.key, "AKIDNEW");
    close_aws(f, &a);

    setenv("AWS_PROFILE", "half", 1); /* a profile without its secret stops the search */
    write_file(f->file, FILE_TEXT, 4000);
    assert_int_equal(px_aws_init(&a, &f->loop, err, sizeof err), -EINVAL);
    assert_non_null(strstr(err, f->file));
    assert_non_null(strstr(err, "aws_secret_access_key"));
}

static void test_home_default(void **state)
{
    struct env_fixture *f = *state;
    struct px_aws a;
    char err[1024], dir[128], path[160];
    snprintf(dir, sizeof dir, "%s/.aws", f->dir);
    snprintf(path, sizeof path, "%s/credentials", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    write_file(path, FILE_TEXT, 1000);
    assert_int_equal(px_aws_init(&a, &f->loop, err, sizeof err), 0);
    assert_string_equal(px_aws_source_name(&a), path);
    assert_string_equal(a.creds.key, "AKIDDEFAULT");
    close_aws(f, &a);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credentials_file),
        cmocka_unit_test(test_metadata_document),
        cmocka_unit_test_setup_teardown(test_none_found, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_environment_first, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_file_profile_and_reread, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_home_default, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
