/**
 * Holds requests forever while an emulator is in "hang" mode, and lets them go
 * (so the server can close) when the emulator shuts down.
 */
export interface HangGate {
  /** A promise that settles only when the gate is released. */
  wait(): Promise<void>;
  releaseAll(): void;
}

export function createHangGate(): HangGate {
  const waiting = new Set<() => void>();
  return {
    wait: () => new Promise<void>((resolve) => waiting.add(resolve)),
    releaseAll: () => {
      for (const release of waiting) release();
      waiting.clear();
    },
  };
}
