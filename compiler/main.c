/*
 * ftc: the command-line driver.  Each subcommand lives in its own cli_*.c
 * and returns the process exit status: 0 success, 1 a user error, 2 an
 * internal error.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef FTC_VERSION
#define FTC_VERSION "0.1.0"
#endif

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{"check", cli_check, "parse and verify a .te file; print its canonical form"},
	{"compile", cli_compile, "write a C library (NAME.h, libNAME.a) for a .te file"},
	{"db", cli_db, "list, show, export, import, prune and check the tuning db"},
	{"eval", cli_eval, "run the reference interpreter on random inputs; print checksums"},
	{"lower", cli_lower, "print the loop IR of a schedule"},
	{"run", cli_run, "compile a schedule, check it against the reference, time it"},
	{"targets", cli_targets, "describe the host and the target string ftc uses for it"},
	{"tune", cli_tune, "search for the fastest schedule by measuring candidates"},
};

static void usage(FILE *out)
{
	fputs("usage: ftc COMMAND [OPTIONS] FILE.te\n\n"
	      "ftc is an auto-scheduling tensor compiler.  Commands:\n", out);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'ftc COMMAND --help' describes a command.  'ftc --version' prints "
	      "the version.\n", out);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CLI_USER_ERROR;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("ftc %s\n", FTC_VERSION);
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "ftc: unknown command '%s' (see 'ftc --help')\n", argv[1]);
	return CLI_USER_ERROR;
}
