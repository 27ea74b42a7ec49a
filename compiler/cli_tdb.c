/*
 * cli_tdb: how the driver finds and opens the tuning db.
 */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cli.h"
#include "tdb.h"

int cli_db_open(const cli_opts *o, bool create, tdb **db)
{
	char path[4096];
	struct stat st;
	rt_error err;

	*db = NULL;
	rt_error_clear(&err);
	if (cli_db_path(o, path, sizeof(path)))
		return 1;
	/* Not there (a dangling symlink neither): nothing to read. */
	if (!create && stat(path, &st) != 0 && errno == ENOENT)
		return 0;
	if (tdb_open(path, db, &err)) {
		fprintf(stderr, "ftc: %s\n", err.msg);
		return 1;
	}
	return 0;
}
