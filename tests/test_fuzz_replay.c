/*
 * Replays every input of tests/fuzz/corpus through the parser fuzz target
 * (tests/fuzz/fuzz_target.c), so that inputs the fuzzer once found keep
 * being checked: no crash, a clean round trip for the ones that parse.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz/fuzz_target.h"

/* Read all of `path` into a malloc'd buffer; its size in *n. */
static uint8_t *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long len;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0) {
		rewind(f);
		buf = malloc(len + 1);
		ck_assert_ptr_nonnull(buf);
		*n = fread(buf, 1, len, f);
		ck_assert_uint_eq(*n, (size_t)len);
	}
	fclose(f);
	ck_assert_msg(buf != NULL, "cannot read %s", path);
	return buf;
}

START_TEST(replays_corpus)
{
	const char *root = getenv("FTC_SOURCE_ROOT");
	char dir[4096], path[8192];
	struct dirent *d;
	DIR *dp;
	int n = 0, parsed = 0;

	ck_assert_msg(root != NULL, "FTC_SOURCE_ROOT is not set");
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus", root);
	dp = opendir(dir);
	ck_assert_msg(dp != NULL, "cannot open %s", dir);
	while ((d = readdir(dp))) {
		struct stat st;
		uint8_t *data;
		size_t size;

		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		data = read_file(path, &size);
		parsed += ftc_fuzz_one(data, size);
		free(data);
		n++;
	}
	closedir(dp);
	ck_assert_msg(n >= 20, "only %d corpus files replayed", n);
	ck_assert_int_gt(parsed, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fuzz_replay");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, replays_corpus);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
