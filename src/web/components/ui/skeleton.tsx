import type { ComponentProps } from "react";
import { cn } from "../../lib/cn.js";

/** A grey block; give it the exact height and width of what it stands in for. */
export function Skeleton({ className, ...props }: ComponentProps<"div">) {
  return <div aria-hidden="true" className={cn("animate-pulse rounded-md bg-zinc-200/80", className)} {...props} />;
}

/**
 * A line box of the given height (`className`, e.g. "h-7" for a 28 px line) holding a slightly
 * shorter bar (`barClassName`), so the placeholder takes exactly the space of the text it replaces.
 */
export function SkeletonLine({ className, barClassName }: { className?: string; barClassName?: string }) {
  return (
    <div aria-hidden="true" className={cn("flex items-center", className)}>
      <Skeleton className={barClassName} />
    </div>
  );
}
