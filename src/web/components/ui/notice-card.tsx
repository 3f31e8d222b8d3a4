import type { ReactNode } from "react";
import { Card } from "./card.js";

/** A centred explanation in place of the billing UI (no access, unknown group, outage). */
export function NoticeCard({ icon, title, children }: { icon: ReactNode; title: string; children: ReactNode }) {
  return (
    <Card className="mx-auto flex w-full max-w-md flex-col items-center px-6 py-10 text-center">
      <span className="flex size-10 items-center justify-center rounded-full bg-muted text-muted-foreground [&_svg]:size-5">
        {icon}
      </span>
      <h2 className="mt-4 text-base font-semibold">{title}</h2>
      <div className="mt-1.5 text-sm text-muted-foreground">{children}</div>
    </Card>
  );
}
