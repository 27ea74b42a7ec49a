/*
 * srch_mlp: dense layers, ReLU between them, a linear output; mean squared
 * error over the outputs a mask selects; backpropagation; Adam.
 *
 * Parameters live in one array, layer by layer: W_l (sizes[l+1] rows of
 * sizes[l] columns, row-major) then b_l.  That order is the order of
 * srch_mlp_gradient and srch_mlp_params.
 *
 * The loss of a batch is sum over samples s and masked outputs o of
 * (y[s][o] - target[s][o])^2, divided by the number of masked entries in
 * the batch (the mean over what the mask selects).
 */
#include "srch_mlp.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rt_rand.h"

#define ADAM_BETA1 0.9
#define ADAM_BETA2 0.999
#define ADAM_EPS 1e-8
/* forward() keeps two layers of activations on the stack up to this width. */
#define STACK_WIDTH 1024

struct srch_mlp {
	int nlayers;
	int *sizes;
	int *woff; /* offset of W_l in w; b_l follows it */
	int *aoff; /* offset of layer l's activations in act */
	int nparams;
	int maxwidth;
	int nunits;  /* sum of sizes: one activation per unit */
	double *w;   /* parameters */
	double *g;   /* gradient accumulator */
	double *am;  /* Adam first moment */
	double *av;  /* Adam second moment */
	long step;   /* Adam steps taken */
	double *act; /* training: activations of every layer, input included */
	double *dlt; /* training: two layers of deltas */
};



/*
 * A network of nlayers layers of the given sizes, weights He-uniform
 * (U(-sqrt(6 / fan_in), +sqrt(6 / fan_in))) from `seed`, biases 0.
 * Returns NULL on bad sizes or when out of memory.
 */
srch_mlp *srch_mlp_new(const int *sizes, int nlayers, uint64_t seed)
{
	if (nlayers < 2)
		return NULL;
	for (int l = 0; l < nlayers; l++)
		if (sizes[l] < 1)
			return NULL;
	srch_mlp *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->nlayers = nlayers;
	m->sizes = malloc(sizeof(int) * (size_t)nlayers);
	m->woff = malloc(sizeof(int) * (size_t)nlayers);
	m->aoff = malloc(sizeof(int) * (size_t)nlayers);
	if (!m->sizes || !m->woff || !m->aoff)
		return srch_mlp_free(m);
	memcpy(m->sizes, sizes, sizeof(int) * (size_t)nlayers);
	for (int l = 0; l < nlayers; l++) {
		m->aoff[l] = m->nunits;
		m->nunits += sizes[l];
		if (sizes[l] > m->maxwidth)
			m->maxwidth = sizes[l];
	}
	for (int l = 0; l + 1 < nlayers; l++) {
		m->woff[l] = m->nparams;
		m->nparams += sizes[l + 1] * sizes[l] + sizes[l + 1];
	}
	size_t np = (size_t)m->nparams;
	m->w = calloc(np, sizeof(double));
	m->g = calloc(np, sizeof(double));
	m->am = calloc(np, sizeof(double));
	m->av = calloc(np, sizeof(double));
	m->act = calloc((size_t)m->nunits, sizeof(double));
	m->dlt = calloc(2 * (size_t)m->maxwidth, sizeof(double));
	if (!m->w || !m->g || !m->am || !m->av || !m->act || !m->dlt)
		return srch_mlp_free(m);
	uint64_t rng = seed;
	for (int l = 0; l + 1 < nlayers; l++) {
		double lim = sqrt(6.0 / sizes[l]);
		double *W = m->w + m->woff[l];
		for (int i = 0; i < sizes[l + 1] * sizes[l]; i++)
			W[i] = (2.0 * rt_rand_unit(&rng) - 1.0) * lim;
	}
	return m;
}

srch_mlp *srch_mlp_free(srch_mlp *m)
{
	if (!m)
		return NULL;
	free(m->sizes);
	free(m->woff);
	free(m->aoff);
	free(m->w);
	free(m->g);
	free(m->am);
	free(m->av);
	free(m->act);
	free(m->dlt);
	free(m);
	return NULL;
}

/* Copies the parameters only (the Adam state stays dst's). */
void srch_mlp_copy(srch_mlp *dst, const srch_mlp *src)
{
	if (dst->nparams == src->nparams)
		memcpy(dst->w, src->w, sizeof(double) * (size_t)src->nparams);
}

int srch_mlp_ninputs(const srch_mlp *m)
{
	return m->sizes[0];
}

int srch_mlp_noutputs(const srch_mlp *m)
{
	return m->sizes[m->nlayers - 1];
}

/* out = W_l in + b_l, then ReLU unless l is the output layer. */
static void layer(const srch_mlp *m, int l, const double *in, double *out)
{
	int nin = m->sizes[l], nout = m->sizes[l + 1];
	const double *W = m->w + m->woff[l];
	const double *b = W + nout * nin;
	bool relu = l + 2 < m->nlayers;
	for (int o = 0; o < nout; o++) {
		const double *row = W + o * nin;
		double z = b[o];
		for (int i = 0; i < nin; i++)
			z += row[i] * in[i];
		out[o] = relu && z < 0 ? 0 : z;
	}
}

