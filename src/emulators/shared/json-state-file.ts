import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";

/**
 * A JSON file holding an emulator's whole state. `dataDir: null` keeps it in memory only.
 * Writes are atomic (temp file + rename) so a crash never leaves a half-written file.
 */
export interface JsonStateFile<T> {
  load(): T | null;
  save(state: T): void;
}

export function createJsonStateFile<T>({
  dataDir,
  fileName,
}: {
  dataDir: string | null;
  fileName: string;
}): JsonStateFile<T> {
  if (dataDir === null) return { load: () => null, save: () => undefined };
  const filePath = path.join(dataDir, fileName);
  return {
    load: () => (existsSync(filePath) ? (JSON.parse(readFileSync(filePath, "utf8")) as T) : null),
    save: (state) => {
      mkdirSync(dataDir, { recursive: true });
      const tempPath = `${filePath}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
      writeFileSync(tempPath, JSON.stringify(state, null, 2));
      renameSync(tempPath, filePath);
    },
  };
}
