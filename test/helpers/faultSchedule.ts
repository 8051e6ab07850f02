/**
 * TEST TOOL — what the fault campaigns (test/faults/) share: a small seedable random number
 * generator, and the seed a campaign runs with (printed, so that a failure can be replayed with
 * FAULT_SEED=<seed>).
 */

/** mulberry32: small, seedable, good enough to pick faults. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FAULT_SEED when set (a replay), otherwise `fallback` (a fixed default, or a fresh random seed). */
export function campaignSeed(fallback: number): number {
  const given = process.env.FAULT_SEED;
  return given === undefined || given === '' ? fallback : Number(given);
}

/** Picks from `xs` with `random`. */
export const picker = (random: () => number) => <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
