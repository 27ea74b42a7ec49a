/*
 * check_jit: compile, JIT and check against the reference (check_jit.h).
 */
#include "check_jit.h"

#include <stdio.h>

int jit_runner(void *ctx, void **params, rt_error *err)
{
	if ((*(cg_packed_fn *)ctx)(params))
		return rt_error_set(err, 0, 0, "the kernel could not allocate its buffers");
	return 0;
}

const char *check_jit(const te_graph *g, const lir_func *f, int threads)
{
	static char msg[4096];
	rt_error err;
	cg_target t;
	cg_module *m;
	cg_jit *j;
	cg_packed_fn fn;

	rt_error_clear(&err);
	msg[0] = '\0';
	if (cg_target_host(&t, &err)) {
		snprintf(msg, sizeof(msg), "target: %s", err.msg);
		return msg;
	}
	if (threads > 0)
		t.threads = threads;
	if (!(m = cg_cpu_compile(f, &t, &err)) || !(j = cg_jit_new(m, &err))) {
		snprintf(msg, sizeof(msg), "codegen: %s", err.msg);
		return msg;
	}
	fn = cg_jit_entry(j);
	snprintf(msg, sizeof(msg), "%s", check_run(g, jit_runner, &fn));
	cg_jit_free(j);
	return msg;
}
