import type { Logger } from "pino";
import type { Database } from "../../db/client.js";
import { deliverDueAlerts } from "./alert-delivery.js";
import { onControlsWake } from "./outbox.js";
import type { AlertSender } from "./ports.js";

export interface ControlsWorkerDeps {
  database: Database;
  sender: AlertSender;
  logger: Logger;
  retryBaseMs: number;
  pollMs: number;
  /** Extra work of the same loop (auto top-ups), run after the deliveries. */
  extraWork?: () => Promise<number>;
}

/**
 * The background loop of every API process: deliver due alerts (and run auto top-ups). Work is
 * in the database and claimed row by row, so any number of processes can run it; a wake-up from
 * this process (an alert was just written) only makes it start sooner than its next poll.
 */
export function startControlsWorker(deps: ControlsWorkerDeps) {
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      try {
        do {
          again = false;
          const delivered = await deliverDueAlerts(deps);
          const extra = deps.extraWork ? await deps.extraWork() : 0;
          if (delivered > 0 || extra > 0) again = true;
        } while (again && !stopped);
      } catch (err) {
        deps.logger.warn({ err }, "controls work failed; retrying on the next tick");
      } finally {
        running = null;
      }
    })();
  };
  const timer = setInterval(tick, deps.pollMs);
  timer.unref();
  const unsubscribe = onControlsWake(tick);
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
      await running;
    },
  };
}
