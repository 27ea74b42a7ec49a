/*
 * ftc targets: what the host is and the target string ftc would use.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cg.h"
#include "cli.h"
#include "rt_cuda.h"
#include "tdb.h"

static const char targets_help[] =
	"usage: ftc targets [--target T]\n"
	"\n"
	"Describe the host as ftc sees it: the CPU (LLVM's name for it and the\n"
	"model name), the vector features code generation uses, the cores, the\n"
	"target string ftc uses by default (or for --target T) and the hardware\n"
	"fingerprint that keys the tuning db's records.\n"
	"\n"
	"  --target T   describe this target instead of the default \"cpu\"\n"
	"  -h, --help   show this help\n";

/* The "model name" line of /proc/cpuinfo, or "unknown". */
static void cpu_model(char *out, size_t n)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(out, n, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			colon += 1 + (colon[1] == ' ');
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(out, n, "%s", colon);
			break;
		}
	}
	fclose(f);
}

/* The enabled features among those that matter for the code ftc makes. */
static void vector_features(const char *features, char *out, size_t n)
{
	static const char *const names[] = {"sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl",
					    "avx512dq", "avx512vnni", "avx512bf16", "avx512fp16", "amx-tile"};
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char want[32];
		const char *p;
		size_t k;

		k = (size_t)snprintf(want, sizeof(want), "+%s", names[i]);
		for (p = strstr(features, want); p; p = strstr(p + 1, want))
			if ((p[k] == ',' || p[k] == '\0') && (p == features || p[-1] == ','))
				break;
		if (p && len < n)
			len += (size_t)snprintf(out + len, n - len, "%s%s", len ? " " : "", names[i]);
	}
}

/* The cuda line: the GPU when a driver and a device are here. */
static void cuda_line(void)
{
	rt_error err;
	rt_cuda *c;

	rt_error_clear(&err);
	if (!rt_cuda_driver_present()) {
		printf("  cuda          cuda -arch=sm_80 (PTX through LLVM NVPTX; no CUDA driver on this machine:\n"
		       "                ftc compile --target cuda still writes the PTX and its launcher)\n");
		return;
	}
	if (!(c = rt_cuda_open(0, &err))) {
		printf("  cuda          cuda -arch=sm_80 (the CUDA driver is here but: %s)\n", err.msg);
		return;
	}
	printf("  cuda          cuda -arch=sm_%d (%s)\n", rt_cuda_sm(c), rt_cuda_device_name(c));
	rt_cuda_close(c);
}

static int targets_opt(int which, const char *value, void *ctx)
{
	cli_opts *o = ctx;

	if (which == 0)
		o->target = value;
	else
		o->help = true;
	return 0;
}

static int targets_arg(const char *arg, void *ctx)
{
	(void)ctx;
	fprintf(stderr, "ftc targets: unexpected argument '%s' (see 'ftc targets --help')\n", arg);
	return 1;
}

int cli_targets(int argc, char **argv)
{
	static const cli_optspec specs[] = {{NULL, "--target", true}, {"-h", NULL, false}, {NULL, "--help", false}};
	cli_opts o;
	cg_target t;
	rt_error err;
	char ts[256], model[256], vec[256], fp[17];
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(&o, 0, sizeof(o));
	if (cli_parse_args("targets", argc, argv, specs, 3, targets_opt, targets_arg, &o))
		return CLI_USER_ERROR;
	if (o.help) {
		fputs(targets_help, stdout);
		return CLI_OK;
	}
	rt_error_clear(&err);
	if (cg_target_parse(o.target ? o.target : "cpu", &t, &err)) {
		fprintf(stderr, "ftc targets: %s\n", err.msg);
		return CLI_USER_ERROR;
	}
	cg_target_string(&t, ts, sizeof(ts));
	cpu_model(model, sizeof(model));
	vector_features(t.features, vec, sizeof(vec));
	tdb_fingerprint(t.cpu, t.features, (int)(cores > 0 ? cores : 1), fp);
	printf("host\n");
	printf("  cpu:          %s (LLVM: %s)\n", model, t.cpu);
	printf("  vector:       %d-bit; %s\n", t.vector_bits, vec[0] ? vec : "no SIMD features found");
	printf("  cores:        %ld online\n", cores);
	printf("  fingerprint:  %s\n", fp);
	printf("target\n");
	printf("  cpu           %s\n", ts);
	printf("                (threads: %d; -threads=N changes it, -mcpu= and -mattr= cross-compile)\n",
	       t.threads ? t.threads : (int)cores);
	cuda_line();
	printf("  hls           hls -part=xcvu9p -clock=300MHz (HLS C for Vitis HLS; latency and resources\n"
	       "                from ftc's analytic model, -part= names the FPGA)\n");
	return CLI_OK;
}
