/**
 * Pino lines as a person at a terminal reads them: "12:04:05 WARN  billing service unavailable
 * (err=…)". The same records, the same redaction; only the shape differs from LOG_FORMAT=json.
 */
const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO ", 40: "WARN ", 50: "ERROR", 60: "FATAL" };
const HIDDEN = new Set(["level", "time", "pid", "hostname", "svc", "msg"]);

export function formatHumanLogLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith("\n") ? line : `${line}\n`;
  }
  const time = typeof record.time === "number" ? new Date(record.time).toISOString().slice(11, 19) : "--:--:--";
  const level = LEVELS[Number(record.level)] ?? "LOG  ";
  const details = Object.entries(record)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`);
  return `${time} ${level} ${typeof record.msg === "string" ? record.msg : ""}${details.length > 0 ? ` (${details.join(" ")})` : ""}\n`;
}

export function humanLogStream() {
  return { write: (line: string) => void process.stdout.write(formatHumanLogLine(line)) };
}
