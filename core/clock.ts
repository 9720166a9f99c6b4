/** The engine's only notion of time: milliseconds from an arbitrary origin, passed in. */
export interface Clock {
  nowMs(): number;
}
