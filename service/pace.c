/* pace: a rows-per-second limit that neither bursts nor stalls; see pace.h. */
#include "pace.h"

static void pace_accrue(struct pace *p, double now_ms)
{
	double slack = (double)p->rate * PACE_SLACK_S;

	if (now_ms > p->at_ms) {
		p->credit += (double)p->rate * (now_ms - p->at_ms) / 1000.0;
		p->at_ms = now_ms;
	}
	if (p->credit > slack)
		p->credit = slack;
}

void pace_init(struct pace *p, long rate, double now_ms)
{
	p->rate = rate;
	p->credit = 0;
	p->at_ms = now_ms;
}

void pace_set_rate(struct pace *p, long rate, double now_ms)
{
	if (rate == p->rate)
		return;
	if (p->rate > 0)
		pace_accrue(p, now_ms);
	else
		p->credit = 0; /* nothing was counted without a limit */
	p->rate = rate;
	p->at_ms = now_ms;
	if (rate > 0)
		pace_accrue(p, now_ms);
}

int pace_wait_ms(struct pace *p, double now_ms, int cap_ms)
{
	double ms;

	if (p->rate <= 0)
		return 0;
	pace_accrue(p, now_ms);
	if (p->credit >= 0)
		return 0;
	ms = -p->credit * 1000.0 / (double)p->rate + 1;
	return ms < cap_ms ? (int)ms : cap_ms;
}

void pace_spend(struct pace *p, double rows)
{
	if (p->rate > 0)
		p->credit -= rows;
}
