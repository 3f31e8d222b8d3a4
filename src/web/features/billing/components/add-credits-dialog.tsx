import { lazy, Suspense, useState } from "react";
import { Plus } from "lucide-react";
import type { BillingSummary } from "../../../../contracts/billing.js";
import { Button } from "../../../components/ui/button.js";
import { Dialog, DialogContent, DialogLoading, DialogTrigger } from "../../../components/ui/dialog.js";

/**
 * The form loads when the dialog is first wanted (pointer over or focus on the trigger, or the
 * click itself), not with the page: it is most of the dialog's code and the page's first
 * JavaScript stays within budget.
 */
const loadForm = () => import("./add-credits-form.js");
const AddCreditsForm = lazy(() => loadForm().then((m) => ({ default: m.AddCreditsForm })));

type AddCreditsDialogProps = {
  groupId: string;
  billing: BillingSummary;
  /** "Add Credits" before the first purchase, "Add More Credits" after. */
  triggerLabel: string;
  /** Primary in the page header; secondary inside a card. */
  triggerVariant?: "primary" | "secondary";
};

export function AddCreditsDialog({ groupId, billing, triggerLabel, triggerVariant = "primary" }: AddCreditsDialogProps) {
  const [open, setOpen] = useState(false);
  return (
    <Dialog open={open} onOpenChange={setOpen}>
      <DialogTrigger asChild>
        <Button variant={triggerVariant} onPointerEnter={() => void loadForm()} onFocus={() => void loadForm()}>
          <Plus aria-hidden="true" />
          {triggerLabel}
        </Button>
      </DialogTrigger>
      <DialogContent>
        {/* Content unmounts on close, so every opening starts fresh (type, quantity, idempotency key). */}
        <Suspense fallback={<DialogLoading title="Add group credits" />}>
          <AddCreditsForm groupId={groupId} billing={billing} onDone={() => setOpen(false)} />
        </Suspense>
      </DialogContent>
    </Dialog>
  );
}
