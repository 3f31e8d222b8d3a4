import { cn } from "../../lib/cn.js";

type ProgressProps = {
  /** Filled amount, between 0 and `max`. */
  value: number;
  max: number;
  label: string;
  valueText?: string;
  /** Tailwind background class of the filled part. */
  indicatorClassName?: string;
  className?: string;
};

/** An 8 px rounded bar with progressbar semantics. */
export function Progress({ value, max, label, valueText, indicatorClassName, className }: ProgressProps) {
  const clamped = Math.min(Math.max(value, 0), Math.max(max, 0));
  const percent = max > 0 ? (clamped / max) * 100 : 0;
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={max}
      aria-valuenow={clamped}
      aria-valuetext={valueText}
      className={cn("h-2 w-full overflow-hidden rounded-full bg-zinc-200", className)}
    >
      <div
        className={cn("h-full rounded-full transition-[width] duration-500", indicatorClassName ?? "bg-primary")}
        style={{ width: `${percent}%` }}
      />
    </div>
  );
}
