/* clock.h — the one monotonic clock and the one sleep every program here uses.
 *
 * mono_s(): CLOCK_MONOTONIC in seconds (never jumps with the wall clock; clock_gettime
 *   on it with a valid pointer cannot fail, see clock_gettime(2)).
 * sleep_ms(ms): sleeps ms milliseconds (ms <= 0 returns at once), resuming after a
 *   signal handler interrupts it, so the whole time passes.
 */
#ifndef FDLAB_CLOCK_H
#define FDLAB_CLOCK_H

double mono_s(void);
void sleep_ms(long ms);

#endif
