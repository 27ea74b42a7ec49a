/* rt_time: a monotonic clock for timing. */
#ifndef FTC_RT_TIME_H
#define FTC_RT_TIME_H

/* Seconds since an arbitrary fixed point, monotonic, ns resolution. */
double rt_now(void);

#endif
