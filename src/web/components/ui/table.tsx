import type { ComponentProps } from "react";
import { cn } from "../../lib/cn.js";

export function Table({ className, ...props }: ComponentProps<"table">) {
  return (
    <div className="relative w-full overflow-x-auto">
      <table className={cn("w-full caption-bottom text-sm", className)} {...props} />
    </div>
  );
}

export function TableHeader(props: ComponentProps<"thead">) {
  return <thead {...props} className={cn("[&_tr]:border-b", props.className)} />;
}

export function TableBody(props: ComponentProps<"tbody">) {
  return <tbody {...props} className={cn("[&_tr:last-child]:border-0", props.className)} />;
}

export function TableRow({ className, ...props }: ComponentProps<"tr">) {
  return <tr className={cn("border-b transition-colors hover:bg-zinc-50", className)} {...props} />;
}

export function TableHead({ className, ...props }: ComponentProps<"th">) {
  return (
    <th
      scope="col"
      className={cn("h-10 px-2 text-left align-middle text-xs font-medium whitespace-nowrap text-muted-foreground first:pl-4 last:pr-4 sm:px-3 sm:first:pl-6 sm:last:pr-6", className)}
      {...props}
    />
  );
}

export function TableCell({ className, ...props }: ComponentProps<"td">) {
  return <td className={cn("px-2 py-3 align-middle first:pl-4 last:pr-4 sm:px-3 sm:first:pl-6 sm:last:pr-6", className)} {...props} />;
}
