/**
 * Where every time-dependent rule (expiry, billing periods, renewals) takes "now" from. Production
 * uses the system clock; tests pass a clock they set, so boundaries are tested exactly (one
 * millisecond before, at, after) without sleeping.
 */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
