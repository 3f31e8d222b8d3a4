import { useState, type FormEvent } from "react";
import { Loader2 } from "lucide-react";
import { Button } from "../../../components/ui/button.js";
import { DialogClose, DialogDescription, DialogFooter, DialogHeader, DialogTitle } from "../../../components/ui/dialog.js";
import { Field } from "../../../components/ui/field.js";
import { Input } from "../../../components/ui/input.js";
import { toast } from "../../../components/ui/toast.js";
import { creditsError, formatNumber, parseCredits } from "../../../lib/format.js";
import { useSetPoolCap } from "../api/control-settings.js";

export type CapWebsite = { websiteId: string; name: string; poolCap: number | null };

/** The pool-cap dialog's form (loaded when the dialog is first wanted, see pool-cap-dialog.tsx); it mounts fresh on every opening. */
export function PoolCapForm({ groupId, website, onDone }: { groupId: string; website: CapWebsite; onDone: () => void }) {
  const [value, setValue] = useState(website.poolCap === null ? "" : String(website.poolCap));
  const setCap = useSetPoolCap(groupId);
  const parsed = parseCredits(value);
  const wrong = creditsError(parsed, false);
  const invalid = wrong !== null;
  const problem = wrong ?? (setCap.isError ? setCap.error.message : null);

  const save = (monthlyCredits: number | null) =>
    setCap.mutate(
      { websiteId: website.websiteId, monthlyCredits },
      {
        onSuccess: (cap) => {
          onDone();
          toast({
            tone: "success",
            title: cap.monthlyCredits === null ? `Cap removed for ${website.name}` : `Cap saved for ${website.name}`,
            description: cap.monthlyCredits === null ? undefined : `${formatNumber(cap.usedThisMonth)} of ${formatNumber(cap.monthlyCredits)} pool credits used this month.`,
          });
        },
      },
    );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!invalid && parsed !== null) save(parsed);
  };
  const inputId = `cap-${website.websiteId}`;
  return (
    <form onSubmit={submit} className="grid gap-4">
      <DialogHeader>
        <DialogTitle>Pool cap for {website.name}</DialogTitle>
        <DialogDescription>
          The most credits this website may draw from the group’s pool each calendar month. Its own credits are never capped; an event that would pass the cap is refused.
        </DialogDescription>
      </DialogHeader>
      <Field id={inputId} label="Monthly pool cap (credits)" error={problem}>
        <Input
          id={inputId}
          inputMode="numeric"
          autoFocus // the form mounts after the dialog has placed its focus (on ✕, while this code loaded)
          value={value}
          onChange={(e) => {
            setValue(e.target.value);
            setCap.reset(); // a server's answer is about the value it was sent
          }}
          placeholder="No cap"
        />
      </Field>
      <DialogFooter>
        <DialogClose asChild>
          <Button type="button" variant="secondary">
            Cancel
          </Button>
        </DialogClose>
        {website.poolCap !== null ? (
          <Button type="button" variant="secondary" disabled={setCap.isPending} onClick={() => save(null)}>
            Remove cap
          </Button>
        ) : null}
        <Button type="submit" disabled={setCap.isPending || invalid || parsed === null}>
          {setCap.isPending ? <Loader2 className="animate-spin" aria-hidden="true" /> : null}
          Save cap
        </Button>
      </DialogFooter>
    </form>
  );
}
