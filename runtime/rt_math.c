/*
 * rt_math: the out-of-line part of rt_math.h.
 */
#include "rt_math.h"

int rt_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}
