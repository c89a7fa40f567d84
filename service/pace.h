/*
 * pace: a rows-per-second limit on work sent in pieces (a copy's ranges, a
 * validation's block ranges, index builds), as a token bucket with no room
 * to save up: a piece may go once what was sent before it is paid for at
 * the rate, and time spent slower than the rate (waiting on a lock, a busy
 * server) earns at most PACE_SLACK_S of credit. So a copy that was held up
 * does not make up for it in a burst at full speed, which is what the rate
 * limit is there to keep off the application; and a rate changed while the
 * work runs counts from then on, neither owed nor banked from before.
 *
 * The clock is the caller's (milliseconds, monotonic), so that the tests can
 * drive it. Not thread-safe: one pace per loop.
 */
#ifndef PARTD_PACE_H
#define PARTD_PACE_H

/* The credit that may pile up while the work runs slower than the rate. */
#define PACE_SLACK_S 0.1

struct pace {
	long rate;     /* rows/s; <= 0: no limit */
	double credit; /* rows that may go now; below 0: owed by earlier pieces */
	double at_ms;  /* when credit was last brought up to date */
};

/* A pace at rate (<= 0: none), starting at now_ms with nothing owed. */
void pace_init(struct pace *p, long rate, double now_ms);

/*
 * A new rate from now_ms on: what is owed stays owed in rows (paid at the
 * new rate), and credit is held to the new rate's slack.
 */
void pace_set_rate(struct pace *p, long rate, double now_ms);

/*
 * 0 when a piece may be sent at now_ms, else the milliseconds until one
 * may (rounded up, at most cap_ms).
 */
int pace_wait_ms(struct pace *p, double now_ms, int cap_ms);

/*
 * Accounts rows as sent (an estimate will do) or, with a negative count, as
 * estimated but not sent after all: what the piece turned out to hold.
 */
void pace_spend(struct pace *p, double rows);

#endif
