import { lazy } from "react";
import { Button } from "../../../components/ui/button.js";
import { LazyDialog } from "../../../components/ui/dialog.js";
import type { CapWebsite } from "./pool-cap-form.js";

const loadForm = () => import("./pool-cap-form.js");
const PoolCapForm = lazy(() => loadForm().then((m) => ({ default: m.PoolCapForm })));

/** Set or remove a website's monthly cap on group pool credits (from its row in Top websites). */
export function PoolCapDialog({ groupId, website }: { groupId: string; website: CapWebsite }) {
  return (
    <LazyDialog
      title={`Pool cap for ${website.name}`}
      load={loadForm}
      trigger={
        <Button variant="ghost" size="sm" className="h-6 px-1.5 text-xs" aria-label={`${website.poolCap === null ? "Set" : "Edit"} pool cap for ${website.name}`}>
          {website.poolCap === null ? "Set cap" : "Edit cap"}
        </Button>
      }
    >
      {(close) => <PoolCapForm groupId={groupId} website={website} onDone={close} />}
    </LazyDialog>
  );
}
