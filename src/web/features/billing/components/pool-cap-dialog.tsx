import { lazy, Suspense, useState } from "react";
import { Button } from "../../../components/ui/button.js";
import { Dialog, DialogContent, DialogLoading, DialogTrigger } from "../../../components/ui/dialog.js";
import type { CapWebsite } from "./pool-cap-form.js";

/** The form loads when the dialog is first wanted, as the Add group credits dialog's does: the page's first JavaScript stays within budget. */
const loadForm = () => import("./pool-cap-form.js");
const PoolCapForm = lazy(() => loadForm().then((m) => ({ default: m.PoolCapForm })));

/** Set or remove a website's monthly cap on group pool credits (from its row in Top websites). */
export function PoolCapDialog({ groupId, website }: { groupId: string; website: CapWebsite }) {
  const [open, setOpen] = useState(false);
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button
          variant="ghost"
          size="sm"
          className="h-6 px-1.5 text-xs"
          aria-label={`${website.poolCap === null ? "Set" : "Edit"} pool cap for ${website.name}`}
          onPointerEnter={() => void loadForm()}
          onFocus={() => void loadForm()}
        >
          {website.poolCap === null ? "Set cap" : "Edit cap"}
        </Button>
      </DialogTrigger>
      <DialogContent>
        {/* Content unmounts on close, so every opening starts from the website's cap. */}
        <Suspense fallback={<DialogLoading title={`Pool cap for ${website.name}`} />}>
          <PoolCapForm groupId={groupId} website={website} onDone={() => setOpen(false)} />
        </Suspense>
      </DialogContent>
    </Dialog>
  );
}
