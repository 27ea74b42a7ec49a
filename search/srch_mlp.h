/*
 * srch_mlp: a small multi-layer perceptron in C for the Q-network:
 * dense layers with ReLU between them, a linear output, mean squared
 * error, backpropagation and Adam.  Seeded initialisation (He uniform).
 */
#ifndef FTC_SRCH_MLP_H
#define FTC_SRCH_MLP_H

#include <stdint.h>

typedef struct srch_mlp srch_mlp;

/* Layers sizes[0] (inputs) .. sizes[nlayers-1] (outputs); nlayers >= 2.
 * NULL when out of memory. */
srch_mlp *srch_mlp_new(const int *sizes, int nlayers, uint64_t seed);
srch_mlp *srch_mlp_free(srch_mlp *m);
/* Copy the weights of src into dst (same shape): the target network. */
void srch_mlp_copy(srch_mlp *dst, const srch_mlp *src);
int srch_mlp_ninputs(const srch_mlp *m);
int srch_mlp_noutputs(const srch_mlp *m);

/* y = f(x). */
void srch_mlp_forward(const srch_mlp *m, const double *x, double *y);

/*
 * One Adam step on a batch of n samples: x is n x inputs, target n x
 * outputs; only outputs whose mask entry is non-zero (n x outputs; NULL =
 * all) contribute to the loss.  Returns the batch's mean squared error
 * before the step.
 */
double srch_mlp_train(srch_mlp *m, const double *x, const double *target,
		      const unsigned char *mask, int n, double lr);

/* Gradient of the loss of one sample w.r.t. every parameter, in a fixed
 * order (for numerical gradient checks); returns the number of params.
 * srch_mlp_params gives pointers to them in the same order. */
int srch_mlp_gradient(srch_mlp *m, const double *x, const double *target,
		      const unsigned char *mask, double *grad);
int srch_mlp_params(srch_mlp *m, double **out, int max);

#endif
