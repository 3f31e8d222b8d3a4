import { Info } from "lucide-react";
import { Button } from "../../../components/ui/button.js";
import {
  Dialog,
  DialogClose,
  DialogContent,
  DialogDescription,
  DialogFooter,
  DialogHeader,
  DialogTitle,
  DialogTrigger,
} from "../../../components/ui/dialog.js";

const RULES = [
  {
    title: "Credit priority",
    text: "Website credits are checked first. When depleted, usage falls back to group credits.",
  },
  {
    title: "Monthly credits",
    text: "Auto-renew at the start of each billing period. Unused monthly credits do not roll over.",
  },
  {
    title: "One-time credits",
    text: "Purchased once and consumed until depleted. They don’t renew.",
  },
] as const;

/** The ⓘ button beside the page title and the "How group credits work" dialog it opens. */
export function CreditRulesDialog() {
  return (
    <Dialog>
      <DialogTrigger asChild>
        <Button variant="ghost" size="icon-sm" aria-label="How group credits work" className="text-muted-foreground">
          <Info aria-hidden="true" />
        </Button>
      </DialogTrigger>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>How group credits work</DialogTitle>
          <DialogDescription>Group credits are a shared pool for every website in this group.</DialogDescription>
        </DialogHeader>
        <dl className="grid gap-4">
          {RULES.map((rule) => (
            <div key={rule.title} className="rounded-lg border bg-zinc-50 p-3">
              <dt className="text-sm font-medium">{rule.title}</dt>
              <dd className="mt-1 text-sm text-muted-foreground">{rule.text}</dd>
            </div>
          ))}
        </dl>
        <DialogFooter>
          <DialogClose asChild>
            <Button variant="secondary">Got it</Button>
          </DialogClose>
        </DialogFooter>
      </DialogContent>
    </Dialog>
  );
}
