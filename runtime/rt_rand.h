/*
 * rt_rand: splitmix64, the one seeded generator ftc's search uses, so that
 * a seed means the same sequence everywhere.
 */
#ifndef FTC_RT_RAND_H
#define FTC_RT_RAND_H

#include <stdint.h>

/* The next 64 random bits of state *s. */
static inline uint64_t rt_rand_next(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double rt_rand_unit(uint64_t *s)
{
	return (double)(rt_rand_next(s) >> 11) * 0x1.0p-53;
}

#endif
