import { lazy } from "react";
import { Plus } from "lucide-react";
import type { BillingSummary } from "../../../../contracts/billing.js";
import { Button } from "../../../components/ui/button.js";
import { LazyDialog } from "../../../components/ui/dialog.js";

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
  return (
    <LazyDialog
      title="Add group credits"
      load={loadForm}
      trigger={
        <Button variant={triggerVariant}>
          <Plus aria-hidden="true" />
          {triggerLabel}
        </Button>
      }
    >
      {/* Every opening starts fresh (type, quantity, idempotency key). */}
      {(close) => <AddCreditsForm groupId={groupId} billing={billing} onDone={close} />}
    </LazyDialog>
  );
}