void srch_mlp_forward(const srch_mlp *m, const double *x, double *y)
{
	double stack[2][STACK_WIDTH];
	double *heap = NULL, *buf[2] = {stack[0], stack[1]};
	if (m->maxwidth > STACK_WIDTH) {
		heap = malloc(2 * sizeof(double) * (size_t)m->maxwidth);
		if (!heap) {
			memset(y, 0, sizeof(double) * (size_t)srch_mlp_noutputs(m));
			return;
		}
		buf[0] = heap;
		buf[1] = heap + m->maxwidth;
	}
	const double *in = x;
	for (int l = 0; l + 1 < m->nlayers; l++) {
		double *out = l + 2 == m->nlayers ? y : buf[l & 1];
		layer(m, l, in, out);
		in = out;
	}
	free(heap);
}

/*
 * Forward one sample keeping every layer's activations in m->act, then add
 * the gradient of scale * sum_o mask_o (y_o - t_o)^2 to m->g.  Returns the
 * sample's unscaled sum of masked squared errors.
 */
static double accumulate(srch_mlp *m, const double *x, const double *t, const unsigned char *mask,
			 double scale)
{
	int L = m->nlayers;
#define A(l) (m->act + m->aoff[l])
	memcpy(A(0), x, sizeof(double) * (size_t)m->sizes[0]);
	for (int l = 0; l + 1 < L; l++)
		layer(m, l, A(l), A(l + 1));

	int nout = m->sizes[L - 1];
	double *d = m->dlt, *dprev = m->dlt + m->maxwidth, sse = 0;
	for (int o = 0; o < nout; o++) {
		double e = A(L - 1)[o] - t[o];
		bool on = !mask || mask[o];
		d[o] = on ? 2.0 * scale * e : 0;
		sse += on ? e * e : 0;
	}
	for (int l = L - 2; l >= 0; l--) {
		int nin = m->sizes[l], no = m->sizes[l + 1];
		const double *W = m->w + m->woff[l];
		double *gW = m->g + m->woff[l], *gb = gW + no * nin;
		for (int o = 0; o < no; o++) {
			if (d[o] == 0)
				continue;
			for (int i = 0; i < nin; i++)
				gW[o * nin + i] += d[o] * A(l)[i];
			gb[o] += d[o];
		}
		if (l == 0)
			break;
		/* delta of layer l's units: W^T d through the ReLU. */
		for (int i = 0; i < nin; i++) {
			double s = 0;
			if (A(l)[i] > 0)
				for (int o = 0; o < no; o++)
					s += W[o * nin + i] * d[o];
			dprev[i] = s;
		}
		double *tmp = d;
		d = dprev;
		dprev = tmp;
	}
#undef A
	return sse;
}

static int count_mask(const unsigned char *mask, int n)
{
	int c = 0;
	for (int i = 0; i < n; i++)
		c += !mask || mask[i];
	return c;
}

static void adam_step(srch_mlp *m, double lr)
{
	m->step++;
	double c1 = 1.0 - pow(ADAM_BETA1, (double)m->step);
	double c2 = 1.0 - pow(ADAM_BETA2, (double)m->step);
	double lrt = lr * sqrt(c2) / c1;
	for (int i = 0; i < m->nparams; i++) {
		double g = m->g[i];
		m->am[i] = ADAM_BETA1 * m->am[i] + (1.0 - ADAM_BETA1) * g;
		m->av[i] = ADAM_BETA2 * m->av[i] + (1.0 - ADAM_BETA2) * g * g;
		m->w[i] -= lrt * m->am[i] / (sqrt(m->av[i]) + ADAM_EPS);
	}
}

double srch_mlp_train(srch_mlp *m, const double *x, const double *target, const unsigned char *mask,
		      int n, double lr)
{
	int nin = srch_mlp_ninputs(m), nout = srch_mlp_noutputs(m);
	int cnt = mask ? count_mask(mask, n * nout) : n * nout;
	if (cnt == 0)
		return 0;
	memset(m->g, 0, sizeof(double) * (size_t)m->nparams);
	double sse = 0;
	for (int s = 0; s < n; s++)
		sse += accumulate(m, x + (size_t)s * nin, target + (size_t)s * nout,
				  mask ? mask + (size_t)s * nout : NULL, 1.0 / cnt);
	adam_step(m, lr);
	return sse / cnt;
}

int srch_mlp_gradient(srch_mlp *m, const double *x, const double *target, const unsigned char *mask,
		      double *grad)
{
	int cnt = count_mask(mask, srch_mlp_noutputs(m));
	memset(m->g, 0, sizeof(double) * (size_t)m->nparams);
	if (cnt > 0)
		accumulate(m, x, target, mask, 1.0 / cnt);
	memcpy(grad, m->g, sizeof(double) * (size_t)m->nparams);
	return m->nparams;
}

int srch_mlp_params(srch_mlp *m, double **out, int max)
{
	for (int i = 0; i < max && i < m->nparams; i++)
		out[i] = &m->w[i];
	return m->nparams;
}
